"""tap-launchdarkly-events end to end: real `meltano run` into DuckDB, twice, from stored state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from api_emulator import EmulatorServer
from tests.launchdarkly.conftest import expected_ids, flag_event_requests
from tests.meltano import meltano, meltano_env, stored_state, warehouse_counts
from tests.taps import LAUNCHDARKLY
from tests.taps import LAUNCHDARKLY_ENVIRONMENTS as ENVIRONMENTS
from tests.taps import LAUNCHDARKLY_START as START

TAP, SCHEMA, NOW = LAUNCHDARKLY.name, LAUNCHDARKLY.schema, LAUNCHDARKLY.now
pytestmark = pytest.mark.meltano


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with LAUNCHDARKLY.emulator(seed=9, events=400, days=10) as server:
        yield server


def settings(emulator: EmulatorServer) -> dict[str, object]:
    return LAUNCHDARKLY.config(
        emulator, environment_keys=ENVIRONMENTS, start_date=START.isoformat(), page_size=20
    )


def impact_reason(warehouse: Path, event_id: str) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        (impact,) = connection.execute(
            f"select impact from {SCHEMA}.flag_events where id = ?", [event_id]
        ).fetchone()
    return json.loads(impact)["reason"]


def test_meltano_run_loads_every_event_once_and_resumes_from_state(emulator, tmp_path):
    env = meltano_env(TAP, settings(emulator), tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    waiting = emulator.app.dataset.add_event(NOW - timedelta(minutes=4), environment="test")["id"]
    meltano(env, "run", TAP, "target-duckdb")
    expected = len(expected_ids(emulator, START, NOW))
    assert warehouse_counts(warehouse, SCHEMA, {"flag_events": ("id",)}) == {
        "flag_events": (expected, expected)
    }
    assert impact_reason(warehouse, waiting) == "waiting"

    later = NOW + timedelta(hours=1)
    for minutes in (10, 20, 30):
        emulator.app.dataset.add_event(NOW + timedelta(minutes=minutes))
    emulator.clock.set(later)
    emulator.log.clear()
    meltano(env, "run", TAP, "target-duckdb")
    expected = len(expected_ids(emulator, START, later))
    assert warehouse_counts(warehouse, SCHEMA, {"flag_events": ("id",)}) == {
        "flag_events": (expected, expected)
    }
    assert impact_reason(warehouse, waiting) == "evaluations"  # re-read in the look-back
    assert len(flag_event_requests(emulator)) == len(ENVIRONMENTS)  # one page per environment

    partitions = stored_state(env, TAP)["bookmarks"]["flag_events"]["partitions"]
    assert {p["context"]["environmentKey"] for p in partitions} == set(ENVIRONMENTS)
