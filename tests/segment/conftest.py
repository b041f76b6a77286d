"""The Segment emulator on a free loopback port, with a frozen clock and fresh seeded data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api_emulator import EmulatorServer
from tap_segment_config.tap import TapSegmentConfig
from tests.taps import SEGMENT


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator whose clock stands at SEGMENT.now; eight seeded destinations."""
    with SEGMENT.emulator(seed=7, destinations=8) as server:
        yield server


@pytest.fixture
def config(emulator: EmulatorServer) -> dict[str, Any]:
    """Settings pointing the tap at the emulator; short timeouts keep fault tests quick."""
    return SEGMENT.config(emulator, request_timeout=2, max_retries=3)


DESTINATION_STREAMS = ("destinations", "destination_subscriptions", "delivery_metrics")


def selected(config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected."""
    catalog = TapSegmentConfig(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if not metadata["breadcrumb"]:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
