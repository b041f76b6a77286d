"""The LaunchDarkly emulator on a free loopback port, with a frozen clock and seeded events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from api_emulator import EmulatorServer
from api_emulator.core import LoggedRequest
from api_emulator.launchdarkly import PATH as FLAG_EVENTS_PATH
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tests import harness
from tests.taps import LAUNCHDARKLY, LAUNCHDARKLY_ENVIRONMENTS, LAUNCHDARKLY_START


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at LAUNCHDARKLY.now; 300 events over 10 days."""
    with LAUNCHDARKLY.emulator(seed=5, events=300, days=10) as server:
        yield server


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Every environment from LAUNCHDARKLY_START; short timeouts keep fault tests quick."""
    return LAUNCHDARKLY.config(
        emulator,
        environment_keys=LAUNCHDARKLY_ENVIRONMENTS,
        start_date=LAUNCHDARKLY_START.isoformat(),
        page_size=25,
        request_timeout=2,
        max_retries=3,
    )


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


def flag_event_requests(emulator: EmulatorServer) -> list[LoggedRequest]:
    """The requests of the flag-events route (the tap reads the account's other routes too)."""
    return [e for e in emulator.log.entries() if e.path == FLAG_EVENTS_PATH]


def selecting(config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected (their parents are still read)."""
    return harness.selecting(TapLaunchDarklyEvents, config, *streams)
