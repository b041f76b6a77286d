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
    AuditEventsStream,
    DeliveryMetricsStream,
    DeliveryOverviewSourcesStream,
    DeliveryOverviewStream,
    DestinationsStream,
    DestinationSubscriptionsStream,
    EventVolumeStream,
    SegmentStream,
    UsageApiCallsDailyStream,
    UsageApiCallsPerSourceDailyStream,
    UsageMtuDailyStream,
    UsageMtuPerSourceDailyStream,
)

STREAM_TYPES: tuple[type[SegmentStream], ...] = (
    DestinationsStream,
    DestinationSubscriptionsStream,
    DeliveryMetricsStream,
    *WORKSPACE_STREAM_TYPES,  # the workspace's configuration: sources, warehouses, IAM...
    # usage, event volume, audit trail and delivery overview
    UsageApiCallsDailyStream,
    UsageApiCallsPerSourceDailyStream,
    UsageMtuDailyStream,
    UsageMtuPerSourceDailyStream,
    EventVolumeStream,
    AuditEventsStream,
    DeliveryOverviewStream,
    DeliveryOverviewSourcesStream,
)


class TapSegmentConfig(VendorTap):
    """Segment destinations, workspace configuration, usage, audit trail, delivery overview."""

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
            description="Where every incremental stream starts (UTC). Older than Segment keeps "
            "for a granularity: clamped, with a warning. Unset: as far back as allowed (usage: "
            "the previous month's start; audit events: all).",
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
        th.Property(
            "event_volume_granularity",
            th.StringType,
            default="DAY",
            allowed_values=["MINUTE", "HOUR", "DAY"],
            title="Event volume granularity",
            description="One event_volume row per group and minute, hour or day.",
        ),
        th.Property(
            "event_volume_group_by",
            th.ArrayType(th.StringType(allowed_values=["source", "eventName", "eventType"])),
            default=["source", "eventName", "eventType"],
            title="Event volume group-by",
            description="The dimensions event_volume counts are split by; []: workspace totals.",
        ),
        th.Property(
            "delivery_overview_granularity",
            th.StringType,
            default="DAY",
            allowed_values=["MINUTE", "HOUR", "DAY"],
            title="Delivery overview granularity",
            description="Bucket size of delivery_overview(_sources). Segment keeps 48 hours of "
            "MINUTE and 30 days of HOUR and DAY buckets.",
        ),
        th.Property(
            "delivery_overview_group_by",
            th.ArrayType(
                th.StringType(
                    allowed_values=["eventName", "eventType", "discardReason", "appVersion"]
                )
            ),
            default=["eventName", "eventType", "discardReason"],
            title="Delivery overview group-by",
            description="The dimensions delivery_overview(_sources) counts are split by "
            "(discardReason is not offered for successfully-received); []: totals per stage.",
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
