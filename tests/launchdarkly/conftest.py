"""The LaunchDarkly emulator on a free loopback port, with a frozen clock and seeded events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api_emulator import EmulatorServer
from api_emulator.launchdarkly import DEFAULT_TOKEN, LaunchDarklyApp, LaunchDarklyDataset

NOW = datetime(2026, 11, 20, 10, 37, 12, 345000, tzinfo=timezone.utc)
START = NOW - timedelta(days=6)
ENVIRONMENTS = ["production", "staging", "test"]


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at NOW; 300 events over 10 days before it."""
    dataset = LaunchDarklyDataset.generate(seed=5, events=300, anchor=NOW, days=10)
    server = EmulatorServer(LaunchDarklyApp(dataset))
    server.start()
    server.clock.set(NOW)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Every environment from START; short timeouts keep fault tests quick."""
    return {
        "api_url": emulator.url,
        "api_token": DEFAULT_TOKEN,
        "project_key": "default",
        "environment_keys": ENVIRONMENTS,
        "start_date": START.isoformat(),
        "page_size": 25,
        "request_timeout": 2,
        "max_retries": 3,
    }


def expected_ids(
    emulator: EmulatorServer, first: datetime, end: datetime, *, include_global: bool = True
) -> set[str]:
    """Ids of the seeded events with ``first <= eventTime < end``, in every environment."""
    first_ms, end_ms = int(first.timestamp() * 1000), int(end.timestamp() * 1000)
    return {
        event.public["id"]
        for event in emulator.app.dataset.between(first_ms, end_ms - 1)
        if include_global or not event.is_global
    }
