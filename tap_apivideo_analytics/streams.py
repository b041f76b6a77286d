"""The streams of tap-apivideo-analytics: plays per dimension and ``/data`` metrics, per UTC day.

Every stream reads complete UTC days only: today is still filling up, so it is never emitted;
each run re-reads ``lookback_days`` complete days before its bookmark, where late plays land,
and the primary key upserts them. Days start no earlier than api.video keeps analytics (30
days); an older start is clamped, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_apivideo_analytics import schemas
from tap_apivideo_analytics.client import ApiVideoStream
from tap_common.payload import json_payload
from tap_common.timeutil import parse_utc, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import (
    CalendarWindows,
    Window,
    WindowRules,
    floor_to,
    plan_windows,
)

# One UTC day per window, starting within the 30 days api.video keeps (docs/api/apivideo.md
# §3); plan_windows keeps a minute's margin, so the first day is today - 29 and never falls
# off the server's edge.
DAYS = WindowRules("day", oldest=timedelta(days=30))
# Primary-key columns are never empty: loaders such as target-duckdb store "" as NULL, which a
# key column refuses. ALL_MEDIA marks figures for the whole project (no id filter); NO_VALUE an
# empty dimension value (events without a referrer, for one). Neither can be a real id or URL.
ALL_MEDIA = "*"
NO_VALUE = "(none)"


class DailyStream(WindowedStream[int], ApiVideoStream):
    """Incremental on ``date``, one bookmark per partition, checkpointed after every window."""

    replication_key = "date"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: tuple[Window | None, set[str]] = (None, set())
        self._warned_clamp = False

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """One window per complete day after the bookmark (less the look-back days)."""
        return CalendarWindows(self.days(context))

    def days(self, context: Context) -> tuple[Window, ...]:
        """The complete UTC days to read, on the server's clock (asked first if not known)."""
        self.learn_server_time()
        self._seen = (None, set())  # a new partition: its windows have seen nothing yet
        start = self.resume_start(
            context, lookback=timedelta(days=self.config["lookback_days"]), unit="day"
        )
        plan = plan_windows(DAYS, start, self.runtime.server_clock.now())
        if plan.clamped_from is not None and plan.windows and not self._warned_clamp:
            self._warned_clamp = True
            self.logger.warning(
                "%s: start %s is older than the 30 days api.video keeps analytics; starting at "
                "%s (earlier days cannot be synced)",
                self.name,
                to_utc_iso(plan.clamped_from),
                to_utc_iso(plan.windows[0].start),
            )
        return plan.windows

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Each record carries its partition (dimension, metric, filter id)."""
        row.update(context or {})
        return super().post_process(row, context)

    def first_sighting(self, window: Window, key: str) -> bool:
        """Whether ``key`` is new in ``window``: a row that moved to a later page while we
        paged (late plays re-sort a day) must not be emitted twice."""
        if self._seen[0] != window:
            self._seen = (window, set())
        seen = self._seen[1]
        if key in seen:
            return False
        seen.add(key)
        return True


class PlaysStream(DailyStream):
    """Plays per value of each dimension and UTC day (``/analytics/{media}/plays``).

    One partition per configured dimension (and per id in the id filter, when set). One request
    window is one day, ``from=D&to=D+1`` (half-open), so every row belongs to day D, and
    ``emittedAt`` yields that day's hourly buckets.
    """

    #: The endpoint's own id dimension, filter setting, and record field for the filter id.
    id_dimension: ClassVar[str]
    ids_setting: ClassVar[str]
    id_field: ClassVar[str]

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The endpoint's dimension enum (docs/api/apivideo.md §3)."""
        return ("emittedAt", self.id_dimension, "country", "deviceType", "operatingSystem",
                "browser")  # fmt: skip

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """Configured dimensions this endpoint has, times the filter ids (or the project)."""
        ids = self.config.get(self.ids_setting) or [ALL_MEDIA]
        wanted = [d for d in self.config["dimensions"] if d in self.dimensions]
        return [{"dimension": d, self.id_field: media_id} for d in wanted for media_id in ids]

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The day, the dimension, the filter and the page, on every page."""
        media_id = context[self.id_field]
        return {
            "from": window.start.date().isoformat(),
            "to": window.end.date().isoformat(),
            "dimension": context["dimension"],
            "filter": None if media_id == ALL_MEDIA else f"{self.id_dimension}:{media_id}",
            "currentPage": page,
            "pageSize": self.config["page_size"],
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The page's rows, each stamped with its day."""
        day = to_utc_iso(window.start)
        for row in json_payload(response)["data"]:
            value = str(row["value"]) or NO_VALUE
            if self.first_sighting(window, value):
                yield {"date": day, "value": value, "plays": int(row["plays"])}


class VideoPlaysStream(PlaysStream):
    """Video plays per day and dimension value."""

    name = "video_plays"
    path = "/analytics/videos/plays"
    id_dimension = "videoId"
    ids_setting = "video_ids"
    id_field = "video_id"
    primary_keys = ("date", "dimension", "value", "video_id")
    schema = schemas.VIDEO_PLAYS.to_dict()


class LiveStreamPlaysStream(PlaysStream):
    """Live-stream plays per day and dimension value."""

    name = "live_stream_plays"
    path = "/analytics/live-streams/plays"
    id_dimension = "liveStreamId"
    ids_setting = "live_stream_ids"
    id_field = "live_stream_id"
    primary_keys = ("date", "dimension", "value", "live_stream_id")
    schema = schemas.LIVE_STREAM_PLAYS.to_dict()


class DataStream(DailyStream):
    """A ``/data`` endpoint: ATOM instants with ``+00:00`` (sent encoded as ``%2B00%3A00``)."""

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The window and the page; every page repeats them."""
        return {
            "from": window.start.isoformat(timespec="seconds"),
            "to": window.end.isoformat(timespec="seconds"),
            "currentPage": page,
            "pageSize": self.config["page_size"],
        }


class MetricBucketsStream(DataStream):
    """Each configured metric by each configured breakdown, per UTC day (``/data/buckets``).

    One partition per (metric, breakdown); one day per request. Rows are asked in dimension
    order, which late data cannot reshuffle between pages (the default order is by value).
    """

    name = "metric_buckets"
    path = "/data/buckets/{metric}/{breakdown}"
    primary_keys = ("date", "metric", "breakdown", "dimension_value")
    schema = schemas.METRIC_BUCKET.to_dict()

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """Every (metric, breakdown) pair configured."""
        return [
            {"metric": metric, "breakdown": breakdown}
            for metric in self.config["metrics"]
            for breakdown in self.config["breakdowns"]
        ]

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The day, a stable order, and the page."""
        return super().window_params(window, context, page) | {
            "sortBy": "dimensionValue",
            "sortOrder": "asc",
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """One record per breakdown value, stamped with the day."""
        day = to_utc_iso(window.start)
        for row in json_payload(response)["data"]:
            value = str(row["dimensionValue"]) or NO_VALUE
            if self.first_sighting(window, value):
                yield {"date": day, "dimension_value": value, "metric_value": row["metricValue"]}


class MetricTimeseriesStream(DataStream):
    """Daily values of each configured metric (``/data/timeseries/{metric}``, ``interval=day``).

    One partition per metric. The complete days to read go in one request (a day per row, at
    most 30 rows), not one request per day: each row carries its own day. Days without data
    have no row.
    """

    name = "metric_timeseries"
    path = "/data/timeseries/{metric}"
    primary_keys = ("date", "metric")
    schema = schemas.METRIC_TIMESERIES.to_dict()

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One per configured metric."""
        return [{"metric": metric} for metric in self.config["metrics"]]

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """All complete days to read as one window."""
        days = self.days(context)
        return CalendarWindows([Window(days[0].start, days[-1].end)] if days else [])

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The days, daily buckets in time order, and the page."""
        return super().window_params(window, context, page) | {
            "interval": "day",
            "sortBy": "emittedAt",
            "sortOrder": "asc",
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """One record per day inside the window."""
        for row in json_payload(response)["data"]:
            # The label of a daily bucket is UNVERIFIED (docs/api/apivideo-data.md §2.2): take
            # its day.
            day = floor_to(parse_utc(row["emittedAt"]), "day")
            if window.start <= day < window.end and self.first_sighting(window, str(day)):
                yield {
                    "date": to_utc_iso(day),
                    "interval": "day",
                    "metric_value": row["metricValue"],
                }
