"""tap-launchdarkly-events: settings and stream list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th
from singer_sdk.authenticators import APIKeyAuthenticator
from typing_extensions import override

from tap_common.runtime import TapRuntime
from tap_common.tap import VendorTap, common_settings, incremental_settings, window_setting
from tap_launchdarkly_events.client import LAUNCHDARKLY_RATE_LIMITS, LaunchDarklyStream
from tap_launchdarkly_events.streams import DEFAULT_WINDOW_EVENTS, FlagEventsStream


class TapLaunchDarklyEvents(VendorTap):
    """LaunchDarkly flag events (engineering insights, beta API), incremental per environment."""

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
            description="https://app.launchdarkly.com. LaunchDarkly serves flag events "
            "(engineering insights, on select plans) there only: not on its EU instance or in "
            "federal environments.",
        ),
        th.Property(
            "project_key",
            th.StringType(min_length=1),
            required=True,
            title="Project key",
            description="The project whose flag events to sync.",
        ),
        th.Property(
            "environment_keys",
            th.ArrayType(th.StringType(min_length=1)),
            required=True,
            title="Environment keys",
            description="Environments to sync, at least one; each keeps its own bookmark.",
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
        if not config.get("environment_keys"):
            errors.append("environment_keys: give at least one environment key")
        return errors

    @override
    def build_authenticator(self, runtime: TapRuntime) -> APIKeyAuthenticator:
        """The token verbatim in ``Authorization``: LaunchDarkly takes no ``Bearer`` prefix."""
        return APIKeyAuthenticator(
            key="Authorization", value=self.config["api_token"], location="header"
        )

    @override
    def discover_streams(self) -> list[LaunchDarklyStream]:
        """The flag-events stream."""
        return [FlagEventsStream(tap=self)]
