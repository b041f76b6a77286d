"""Catalogs that select some of tap-segment-config's streams."""

from __future__ import annotations

from typing import Any

from tap_segment_config.tap import TapSegmentConfig
from tests import harness

#: The destination streams (the tests written for them count their requests and records).
DESTINATION_STREAMS = ("destinations", "destination_subscriptions", "delivery_metrics")


def selecting(config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected (their parents are still read)."""
    return harness.selecting(TapSegmentConfig, config, *streams)
