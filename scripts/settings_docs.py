"""Settings documentation from the source of truth: each tap's own ``--about``.

Writes, for every tap, the settings table of README.md (the rows of ``--about
--format=markdown``) and the ``settings`` / ``settings_group_validation`` of its extractor in
meltano.yml (from ``--about --format=json``), each between markers. ``--check`` changes
nothing and exits 1 naming what has drifted (tests/test_docs.py runs it).

    .venv/bin/python scripts/settings_docs.py          # rewrite
    .venv/bin/python scripts/settings_docs.py --check  # verify
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAPS = (
    "tap-segment-config",
    "tap-launchdarkly-events",
    "tap-pm2-events",
    "tap-apivideo-analytics",
)
# The SDK appends its own settings after the tap's; they are documented by the SDK.
FIRST_BUILTIN = "stream_maps"
README_SECTION = (
    r"(<!-- settings:{tap} \(the same rows as `{tap} --about --format=markdown`\) -->\n)"
    r"(.*?)(<!-- /settings -->)"
)
MELTANO_SECTION = (
    r"(    # settings: generated from `{tap} --about --format=json` by scripts/settings_docs.py\n)"
    r"(.*?)(    # /settings\n)"
)


def about(tap: str, form: str) -> str:
    """``<tap> --about --format=<form>``."""
    command = [str(BIN / tap), "--about", f"--format={form}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def readme_rows(tap: str) -> str:
    """The markdown table's header and the tap's own rows."""
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


def meltano_setting(name: str, spec: dict[str, Any]) -> list[str]:
    """One ``- name: ...`` entry of an extractor's settings."""
    lines = [f"    - name: {name}", f"      kind: {kind(spec)}"]
    if spec.get("secret"):
        lines.append("      sensitive: true")
    if "title" in spec:
        lines.append(f"      label: {json.dumps(spec['title'])}")
    if "description" in spec:
        lines.append(f"      description: {json.dumps(spec['description'], ensure_ascii=False)}")
    if spec.get("default") is not None:
        lines.append(f"      value: {json.dumps(spec['default'])}")
    if "enum" in spec:
        lines.append("      options:")
        lines += [
            f"      - {{label: {json.dumps(str(v).capitalize())}, value: {json.dumps(v)}}}"
            for v in spec["enum"]
            if v is not None
        ]
    return lines


def meltano_block(tap: str) -> str:
    """The extractor's ``settings`` and ``settings_group_validation``."""
    settings, required = own_settings(tap)
    lines = ["    settings:"]
    for name, spec in settings.items():
        lines += meltano_setting(name, spec)
    if required:
        lines += ["    settings_group_validation:", f"    - [{', '.join(required)}]"]
    return "\n".join(lines) + "\n"


def rewrite(text: str, pattern: str, tap: str, body: str, where: str) -> str:
    """``text`` with the section of ``tap`` replaced by ``body``."""
    regex = re.compile(pattern.format(tap=re.escape(tap)), re.S)
    if not regex.search(text):
        msg = f"{where} has no settings section for {tap}"
        raise SystemExit(msg)
    return regex.sub(lambda m: m.group(1) + body + m.group(3), text)


def generated() -> dict[Path, str]:
    """README.md and meltano.yml as the taps' ``--about`` says they should read."""
    readme, meltano = (ROOT / "README.md").read_text(), (ROOT / "meltano.yml").read_text()
    for tap in TAPS:
        readme = rewrite(readme, README_SECTION, tap, readme_rows(tap), "README.md")
        meltano = rewrite(meltano, MELTANO_SECTION, tap, meltano_block(tap), "meltano.yml")
    return {ROOT / "README.md": readme, ROOT / "meltano.yml": meltano}


def drifted() -> list[str]:
    """Files whose settings documentation differs from the taps' ``--about``."""
    return [path.name for path, text in generated().items() if path.read_text() != text]


def main() -> int:
    """Rewrite, or with --check report drift."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    args = parser.parse_args()
    if args.check:
        stale = drifted()
        for name in stale:
            print(f"{name}: settings differ from the taps' --about; run scripts/settings_docs.py")
        return 1 if stale else 0
    for path, text in generated().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
