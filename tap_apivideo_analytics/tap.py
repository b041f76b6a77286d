"""tap-apivideo-analytics: settings and stream list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from requests.auth import HTTPBasicAuth
from singer_sdk import typing as th
from singer_sdk.helpers.types import Auth
from typing_extensions import override

from tap_apivideo_analytics.auth import ApiVideoTokenAuth
from tap_apivideo_analytics.client import APIVIDEO_RATE_LIMITS, ApiVideoStream
from tap_apivideo_analytics.streams import (
    LiveStreamPlaysStream,
    LiveStreamsStream,
    MediaWatchTimeStream,
    MetricAggregatesStream,
    MetricBucketsStream,
    MetricTimeseriesStream,
    VideoPlaysStream,
    VideosStream,
)
from tap_common.deletes import mark_deleted_rows_setting
from tap_common.runtime import TapRuntime
from tap_common.tap import VendorTap, common_settings

STREAM_TYPES: tuple[type[ApiVideoStream], ...] = (
    VideoPlaysStream,
    LiveStreamPlaysStream,
    MetricBucketsStream,
    MetricTimeseriesStream,
    MetricAggregatesStream,
    MediaWatchTimeStream,
    VideosStream,
    LiveStreamsStream,
)
# Both plays endpoints' dimensions; each stream takes those it has (docs/api/apivideo.md §3).
DIMENSIONS = ("emittedAt", "videoId", "liveStreamId", "country", "deviceType", "operatingSystem",
              "browser")  # fmt: skip
# Metrics both /data/buckets and /data/timeseries take (play-total is buckets-only and all-time).
METRICS = ("play", "play-rate", "start", "end", "impression", "ccv-peak", "ccv-average", "view")
BREAKDOWNS = ("media-id", "media-type", "continent", "country", "device-type", "operating-system",
              "browser", "referrer")  # fmt: skip
# Every metric/aggregation pair /data/metrics documents that describes a day (docs/api/
# apivideo-data.md §3): play/total is all-time whatever the window, and ccv/live the last 20
# seconds, so neither has a value per past day.
AGGREGATES = ("play/count", "play/rate", "start/count", "end/count", "impression/count",
              "impression-time/average", "impression-time/sum", "watch-time/average",
              "watch-time/sum", "ccv/peak", "view/count")  # fmt: skip
LIST_SETTINGS = {
    "dimensions": DIMENSIONS,
    "metrics": METRICS,
    "breakdowns": BREAKDOWNS,
    "aggregates": AGGREGATES,
}


class TapApiVideoAnalytics(VendorTap):
    """api.video analytics per UTC day: video and live-stream plays, /data buckets and series."""

    name = "tap-apivideo-analytics"
    rate_limit_policy = APIVIDEO_RATE_LIMITS
    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API key",
            description="API key of the api.video project (sandbox and production keys differ).",
        ),
        th.Property(
            "api_url",
            th.URIType,
            default="https://ws.api.video",
            title="API URL",
            description="https://ws.api.video (production) or https://sandbox.api.video.",
        ),
        th.Property(
            "auth_mode",
            th.StringType,
            default="bearer",
            allowed_values=["bearer", "basic"],
            title="Auth mode",
            description="bearer: exchange the key for a short-lived token, renewed as it "
            "expires; basic: send the key as the Basic username on every call.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="First UTC day to sync. api.video keeps 30 days: an older date is "
            "clamped, with a warning. Unset: as far back as kept.",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0, maximum=29),
            default=2,
            title="Look-back days",
            description="Each run re-reads this many complete days before its bookmark, "
            "where late plays land.",
        ),
        th.Property(
            "dimensions",
            th.ArrayType(th.StringType),
            default=list(DIMENSIONS),
            title="Dimensions",
            description="Plays dimensions to sync: " + ", ".join(DIMENSIONS) + ". Each plays "
            "stream takes those it has (videoId for videos, liveStreamId for live streams).",
        ),
        th.Property(
            "video_ids",
            th.ArrayType(th.StringType(min_length=1)),
            title="Video ids",
            description="Only these videos' plays, each on its own rows. Unset: the project.",
        ),
        th.Property(
            "live_stream_ids",
            th.ArrayType(th.StringType(min_length=1)),
            title="Live stream ids",
            description="Only these live streams' plays, each on its own rows. Unset: the project.",
        ),
        th.Property(
            "metrics",
            th.ArrayType(th.StringType),
            default=["play"],
            title="Metrics",
            description="/data metrics for metric_buckets and metric_timeseries: "
            + ", ".join(METRICS)
            + ".",
        ),
        th.Property(
            "breakdowns",
            th.ArrayType(th.StringType),
            default=list(BREAKDOWNS),
            title="Breakdowns",
            description="/data breakdowns for metric_buckets: " + ", ".join(BREAKDOWNS) + ".",
        ),
        th.Property(
            "aggregates",
            th.ArrayType(th.StringType),
            default=list(AGGREGATES),
            title="Aggregates",
            description="metric/aggregation pairs for metric_aggregates, one request per pair "
            "and day: " + ", ".join(AGGREGATES) + ".",
        ),
        mark_deleted_rows_setting("videos", "live_streams"),
        *common_settings(page_size_max=100, page_size_default=100),
    ).to_dict()

    @override
    def check_settings(self, config: Mapping[str, Any]) -> list[str]:
        """Lists must be non-empty, hold only values api.video knows, and none twice (a value
        listed twice would sync its rows twice)."""
        errors = super().check_settings(config)
        for name, known in LIST_SETTINGS.items():
            values = config.get(name)
            if not values:
                errors.append(f"{name}: give at least one of {', '.join(known)}")
                continue
            if unknown := [value for value in values if value not in known]:
                errors.append(
                    f"{name}: unknown {', '.join(map(repr, unknown))}; choose from "
                    f"{', '.join(known)}"
                )
        for name in (*LIST_SETTINGS, "video_ids", "live_stream_ids"):
            values = config.get(name) or []
            if twice := sorted({value for value in values if values.count(value) > 1}):
                errors.append(f"{name}: listed more than once: {', '.join(twice)}")
        return errors

    @override
    def build_authenticator(self, runtime: TapRuntime) -> Auth:
        """One credential for every stream of the run (so the key is exchanged once)."""
        if self.config["auth_mode"] == "basic":
            return HTTPBasicAuth(self.config["api_key"], "")
        return ApiVideoTokenAuth(
            runtime,
            api_url=self.config["api_url"],
            api_key=self.config["api_key"],
            timeout=float(self.config["request_timeout"]),
            user_agent=self.config.get("user_agent") or f"{self.name} (singer-sdk)",
        )

    @override
    def discover_streams(self) -> list[ApiVideoStream]:
        """One instance of each stream."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]
