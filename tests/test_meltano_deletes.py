"""Deleted at the source, marked deleted in the warehouse: real `meltano run`s (docs/deletes.md).

Each case runs one tap into one loader setting, the vendor changing between runs:

1. a complete run: every row live;
2. the emulator deletes a destination (its subscriptions go with it) and a subscription of
   another destination, or a PM2 bucket (its event keys go with it) and an event key of the
   other bucket;
3. (one case per tap) a run killed mid-way by SIGKILL of the tap, then a run filtered to what
   remains (`destination_ids`, `bucket_ids`): neither marks anything, nothing is lost;
4. a complete run: exactly the deleted rows are marked (soft: `_sdc_deleted_at` set, the other
   columns null) or removed (`hard_delete`); every other row stays as it was;
5. (soft) the deleted rows back at the vendor, a complete run: live again, with their columns.

Every step counts the rows of every table. Each case has its own Meltano project (this
project's meltano.yml with the loader setting added, its plugins linked) and its own warehouse:
a DuckDB file, or a database on one PostgreSQL server for the module.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
import yaml

from api_emulator import EmulatorServer
from tests.harness import BIN, record_output, run_tap
from tests.meltano import ROOT, meltano, meltano_env
from tests.reliability.test_kill_resume import hold_request, kill_tap, wait_until_held
from tests.taps import PM2, PM2_START, SEGMENT, TapSetup
from tests.test_meltano_postgres import port_of, postgres, psql  # noqa: F401 (a fixture)

pytestmark = pytest.mark.meltano
# The request a killed run is killed at: the listing and a child's first request have been
# answered (records emitted), the read of the full-table streams is not over.
KILLED_AT = 3
DELETED_AT = "_sdc_deleted_at"
Key = tuple[str, ...]


@dataclass(frozen=True)
class Loader:
    """A loader and the settings a case adds to it."""

    name: str
    settings: dict[str, Any]

    @property
    def hard(self) -> bool:
        return bool(self.settings.get("hard_delete"))


DUCKDB = Loader("target-duckdb", {})  # as meltano.yml ships it: soft, through the tap's column
DUCKDB_METADATA = Loader("target-duckdb", {"add_metadata_columns": True})
DUCKDB_HARD = Loader("target-duckdb", {"hard_delete": True})
POSTGRES = Loader("target-postgres", {})  # add_record_metadata (its default): soft
POSTGRES_HARD = Loader("target-postgres", {"hard_delete": True})


@dataclass
class Scenario:
    """One tap's data, what the vendor deletes, and how the tables are checked."""

    setup: TapSetup
    settings: dict[str, Any]
    full_table: dict[str, str]  # table -> a column every live row has (null on a tombstone)
    emulator: EmulatorServer
    delete: Callable[[dict[str, set[Key]]], dict[str, set[Key]]]  # rows read -> rows deleted
    restore: Callable[[], None]
    narrowed: dict[str, Any]  # settings of a run that reads only rows still there
    within: Callable[[str, Key], bool]  # whether a row of a full-table table is in that read


def segment_scenario(emulator: EmulatorServer) -> Scenario:
    dataset = emulator.app.dataset
    owners = sorted(
        (d for d in dataset.destinations if dataset.subscriptions_for(d["id"])),
        key=lambda d: -len(dataset.subscriptions_for(d["id"])),
    )
    gone, other = owners[0], owners[1]
    owned = list(dataset.subscriptions_for(gone["id"]))
    lone = dataset.subscriptions_for(other["id"])[0]
    kept = next(d for d in dataset.destinations if d not in (gone, other))
    kept_subscriptions = {(s["id"],) for s in dataset.subscriptions_for(kept["id"])}

    def delete(_: dict[str, set[Key]]) -> dict[str, set[Key]]:
        admin = f"{emulator.url}/_emulator/segment"
        for path in (f"destinations/{gone['id']}", f"subscriptions/{lone['id']}"):
            assert requests.delete(f"{admin}/{path}", timeout=5).status_code == 204
        return {
            "destinations": {(gone["id"],)},
            "destination_subscriptions": {(s["id"],) for s in [*owned, lone]},
        }

    def restore() -> None:
        dataset.restore_destination(gone)
        dataset.restore_subscription(lone)

    return Scenario(
        SEGMENT,
        {},
        {"destinations": "sourceId", "destination_subscriptions": "destinationId"},
        emulator,
        delete,
        restore,
        {"destination_ids": [kept["id"]]},
        lambda table, key: (
            key in ({(kept["id"],)} if table == "destinations" else kept_subscriptions)
        ),
    )


# PM2's full-table issue streams: gone with their bucket (table -> a column of every live row).
ISSUE_TABLES = {"issue_apps": "open_issues", "issues": "message"}


def pm2_scenario(emulator: EmulatorServer) -> Scenario:
    dataset = emulator.app.dataset
    kept, gone = dataset.buckets
    removed = []

    def delete(read: dict[str, set[Key]]) -> dict[str, set[Key]]:
        key = min(k for k in read["event_keys"] if k[0] == kept.id)
        url = f"{emulator.url}/_emulator/pm2"
        assert requests.delete(f"{url}/buckets/{gone.id}", timeout=5).status_code == 204
        removed.extend(e for e in kept.events if (kept.id, e.app, e.document["name"]) == key)
        body = dict(zip(("bucket_id", "app_name", "event_name"), key, strict=True))
        assert requests.delete(f"{url}/event-keys", json=body, timeout=5).status_code == 204
        with_bucket = {k for k in read["event_keys"] if k[0] == gone.id}
        issues = {table: {k for k in read[table] if k[0] == gone.id} for table in ISSUE_TABLES}
        return {"buckets": {(gone.id,)}, "event_keys": {key, *with_bucket}, **issues}

    def restore() -> None:
        dataset.restore_bucket(gone)
        kept.restore_events(removed)

    return Scenario(
        PM2,
        {"start_date": PM2_START.isoformat(), "histogram_days": 1},
        {"buckets": "name", "event_keys": "count"} | ISSUE_TABLES,
        emulator,
        delete,
        restore,
        {"bucket_ids": [kept.id]},
        lambda _, key: key[0] == kept.id,
    )


class Warehouse:
    """What a case's warehouse holds: per table, its rows (keys), which are marked deleted, and
    which have lost their other columns."""

    def __init__(self, scenario: Scenario, loader: Loader, workdir: Path, url: str | None):
        self.scenario, self.loader, self.url = scenario, loader, url
        self.path = workdir / "warehouse.duckdb"

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        keys = self.scenario.setup.keys[table]
        probe = self.scenario.full_table.get(table)
        if self.url is None:
            columns = [c.lower() for c in keys]
            if probe:
                columns += [f"{DELETED_AT} is not null", f"{probe.lower()} is null"]
            sql = f"select {', '.join(columns)} from {self.scenario.setup.schema}.{table}"
            with duckdb.connect(str(self.path), read_only=True) as connection:
                return connection.execute(sql).fetchall()
        columns = [f'"{c}"' for c in keys]
        if probe:
            columns += [f'"{DELETED_AT}" is not null', f'"{probe}" is null']
        sql = f'select {", ".join(columns)} from {self.scenario.setup.schema}."{table}"'
        rows = psql(port_of(self.url), self.url.rsplit("/", 1)[1], sql)
        return [tuple(r[: len(keys)]) + tuple(v == "t" for v in r[len(keys) :]) for r in rows]

    def loaded_at(self, table: str) -> dict[Key, Any]:
        """When each row was last written (`_sdc_batched_at` of the loaders' metadata)."""
        keys = self.scenario.setup.keys[table]
        if self.url is None:
            columns = ", ".join([*(c.lower() for c in keys), "_sdc_batched_at"])
            sql = f"select {columns} from {self.scenario.setup.schema}.{table}"
            with duckdb.connect(str(self.path), read_only=True) as connection:
                rows = connection.execute(sql).fetchall()
        else:
            columns = ", ".join(f'"{c}"' for c in [*keys, "_sdc_batched_at"])
            sql = f'select {columns} from {self.scenario.setup.schema}."{table}"'
            rows = [tuple(r) for r in psql(port_of(self.url), self.url.rsplit("/", 1)[1], sql)]
        return {tuple(row[:-1]): row[-1] for row in rows}

    def check(self, expected: dict[str, set[Key]], gone: dict[str, set[Key]]) -> None:
        """Every table holds its expected rows once; ``gone`` marked (soft) or absent (hard)."""
        for table, keys in expected.items():
            rows = self.rows(table)
            width = len(self.scenario.setup.keys[table])
            found = [tuple(row[:width]) for row in rows]
            assert len(found) == len(set(found)), f"{table}: duplicate rows"
            if table not in self.scenario.full_table:
                assert len(found) == len(keys), table  # other streams are not touched
                continue
            marked = {tuple(row[:width]) for row in rows if row[width]}
            emptied = {tuple(row[:width]) for row in rows if row[width + 1]}
            if self.loader.hard:
                assert set(found) == keys - gone.get(table, set()), table
                assert marked == emptied == set(), table
            else:
                assert set(found) == keys, table
                assert marked == gone.get(table, set()), table
                assert emptied == marked, table  # a tombstone holds the key and the mark only


def make_project(workdir: Path, loader: Loader) -> Path:
    """A Meltano project for one case: this project's meltano.yml with the loader setting added,
    its installed plugins linked, its own `.meltano` (catalogs and config of its runs)."""
    root = workdir / "project"
    definition = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for plugin in definition["plugins"]["loaders"]:
        if plugin["name"] == loader.name:
            plugin["config"] = plugin.get("config", {}) | loader.settings
    (root / ".meltano").mkdir(parents=True)
    (root / "meltano.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    for kind in ("extractors", "loaders"):
        (root / ".meltano" / kind).symlink_to(ROOT / ".meltano" / kind)
    return root


def case_env(scenario: Scenario, workdir: Path, url: str | None, **settings: Any) -> dict:
    """The environment of a run: the tap pointed at the emulator, the case's warehouse and
    Meltano database (the project is found from the working directory, not inherited)."""
    tap_settings = scenario.setup.config(scenario.emulator, **scenario.settings, **settings)
    env = meltano_env(scenario.setup.name, tap_settings, workdir)
    env.pop("MELTANO_PROJECT_ROOT", None)
    return env | ({"TARGET_POSTGRES_SQLALCHEMY_URL": url} if url else {})


def run(root: Path, env: dict[str, str], tap: str, loader: str) -> None:
    """`meltano run <tap> <loader>` in the case's project; it must succeed."""
    meltano(env, "run", tap, loader, project=root)


def run_killed(root: Path, env: dict[str, str], scenario: Scenario, loader: str, at: int) -> None:
    """`meltano run`, its tap killed (SIGKILL) while the emulator holds request ``at``."""
    hold_request(scenario.emulator, at)
    log = root / "killed.log"
    with log.open("w") as sink:
        killed = subprocess.Popen(
            [str(BIN / "meltano"), "run", scenario.setup.name, loader],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_until_held(scenario.emulator, killed)
        kill_tap(scenario.setup.name, killed.pid)
        killed.communicate(timeout=120)
    finally:
        record_output(log.read_text())
        scenario.emulator.faults.clear()
    assert killed.returncode != 0, "a killed tap fails the run"


CASES = [
    # (tap, loader, with a killed and a filtered run between deleting and marking: with the
    # loaders' metadata columns, which show when each row was last written)
    ("segment", DUCKDB_METADATA, True),
    ("segment", DUCKDB_HARD, False),
    ("segment", POSTGRES, False),
    ("segment", POSTGRES_HARD, False),
    ("pm2", DUCKDB, False),
    ("pm2", DUCKDB_HARD, False),
    ("pm2", POSTGRES, True),
    ("pm2", POSTGRES_HARD, False),
]
IDS = [
    f"{tap}-{loader.name}-{'hard' if loader.hard else 'soft'}"
    + ("-metadata" if loader.settings.get("add_metadata_columns") else "")
    + ("-interrupted" if interrupted else "")
    for tap, loader, interrupted in CASES
]


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    tap = request.param
    if tap == "segment":
        with SEGMENT.emulator(seed=7, destinations=8) as server:
            yield segment_scenario(server)
    else:
        with PM2.emulator(seed=9, events=120) as server:
            yield pm2_scenario(server)


@pytest.mark.parametrize(
    ("scenario", "loader", "interrupted"), CASES, ids=IDS, indirect=["scenario"]
)
def test_rows_deleted_at_the_vendor_are_marked_after_the_next_complete_run(
    scenario: Scenario, loader: Loader, interrupted: bool, tmp_path: Path, request
):
    root, url = make_project(tmp_path, loader), None
    if loader.name == "target-postgres":
        server = request.getfixturevalue("postgres")
        database = re.sub(r"\W", "_", request.node.callspec.id).lower()
        psql(port_of(server), "postgres", f"create database {database}")
        url = f"{server.rsplit('/', 1)[0]}/{database}"
    env = case_env(scenario, tmp_path, url)
    warehouse = Warehouse(scenario, loader, tmp_path, url)
    tap, emulator = scenario.setup.name, scenario.emulator

    clean = run_tap(scenario.setup.tap_class, scenario.setup.config(emulator, **scenario.settings))
    assert clean.error is None
    expected = {t: set(clean.keys(t, *keys)) for t, keys in scenario.setup.keys.items()}

    run(root, env, tap, loader.name)
    warehouse.check(expected, {})

    gone = scenario.delete(expected)
    if interrupted:
        run_killed(root, env, scenario, loader.name, KILLED_AT)
        warehouse.check(expected, {})  # nothing marked, nothing lost
        before = {table: warehouse.loaded_at(table) for table in scenario.full_table}
        run(root, case_env(scenario, tmp_path, url, **scenario.narrowed), tap, loader.name)
        warehouse.check(expected, {})  # nothing marked
        for table, loaded in before.items():  # rows outside the filter not even rewritten
            now = warehouse.loaded_at(table)
            rewritten = {k for k in loaded if now[k] != loaded[k]}
            assert rewritten == {k for k in loaded if scenario.within(table, k)} - gone[table]

    run(root, env, tap, loader.name)
    warehouse.check(expected, gone)

    if not loader.hard:  # (a row deleted outright comes back as any new row: inserted)
        scenario.restore()
        run(root, env, tap, loader.name)
        warehouse.check(expected, {})  # live again, with their columns
