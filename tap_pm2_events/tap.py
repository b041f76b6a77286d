"""tap-pm2-events: settings and stream list."""

from __future__ import annotations

from typing import ClassVar

from singer_sdk import typing as th
from typing_extensions import override

from tap_common.deletes import mark_deleted_rows_setting
from tap_common.runtime import TapRuntime
from tap_common.tap import VendorTap, common_settings, incremental_settings, window_setting
from tap_pm2_events.client import PM2_RATE_LIMITS, Pm2Stream, Pm2TokenAuth
from tap_pm2_events.streams import (
    RESULT_WINDOW,
    BucketsStream,
    DeploymentsStream,
    EventHistogramsStream,
    EventKeysStream,
    EventsStream,
    IssueAppsStream,
    IssueOccurrencesStream,
    IssuesStream,
    ProcessEventsStream,
)

# The public OAuth client id the official clients use for user-created tokens
# (docs/api/pm2.md §3.2).
PUBLIC_CLIENT_ID = "795984050"


class TapPm2Events(VendorTap):
    """PM2 Plus (pm2.io / Keymetrics) per bucket: events, process events, deployments, issues."""

    name = "tap-pm2-events"
    rate_limit_policy = PM2_RATE_LIMITS
    url_settings: ClassVar[tuple[str, ...]] = ("api_url", "auth_url")
    config_jsonschema = th.PropertiesList(
        th.Property(
            "refresh_token",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="Refresh token",
            description="A PM2.io token (dashboard → Settings); exchanged for access tokens.",
        ),
        th.Property(
            "client_id",
            th.StringType(min_length=1),
            default=PUBLIC_CLIENT_ID,
            title="OAuth client id",
            description="The OAuth application the token belongs to; user-created tokens use "
            "PM2's public client id.",
        ),
        th.Property(
            "auth_url",
            th.URIType,
            default="https://id.keymetrics.io",
            title="Auth URL",
            description="The OAuth host that exchanges the refresh token.",
        ),
        th.Property(
            "api_url",
            th.URIType,
            default="https://api.keymetrics.io",
            title="API URL",
            description="The main API host (each bucket's data node is found from it).",
        ),
        th.Property(
            "bucket_ids",
            th.ArrayType(th.StringType(pattern="^[0-9a-fA-F]{24}$")),
            title="Bucket ids",
            description="Buckets to sync (24-hex ids). Unset or empty: every bucket the token "
            "can read.",
        ),
        th.Property(
            "app_names",
            th.ArrayType(th.StringType(min_length=1)),
            title="App names",
            description="Only events, process events and deployments of these apps (process "
            "names), and issues of these apps; their state is then kept per app (per filter).",
        ),
        th.Property(
            "event_names",
            th.ArrayType(th.StringType(min_length=1)),
            title="Event names",
            description="Only these event names. Unset: every name eventsKeysByApp lists.",
        ),
        mark_deleted_rows_setting("buckets", "event_keys", "issue_apps", "issues"),
        *incremental_settings(lookback_why="where late events land", lookback_max=10080),
        th.Property(
            "histogram_interval",
            th.StringType,
            default="hour",
            allowed_values=["minute", "hour", "day"],
            title="Histogram interval",
            description="Time bucket of event_histograms: minute, hour or day.",
        ),
        th.Property(
            "histogram_days",
            th.IntegerType(minimum=1, maximum=30),
            default=2,
            title="Histogram days",
            description="Days of histogram the first run reads (later runs: since the "
            "bookmark, up to this many).",
        ),
        th.Property(
            "retention_days",
            th.IntegerType(minimum=1, maximum=365),
            default=7,
            title="Retention days",
            description="How long your PM2 plan keeps process events and deployments. A run "
            "more than this after the last one warns that what happened in between is gone.",
        ),
        window_setting(
            maximum=RESULT_WINDOW,
            default=RESULT_WINDOW,
            sized_by="at most the API's result window; a window found fuller is cut and read again",
        ),
        *common_settings(page_size_max=RESULT_WINDOW, page_size_default=100),
    ).to_dict()

    @override
    def build_authenticator(self, runtime: TapRuntime) -> Pm2TokenAuth:
        """One access token for every stream of the run."""
        user_agent = self.config.get("user_agent") or f"{self.name} (singer-sdk)"
        return Pm2TokenAuth(self.config, runtime, user_agent)

    @override
    def discover_streams(self) -> list[Pm2Stream]:
        """Buckets; their event keys and per event name its events and histogram; their
        process events and deployments; their issues (per app) and each issue's occurrences."""
        return [
            BucketsStream(tap=self),
            EventKeysStream(tap=self),
            EventsStream(tap=self),
            EventHistogramsStream(tap=self),
            ProcessEventsStream(tap=self),
            DeploymentsStream(tap=self),
            IssueAppsStream(tap=self),
            IssuesStream(tap=self),
            IssueOccurrencesStream(tap=self),
        ]
