"""The taps under test, each with a seeded emulator and the settings that point at it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from singer_sdk import Tap

from api_emulator import EmulatorServer
from api_emulator.apivideo import DEFAULT_API_KEY, ApiVideoApp, ApiVideoDataset
from api_emulator.core import VendorApp
from api_emulator.launchdarkly import DEFAULT_TOKEN as LD_TOKEN
from api_emulator.launchdarkly import LaunchDarklyApp, LaunchDarklyDataset
from api_emulator.pm2 import DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset
from api_emulator.segment import DEFAULT_TOKEN as SEGMENT_TOKEN
from api_emulator.segment import SegmentApp, SegmentDataset
from tap_apivideo_analytics.tap import TapApiVideoAnalytics
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tap_pm2_events.tap import TapPm2Events
from tap_segment_config.tap import TapSegmentConfig
from tests.apivideo.conftest import NOW as APIVIDEO_NOW
from tests.apivideo.conftest import TODAY as APIVIDEO_TODAY
from tests.launchdarkly.conftest import ENVIRONMENTS
from tests.launchdarkly.conftest import NOW as LD_NOW
from tests.launchdarkly.conftest import START as LD_START
from tests.pm2.conftest import NOW as PM2_NOW
from tests.pm2.conftest import START as PM2_START
from tests.segment.conftest import NOW as SEGMENT_NOW


@dataclass(frozen=True)
class TapCase:
    """One tap: its emulator, its settings against it, and its tables' primary keys."""

    tap: str
    tap_class: type[Tap]
    app: Callable[[], VendorApp]
    now: Any
    settings: Callable[[EmulatorServer], dict[str, Any]]
    keys: dict[str, tuple[str, ...]]
    endpoints: dict[str, str]  # stream -> regex of the path(s) only it requests
    fault_path: str  # a path prefix requested many times in a sync (faults go there)
    cursor_paged: bool = False  # lists paged by cursor: an empty page can say "go on"
    empty_page_after: int = 2  # requests to fault_path before one that is a page of a list
    issues_tokens: bool = False  # access tokens that expire (the app's token_max_uses)

    @property
    def schema(self) -> str:
        """The warehouse schema Meltano loads this tap into."""
        return self.tap.replace("-", "_")

    def start_emulator(self) -> EmulatorServer:
        """A running emulator with fresh seeded data, its clock frozen."""
        server = EmulatorServer(self.app()).start()
        server.clock.set(self.now)
        return server

    def __str__(self) -> str:
        return self.tap


SEGMENT = TapCase(
    tap="tap-segment-config",
    tap_class=TapSegmentConfig,
    app=lambda: SegmentApp(SegmentDataset.generate(seed=21, destinations=4)),
    now=SEGMENT_NOW,
    settings=lambda e: {"api_url": e.url, "api_token": SEGMENT_TOKEN, "page_size": 2},
    keys={
        "destinations": ("id",),
        "destination_subscriptions": ("id",),
        "delivery_metrics": ("destinationId", "sourceId", "granularity", "windowStart"),
    },
    endpoints={
        "destinations": r"^/destinations$",
        "destination_subscriptions": r"/subscriptions$",
        "delivery_metrics": r"/delivery-metrics$",
    },
    fault_path="/destinations",
    cursor_paged=True,
    empty_page_after=0,  # the first page of the destination list (two pages follow)
)
LAUNCHDARKLY = TapCase(
    tap="tap-launchdarkly-events",
    tap_class=TapLaunchDarklyEvents,
    app=lambda: LaunchDarklyApp(
        LaunchDarklyDataset.generate(seed=21, events=300, anchor=LD_NOW, days=10)
    ),
    now=LD_NOW,
    settings=lambda e: {
        "api_url": e.url,
        "api_token": LD_TOKEN,
        "project_key": "default",
        "environment_keys": ENVIRONMENTS,
        "start_date": LD_START.isoformat(),
        "page_size": 10,
        "window_max_events": 30,  # several windows: kills land between checkpoints
    },
    keys={"flag_events": ("id",)},
    endpoints={"flag_events": r"^/api/v2/engineering-insights/flag-events$"},
    fault_path="/api/v2/engineering-insights/flag-events",
    cursor_paged=True,
)
PM2 = TapCase(
    tap="tap-pm2-events",
    tap_class=TapPm2Events,
    app=lambda: Pm2App(Pm2Dataset.generate(seed=21, events=150, anchor=PM2_NOW, days=6)),
    now=PM2_NOW,
    settings=lambda e: {
        "api_url": e.url,
        "auth_url": e.urls["auth"],
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "start_date": PM2_START.isoformat(),
        "histogram_days": 1,
        "page_size": 10,
        "window_max_events": 30,  # several windows: kills land between checkpoints
    },
    keys={
        "buckets": ("id",),
        "event_keys": ("bucket_id", "app_name", "event_name"),
        "events": ("event_id",),
        "event_histograms": ("bucket_id", "app_name", "event_name", "interval", "bucket_start"),
    },
    endpoints={
        "buckets": r"^/api/bucket$",
        "event_keys": r"/data/eventsKeysByApp$",
        "events": r"/data/events$",
        "event_histograms": r"/data/events/stats$",
    },
    fault_path="/api/bucket/",
    issues_tokens=True,
)
APIVIDEO = TapCase(
    tap="tap-apivideo-analytics",
    tap_class=TapApiVideoAnalytics,
    app=lambda: ApiVideoApp(ApiVideoDataset.generate(seed=21, videos=12, anchor=APIVIDEO_NOW)),
    now=APIVIDEO_NOW,
    settings=lambda e: {
        "api_url": e.url,
        "api_key": DEFAULT_API_KEY,
        "start_date": (APIVIDEO_TODAY - timedelta(days=4)).isoformat(),
        "dimensions": ["videoId", "country", "emittedAt"],
        "breakdowns": ["country", "media-id"],
        "page_size": 5,
    },
    keys={
        "video_plays": ("date", "dimension", "value", "video_id"),
        "live_stream_plays": ("date", "dimension", "value", "live_stream_id"),
        "metric_buckets": ("date", "metric", "breakdown", "dimension_value"),
        "metric_timeseries": ("date", "metric"),
    },
    endpoints={
        "video_plays": r"^/analytics/videos/plays$",
        "live_stream_plays": r"^/analytics/live-streams/plays$",
        "metric_buckets": r"^/data/buckets/",
        "metric_timeseries": r"^/data/timeseries/",
    },
    fault_path="/analytics/",
    issues_tokens=True,
)
CASES = [SEGMENT, LAUNCHDARKLY, PM2, APIVIDEO]
