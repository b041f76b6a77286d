"""The vendors' official clients, run against the emulator (installed by `make official`).

Each client runs in its own process: the Python clients from their own folder under
.venv/official (two api-video releases share one import name), the npm clients from
tests/official/node_modules. A check is a small script that reads a JSON payload on stdin,
calls or deserialises with the official client, and prints JSON on stdout; a client that cannot
read an answer makes the script fail, and with it the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON_CLIENTS = ROOT / ".venv" / "official"
NODE_MODULES = ROOT / "tests" / "official" / "node_modules"


def _run(command: list[str], env: dict[str, str], payload: Any) -> Any:
    completed = subprocess.run(
        command,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"official client failed:\n{completed.stderr[-4000:]}"
    return json.loads(completed.stdout) if completed.stdout.strip() else None


def run_python(client: str, script: str, payload: Any = None) -> Any:
    """Run `script` (Python source) with the official client `client` (a requirements folder)."""
    folder = PYTHON_CLIENTS / client
    assert folder.is_dir(), f"{folder} is missing: run `make official`"
    return _run([sys.executable, "-c", script], {"PYTHONPATH": str(folder)}, payload)


def run_node(script: str, payload: Any = None) -> Any:
    """Run `script` (JavaScript, CommonJS) with the npm clients of tests/official."""
    assert NODE_MODULES.is_dir(), f"{NODE_MODULES} is missing: run `make official`"
    return _run(["node", "-e", script], {"NODE_PATH": str(NODE_MODULES)}, payload)
