"""Install each official Python client of tests/official/requirements.txt into its own folder.

Each line is `<folder> <pip requirement>`; folders are rebuilt from scratch so a changed pin
never mixes with the old one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def clients(requirements: Path) -> list[tuple[str, str]]:
    lines = (raw.split("#", 1)[0].split() for raw in requirements.read_text().splitlines())
    return [(line[0], line[1]) for line in lines if line]


def main(requirements: str, root: str) -> None:
    for folder, requirement in clients(Path(requirements)):
        target = Path(root) / folder
        shutil.rmtree(target, ignore_errors=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-conflicts"]
        subprocess.run([*pip, "--target", str(target), requirement], check=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
