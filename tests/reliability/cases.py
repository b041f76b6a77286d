"""The taps under test, each with a seeded emulator and the settings that point at it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from singer_sdk import Tap

from api_emulator import EmulatorServer
from tests import taps

SEED = 21


@dataclass(frozen=True)
class TapCase:
    """One tap (tests/taps.py): its data, its settings, and where faults and deselection go."""

    setup: taps.TapSetup
    data: dict[str, int]  # data sizes of the emulator (seed SEED)
    extra_settings: dict[str, Any]  # beyond those that reach the emulator
    endpoints: dict[str, str]  # stream -> regex of the path(s) only it requests
    fault_path: str  # a path prefix requested many times in a sync (faults go there)
    cursor_paged: bool = False  # lists paged by cursor: an empty page can say "go on"
    empty_page_after: int = 2  # requests to fault_path before one that is a page of a list
    token_path: str | None = None  # where access tokens (that expire) are issued

    @property
    def tap(self) -> str:
        """The tap's console script (and Meltano plugin) name."""
        return self.setup.name

    @property
    def tap_class(self) -> type[Tap]:
        return self.setup.tap_class

    @property
    def keys(self) -> dict[str, tuple[str, ...]]:
        """Table -> primary key."""
        return self.setup.keys

    @property
    def schema(self) -> str:
        return self.setup.schema

    def start_emulator(self) -> EmulatorServer:
        """A running emulator with fresh seeded data, its clock frozen."""
        return self.setup.emulator(SEED, **self.data).start()

    def settings(self, emulator: EmulatorServer) -> dict[str, Any]:
        return self.setup.config(emulator, **self.extra_settings)

    def __str__(self) -> str:
        return self.tap


SEGMENT = TapCase(
    setup=taps.SEGMENT,
    data={"destinations": 4},
    extra_settings={
        "page_size": 2,
        # usage, event volume, audit trail, delivery overview: few rows
        "start_date": "2026-11-16T00:00:00Z",
        "event_volume_group_by": ["source"],
        "delivery_overview_group_by": [],
    },
    endpoints={
        "destinations": r"^/destinations$",
        "destination_subscriptions": r"/subscriptions$",
        "delivery_metrics": r"/delivery-metrics$",
        "workspace": r"^/$",
        "sources": r"^/sources$",
        "warehouses": r"^/warehouses$",
        "source_warehouse_connections": r"^/warehouses/[^/]+/connected-sources$",
        "tracking_plans": r"^/tracking-plans$",
        "tracking_plan_rules": r"^/tracking-plans/[^/]+/rules$",
        "functions": r"^/functions$",
        "transformations": r"^/transformations$",
        "reverse_etl_models": r"^/reverse-etl-models$",
        "spaces": r"^/spaces$",
        "labels": r"^/labels$",
        "users": r"^/users$",
        "groups": r"^/groups$",
        "group_members": r"^/groups/[^/]+/users$",
        "roles": r"^/roles$",
        "catalog_sources": r"^/catalog/sources$",
        "catalog_destinations": r"^/catalog/destinations$",
        "catalog_warehouses": r"^/catalog/warehouses$",
        # usage, event volume, audit trail, delivery overview
        "usage_api_calls_daily": r"^/usage/api-calls/daily$",
        "usage_api_calls_per_source_daily": r"^/usage/api-calls/sources/daily$",
        "usage_mtu_daily": r"^/usage/mtu/daily$",
        "usage_mtu_per_source_daily": r"^/usage/mtu/sources/daily$",
        "event_volume": r"^/events/volume$",
        "audit_events": r"^/audit-events$",
        "delivery_overview": (
            r"^/delivery-overview/(filtered-at-destination|successful-delivery|failed-delivery)$"
        ),
        "delivery_overview_sources": (
            r"^/delivery-overview/(successfully-received|failed-on-ingest|filtered-at-source)$"
        ),
    },
    fault_path="/destinations",
    cursor_paged=True,
    empty_page_after=0,  # the first page of the destination list (two pages follow)
)
LAUNCHDARKLY = TapCase(
    setup=taps.LAUNCHDARKLY,
    data={"events": 300, "days": 10},
    extra_settings={
        "environment_keys": taps.LAUNCHDARKLY_ENVIRONMENTS,
        "start_date": taps.LAUNCHDARKLY_START.isoformat(),
        "page_size": 10,
        "window_max_events": 30,  # several windows: kills land between checkpoints
    },
    endpoints={
        "projects": r"^/api/v2/projects(/default)?$",
        "environments": r"^/api/v2/projects/[^/]+/environments$",
        "flags": r"^/api/v2/flags/",
        "segments": r"^/api/v2/segments/",
        "metrics": r"^/api/v2/metrics/",
        "members": r"^/api/v2/members$",
        "teams": r"^/api/v2/teams$",
        "audit_log": r"^/api/v2/auditlog$",
        "flag_events": r"^/api/v2/engineering-insights/flag-events$",
    },
    fault_path="/api/v2/engineering-insights/flag-events",
    cursor_paged=True,
)
PM2 = TapCase(
    setup=taps.PM2,
    data={"events": 150, "days": 6, "exceptions": 12},
    extra_settings={
        "start_date": taps.PM2_START.isoformat(),
        "histogram_days": 1,
        "page_size": 10,
        "window_max_events": 30,  # several windows: kills land between checkpoints
    },
    endpoints={
        "buckets": r"^/api/bucket$",
        "event_keys": r"/data/eventsKeysByApp$",
        "events": r"/data/events$",
        "event_histograms": r"/data/events/stats$",
        "process_events": r"/data/processEvents$",
        "deployments": r"/data/processEvents/deployments$",
        "issue_apps": r"/data/issues/summary/apps$",
        "issues": r"/data/issues/list$",
        "issue_occurrences": r"/data/issues/occurrences/[^/]+$",
    },
    fault_path="/api/bucket/",
    token_path="/api/oauth/token",
)
APIVIDEO = TapCase(
    setup=taps.APIVIDEO,
    data={"videos": 12},
    extra_settings={
        "start_date": (taps.APIVIDEO_TODAY - timedelta(days=4)).isoformat(),
        "dimensions": ["videoId", "country", "emittedAt"],
        "breakdowns": ["country", "media-id"],
        # No watch-time/sum: media_watch_time is the one stream asking for it.
        "aggregates": ["play/count", "watch-time/average"],
        "page_size": 5,
    },
    endpoints={
        "video_plays": r"^/analytics/videos/plays$",
        "live_stream_plays": r"^/analytics/live-streams/plays$",
        # media_watch_time lists the media played each day with play/media-id too.
        "metric_buckets": r"^/data/buckets/(?!play/media-id$)",
        "metric_timeseries": r"^/data/timeseries/",
        "metric_aggregates": r"^/data/metrics/(?!watch-time/sum$)",
        "media_watch_time": r"^/data/metrics/watch-time/sum$",
        "videos": r"^/videos$",
        "live_streams": r"^/live-streams$",
    },
    fault_path="/analytics/",
    token_path="/auth/api-key",
)
CASES = [SEGMENT, LAUNCHDARKLY, PM2, APIVIDEO]
