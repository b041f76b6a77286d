"""tap-launchdarkly-events: settings and stream list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th
from singer_sdk.authenticators import APIKeyAuthenticator
from typing_extensions import override

from tap_common.deletes import mark_deleted_rows_setting
from tap_common.runtime import TapRuntime
from tap_common.tap import VendorTap, common_settings, incremental_settings, window_setting
from tap_launchdarkly_events import streams
from tap_launchdarkly_events.client import LAUNCHDARKLY_RATE_LIMITS, LaunchDarklyStream
from tap_launchdarkly_events.streams import DEFAULT_AUDIT_WINDOW_HOURS, DEFAULT_WINDOW_EVENTS

FULL_TABLE_STREAMS = (
    streams.ProjectsStream,
    streams.EnvironmentsStream,
    streams.FlagsStream,
    streams.SegmentsStream,
    streams.MetricsStream,
    streams.MembersStream,
    streams.TeamsStream,
)


class TapLaunchDarklyEvents(VendorTap):
    """LaunchDarkly flag events (engineering insights, beta API) and the audit log,
    incremental; the projects, environments, flags, segments, metrics, members and teams they
    refer to, full table with deletes marked."""

    name = "tap-launchdarkly-events"
    rate_limit_policy = LAUNCHDARKLY_RATE_LIMITS
    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_token",
            th.StringType(min_length=1),
            required=True,
            secret=True,
            title="API token",
            description="LaunchDarkly access token (personal or service) with read access.",
        ),
        th.Property(
            "api_url",
            th.URIType,
            default="https://app.launchdarkly.com",
            title="API URL",
            description="https://app.launchdarkly.com, https://app.eu.launchdarkly.com or "
            "https://app.launchdarkly.us. Flag events (engineering insights, on select plans) "
            "are served on the first only; elsewhere the tap skips them with a warning.",
        ),
        th.Property(
            "project_key",
            th.StringType(min_length=1),
            title="Project key",
            description="Only this project (its environments, flags, segments, metrics and "
            "flag events). Unset: every project the token can read.",
        ),
        th.Property(
            "environment_keys",
            th.ArrayType(th.StringType(min_length=1)),
            title="Environment keys",
            description="Only these environments (their segments and flag events); each keeps "
            "its own bookmark. Unset: every environment of each project.",
        ),
        th.Property(
            "application_keys",
            th.ArrayType(th.StringType),
            title="Application keys",
            description="Only events of these applications.",
        ),
        th.Property("query", th.StringType, title="Query", description="Filter by flag key."),
        th.Property(
            "impact_size",
            th.StringType,
            allowed_values=["none", "small", "medium", "large"],
            title="Impact size",
            description="Only events of this impact size.",
        ),
        th.Property(
            "has_experiments",
            th.BooleanType,
            title="Has experiments",
            description="true: only events tied to an experiment; false: only others.",
        ),
        th.Property(
            "include_global",
            th.BooleanType,
            default=True,
            title="Include global events",
            description="Include events not scoped to an environment (read once).",
        ),
        th.Property(
            "expand_experiments",
            th.BooleanType,
            default=False,
            title="Expand experiments",
            description="Add each event's experiments.",
        ),
        th.Property(
            "audit_log_spec",
            th.StringType(min_length=1),
            title="Audit log resource specifier",
            description="Only audit-log entries of resources matching this specifier, e.g. "
            "proj/default:env/production:flag/*.",
        ),
        th.Property(
            "audit_log_window_hours",
            th.IntegerType(minimum=1, maximum=720),
            default=DEFAULT_AUDIT_WINDOW_HOURS,
            title="Audit log window (hours)",
            description="Hours of audit log read per checkpoint: a crash re-reads at most one.",
        ),
        mark_deleted_rows_setting(*(stream.name for stream in FULL_TABLE_STREAMS)),
        *incremental_settings(
            lookback_why="so impact values computed after the last run land (LaunchDarkly "
            "needs 10 minutes)"
        ),
        window_setting(
            maximum=1_000_000,
            default=DEFAULT_WINDOW_EVENTS,
            sized_by="cut by LaunchDarkly's totalCount before it is read",
        ),
        *common_settings(page_size_max=100, page_size_default=100),
    ).to_dict()

    @override
    def check_settings(self, config: Mapping[str, Any]) -> list[str]:
        """An empty environment list would sync nothing and look like success."""
        errors = super().check_settings(config)
        if config.get("environment_keys") == []:
            errors.append(
                "environment_keys: give at least one environment key, or leave it unset to "
                "sync every environment"
            )
        return errors

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """State of release 0.1.0 keeps working: its flag-event bookmarks, per environment of
        the one configured project, become those of (that project, environment)."""
        project = self.config.get("project_key")
        partitions = state.get("bookmarks", {}).get("flag_events", {}).get("partitions", [])
        for partition in partitions:
            context = partition.get("context")
            if project and isinstance(context, dict) and "projectKey" not in context:
                partition["context"] = {"projectKey": project, **context}
        super().load_state(state)

    @override
    def build_authenticator(self, runtime: TapRuntime) -> APIKeyAuthenticator:
        """The token verbatim in ``Authorization``: LaunchDarkly takes no ``Bearer`` prefix."""
        return APIKeyAuthenticator(
            key="Authorization", value=self.config["api_token"], location="header"
        )

    @override
    def discover_streams(self) -> list[LaunchDarklyStream]:
        """The full-table streams, the audit log and flag events."""
        return [
            *(stream(tap=self) for stream in FULL_TABLE_STREAMS),
            streams.AuditLogStream(tap=self),
            streams.FlagEventsStream(tap=self),
        ]
