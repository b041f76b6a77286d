"""Run a tap the way users do and read what it wrote: Singer messages, logs, exit status."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from singer_sdk import Tap

BIN = Path(sys.executable).parent
#: Everything the taps and Meltano printed during the current test (tests/conftest.py scans it
#: for secrets).
OUTPUTS: list[str] = []


def record_output(*texts: str | None) -> None:
    """Keep output for the secret scan of tests/conftest.py."""
    OUTPUTS.extend(text for text in texts if text)


@dataclass
class SyncResult:
    """Everything one sync wrote, and the error it ended with (if any)."""

    messages: list[dict[str, Any]]
    error: BaseException | None = None
    logs: str = ""
    stdout: str = ""

    def records(self, stream: str) -> list[dict[str, Any]]:
        """The records of one stream, in order."""
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def keys(self, stream: str, *fields: str) -> list[tuple]:
        """Primary-key tuples of one stream's records, in order (duplicates kept)."""
        return [tuple(record[f] for f in fields) for record in self.records(stream)]

    def states(self) -> list[dict[str, Any]]:
        """Every STATE value, in order."""
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict[str, Any]:
        """The last STATE value: what a target would hand to the next run."""
        states = self.states()
        return states[-1] if states else {}


def duplicates(keys: list[tuple]) -> list[tuple]:
    """Keys that occur more than once."""
    return [key for key, count in Counter(keys).items() if count > 1]


def parse_messages(text: str) -> list[dict[str, Any]]:
    """Singer messages from a tap's stdout."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_tap(
    tap_class: type[Tap],
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> SyncResult:
    """Sync in this process (fast), capturing stdout and the SDK's log records."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # msgspec writes to .buffer
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    root.addHandler(handler)
    error: BaseException | None = None
    try:
        tap = tap_class(config=config, state=state, catalog=catalog, parse_env_config=False)
        with redirect_stdout(stdout):
            tap.sync_all()
    except Exception as exc:  # the test inspects it
        error = exc
    finally:
        root.removeHandler(handler)
    stdout.flush()
    text = stdout.buffer.getvalue().decode()
    record_output(text, logs.getvalue(), str(error) if error else None)
    return SyncResult(parse_messages(text), error=error, logs=logs.getvalue(), stdout=text)


def run_cli(
    executable: str,
    config: dict[str, Any],
    tmp_path: Path,
    *,
    state: dict[str, Any] | None = None,
    timeout: float = 120,
) -> tuple[subprocess.CompletedProcess[str], SyncResult]:
    """Run the tap's console script as users do: ``tap --config c.json [--state s.json]``."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    command = [str(BIN / executable), "--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    record_output(completed.stdout, completed.stderr)
    result = SyncResult(
        parse_messages(completed.stdout), logs=completed.stderr, stdout=completed.stdout
    )
    return completed, result


def selecting(tap_class: type[Tap], config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected (their parents are still read)."""
    catalog = tap_class(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if not m["breadcrumb"])
        root["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
