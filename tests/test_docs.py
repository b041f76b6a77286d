"""Settings documentation matches the taps' own ``--about`` (scripts/settings_docs.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import settings_docs  # noqa: E402

TAPS = settings_docs.TAPS


@pytest.mark.parametrize("tap", TAPS)
def test_readme_settings_table_is_the_taps_about(tap):
    assert settings_docs.readme_rows(tap) in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("tap", TAPS)
def test_meltano_yml_declares_every_setting_as_the_tap_does(tap):
    assert settings_docs.meltano_block(tap) in (ROOT / "meltano.yml").read_text()
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = [p for p in project["plugins"]["extractors"] if p["name"] == tap]
    settings, required = settings_docs.own_settings(tap)
    declared = {s["name"]: s for s in extractor["settings"]}
    assert list(declared) == list(settings)
    for name, spec in settings.items():
        assert declared[name].get("value") == spec.get("default"), name
        assert declared[name].get("sensitive", False) == spec.get("secret", False), name
    assert extractor["settings_group_validation"] == [required]


def test_the_check_passes_on_this_checkout():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout
