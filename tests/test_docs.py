"""The README's settings tables are the taps' own `--about --format=markdown` rows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.harness import BIN

README = Path(__file__).resolve().parent.parent / "README.md"
TAPS = [
    "tap-segment-config",
    "tap-launchdarkly-events",
    "tap-pm2-events",
    "tap-apivideo-analytics",
]


def readme_rows(tap: str) -> list[str]:
    text = README.read_text()
    section = re.search(rf"<!-- settings:{tap} .*?-->\n(.*?)<!-- /settings -->", text, re.S)
    assert section, f"README has no settings section for {tap}"
    return section.group(1).strip().splitlines()


@pytest.mark.parametrize("tap", TAPS)
def test_readme_settings_table_matches_about(tap):
    about = subprocess.run(
        [str(BIN / tap), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    rows = readme_rows(tap)
    header = about.index(rows[0])
    first_builtin = next(i for i, line in enumerate(about) if line.startswith("| stream_maps |"))
    assert rows == about[header:first_builtin]  # header, alignment, then the tap's own settings
