"""Everything generated from the source of truth: each tap's own ``--about``.

From ``<tap> --about --format=json`` (and ``--format=markdown``) this writes:

- ``plugins/extractors/<tap>.yml``: the tap's plugin definition in the Meltano Hub format, for
  ``meltano add --plugin-type extractor <tap> --from-ref plugins/extractors/<tap>.yml`` in any
  Meltano project. Written whole.
- The extractors of this repository's ``meltano.yml``: what ``meltano add --from-ref`` writes
  from those definitions (Meltano drops the Hub-only keys), with ``pip_url: -e .`` (this
  checkout). Keys Meltano or a person added to an entry (``config``, ``select``, ...) are kept.
- Every settings table in README.md and docs/**/*.md, between
  ``<!-- settings:<tap> (the same rows as `<tap> --about --format=markdown`) -->`` and
  ``<!-- /settings -->``: the rows of ``--about --format=markdown``.

``--check`` changes nothing and exits 1 naming what has drifted (tests/test_docs.py runs it).

    .venv/bin/python scripts/settings_docs.py          # rewrite (make docs)
    .venv/bin/python scripts/settings_docs.py --check  # verify
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLUGINS = ROOT / "plugins" / "extractors"
MELTANO_YML = ROOT / "meltano.yml"

#: The one distribution that holds the four taps (see docs/development.md).
DISTRIBUTION = "telemetry-taps"
#: Where this repository is published; the definitions' `repo` and `docs` links point there.
#: Set it to the real address before publishing a release (CHANGELOG.md).
REPOSITORY = "https://github.com/OWNER/telemetry-taps"


@dataclass(frozen=True)
class TapInfo:
    """What ``--about`` does not say: how the Hub presents the tap."""

    label: str
    domain_url: str  # the vendor API the tap reads
    keywords: tuple[str, ...]

    def docs(self, tap: str) -> str:
        """The tap's page, relative to the repository root."""
        return f"docs/{tap}.md"


TAPS: dict[str, TapInfo] = {
    "tap-segment-config": TapInfo(
        "Segment workspace configuration and delivery metrics",
        "https://docs.segmentapis.com",
        ("segment", "api", "meltano_sdk"),
    ),
    "tap-launchdarkly-events": TapInfo(
        "LaunchDarkly flag events",
        "https://launchdarkly.com/docs/api/insights-flag-events-beta",
        ("launchdarkly", "feature flags", "api", "meltano_sdk"),
    ),
    "tap-pm2-events": TapInfo(
        "PM2 Plus events",
        "https://pm2.io",
        ("pm2", "keymetrics", "api", "meltano_sdk"),
    ),
    "tap-apivideo-analytics": TapInfo(
        "api.video analytics",
        "https://docs.api.video",
        ("api.video", "video analytics", "api", "meltano_sdk"),
    ),
}
# The SDK appends its own settings after the tap's; they are documented by the SDK.
FIRST_BUILTIN = "stream_maps"
# Capabilities the SDK announces that no test of this repository exercises: not promised.
UNTESTED_CAPABILITIES = frozenset({"activate-version", "batch"})
# Hub metadata that Meltano ignores: `meltano add --from-ref` leaves it out of meltano.yml.
HUB_ONLY = ("domain_url", "keywords", "maintenance_status")
TABLE = re.compile(
    r"(<!-- settings:(?P<tap>[\w-]+) \(the same rows as `(?P=tap) --about --format=markdown`\)"
    r" -->\n)(?P<rows>.*?)(<!-- /settings -->)",
    re.S,
)


@cache
def about(tap: str, form: str) -> str:
    """``<tap> --about --format=<form>``."""
    command = [str(BIN / tap), "--about", f"--format={form}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def readme_rows(tap: str) -> str:
    """The markdown settings table's header and the tap's own rows."""
    lines = about(tap, "markdown").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Setting |"))
    end = next(i for i, line in enumerate(lines) if line.startswith(f"| {FIRST_BUILTIN} |"))
    return "\n".join(lines[header:end]) + "\n"


def own_settings(tap: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The tap's own setting schemas, in order, and the required ones."""
    schema = json.loads(about(tap, "json"))["settings"]
    names = list(schema["properties"])
    own = names[: names.index(FIRST_BUILTIN)]
    return {name: schema["properties"][name] for name in own}, schema.get("required", [])


def kind(spec: dict[str, Any]) -> str:
    """Meltano's setting kind for a JSON Schema property."""
    declared = spec.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared) - {"null"}
    if "enum" in spec:
        return "options"
    if spec.get("format") == "date-time":
        return "date_iso8601"
    for json_type, meltano_kind in (
        ("boolean", "boolean"),
        ("integer", "integer"),
        ("number", "decimal"),
        ("array", "array"),
        ("object", "object"),
    ):
        if json_type in types:
            return meltano_kind
    return "string"


def setting(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One Meltano setting definition from the tap's JSON Schema for it."""
    entry: dict[str, Any] = {"name": name, "kind": kind(spec)}
    if spec.get("secret"):
        entry["sensitive"] = True
    if "title" in spec:
        entry["label"] = spec["title"]
    if "description" in spec:
        entry["description"] = spec["description"]
    if spec.get("default") is not None:
        entry["value"] = spec["default"]
    if "enum" in spec:
        entry["options"] = [
            {"label": str(v).capitalize(), "value": v} for v in spec["enum"] if v is not None
        ]
    return entry


def definition(tap: str) -> dict[str, Any]:
    """The tap's plugin definition, in the Meltano Hub's format and key order."""
    info, about_json = TAPS[tap], json.loads(about(tap, "json"))
    settings, required = own_settings(tap)
    plugin: dict[str, Any] = {
        "name": tap,
        "namespace": tap.replace("-", "_"),
        "variant": DISTRIBUTION,
        "label": info.label,
        "description": about_json["description"],
        "docs": f"{REPOSITORY}/blob/main/{info.docs(tap)}",
        "repo": REPOSITORY,
        "domain_url": info.domain_url,
        "keywords": list(info.keywords),
        "maintenance_status": "active",
        "pip_url": DISTRIBUTION,
        "executable": tap,
        "capabilities": [c for c in about_json["capabilities"] if c not in UNTESTED_CAPABILITIES],
        "settings": [setting(name, spec) for name, spec in settings.items()],
    }
    if about_json.get("supported_python_versions"):  # from the wheel's classifiers, if known
        plugin["supported_python_versions"] = about_json["supported_python_versions"]
    if required:
        plugin["settings_group_validation"] = [required]
    return plugin


def meltano_entry(tap: str) -> dict[str, Any]:
    """The extractor as meltano.yml declares it: the definition, installed from this checkout."""
    entry = {key: value for key, value in definition(tap).items() if key not in HUB_ONLY}
    entry["pip_url"] = "-e ."
    return entry


# --- YAML for the definition files: short, stable, and read back by every YAML parser.

PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value: Any) -> str:
    """A value as YAML: identifiers plain, anything else as JSON (a subset of YAML)."""
    if isinstance(value, str) and PLAIN.fullmatch(value) and value.lower() not in YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def flow(values: list[Any]) -> str:
    """A short list on one line."""
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def definition_yaml(tap: str) -> str:
    """The text of ``plugins/extractors/<tap>.yml``."""
    lines = [
        f"# {tap}: its Meltano plugin definition (Meltano Hub format), generated from",
        f"# `{tap} --about --format=json` by scripts/settings_docs.py (`make docs`). Do not edit.",
        f"# In a Meltano project: meltano add --plugin-type extractor {tap} --from-ref <this file>",
        "# --no-install, then set pip_url (a package, a git URL or a wheel) and meltano install:",
        '# README.md, "Add a tap to your Meltano project".',
    ]
    for key, value in definition(tap).items():
        if key == "settings":
            lines.append("settings:")
            for entry in value:
                for n, (name, item) in enumerate(entry.items()):
                    prefix = "- " if n == 0 else "  "
                    if name == "options":
                        lines.append(f"{prefix}options:")
                        lines += [
                            f"  - {{label: {scalar(o['label'])}, value: {scalar(o['value'])}}}"
                            for o in item
                        ]
                    elif isinstance(item, list):
                        lines.append(f"{prefix}{name}: {flow(item)}")
                    else:
                        lines.append(f"{prefix}{name}: {scalar(item)}")
        elif key == "settings_group_validation":
            lines.append(f"{key}:")
            lines += [f"- {flow(group)}" for group in value]
        elif isinstance(value, list):
            lines.append(f"{key}: {flow(value)}")
        else:
            lines.append(f"{key}: {scalar(value)}")
    return "\n".join(lines) + "\n"


# --- meltano.yml: updated in place, the way Meltano itself writes it (ruamel.yaml keeps the
# comments and the other plugins as they are).


def declared_extractors(text: str) -> dict[str, dict[str, Any]]:
    """meltano.yml's extractors by name."""
    project = yaml.safe_load(text)
    return {p["name"]: p for p in project["plugins"]["extractors"]}


def meltano_drift(text: str) -> list[str]:
    """Taps whose meltano.yml entry differs from what their definition says."""
    declared = declared_extractors(text)
    stale = []
    for tap in TAPS:
        expected = meltano_entry(tap)
        entry = declared.get(tap, {})
        if {key: entry.get(key) for key in expected} != expected:
            stale.append(tap)
    return stale


def commented(value: Any) -> Any:
    """``value`` for ruamel.yaml: lists of scalars and options on one line each."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq  # Meltano's YAML library

    if isinstance(value, dict):
        mapping = CommentedMap((key, commented(item)) for key, item in value.items())
        if set(value) == {"label", "value"}:  # an option
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(commented(item) for item in value)
        if all(not isinstance(item, (dict, list)) for item in value):
            sequence.fa.set_flow_style()
        return sequence
    return value


def rewrite_meltano(text: str) -> str:
    """meltano.yml with every tap's entry updated from its definition."""
    from ruamel.yaml import YAML  # Meltano's own YAML library (dev extra): imported when needed

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=2, offset=0)
    project = rt.load(text)
    extractors = project["plugins"]["extractors"]
    names = [entry["name"] for entry in extractors]
    for tap in meltano_drift(text):
        entry = commented(meltano_entry(tap))
        if tap in names:
            old = extractors[names.index(tap)]
            entry.update({key: value for key, value in old.items() if key not in entry})
            extractors[names.index(tap)] = entry
        else:
            extractors.append(entry)
    out = io.StringIO()
    rt.dump(project, out)
    return out.getvalue()


# --- Settings tables in markdown.


def markdown_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def rewrite_tables(text: str, where: str) -> str:
    """``text`` with every settings table replaced by the tap's ``--about`` rows."""

    def rows(match: re.Match[str]) -> str:
        tap = match["tap"]
        if tap not in TAPS:
            msg = f"{where}: settings table of an unknown tap {tap!r}"
            raise SystemExit(msg)
        return match.group(1) + readme_rows(tap) + match.group(4)

    return TABLE.sub(rows, text)


def tables(path: Path) -> dict[str, str]:
    """The settings tables in a markdown file, by tap."""
    return {m["tap"]: m["rows"] for m in TABLE.finditer(path.read_text())}


# --- Together.


def generated() -> dict[Path, str]:
    """Every generated file as the taps' ``--about`` says it should read."""
    files = {PLUGINS / f"{tap}.yml": definition_yaml(tap) for tap in TAPS}
    meltano = MELTANO_YML.read_text()
    if meltano_drift(meltano):
        files[MELTANO_YML] = rewrite_meltano(meltano)
    for path in markdown_files():
        files[path] = rewrite_tables(path.read_text(), path.name)
    return files


def problems() -> list[str]:
    """What has drifted, and taps whose page has no settings table."""
    found = [
        f"{path.relative_to(ROOT)} differs from the taps' --about"
        for path, text in generated().items()
        if not path.exists() or path.read_text() != text
    ]
    for tap, info in TAPS.items():
        page = ROOT / info.docs(tap)
        if not page.exists() or tap not in tables(page):
            found.append(f"{info.docs(tap)} has no settings table for {tap}")
    return found


def main() -> int:
    """Rewrite, or with --check report drift."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    args = parser.parse_args()
    if args.check:
        found = problems()
        for problem in found:
            print(f"{problem}; run scripts/settings_docs.py (make docs)")
        return 1 if found else 0
    PLUGINS.mkdir(parents=True, exist_ok=True)
    for path, text in generated().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
