"""Each tap once: its class and command, its emulator with seeded data, the settings reaching it.

Tests pick the seed and data sizes (their expectations depend on them) and add the settings they
are about; everything else about running a tap against its emulator is defined here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from singer_sdk import Tap

from api_emulator import EmulatorServer, apivideo, launchdarkly, pm2, segment
from api_emulator.core import VendorApp
from tap_apivideo_analytics.tap import TapApiVideoAnalytics
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tap_pm2_events.tap import TapPm2Events
from tap_segment_config.tap import TapSegmentConfig

UTC = timezone.utc


@dataclass(frozen=True)
class TapSetup:
    """One tap: its class, its command, its emulator, and its tables' primary keys."""

    name: str  # the console script, e.g. "tap-segment-config"
    tap_class: type[Tap]
    now: datetime  # where an emulator's clock is frozen, and the seeded data's anchor
    app: Callable[..., VendorApp]  # (seed, anchor, **sizes) -> the vendor app with fresh data
    connection: Callable[[EmulatorServer], dict[str, Any]]  # URLs and credential
    credential: str  # the (secret) setting holding the credential
    keys: dict[str, tuple[str, ...]]  # table -> primary key

    @property
    def schema(self) -> str:
        """The warehouse schema Meltano loads this tap into."""
        return self.name.replace("-", "_")

    def emulator(self, seed: int, *, frozen: bool = True, **sizes: int) -> EmulatorServer:
        """An emulator (not yet started) with data from ``seed``; ``with`` it to serve.

        Frozen: the data is anchored at ``now`` and the clock stands there; otherwise both follow
        the real clock.
        """
        server = EmulatorServer(self.app(seed, self.now if frozen else None, **sizes))
        if frozen:
            server.clock.set(self.now)
        return server

    def config(self, emulator: EmulatorServer, **settings: Any) -> dict[str, Any]:
        """The settings that reach ``emulator``, and ``settings``."""
        return self.connection(emulator) | settings

    def __str__(self) -> str:
        return self.name


SEGMENT = TapSetup(
    name="tap-segment-config",
    tap_class=TapSegmentConfig,
    now=datetime(2026, 11, 20, 10, 37, 12, tzinfo=UTC),
    app=lambda seed, _anchor, **sizes: segment.SegmentApp(
        segment.SegmentDataset.generate(seed, **sizes)
    ),
    connection=lambda e: {"api_url": e.url, "api_token": segment.DEFAULT_TOKEN},
    credential="api_token",
    keys={
        "destinations": ("id",),
        "destination_subscriptions": ("id",),
        "delivery_metrics": ("destinationId", "sourceId", "granularity", "windowStart"),
        # the workspace's configuration (issue 17)
        "workspace": ("id",),
        "sources": ("id",),
        "warehouses": ("id",),
        "source_warehouse_connections": ("warehouseId", "sourceId"),
        "tracking_plans": ("id",),
        "tracking_plan_rules": ("trackingPlanId", "ruleId"),
        "functions": ("id",),
        "transformations": ("id",),
        "reverse_etl_models": ("id",),
        "spaces": ("id",),
        "labels": ("key", "value"),
        "users": ("id",),
        "groups": ("id",),
        "group_members": ("userGroupId", "userId"),
        "roles": ("id",),
        "catalog_sources": ("id",),
        "catalog_destinations": ("id",),
        "catalog_warehouses": ("id",),
        # usage, event volume, audit trail, delivery overview
        "usage_api_calls_daily": ("timestamp",),
        "usage_api_calls_per_source_daily": ("sourceId", "timestamp"),
        "usage_mtu_daily": ("timestamp",),
        "usage_mtu_per_source_daily": ("sourceId", "timestamp"),
        "event_volume": ("granularity", "time", "sourceId", "eventName", "eventType"),
        "audit_events": ("id",),
        "delivery_overview": (
            *("sourceId", "destinationId", "stage", "granularity", "time"),
            *("eventName", "eventType", "discardReason", "appVersion"),
        ),
        "delivery_overview_sources": (
            *("sourceId", "stage", "granularity", "time"),
            *("eventName", "eventType", "discardReason", "appVersion"),
        ),
    },
)
LAUNCHDARKLY = TapSetup(
    name="tap-launchdarkly-events",
    tap_class=TapLaunchDarklyEvents,
    now=datetime(2026, 11, 20, 10, 37, 12, 345000, tzinfo=UTC),
    app=lambda seed, anchor, **sizes: launchdarkly.LaunchDarklyApp(
        launchdarkly.LaunchDarklyDataset.generate(seed, anchor=anchor, **sizes)
    ),
    connection=lambda e: {
        "api_url": e.url,
        "api_token": launchdarkly.DEFAULT_TOKEN,
        "project_key": "default",
    },
    credential="api_token",
    keys={
        "projects": ("key",),
        "environments": ("projectKey", "key"),
        "flags": ("projectKey", "environmentKey", "key"),
        "segments": ("projectKey", "environmentKey", "key"),
        "metrics": ("projectKey", "key"),
        "members": ("_id",),
        "teams": ("key",),
        "audit_log": ("_id",),
        "flag_events": ("id",),
    },
)
LAUNCHDARKLY_START = LAUNCHDARKLY.now - timedelta(days=6)
LAUNCHDARKLY_ENVIRONMENTS = ["production", "staging", "test"]
PM2 = TapSetup(
    name="tap-pm2-events",
    tap_class=TapPm2Events,
    now=datetime(2026, 11, 20, 10, 37, 12, 345000, tzinfo=UTC),
    app=lambda seed, anchor, **sizes: pm2.Pm2App(
        pm2.Pm2Dataset.generate(seed, anchor=anchor, **sizes)
    ),
    connection=lambda e: {
        "api_url": e.url,
        "auth_url": e.urls["auth"],
        "refresh_token": pm2.DEFAULT_REFRESH_TOKEN,
    },
    credential="refresh_token",
    keys={
        "buckets": ("id",),
        "event_keys": ("bucket_id", "app_name", "event_name"),
        "events": ("event_id",),
        "event_histograms": ("bucket_id", "app_name", "event_name", "interval", "bucket_start"),
        "process_events": ("process_event_id",),
        "deployments": ("deployment_id",),
        "issue_apps": ("bucket_id", "app_name"),
        "issues": ("bucket_id", "identifier"),
        "issue_occurrences": ("occurrence_id",),
    },
)
PM2_START = PM2.now - timedelta(days=4)
APIVIDEO = TapSetup(
    name="tap-apivideo-analytics",
    tap_class=TapApiVideoAnalytics,
    now=datetime(2026, 11, 20, 10, 37, 12, tzinfo=UTC),
    app=lambda seed, anchor, **sizes: apivideo.ApiVideoApp(
        apivideo.ApiVideoDataset.generate(seed, anchor=anchor, **sizes)
    ),
    connection=lambda e: {"api_url": e.url, "api_key": apivideo.DEFAULT_API_KEY},
    credential="api_key",
    keys={
        "video_plays": ("date", "dimension", "value", "video_id"),
        "live_stream_plays": ("date", "dimension", "value", "live_stream_id"),
        "metric_buckets": ("date", "metric", "breakdown", "dimension_value"),
        "metric_timeseries": ("date", "metric"),
        "metric_aggregates": ("date", "metric", "aggregation"),
        "media_watch_time": ("date", "media_id"),
        "videos": ("videoId",),
        "live_streams": ("liveStreamId",),
    },
)
APIVIDEO_TODAY = datetime(2026, 11, 20, tzinfo=UTC)  # api.video's days are UTC days
