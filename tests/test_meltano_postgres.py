"""A real PostgreSQL warehouse: every tap through `meltano run <tap> target-postgres`, twice.

The test starts its own PostgreSQL server (Debian's binaries; as root through
`runuser -u postgres`, since initdb refuses root) on a free loopback port, and stops it after.
It is skipped, saying why, only where the PostgreSQL server binaries are not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import run_tap
from tests.meltano import meltano, meltano_env
from tests.reliability.cases import CASES, TapCase

pytestmark = pytest.mark.meltano
SERVER_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
# Columns whose type shows the loader kept the tap's schema: a UTC date-time is timestamptz,
# a nested object jsonb.
TIMESTAMPTZ = "timestamp with time zone"
MIGRATION = Path(__file__).resolve().parent.parent / "warehouse" / "postgres_timestamptz.sql"
TYPED_COLUMNS = {
    "tap-launchdarkly-events": {
        ("flag_events", "eventDateTime"): TIMESTAMPTZ,
        ("flag_events", "impact"): "jsonb",
        ("audit_log", "dateTime"): TIMESTAMPTZ,
        ("flags", "environments"): "jsonb",
    },
    "tap-pm2-events": {
        ("events", "at"): TIMESTAMPTZ,
        ("events", "data"): "jsonb",
        ("process_events", "at"): TIMESTAMPTZ,
        ("issues", "last_seen"): TIMESTAMPTZ,
        ("issue_occurrences", "raw"): "jsonb",
    },
    "tap-segment-config": {
        ("delivery_metrics", "windowStart"): TIMESTAMPTZ,
        ("destinations", "metadata"): "jsonb",
        ("tracking_plans", "updatedAt"): TIMESTAMPTZ,
        ("tracking_plan_rules", "deprecatedAt"): TIMESTAMPTZ,
        ("functions", "createdAt"): TIMESTAMPTZ,
        ("sources", "writeKeys"): "ARRAY",  # of text
        ("tracking_plan_rules", "ruleVersion"): "bigint",
        ("usage_mtu_daily", "timestamp"): TIMESTAMPTZ,
        ("delivery_overview", "time"): TIMESTAMPTZ,
    },
    "tap-apivideo-analytics": {
        ("video_plays", "date"): TIMESTAMPTZ,
        ("videos", "updatedAt"): TIMESTAMPTZ,
        ("videos", "source"): "jsonb",
    },
}


# (table, timestamptz column, the same instant in epoch ms as the source sent it)
SAME_INSTANT = {
    "tap-launchdarkly-events": [
        ("flag_events", "eventDateTime", "eventTime"),
        ("audit_log", "dateTime", "date"),
    ],
    "tap-pm2-events": [("events", "at", "at_epoch_ms")],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(command: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL server with a `warehouse` database; yields its SQLAlchemy URL."""
    if not SERVER_BINARIES:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    binaries = SERVER_BINARIES[-1]
    root = Path(tempfile.mkdtemp(prefix="warehouse-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    pg_ctl = str(binaries / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(as_postgres(start), check=True, capture_output=True)
    try:
        psql(port, "postgres", "create database warehouse")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/warehouse"
    finally:
        subprocess.run(
            as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def psql(port: int, database: str, sql: str) -> list[list[str]]:
    """Rows of a query, through the psql client, as text."""
    completed = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return [line.split("\t") for line in completed.stdout.splitlines()]


def migrate_to_timestamptz(url: str, schema: str) -> None:
    """The one-time step of docs/operations.md: warehouse/postgres_timestamptz.sql."""
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port_of(url)), "-U", "postgres", "-d", "warehouse",
         "-v", "ON_ERROR_STOP=1", "-v", f"schema={schema}", "-f", str(MIGRATION)],
        check=True, capture_output=True,
    )  # fmt: skip


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def counts(url: str, case: TapCase) -> dict[str, tuple[int, int]]:
    """Rows and distinct primary keys per table."""
    result = {}
    for table, columns in case.keys.items():
        keys = ", ".join(f'"{c}"' for c in columns)
        sql = f'select count(*), count(distinct ({keys})) from {case.schema}."{table}"'
        (rows, distinct), = psql(port_of(url), "warehouse", sql)  # fmt: skip
        result[table] = (int(rows), int(distinct))
    return result


def column_types(url: str, case: TapCase) -> dict[tuple[str, str], str]:
    sql = (
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = '{case.schema}'"
    )
    return {(t, c): kind for t, c, kind in psql(port_of(url), "warehouse", sql)}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_meltano_run_into_postgres_loads_typed_rows_once(case, postgres, tmp_path):
    emulator = case.start_emulator()
    try:
        clean = run_tap(case.tap_class, case.settings(emulator))
        expected = {t: len(set(clean.keys(t, *c))) for t, c in case.keys.items()}
        env = meltano_env(case.tap, case.settings(emulator), tmp_path) | {
            "TARGET_POSTGRES_SQLALCHEMY_URL": postgres
        }
        meltano(env, "run", case.tap, "target-postgres")
        assert counts(postgres, case) == {t: (n, n) for t, n in expected.items()}
        types = column_types(postgres, case)
        assert {c: types[c] for c in TYPED_COLUMNS[case.tap]} == {
            c: "timestamp without time zone" if kind == TIMESTAMPTZ else kind
            for c, kind in TYPED_COLUMNS[case.tap].items()
        }  # what target-postgres 0.8.1 creates; UTC wall times
        migrate_to_timestamptz(postgres, case.schema)

        meltano(env, "run", case.tap, "target-postgres")  # from state: nothing twice
        assert counts(postgres, case) == {t: (n, n) for t, n in expected.items()}
        types = column_types(postgres, case)
        for column, kind in TYPED_COLUMNS[case.tap].items():
            assert types[column] == kind, column
        for table, instant, millis in SAME_INSTANT.get(case.tap, []):
            sql = (
                f'select count(*) from {case.schema}."{table}" '
                f'where (extract(epoch from "{instant}") * 1000)::bigint <> "{millis}"'
            )
            assert psql(port_of(postgres), "warehouse", sql) == [["0"]]  # true UTC instants
    finally:
        emulator.stop()
