"""The streams of tap-segment-config."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.types import Context

from tap_common.pagination import WindowPaginator
from tap_common.payload import json_payload
from tap_common.timeutil import parse_utc, to_utc_iso
from tap_common.windows import Window, WindowPlan, WindowRules, plan_windows
from tap_segment_config import schemas
from tap_segment_config.client import SegmentListStream, SegmentStream

# Delivery-metrics limits per granularity (segment.md §6): widest range, oldest start.
GRANULARITY_RULES: dict[str, WindowRules] = {
    "MINUTE": WindowRules("minute", max_span=timedelta(hours=4), oldest=timedelta(hours=48)),
    "HOUR": WindowRules("hour", max_span=timedelta(days=7), oldest=timedelta(days=7)),
    "DAY": WindowRules("day", max_span=timedelta(days=14), oldest=timedelta(days=14)),
}


class DestinationsStream(SegmentListStream):
    """Every destination of the workspace (or those in ``destination_ids``); full table."""

    name = "destinations"
    path = "/destinations"
    primary_keys = ("id",)
    records_jsonpath = "$.data.destinations[*]"
    schema = schemas.DESTINATION.to_dict()

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The listing, narrowed to ``destination_ids`` when set; unknown ids are reported."""
        wanted = set(self.config.get("destination_ids") or ())
        found: set[str] = set()
        for record in super().get_records(context):
            if not wanted or record["id"] in wanted:
                found.add(record["id"])
                yield record
        if missing := sorted(wanted - found):
            self.logger.warning(
                "destination_ids: not found in this workspace, skipped: %s", ", ".join(missing)
            )

    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Children are per destination, its source, and the configured granularity."""
        return {
            "destinationId": record["id"],
            "sourceId": record["sourceId"],
            "granularity": self.config["delivery_metrics_granularity"],
        }


class DestinationSubscriptionsStream(SegmentListStream):
    """The action subscriptions of each destination (an Alpha feature of Segment); full table.

    A workspace without the Destination Subscriptions feature answers every call with an error
    (its exact status and body are UNVERIFIED, segment.md §8): we recognise it by its message,
    warn once, and skip the stream so the rest of the sync goes on.
    """

    name = "destination_subscriptions"
    path = "/destinations/{destinationId}/subscriptions"
    primary_keys = ("id",)
    records_jsonpath = "$.data.subscriptions[*]"
    schema = schemas.SUBSCRIPTION.to_dict()
    parent_stream_type = DestinationsStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._feature_disabled = False

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The destination's subscriptions; nothing once the workspace lacks the feature."""
        if self._feature_disabled:
            return
        try:
            yield from super().get_records(context)
        except SubscriptionsNotEnabledError as exc:
            self._feature_disabled = True
            self.logger.warning("Skipping %s: %s", self.name, exc)

    def validate_response(self, response: requests.Response) -> None:
        """Tell "feature not enabled" apart from a refused token."""
        if response.status_code in (403, 404, 422) and _mentions_feature(response):
            raise SubscriptionsNotEnabledError(self.vendor_error_detail(response))
        super().validate_response(response)


class DeliveryMetricsStream(SegmentStream):
    """Delivery-metrics summary per destination and closed time window; incremental.

    One request per window of one granularity unit (a minute, an hour or a day), so each record
    is one bucket of a time series. The bookmark is the start of the last window synced, per
    (destination, source, granularity); the next run starts one unit later, so no window is
    fetched twice or skipped. Windows never reach back beyond what Segment allows for the
    granularity (older starts are clamped, with a warning) and never include one still open.
    """

    name = "delivery_metrics"
    path = "/destinations/{destinationId}/delivery-metrics"
    primary_keys = ("destinationId", "sourceId", "granularity", "windowStart")
    replication_key = "windowStart"
    is_sorted = True
    schema = schemas.DELIVERY_METRICS.to_dict()
    parent_stream_type = DestinationsStream

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._windows: tuple[Window, ...] = ()

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One record per closed window after the bookmark (or ``start_date``)."""
        assert context is not None  # a child stream always has its parent's context
        plan = self._plan(context)
        if plan.clamped_from is not None and plan.windows:
            self.logger.warning(
                "start_date %s is older than Segment keeps %s delivery metrics for destination %s;"
                " starting at %s",
                to_utc_iso(plan.clamped_from),
                context["granularity"],
                context["destinationId"],
                to_utc_iso(plan.windows[0].start),
            )
        self._windows = plan.windows
        if plan.windows:  # one log line for the partition's whole range
            span = Window(plan.windows[0].start, plan.windows[-1].end)
            yield from self.read_window(context, span, super().get_records(context))

    def get_new_paginator(self) -> WindowPaginator:
        """Walk the windows planned for the current destination."""
        return WindowPaginator(self._windows)

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """``sourceId`` (required) and an explicit window: the API's defaults break its limits."""
        assert context is not None
        window: Window = next_page_token
        return {
            "sourceId": context["sourceId"],
            "granularity": context["granularity"],
            "startTime": _segment_time(window.start),
            "endTime": _segment_time(window.end),
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The summary, stamped with the window the request asked for (the body has none)."""
        summary = json_payload(response)["data"]["deliveryMetricsSummary"]
        asked = parse_qs(urlparse(response.url).query)
        yield {
            "sourceId": summary.get("sourceId"),
            "granularity": asked["granularity"][0],
            "windowStart": to_utc_iso(asked["startTime"][0]),
            "windowEnd": to_utc_iso(asked["endTime"][0]),
            "destinationMetadataId": summary.get("destinationMetadataId"),
            "metrics": summary.get("metrics", []),
        }

    def _plan(self, context: Context) -> WindowPlan:
        rules = GRANULARITY_RULES[context["granularity"]]
        now = self.runtime.server_clock.now()
        bookmark = self.get_context_state(context).get("replication_key_value")
        start_date = self.config.get("start_date")
        if bookmark:
            start: datetime | None = parse_utc(bookmark) + rules.span
        else:  # no start_date: as far back as Segment allows
            start = parse_utc(start_date) if start_date else None
        return plan_windows(rules, start, now)


class SubscriptionsNotEnabledError(FatalAPIError):
    """The workspace does not have the (Alpha) Destination Subscriptions feature."""


def _mentions_feature(response: requests.Response) -> bool:
    text = response.text.lower()
    return "feature" in text and ("subscription" in text or "alpha" in text)


def _segment_time(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, the form Segment's own SDK examples send."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
