"""Logs a person can follow: one line per finished window, the SDK's metrics, no record lines."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.harness import BIN, parse_messages, record_output
from tests.meltano import ROOT, meltano_env
from tests.reliability.cases import LAUNCHDARKLY, PM2, SEGMENT, TapCase

# A value unique to one record, appearing in no partition context.
RECORD_MARKERS = {
    "tap-launchdarkly-events": lambda record: record["id"],
    "tap-pm2-events": lambda record: record["data"]["request_id"],
}
WINDOW_LINE = re.compile(r"(\w+) \[([^\]]*)\] (\S+) to (\S+): (\d+) records in [\d.]+ s")


def run(case: TapCase, emulator, tmp_path, **env: str) -> tuple[str, list[dict]]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(case.settings(emulator)))
    completed = subprocess.run(
        [str(BIN / case.tap), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | env,
        check=True,
    )
    record_output(completed.stdout, completed.stderr)
    return completed.stderr, parse_messages(completed.stdout)


@pytest.mark.parametrize("case", [SEGMENT, LAUNCHDARKLY, PM2], ids=str)
def test_one_line_per_finished_window_with_its_records_and_no_line_per_record(case, tmp_path):
    emulator = case.start_emulator()
    try:
        logs, messages = run(case, emulator, tmp_path)
    finally:
        emulator.stop()
    windows = [m.groups() for m in WINDOW_LINE.finditer(logs)]
    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    stream = windows[0][0]
    assert windows
    assert sum(int(w[4]) for w in windows if w[0] == stream) == len(
        [m for m in messages if m["type"] == "RECORD" and m["stream"] == stream]
    )
    assert len({(w[0], w[1], w[2]) for w in windows}) == len(windows)  # each window once
    assert '"metric": "record_count"' in logs or '"metric":"record_count"' in logs
    marker = RECORD_MARKERS.get(case.tap)
    if marker is not None:  # a value only the record itself holds: never in a log line
        values = [marker(r) for r in records if r.get("data") or r.get("flagKey")]
        assert values
        assert not [v for v in values if v in logs]


def test_the_log_level_is_respected(tmp_path):
    emulator = LAUNCHDARKLY.start_emulator()
    try:
        quiet, messages = run(
            LAUNCHDARKLY, emulator, tmp_path, TAP_LAUNCHDARKLY_EVENTS_LOGLEVEL="WARNING"
        )
    finally:
        emulator.stop()
    assert messages  # the sync ran
    assert not WINDOW_LINE.search(quiet)
    assert "METRIC" not in quiet


@pytest.mark.meltano
def test_meltano_log_level_hides_the_window_lines(tmp_path):
    emulator = LAUNCHDARKLY.start_emulator()
    try:
        env = meltano_env(LAUNCHDARKLY.tap, LAUNCHDARKLY.settings(emulator), tmp_path)
        outputs = {}
        for level in ("info", "warning"):
            completed = subprocess.run(
                [str(BIN / "meltano"), f"--log-level={level}", "run", LAUNCHDARKLY.tap,
                 "target-jsonl"],
                cwd=ROOT, env=env | {"TARGET_JSONL_DESTINATION_PATH": str(tmp_path / level)},
                capture_output=True, text=True, timeout=300, check=True,
            )  # fmt: skip
            record_output(completed.stdout, completed.stderr)
            outputs[level] = completed.stdout + completed.stderr
    finally:
        emulator.stop()
    assert WINDOW_LINE.search(outputs["info"])
    assert not WINDOW_LINE.search(outputs["warning"])
