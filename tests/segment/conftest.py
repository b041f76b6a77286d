"""The Segment emulator on a free loopback port, with a frozen clock and fresh seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from api_emulator import EmulatorServer
from api_emulator.segment import DEFAULT_TOKEN, SegmentApp, SegmentDataset

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at NOW; eight seeded destinations."""
    server = EmulatorServer(SegmentApp(SegmentDataset.generate(seed=7, destinations=8)))
    server.start()
    server.clock.set(NOW)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Settings pointing the tap at the emulator; short timeouts keep fault tests quick."""
    return {
        "api_url": emulator.url,
        "api_token": DEFAULT_TOKEN,
        "request_timeout": 2,
        "max_retries": 3,
    }
