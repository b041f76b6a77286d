"""The tap base: a run that ends early still writes the state of what it finished.

STATE is paced (tap_common/messages.py); these runs hold it back for an hour, so any STATE
after the first one comes from the flush at the end of the run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tap_segment_config.tap import TapSegmentConfig
from tests.harness import BIN, parse_messages, record_output, run_tap
from tests.taps import SEGMENT

METRICS = "/destinations/"  # delivery metrics and subscriptions are per destination
HELD_BACK = {"state_interval_seconds": 3600, "delivery_metrics_granularity": "DAY"}


@pytest.fixture
def emulator():
    with SEGMENT.emulator(seed=7, destinations=6) as server:
        yield server


def finished_destinations(state: dict) -> set[str]:
    partitions = state.get("bookmarks", {}).get("delivery_metrics", {}).get("partitions", [])
    return {p["context"]["destinationId"] for p in partitions if p.get("replication_key_value")}


def test_a_failed_sync_still_writes_the_state_of_what_it_finished(emulator):
    # Four destinations' requests (a subscriptions listing and 13 DAY windows each) pass.
    emulator.faults.arm("status", path=METRICS, status=500, after=4 * 14, times=100)
    config = SEGMENT.config(emulator, max_retries=0, **HELD_BACK)
    result = run_tap(TapSegmentConfig, config)
    assert result.error is not None
    assert len(finished_destinations(result.state)) >= 3


def test_a_stopped_sync_writes_its_state_before_it_exits(emulator, tmp_path: Path):
    emulator.faults.arm("slow", path=METRICS, delay=60, after=4 * 14)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(SEGMENT.config(emulator, **HELD_BACK)))
    output = (tmp_path / "out.jsonl").open("w+")  # a file: a full pipe would block the tap
    with (
        output,
        subprocess.Popen(
            [str(BIN / SEGMENT.name), "--config", str(config_path)],
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        ) as tap,
    ):
        deadline = time.monotonic() + 60
        # The listing and four destinations answered; the next request is held for a minute.
        while len(emulator.log.entries()) < 1 + 4 * 14:
            assert time.monotonic() < deadline, "the tap never reached the slow request"
            time.sleep(0.05)
        tap.send_signal(signal.SIGTERM)
        _, err = tap.communicate(timeout=60)
        output.seek(0)
        out = output.read()
    record_output(out, err)
    states = [m["value"] for m in parse_messages(out) if m["type"] == "STATE"]
    assert states
    assert len(finished_destinations(states[-1])) >= 3
