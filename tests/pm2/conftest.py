"""The PM2 emulator (auth host, main API, data node) with a frozen clock and seeded events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from api_emulator import EmulatorServer
from tests.taps import PM2, PM2_START


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Two buckets, 300 events each over the 10 days before PM2.now (and 2 after, not yet seen)."""
    with PM2.emulator(seed=5, events=300, buckets=2, days=10) as server:
        yield server


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Every bucket from PM2_START; short timeouts keep fault tests quick."""
    return PM2.config(
        emulator, start_date=PM2_START.isoformat(), page_size=25, request_timeout=2, max_retries=3
    )


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def expected_events(
    emulator: EmulatorServer, first: datetime, end: datetime, *, names: set[str] | None = None
) -> set[tuple[str, str]]:
    """(bucket id, request id) of the events with ``first <= at < end`` visible now."""
    now = millis(emulator.clock.now())
    return {
        (bucket.id, event.document["data"]["request_id"])
        for bucket in emulator.app.dataset.buckets
        for event in bucket.visible(now, millis(first), millis(end) - 1)
        if names is None or event.document["name"] in names
    }


def event_keys(records: list[dict]) -> list[tuple[str, str]]:
    """(bucket id, request id) of event records, duplicates kept."""
    return [(r["bucket_id"], r["data"]["request_id"]) for r in records]
