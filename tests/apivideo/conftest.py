"""The api.video emulator on a free loopback port, with a frozen clock and seeded sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from api_emulator import EmulatorServer
from tap_common.timeutil import to_utc_iso
from tests.taps import APIVIDEO, APIVIDEO_TODAY

# plan_windows keeps a minute inside the 30-day horizon: the first day is today - 29.
FIRST_DAY = APIVIDEO_TODAY - timedelta(days=29)
VIDEO_DIMENSIONS = ("emittedAt", "videoId", "country", "deviceType", "operatingSystem", "browser")
LIVE_DIMENSIONS = (
    "emittedAt",
    "liveStreamId",
    "country",
    "deviceType",
    "operatingSystem",
    "browser",
)
PLAYS_KEY = ("date", "dimension", "value")


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at APIVIDEO.now; 40 videos, 10 live streams."""
    with APIVIDEO.emulator(seed=5, videos=40) as server:
        yield server


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Six days of history; short timeouts keep fault tests quick."""
    return APIVIDEO.config(
        emulator,
        start_date=(APIVIDEO_TODAY - timedelta(days=6)).isoformat(),
        page_size=25,
        request_timeout=2,
        max_retries=3,
    )


def days(first: datetime, end: datetime) -> list[datetime]:
    """UTC midnights of the days in ``[first, end)``."""
    return [first + timedelta(days=n) for n in range((end - first).days)]


def expected_plays(
    emulator: EmulatorServer,
    media_type: str,
    dimensions: tuple[str, ...],
    first: datetime,
    end: datetime,
    media_id: str = "",
) -> dict[tuple[str, str, str], int]:
    """(date, dimension, value) -> plays, from the emulator's sessions, per complete day."""
    dataset = emulator.app.dataset
    expected = {}
    for day in days(first, end):
        for dimension in dimensions:
            counts = dataset.plays(media_type, dimension, day, day + timedelta(days=1), media_id)
            for value, plays in counts.items():
                expected[(to_utc_iso(day), dimension, value)] = plays
    return expected
