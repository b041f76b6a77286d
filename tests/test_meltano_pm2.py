"""tap-pm2-events end to end: real `meltano run` into DuckDB, twice, from stored state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from api_emulator import EmulatorServer
from tests.meltano import meltano, meltano_env, stored_state, warehouse_counts
from tests.pm2.conftest import expected_events
from tests.taps import PM2
from tests.taps import PM2_START as START

TAP, SCHEMA, KEYS, NOW = PM2.name, PM2.schema, PM2.keys, PM2.now
pytestmark = pytest.mark.meltano


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with PM2.emulator(seed=9, events=300) as server:
        yield server


def settings(emulator: EmulatorServer) -> dict[str, object]:
    return PM2.config(emulator, start_date=START.isoformat(), histogram_days=1)


def test_meltano_run_loads_every_row_once_and_resumes_from_state(emulator, tmp_path):
    env = meltano_env(TAP, settings(emulator), tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    meltano(env, "run", TAP, "target-duckdb")
    first = warehouse_counts(warehouse, SCHEMA, KEYS)
    events = len(expected_events(emulator, START, NOW))
    assert first["events"] == (events, events)
    assert first["buckets"] == (2, 2)
    assert all(rows == distinct > 0 for rows, distinct in first.values())

    bucket = emulator.app.dataset.buckets[0]
    emulator.app.dataset.add_event(bucket, NOW - timedelta(minutes=3), late_minutes=10)
    emulator.app.dataset.add_event(bucket, NOW + timedelta(minutes=15), late_minutes=0)
    emulator.clock.set(NOW + timedelta(minutes=30))
    meltano(env, "run", TAP, "target-duckdb")
    second = warehouse_counts(warehouse, SCHEMA, KEYS)
    events = len(expected_events(emulator, START, NOW + timedelta(minutes=30)))
    assert second["events"] == (events, events)  # the late and the new one, no duplicate
    assert all(rows == distinct for rows, distinct in second.values())

    partitions = stored_state(env, TAP)["bookmarks"]["events"]["partitions"]
    assert {p["context"]["bucket_id"] for p in partitions} == {
        b.id for b in emulator.app.dataset.buckets
    }
