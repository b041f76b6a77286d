"""The Segment emulator on a free loopback port, with a frozen clock and fresh seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api_emulator import EmulatorServer
from tests.taps import SEGMENT


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at SEGMENT.now; eight seeded destinations."""
    with SEGMENT.emulator(seed=7, destinations=8) as server:
        yield server


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Settings pointing the tap at the emulator; short timeouts keep fault tests quick; the
    time series in few rows (delivery overview totals per stage, event volume per source)."""
    return SEGMENT.config(
        emulator,
        request_timeout=2,
        max_retries=3,
        delivery_overview_group_by=[],
        event_volume_group_by=["source"],
    )
