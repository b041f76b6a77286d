"""tap-segment-config: settings and stream list."""

from __future__ import annotations

from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator
from typing_extensions import override

from tap_common.deletes import mark_deleted_rows_setting
from tap_common.runtime import TapRuntime
from tap_common.tap import VendorTap, common_settings
from tap_segment_config.client import SEGMENT_RATE_LIMITS
from tap_segment_config.streams import (
    WORKSPACE_STREAM_TYPES,
    DeliveryMetricsStream,
    DestinationsStream,
    DestinationSubscriptionsStream,
    SegmentStream,
)

STREAM_TYPES: tuple[type[SegmentStream], ...] = (
    DestinationsStream,
    DestinationSubscriptionsStream,
    DeliveryMetricsStream,
    *WORKSPACE_STREAM_TYPES,  # the workspace's configuration: sources, warehouses, IAM...
)


class TapSegmentConfig(VendorTap):
    """Segment destinations, delivery metrics and the workspace configuration (Public API)."""

    name = "tap-segment-config"
    rate_limit_policy = SEGMENT_RATE_LIMITS
    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_token",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API token",
            description="Segment Public API token (Bearer) of the workspace.",
        ),
        th.Property(
            "api_url",
            th.URIType,
            default="https://api.segmentapis.com",
            title="API URL",
            description="https://api.segmentapis.com (US workspaces) or "
            "https://eu1.api.segmentapis.com (EU workspaces).",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="First delivery-metrics window to sync (UTC). Older than Segment keeps "
            "for the granularity: clamped, with a warning. Unset: as far back as allowed.",
        ),
        th.Property(
            "delivery_metrics_granularity",
            th.StringType,
            default="DAY",
            allowed_values=["MINUTE", "HOUR", "DAY"],
            title="Delivery metrics granularity",
            description="One delivery-metrics record per destination and minute, hour or day. "
            "Segment keeps 48 hours of MINUTE, 7 days of HOUR and 14 days of DAY windows.",
        ),
        th.Property(
            "destination_ids",
            th.ArrayType(th.StringType),
            title="Destination ids",
            description="Sync only these destinations (and their children). Unset: all.",
        ),
        th.Property(
            "emit_write_keys",
            th.BooleanType,
            default=False,
            title="Emit write keys",
            description="Emit sources' write keys in the clear. Default: their stable sha256 "
            "fingerprints (a rotated key still shows as a change).",
        ),
        mark_deleted_rows_setting(
            "destinations",
            "destination_subscriptions",
            *(str(vars(stream)["name"]) for stream in WORKSPACE_STREAM_TYPES),
        ),
        *common_settings(page_size_max=1000, page_size_default=1000),
    ).to_dict()

    @override
    def build_authenticator(self, runtime: TapRuntime) -> BearerTokenAuthenticator:
        """``Authorization: Bearer <api_token>``."""
        return BearerTokenAuthenticator(token=self.config["api_token"])

    @override
    def discover_streams(self) -> list[SegmentStream]:
        """One instance of each stream."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]
