"""A Dagster code location that runs the taps of this repository through its Meltano project.

One job per tap, each a single dagster-meltano op running `meltano run <tap> target-duckdb` in
the project, with an hourly schedule. The LaunchDarkly job is partitioned by environment and the
PM2 job by bucket: a partition's run passes only its own key to the tap and keeps its own Meltano
state (`--state-id-suffix <key>`), so one environment or bucket can be re-run, backfilled or fail
without touching the others. See README.md next to this file.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    Definitions,
    InitResourceContext,
    JobDefinition,
    OpDefinition,
    PartitionedConfig,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    StaticPartitionsDefinition,
    job,
    resource,
    schedule,
)
from dagster_meltano import MeltanoResource, meltano_run_op

PROJECT_DIR = Path(os.environ.get("MELTANO_PROJECT_ROOT") or Path(__file__).resolve().parents[2])
LOADER = os.environ.get("TELEMETRY_TAPS_LOADER", "target-duckdb")
# dagster-meltano's op reads this variable as `meltano run --state-id-suffix`: the op's command
# is fixed when the job is defined, while its environment can come from the partition's config.
STATE_ID_SUFFIX = "MELTANO_RUN_STATE_ID_SUFFIX"
# Run tag naming the Meltano pipeline (state id without the environment): Dagster's run queue
# can limit it to one run at a time (dagster-meltano runs `meltano run --force`, which skips
# Meltano's own check for a run already holding the same state id).
PIPELINE_TAG = "meltano/pipeline"


@dataclass(frozen=True)
class TapJob:
    """One tap, when its hourly sync starts, and the array setting it is partitioned by."""

    tap: str
    minute: int  # staggered so the four hourly syncs do not all start at once
    partition_setting: str | None = None
    default_keys: tuple[str, ...] = ()
    # A boolean setting the tap honours for the first key only (LaunchDarkly reads global events
    # "with the first environment"): every partition is its own first key, so the others turn it
    # off, and global events are read once, by the first configured partition.
    first_partition_only: str | None = None

    @property
    def name(self) -> str:
        return self.tap.replace("-", "_")

    def env_var(self, setting: str) -> str:
        """The variable Meltano reads the setting from (TAP_X_SETTING)."""
        return f"{self.name}_{setting}".upper()


TAP_JOBS = (
    # One workspace per token; delivery metrics are already kept per destination in one state,
    # and destinations are only known once listed: nothing to split runs by.
    TapJob("tap-segment-config", minute=5),
    TapJob(
        "tap-launchdarkly-events",
        minute=15,
        partition_setting="environment_keys",
        default_keys=("production", "staging", "test"),  # `api-emulator serve launchdarkly`
        first_partition_only="include_global",
    ),
    TapJob(
        "tap-pm2-events",
        minute=25,
        partition_setting="bucket_ids",
        # The two buckets of `api-emulator serve pm2` (its default seed 7).
        default_keys=("269e0d37f2a74de452e6b438", "a170b33839263059f28c105d"),
    ),
    # One project per API key, read a whole UTC day at a time from the tap's own bookmarks: Dagster
    # time partitions would fight that state, and there is no other key to split by.
    TapJob("tap-apivideo-analytics", minute=35),
)


def meltano_executable() -> str:
    """The `meltano` next to this interpreter (a venv's bin need not be on PATH), else PATH's."""
    sibling = Path(sys.executable).with_name("meltano")
    return shlex.quote(str(sibling)) if sibling.exists() else "meltano"


@resource(description="The Meltano project of this repository.")
def meltano_project(_: InitResourceContext) -> MeltanoResource:
    # MeltanoResource is a per-process singleton: the first instance's settings are kept.
    return MeltanoResource(project_dir=str(PROJECT_DIR), meltano_bin=meltano_executable())


def partition_keys(spec: TapJob) -> list[str]:
    """The configured keys: the same JSON array Meltano reads for the setting, else the defaults.

    Dagster needs the keys when it loads this file, before any run: settings kept in meltano.yml
    are not seen here, so configure these two settings through the environment.
    """
    assert spec.partition_setting is not None
    variable = spec.env_var(spec.partition_setting)
    raw = os.environ.get(variable)
    if not raw:
        return list(spec.default_keys)
    keys = json.loads(raw)
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        msg = f"{variable} must be a JSON array of at least one name, not {raw!r}"
        raise ValueError(msg)
    return list(dict.fromkeys(keys))


def partition_env(spec: TapJob, key: str, keys: list[str]) -> dict[str, str]:
    """Environment of one partition's `meltano run`: only this key, and a state of its own."""
    assert spec.partition_setting is not None
    env = {spec.env_var(spec.partition_setting): json.dumps([key]), STATE_ID_SUFFIX: key}
    if spec.first_partition_only and key != keys[0]:
        env[spec.env_var(spec.first_partition_only)] = "false"
    return env


def partitioned_config(spec: TapJob, op: OpDefinition) -> PartitionedConfig:
    keys = partition_keys(spec)

    def run_config(key: str) -> dict[str, Any]:
        return {"ops": {op.name: {"config": {"env": partition_env(spec, key, keys)}}}}

    def tags(key: str) -> dict[str, str]:
        return {PIPELINE_TAG: f"{spec.tap}-to-{LOADER}:{key}"}

    return PartitionedConfig(
        partitions_def=StaticPartitionsDefinition(keys),
        run_config_for_partition_key_fn=run_config,
        tags_for_partition_key_fn=tags,
    )


def tap_job(spec: TapJob) -> JobDefinition:
    op = meltano_run_op(f"{spec.tap} {LOADER}")
    partitioned = spec.partition_setting is not None

    @job(
        name=spec.name,
        description=f"`meltano run {spec.tap} {LOADER}` in {PROJECT_DIR}.",
        config=partitioned_config(spec, op) if partitioned else None,
        tags=None if partitioned else {PIPELINE_TAG: f"{spec.tap}-to-{LOADER}"},
    )
    def run_tap() -> None:
        op()

    return run_tap


def hourly_schedule(spec: TapJob, job_def: JobDefinition) -> ScheduleDefinition:
    """Every hour, one run per partition (or one run). Stopped until turned on: started by
    default, `dagster dev` on a laptop would call the vendors' APIs without being asked."""
    partitions = job_def.partitions_def
    keys = partitions.get_partition_keys() if partitions else []

    @schedule(
        name=f"{spec.name}_hourly",
        job=job_def,
        cron_schedule=f"{spec.minute} * * * *",
        execution_timezone="UTC",
    )
    def every_hour(_: ScheduleEvaluationContext) -> list[RunRequest]:
        # Run keys are scoped to the tick: a recovered tick does not launch a partition twice.
        if not keys:
            return [RunRequest(run_key=spec.name)]
        return [RunRequest(run_key=key, partition_key=key) for key in keys]

    return every_hour


def build_definitions() -> Definitions:
    jobs = {spec: tap_job(spec) for spec in TAP_JOBS}
    return Definitions(
        jobs=list(jobs.values()),
        schedules=[hourly_schedule(spec, job_def) for spec, job_def in jobs.items()],
        resources={"meltano": meltano_project},
    )


defs = build_definitions()
