"""Run `meltano run <tap> target-duckdb` against an emulator and read the warehouse."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb

from tests.harness import BIN, record_output

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / ".meltano" / "loaders"


def meltano_env(tap: str, settings: dict[str, object], tmp_path: Path) -> dict[str, str]:
    """Point ``tap`` at the emulator and keep the warehouse and Meltano's state in tmp_path."""
    prefix = tap.upper().replace("-", "_")
    env = {
        f"{prefix}_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in settings.items()
    }
    return (
        os.environ
        | env
        | {
            "TARGET_DUCKDB_FILEPATH": str(tmp_path / "warehouse.duckdb"),
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )


def meltano(
    env: dict[str, str], *args: str, project: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run a Meltano command in ``project`` (this repository's by default); it must succeed."""
    completed = subprocess.run(
        [str(BIN / "meltano"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    record_output(completed.stdout, completed.stderr)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def stored_state(env: dict[str, str], tap: str) -> dict:
    """The Singer state Meltano keeps for `meltano run <tap> target-duckdb` in `dev`."""
    completed = meltano(env, "state", "get", f"dev:{tap}-to-target-duckdb")
    return json.loads(completed.stdout)["singer_state"]


def warehouse_counts(
    path: Path, schema: str, keys: dict[str, tuple[str, ...]]
) -> dict[str, tuple[int, int]]:
    """Rows and distinct primary keys per table (read with the loader's duckdb version)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return {
            table: connection.execute(
                f"select count(*), count(distinct ({', '.join(columns).lower()}))"
                f" from {schema}.{table}"
            ).fetchone()
            for table, columns in keys.items()
        }
