"""The scheduled job: all four taps into one warehouse, run twice from Meltano's stored state."""

from __future__ import annotations

import json
import os

import pytest

from tests.harness import run_tap
from tests.meltano import meltano, stored_state, warehouse_counts
from tests.reliability.cases import CASES

JOB = "telemetry-warehouse"
pytestmark = pytest.mark.meltano


def job_env(emulators: list, tmp_path) -> dict[str, str]:
    env = dict(os.environ)
    for case, emulator in emulators:
        prefix = case.tap.upper().replace("-", "_")
        for name, value in case.settings(emulator).items():
            env[f"{prefix}_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env | {
        "TARGET_DUCKDB_FILEPATH": str(tmp_path / "warehouse.duckdb"),
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
    }


def test_the_warehouse_job_loads_every_tap_and_its_rerun_is_incremental(tmp_path):
    emulators = [(case, case.start_emulator()) for case in CASES]
    try:
        expected = {}
        for case, emulator in emulators:
            result = run_tap(case.tap_class, case.settings(emulator))
            expected[case.tap] = {t: len(set(result.keys(t, *c))) for t, c in case.keys.items()}
            emulator.log.clear()
        env = job_env(emulators, tmp_path)

        meltano(env, "run", JOB)
        first_requests = {case.tap: len(e.log.entries()) for case, e in emulators}
        for _, emulator in emulators:
            emulator.log.clear()
        meltano(env, "run", JOB)

        for case, emulator in emulators:
            counts = warehouse_counts(tmp_path / "warehouse.duckdb", case.schema, case.keys)
            assert counts == {t: (n, n) for t, n in expected[case.tap].items()}, case.tap
            assert len(emulator.log.entries()) < first_requests[case.tap], case.tap
            assert stored_state(env, case.tap)["bookmarks"], case.tap
    finally:
        for _, emulator in emulators:
            emulator.stop()


def test_the_schedules_run_the_event_taps_hourly_and_the_day_windows_daily(tmp_path):
    env = dict(os.environ) | {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}"}
    listing = meltano(env, "schedule", "list", "--format=json").stdout
    schedules = json.loads(listing)["schedules"]["job"]
    by_name = {s["name"]: s for s in schedules}
    assert by_name["events-hourly"]["cron_interval"] == "7 * * * *"
    assert by_name["daily-metrics"]["cron_interval"] == "20 0 * * *"
    tasks = {s["name"]: " ".join(s["job"]["tasks"]) for s in schedules}
    assert "tap-launchdarkly-events" in tasks["events-hourly"]
    assert "tap-pm2-events" in tasks["events-hourly"]
    assert "tap-segment-config" in tasks["daily-metrics"]
    assert "tap-apivideo-analytics" in tasks["daily-metrics"]
