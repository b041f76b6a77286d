"""tap-apivideo-analytics end to end: real `meltano run` into DuckDB, twice, late data upserted."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from api_emulator import EmulatorServer
from api_emulator.apivideo import BREAKDOWNS
from tests.apivideo.conftest import days, expected_plays
from tests.meltano import meltano, meltano_env, stored_state, warehouse_counts
from tests.taps import APIVIDEO
from tests.taps import APIVIDEO_TODAY as TODAY

TAP, SCHEMA, TABLES, NOW = APIVIDEO.name, APIVIDEO.schema, APIVIDEO.keys, APIVIDEO.now
START = TODAY - timedelta(days=6)
DIMENSIONS = ("videoId", "country", "emittedAt")
LIVE_DIMENSIONS = ("country", "emittedAt")  # videoId is not a live-stream dimension
METRIC_BREAKDOWNS = ("country", "media-id")
METRICS = ("play", "impression")
AGGREGATES = ("play/count", "watch-time/sum")
pytestmark = pytest.mark.meltano


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with APIVIDEO.emulator(seed=9, videos=30) as server:
        yield server


def settings(emulator: EmulatorServer) -> dict[str, object]:
    return APIVIDEO.config(
        emulator,
        start_date=START.isoformat(),
        dimensions=list(DIMENSIONS),
        breakdowns=list(METRIC_BREAKDOWNS),
        metrics=list(METRICS),
        aggregates=list(AGGREGATES),
        page_size=20,
    )


def expected_rows(emulator: EmulatorServer, end: datetime) -> dict[str, int]:
    """Rows per table for the complete days in ``[START, end)``."""
    dataset = emulator.app.dataset
    buckets = watched = 0
    for day in days(START, end):
        sessions = dataset.between(day, day + timedelta(days=1))
        counted = {"play": [s for s in sessions if s.played], "impression": sessions}
        for metric, breakdown in itertools.product(METRICS, METRIC_BREAKDOWNS):
            buckets += len(Counter(BREAKDOWNS[breakdown](s) for s in counted[metric]))
        watched += len({s.media_id for s in counted["play"]})
    return {
        "video_plays": len(expected_plays(emulator, "video", DIMENSIONS, START, end)),
        "live_stream_plays": len(
            expected_plays(emulator, "live-stream", LIVE_DIMENSIONS, START, end)
        ),
        "metric_buckets": buckets,
        "metric_timeseries": len(days(START, end)) * len(METRICS),
        "metric_aggregates": len(days(START, end)) * len(AGGREGATES),
        "media_watch_time": watched,
        "videos": len(dataset.catalogue.videos),
        "live_streams": len(dataset.catalogue.live_streams),
    }


def video_plays(warehouse: Path, day: datetime, video: str) -> tuple[int, float]:
    """The video's plays (video_plays) and seconds watched (media_watch_time) that day."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        (plays,) = connection.execute(
            f"select plays from {SCHEMA}.video_plays"
            " where date = ? and dimension = 'videoId' and value = ?",
            [day.replace(tzinfo=None), video],
        ).fetchone()
        (watched,) = connection.execute(
            f"select watch_time_seconds from {SCHEMA}.media_watch_time"
            " where date = ? and media_id = ?",
            [day.replace(tzinfo=None), video],
        ).fetchone()
    return plays, watched


def test_meltano_run_loads_every_row_once_and_upserts_late_plays(emulator, tmp_path):
    env = meltano_env(TAP, settings(emulator), tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    meltano(env, "run", TAP, "target-duckdb")
    expected = expected_rows(emulator, TODAY)
    assert warehouse_counts(warehouse, SCHEMA, TABLES) == {
        table: (rows, rows) for table, rows in expected.items()
    }

    yesterday = TODAY - timedelta(days=1)
    video = emulator.app.dataset.videos[0]
    plays, watched = video_plays(warehouse, yesterday, video)
    late = emulator.app.dataset.add_late_plays(yesterday, 4, video)
    emulator.clock.set(NOW + timedelta(days=1))
    meltano(env, "run", TAP, "target-duckdb")
    expected = expected_rows(emulator, TODAY + timedelta(days=1))
    assert warehouse_counts(warehouse, SCHEMA, TABLES) == {
        table: (rows, rows) for table, rows in expected.items()
    }
    # Re-read in the look-back: the day's plays and watch time, upserted.
    late_seconds = sum(session.watch_seconds for session in late)
    assert video_plays(warehouse, yesterday, video) == (plays + 4, watched + late_seconds)

    partitions = stored_state(env, TAP)["bookmarks"]["video_plays"]["partitions"]
    assert {p["context"]["dimension"] for p in partitions} == set(DIMENSIONS)
