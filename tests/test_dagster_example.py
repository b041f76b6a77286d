"""The Dagster example (examples/dagster): its jobs, partitions and schedules, and one partition
of the LaunchDarkly job run through dagster-meltano and `meltano run` against the emulator."""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

if sys.version_info >= (3, 13):  # the extra cannot be installed there (pyproject.toml)
    pytest.skip("dagster-meltano 1.5.5 does not install on Python 3.13", allow_module_level=True)

from dagster import DagsterRunStatus, Definitions, build_schedule_context

from api_emulator import EmulatorServer
from api_emulator.pm2 import Pm2Dataset
from tests.meltano import ROOT, meltano, meltano_env
from tests.taps import LAUNCHDARKLY
from tests.taps import LAUNCHDARKLY_ENVIRONMENTS as ENVIRONMENTS
from tests.taps import LAUNCHDARKLY_START as START

EXAMPLE = ROOT / "examples" / "dagster" / "definitions.py"
TAP, NOW = LAUNCHDARKLY.name, LAUNCHDARKLY.now
JOB = "tap_launchdarkly_events"
STATE_ID = f"dev:{TAP}-to-target-duckdb"
# Variables the example reads when it loads; unset so the defaults are what is tested.
EXAMPLE_SETTINGS = (
    "TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS",
    "TAP_PM2_EVENTS_BUCKET_IDS",
    "TELEMETRY_TAPS_LOADER",
    "MELTANO_PROJECT_ROOT",
)
pytestmark = pytest.mark.meltano


def load_example(monkeypatch: pytest.MonkeyPatch, **env: str) -> Definitions:
    """Load the example as `dagster dev -f` does, with only ``env`` of its settings set."""
    for name in EXAMPLE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(EXAMPLE))["defs"]


def partition_env(defs: Definitions, job: str, key: str) -> dict[str, str]:
    config = defs.get_job_def(job).partitioned_config
    assert config is not None
    run_config = config.get_run_config_for_partition_key(key)
    return run_config["ops"][f"{job}_target_duckdb"]["config"]["env"]


def test_one_hourly_job_per_tap_partitioned_by_environment_and_bucket(monkeypatch):
    defs = load_example(monkeypatch)
    jobs = {job.name: job for job in defs.get_all_job_defs()}
    assert set(jobs) == {
        "tap_segment_config",
        "tap_launchdarkly_events",
        "tap_pm2_events",
        "tap_apivideo_analytics",
    }
    assert jobs[JOB].partitions_def.get_partition_keys() == ENVIRONMENTS
    pm2_buckets = [b.id for b in Pm2Dataset.generate(seed=7, events=1).buckets]  # `serve pm2`
    assert jobs["tap_pm2_events"].partitions_def.get_partition_keys() == pm2_buckets
    assert jobs["tap_segment_config"].partitions_def is None
    assert jobs["tap_apivideo_analytics"].partitions_def is None

    repository = defs.get_repository_def()
    schedules = {s.job_name: s for s in repository.schedule_defs}
    assert set(schedules) == set(jobs)
    for schedule in schedules.values():
        minute, *rest = schedule.cron_schedule.split()
        assert (minute.isdigit(), rest, schedule.execution_timezone) == (True, ["*"] * 4, "UTC")


def test_each_partition_syncs_its_own_key_into_its_own_state(monkeypatch):
    defs = load_example(monkeypatch)
    assert partition_env(defs, JOB, "staging") == {
        "TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS": '["staging"]',
        "MELTANO_RUN_STATE_ID_SUFFIX": "staging",
        "TAP_LAUNCHDARKLY_EVENTS_INCLUDE_GLOBAL": "false",  # global events: first one only
    }
    assert partition_env(defs, JOB, "production") == {
        "TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS": '["production"]',
        "MELTANO_RUN_STATE_ID_SUFFIX": "production",
    }
    bucket = "a170b33839263059f28c105d"
    assert partition_env(defs, "tap_pm2_events", bucket) == {
        "TAP_PM2_EVENTS_BUCKET_IDS": f'["{bucket}"]',
        "MELTANO_RUN_STATE_ID_SUFFIX": bucket,
    }


def test_a_schedule_tick_launches_every_partition(monkeypatch):
    defs = load_example(monkeypatch)
    repository = defs.get_repository_def()
    context = build_schedule_context(repository_def=repository, scheduled_execution_time=NOW)
    tick = repository.get_schedule_def("tap_launchdarkly_events_hourly").evaluate_tick(context)
    assert [r.partition_key for r in tick.run_requests] == ENVIRONMENTS
    assert [r.tags["meltano/pipeline"] for r in tick.run_requests] == [
        f"{TAP}-to-target-duckdb:{key}" for key in ENVIRONMENTS
    ]
    tick = repository.get_schedule_def("tap_segment_config_hourly").evaluate_tick(context)
    assert [r.partition_key for r in tick.run_requests] == [None]


def test_partition_keys_follow_the_tap_setting(monkeypatch):
    keys = '["staging", "production"]'
    defs = load_example(monkeypatch, TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS=keys)
    assert defs.get_job_def(JOB).partitions_def.get_partition_keys() == ["staging", "production"]
    include_global = "TAP_LAUNCHDARKLY_EVENTS_INCLUDE_GLOBAL"
    assert include_global not in partition_env(defs, JOB, "staging")  # now the first one
    assert partition_env(defs, JOB, "production")[include_global] == "false"
    with pytest.raises(ValueError, match="TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS"):
        load_example(monkeypatch, TAP_LAUNCHDARKLY_EVENTS_ENVIRONMENT_KEYS='"staging"')


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with LAUNCHDARKLY.emulator(seed=13, events=300, days=10) as server:
        yield server


def seeded_ids(emulator: EmulatorServer, environment: str | None) -> set[str]:
    """Ids of the seeded events in ``environment`` (None: global) with START <= time < NOW."""
    first_ms, end_ms = int(START.timestamp() * 1000), int(NOW.timestamp() * 1000)
    return {
        event.public["id"]
        for event in emulator.app.dataset.between(first_ms, end_ms - 1)
        if event.public.get("environmentKey") == environment
    }


def loaded_ids(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute("select id from tap_launchdarkly_events.flag_events").fetchall()
    return {row[0] for row in rows}


def state_ids(env: dict[str, str]) -> list[str]:
    listed = meltano(env, "state", "list", "--pattern", f"{STATE_ID}*").stdout
    return sorted(line.strip() for line in listed.splitlines() if line.strip())


def stored_environments(env: dict[str, str], state_id: str) -> set[str]:
    state = json.loads(meltano(env, "state", "get", state_id).stdout)["singer_state"]
    partitions = state["bookmarks"]["flag_events"]["partitions"]
    return {partition["context"]["environmentKey"] for partition in partitions}


def test_partitions_run_through_dagster_meltano_into_the_warehouse(emulator, tmp_path, monkeypatch):
    settings = LAUNCHDARKLY.config(
        emulator,
        environment_keys=ENVIRONMENTS,  # what a deployment configures: every environment
        start_date=START.isoformat(),
        page_size=50,
    )
    env = meltano_env(TAP, settings, tmp_path)
    defs = load_example(monkeypatch, **{k: v for k, v in env.items() if os.environ.get(k) != v})
    job = defs.get_job_def(JOB)
    warehouse = tmp_path / "warehouse.duckdb"
    staging, production = seeded_ids(emulator, "staging"), seeded_ids(emulator, "production")
    global_events = seeded_ids(emulator, None)
    # Seeded events of all three kinds, so the assertions below can tell them apart.
    assert staging
    assert production
    assert global_events

    result = job.execute_in_process(partition_key="staging")
    assert result.success
    assert result.dagster_run.tags["dagster/partition"] == "staging"
    assert loaded_ids(warehouse) == staging  # not the first environment: no global events
    assert state_ids(env) == [f"{STATE_ID}:staging"]
    assert stored_environments(env, f"{STATE_ID}:staging") == {"staging"}

    result = job.execute_in_process(partition_key="production")
    assert result.dagster_run.status == DagsterRunStatus.SUCCESS
    assert loaded_ids(warehouse) == staging | production | global_events  # first: globals too
    assert state_ids(env) == [f"{STATE_ID}:production", f"{STATE_ID}:staging"]
    assert stored_environments(env, f"{STATE_ID}:production") == {"production"}
