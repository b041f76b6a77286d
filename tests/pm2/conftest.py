"""The PM2 emulator (auth host, main API, data node) with a frozen clock and seeded events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api_emulator import EmulatorServer
from api_emulator.pm2 import DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset

NOW = datetime(2026, 11, 20, 10, 37, 12, 345000, tzinfo=timezone.utc)
START = NOW - timedelta(days=4)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """Two buckets, 300 events each over the 10 days before NOW (and 2 after, not yet seen)."""
    dataset = Pm2Dataset.generate(seed=5, events=300, buckets=2, anchor=NOW, days=10)
    server = EmulatorServer(Pm2App(dataset))
    server.start()
    server.clock.set(NOW)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Every bucket from START; short timeouts keep fault tests quick."""
    return {
        "api_url": emulator.url,
        "auth_url": emulator.urls["auth"],
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "start_date": START.isoformat(),
        "page_size": 25,
        "request_timeout": 2,
        "max_retries": 3,
    }


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
