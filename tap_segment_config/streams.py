"""The streams of tap-segment-config."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.deletes import FullTableStream
from tap_common.gated import GatedStream
from tap_common.pagination import WindowPaginator
from tap_common.payload import json_payload
from tap_common.timeutil import iso_ms, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import CalendarWindows, Window, WindowRules, plan_windows
from tap_segment_config import schemas
from tap_segment_config.client import SegmentListStream, SegmentStream

# How far back Segment keeps delivery metrics per granularity (docs/api/segment.md §6). A
# request may span at most 4 hours (MINUTE), 7 days (HOUR) or 14 days (DAY): one unit always fits.
GRANULARITY_RULES: dict[str, WindowRules] = {
    "MINUTE": WindowRules("minute", oldest=timedelta(hours=48)),
    "HOUR": WindowRules("hour", oldest=timedelta(days=7)),
    "DAY": WindowRules("day", oldest=timedelta(days=14)),
}


class DestinationsStream(FullTableStream, SegmentListStream):
    """Every destination of the workspace (or those in ``destination_ids``); full table."""

    name = "destinations"
    narrowed_by = ("destination_ids",)
    path = "/destinations"
    primary_keys = ("id",)
    records_jsonpath = "$.data.destinations[*]"
    schema = schemas.DESTINATION.to_dict()

    @override
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

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Children are per destination, its source, and the configured granularity."""
        return {
            "destinationId": record["id"],
            "sourceId": record["sourceId"],
            "granularity": self.config["delivery_metrics_granularity"],
        }


class DestinationSubscriptionsStream(GatedStream, FullTableStream, SegmentListStream):
    """The action subscriptions of each destination (an Alpha feature of Segment); full table.

    A workspace without the Destination Subscriptions feature answers every call with an error
    (its exact status and body are UNVERIFIED, docs/api/segment.md §8): we recognise it by its
    message and skip the stream (tap_common.gated).
    """

    name = "destination_subscriptions"
    feature = "Destination Subscriptions"
    path = "/destinations/{destinationId}/subscriptions"
    primary_keys = ("id",)
    records_jsonpath = "$.data.subscriptions[*]"
    schema = schemas.SUBSCRIPTION.to_dict()
    parent_stream_type = DestinationsStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @override
    def feature_unavailable(self, response: requests.Response) -> bool:
        """Segment names the feature (or its Alpha status) in the refusal."""
        text = response.text.lower()
        return response.status_code in (403, 404, 422) and (
            "feature" in text and ("subscription" in text or "alpha" in text)
        )


class DeliveryMetricsStream(WindowedStream[Window], SegmentStream):
    """Delivery-metrics summary per destination and closed time window; incremental.

    One request per window of one granularity unit (a minute, an hour or a day), so each record
    is one bucket of a time series. The bookmark is the start of the last window synced, per
    (destination, source, granularity); the next run starts one unit later, so no window is
    fetched twice or skipped. Windows never reach back beyond what Segment allows for the
    granularity (older starts are clamped, with a warning) and never include one still open.
    A partition's whole range is read as one window whose pages are its units (one request and
    one record each), so the log says one line per destination.
    """

    name = "delivery_metrics"
    path = "/destinations/{destinationId}/delivery-metrics"
    primary_keys = ("destinationId", "sourceId", "granularity", "windowStart")
    replication_key = "windowStart"
    is_sorted = True  # units in time order, no look-back
    schema = schemas.DELIVERY_METRICS.to_dict()
    parent_stream_type = DestinationsStream

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._units: tuple[Window, ...] = ()

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """The closed units after the bookmark (or ``start_date``), as one window."""
        rules = GRANULARITY_RULES[context["granularity"]]
        start = self.resume_start(context, unit=rules.unit)
        plan = plan_windows(rules, start, self.runtime.server_clock.now())
        if plan.clamped_from is not None and plan.windows:
            self.logger.warning(
                "start_date %s is older than Segment keeps %s delivery metrics for destination %s;"
                " starting at %s",
                to_utc_iso(plan.clamped_from),
                context["granularity"],
                context["destinationId"],
                to_utc_iso(plan.windows[0].start),
            )
        self._units = plan.windows
        if not plan.windows:
            return CalendarWindows([])
        return CalendarWindows([Window(plan.windows[0].start, plan.windows[-1].end)])

    @override
    def get_new_paginator(self) -> WindowPaginator:
        """Walk the units of the partition's window."""
        return WindowPaginator(self._units)

    @override
    def window_params(
        self, window: Window, context: Context, page: Window | None
    ) -> dict[str, Any]:
        """``sourceId`` (required) and an explicit unit: the API's defaults break its limits."""
        assert page is not None
        return {
            "sourceId": context["sourceId"],
            "granularity": context["granularity"],
            "startTime": iso_ms(page.start),
            "endTime": iso_ms(page.end),
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The summary, stamped with the unit the request asked for (the body has none)."""
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
