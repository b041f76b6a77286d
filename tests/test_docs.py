"""Generated docs match each tap's own ``--about`` (scripts/settings_docs.py), and the docs hold.

Settings tables (docs/<tap>.md and anywhere else in README.md or docs/), the plugin definitions
(plugins/extractors/<tap>.yml), the extractors of meltano.yml; Meltano accepts the definitions
as they are; relative links lead somewhere; the tests the guarantees page names exist.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import settings_docs  # noqa: E402

TAPS = tuple(settings_docs.TAPS)
TEST_FOLDERS = ("segment", "launchdarkly", "pm2", "apivideo")  # what `tests/<tap>/` stands for


def definition_file(tap: str) -> dict:
    return yaml.safe_load((settings_docs.PLUGINS / f"{tap}.yml").read_text())


@pytest.mark.parametrize("tap", TAPS)
def test_each_taps_page_has_the_settings_table_of_its_about(tap):
    page = ROOT / "docs" / f"{tap}.md"
    assert settings_docs.tables(page).get(tap) == settings_docs.readme_rows(tap)


def test_every_settings_table_anywhere_is_its_taps_about():
    found = [
        (path.relative_to(ROOT), tap)
        for path in settings_docs.markdown_files()
        for tap, rows in settings_docs.tables(path).items()
        if rows != settings_docs.readme_rows(tap)
    ]
    assert not found


@pytest.mark.parametrize("tap", TAPS)
def test_plugin_definition_file_is_generated_from_the_taps_about(tap):
    path = settings_docs.PLUGINS / f"{tap}.yml"
    assert path.read_text() == settings_docs.definition_yaml(tap)
    assert definition_file(tap) == settings_docs.definition(tap)  # the YAML reads back as meant


@pytest.mark.parametrize("tap", TAPS)
def test_plugin_definition_declares_every_setting_as_the_tap_does(tap):
    plugin = definition_file(tap)
    for key in ("name", "namespace", "variant", "label"):  # what the Hub's schema requires
        assert plugin[key], key
    assert (plugin["name"], plugin["executable"]) == (tap, tap)
    assert plugin["namespace"] == tap.replace("-", "_")
    assert plugin["pip_url"] == settings_docs.DISTRIBUTION
    assert plugin["docs"].endswith(f"/docs/{tap}.md")
    settings, required = settings_docs.own_settings(tap)
    declared = {s["name"]: s for s in plugin["settings"]}
    assert list(declared) == list(settings)
    for name, spec in settings.items():
        assert declared[name]["kind"] == settings_docs.kind(spec), name
        assert declared[name].get("value") == spec.get("default"), name
        assert declared[name].get("sensitive", False) == spec.get("secret", False), name
    assert plugin["settings_group_validation"] == [required]
    assert {"state", "catalog", "discover", "about"} <= set(plugin["capabilities"])


@pytest.mark.parametrize("tap", TAPS)
def test_meltano_takes_the_definition_as_it_is(tap):
    """What `meltano add --from-ref` does with the file: every key is known but the Hub's own."""
    from meltano.core.plugin import PluginType
    from meltano.core.plugin.base import PluginDefinition
    from meltano.core.yaml import yaml as meltano_yaml

    given = definition_file(tap)
    plugin = PluginDefinition.parse({"plugin_type": PluginType.EXTRACTORS, **given})
    assert set(plugin.extras) == set(settings_docs.HUB_ONLY)
    plugin.extras.clear()  # as `meltano add --from-ref` does
    written = io.StringIO()
    meltano_yaml.dump(plugin.canonical(), written)
    kept = {key: value for key, value in given.items() if key not in settings_docs.HUB_ONLY}
    assert yaml.safe_load(written.getvalue()) == kept


@pytest.mark.parametrize("tap", TAPS)
def test_meltano_yml_declares_the_tap_as_its_definition_with_this_checkout(tap):
    project = yaml.safe_load(settings_docs.MELTANO_YML.read_text())
    (extractor,) = [p for p in project["plugins"]["extractors"] if p["name"] == tap]
    expected = settings_docs.meltano_entry(tap)
    assert {key: extractor.get(key) for key in expected} == expected
    assert extractor["pip_url"] == "-e ."


def test_the_check_passes_on_this_checkout():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout


def slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_relative_links_in_the_readme_and_docs_lead_somewhere():
    broken = []
    for page in settings_docs.markdown_files():
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken


def test_the_tests_the_guarantees_page_names_exist():
    text = (ROOT / "docs" / "guarantees.md").read_text()
    named = set(re.findall(r"`((?:tests/)?[\w/<>]+\.py(?:::\w+)?|test_\w+)`", text))
    assert len(named) > 10
    missing = []
    for reference in sorted(named):
        path, _, test = reference.partition("::")
        if not path.endswith(".py"):  # a bare test name: somewhere under tests/
            path, test = "", path
        if "<tap>" in path:
            files = [ROOT / path.replace("<tap>", folder) for folder in TEST_FOLDERS]
        elif path.startswith("tests/"):
            files = [ROOT / path]
        else:
            files = sorted((ROOT / "tests").rglob(path or "test_*.py"))
        found = bool(files) and all(f.exists() for f in files)
        if not found or (test and not any(f"def {test}(" in f.read_text() for f in files)):
            missing.append(reference)
    assert not missing


def test_the_changelog_starts_at_the_version_being_built():
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    first = re.search(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert version
    assert first
    assert first[1] == version[1]
