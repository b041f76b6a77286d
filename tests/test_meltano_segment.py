"""tap-segment-config end to end: real `meltano run` into DuckDB, and a standalone pipe."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_emulator import EmulatorServer
from tests.harness import BIN
from tests.meltano import PLUGINS, meltano, meltano_env, stored_state, warehouse_counts
from tests.segment.expected import expected_records
from tests.taps import SEGMENT

TAP = SEGMENT.name
# the time series in few rows: delivery overview totals per stage, event volume per source
SMALL_SERIES = {"delivery_overview_group_by": [], "event_volume_group_by": ["source"]}
pytestmark = pytest.mark.meltano


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with SEGMENT.emulator(seed=3, destinations=6) as server:
        yield server


def counts(tmp_path: Path) -> dict[str, tuple[int, int]]:
    return warehouse_counts(tmp_path / "warehouse.duckdb", SEGMENT.schema, SEGMENT.keys)


def assert_loaded(tmp_path: Path, expected: dict[str, tuple[int, int]]) -> None:
    """The destination tables hold ``expected``; every table holds each row once."""
    tables = counts(tmp_path)
    assert {table: tables[table] for table in expected} == expected
    assert {table: rows for table, (rows, keys) in tables.items() if rows != keys} == {}


def expected_counts(emulator: EmulatorServer) -> dict[str, tuple[int, int]]:
    dataset = emulator.app.dataset
    destinations = len(dataset.destinations)
    subscriptions = sum(len(dataset.subscriptions_for(d["id"])) for d in dataset.destinations)
    windows = destinations * 13  # closed days within Segment's 14-day horizon at NOW
    return {
        "destinations": (destinations, destinations),
        "destination_subscriptions": (subscriptions, subscriptions),
        "delivery_metrics": (windows, windows),
    } | {
        stream: (len(records), len(records))
        for stream, records in expected_records(emulator.app.workspace).items()
    }


def test_meltano_run_loads_every_row_once_and_resumes_from_state(emulator, tmp_path):
    env = meltano_env(TAP, SEGMENT.config(emulator, **SMALL_SERIES), tmp_path)
    meltano(env, "run", TAP, "target-duckdb")
    assert_loaded(tmp_path, expected_counts(emulator))
    first_calls = len(emulator.log.entries())

    emulator.log.clear()
    meltano(env, "run", TAP, "target-duckdb")
    assert_loaded(tmp_path, expected_counts(emulator))
    second = emulator.log.entries()
    assert not [e for e in second if e.path.endswith("/delivery-metrics")]  # nothing new closed
    assert len(second) < first_calls

    bookmarks = stored_state(env, TAP)["bookmarks"]
    assert len(bookmarks["delivery_metrics"]["partitions"]) == len(
        emulator.app.dataset.destinations
    )


def test_standalone_tap_piped_into_target_jsonl(emulator, tmp_path):
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(json.dumps(SEGMENT.config(emulator, **SMALL_SERIES)))
    target_config = tmp_path / "target.json"
    out = tmp_path / "jsonl"
    target_config.write_text(json.dumps({"destination_path": str(out), "do_timestamp_file": False}))
    target = PLUGINS / "target-jsonl" / "venv" / "bin" / "target-jsonl"

    # tap-segment-config --config tap.json | target-jsonl --config target.json
    with (tmp_path / "tap.log").open("w") as tap_log, (tmp_path / "target.log").open("w") as log:
        tap = subprocess.Popen(
            [str(BIN / TAP), "--config", str(tap_config)],
            stdout=subprocess.PIPE,
            stderr=tap_log,
        )
        loader = subprocess.run(
            [str(target), "--config", str(target_config)],
            stdin=tap.stdout,
            stdout=subprocess.DEVNULL,
            stderr=log,
            timeout=300,
            check=False,
        )
        assert tap.stdout is not None
        tap.stdout.close()
        assert tap.wait(timeout=60) == 0, (tmp_path / "tap.log").read_text()[-3000:]
    assert loader.returncode == 0, (tmp_path / "target.log").read_text()[-3000:]
    for stream, (rows, _) in expected_counts(emulator).items():
        lines = (out / f"{stream}.jsonl").read_text().splitlines()
        assert len(lines) == rows
        records = [json.loads(line) for line in lines]
        assert len({tuple(r[key] for key in SEGMENT.keys[stream]) for r in records}) == rows
