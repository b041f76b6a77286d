"""Catalogs that select some of tap-segment-config's streams."""

from __future__ import annotations

from typing import Any

from tap_segment_config.tap import TapSegmentConfig

#: The destination streams (the tests written for them count their requests and records).
DESTINATION_STREAMS = ("destinations", "destination_subscriptions", "delivery_metrics")


def selecting(config: dict[str, Any], *streams: str) -> dict[str, Any]:
    """The tap's catalog with only ``streams`` selected."""
    catalog = TapSegmentConfig(config=config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog
