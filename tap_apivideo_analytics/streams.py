"""The streams of tap-apivideo-analytics: plays per dimension and ``/data`` metrics, per UTC day.

Every stream reads complete UTC days only: today is still filling up, so it is never emitted;
each run re-reads ``lookback_days`` complete days before its bookmark, where late plays land,
and the primary key upserts them. Days start no earlier than api.video keeps analytics (30
days); an older start is clamped, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests
from singer_sdk.helpers.types import Context

from tap_apivideo_analytics import schemas
from tap_apivideo_analytics.client import ApiVideoStream
from tap_common.payload import json_payload
from tap_common.timeutil import parse_utc, to_utc_iso
from tap_common.windows import Window, WindowPlan, WindowRules, floor_to, plan_windows

# One UTC day per window, starting within the 30 days api.video keeps (apivideo.md §3); plan_windows
# keeps a minute's margin, so the first day is today - 29 and never falls off the server's edge.
DAYS = WindowRules("day", oldest=timedelta(days=30))
ONE_DAY = timedelta(days=1)
# Primary-key columns are never empty: loaders such as target-duckdb store "" as NULL, which a
# key column refuses. ALL_MEDIA marks figures for the whole project (no id filter); NO_VALUE an
# empty dimension value (events without a referrer, for one). Neither can be a real id or URL.
ALL_MEDIA = "*"
NO_VALUE = "(none)"


class DailyStream(ApiVideoStream):
    """Incremental on ``date``, one bookmark per partition, checkpointed after every window."""

    replication_key = "date"
    # Windows are in day order, but a rerun re-reads the look-back before its bookmark.
    is_sorted = False
    checkpoints_each_window = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._window: Window | None = None
        self._context: Context = {}
        self._seen: set[str] = set()
        self._warned_clamp = False

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every window after the bookmark (minus the look-back), promoting it after each."""
        if not context:  # nothing configured for this stream: no partitions
            return
        self.learn_server_time()
        state = self.get_context_state(context)
        self._context = context
        for window in self.windows(self._plan(state)):
            self._window, self._seen = window, set()
            yield from self.read_window(context, window, super().get_records(context))

    def windows(self, plan: WindowPlan) -> tuple[Window, ...]:
        """The windows to request: one per day (a stream may merge them)."""
        return plan.windows

    def _plan(self, state: dict[str, Any]) -> WindowPlan:
        plan = plan_windows(DAYS, self._start(state), self.runtime.server_clock.now())
        if plan.clamped_from is not None and plan.windows and not self._warned_clamp:
            self._warned_clamp = True
            self.logger.warning(
                "%s: start %s is older than the 30 days api.video keeps analytics; starting at "
                "%s (earlier days cannot be synced)",
                self.name,
                to_utc_iso(plan.clamped_from),
                to_utc_iso(plan.windows[0].start),
            )
        return plan

    def _start(self, state: dict[str, Any]) -> datetime | None:
        """The bookmark's next day minus the look-back, not before ``start_date``.

        No bookmark and no ``start_date``: None, as far back as api.video keeps.
        """
        start_date = self.config.get("start_date")
        floor = parse_utc(start_date) if start_date else None
        bookmark = state.get("replication_key_value")
        if not bookmark:
            return floor
        start = parse_utc(bookmark) + ONE_DAY - timedelta(days=self.config["lookback_days"])
        return max(start, floor) if floor else start

    def first_sighting(self, key: str) -> bool:
        """Whether ``key`` is new in this window: a row that moved to a later page while we
        paged (late plays re-sort a day) must not be emitted twice."""
        if key in self._seen:
            return False
        self._seen.add(key)
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
        """The endpoint's dimension enum (apivideo.md §3)."""
        return ("emittedAt", self.id_dimension, "country", "deviceType", "operatingSystem",
                "browser")  # fmt: skip

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """Configured dimensions this endpoint has, times the filter ids (or the project)."""
        ids = self.config.get(self.ids_setting) or [ALL_MEDIA]
        wanted = [d for d in self.config["dimensions"] if d in self.dimensions]
        return [{"dimension": d, self.id_field: media_id} for d in wanted for media_id in ids]

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """The day, the dimension, the filter and the page, on every page."""
        assert context is not None
        assert self._window is not None
        media_id = context[self.id_field]
        return {
            "from": self._window.start.date().isoformat(),
            "to": self._window.end.date().isoformat(),
            "dimension": context["dimension"],
            "filter": None if media_id == ALL_MEDIA else f"{self.id_dimension}:{media_id}",
            "currentPage": next_page_token,
            "pageSize": self.config["page_size"],
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The page's rows, each stamped with its day, dimension and filter id."""
        assert self._window is not None
        day = to_utc_iso(self._window.start)
        for row in json_payload(response)["data"]:
            value = str(row["value"]) or NO_VALUE
            if self.first_sighting(value):
                yield {
                    "date": day,
                    "dimension": self._context["dimension"],
                    "value": value,
                    "plays": int(row["plays"]),
                    self.id_field: self._context[self.id_field],
                }


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

    def window_params(self, next_page_token: Any) -> dict[str, Any]:
        """The window and the page; every page repeats them."""
        assert self._window is not None
        return {
            "from": self._window.start.isoformat(timespec="seconds"),
            "to": self._window.end.isoformat(timespec="seconds"),
            "currentPage": next_page_token,
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
    def partitions(self) -> list[dict[str, Any]]:
        """Every (metric, breakdown) pair configured."""
        return [
            {"metric": metric, "breakdown": breakdown}
            for metric in self.config["metrics"]
            for breakdown in self.config["breakdowns"]
        ]

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """The day, a stable order, and the page."""
        return self.window_params(next_page_token) | {
            "sortBy": "dimensionValue",
            "sortOrder": "asc",
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """One record per breakdown value, stamped with the day, metric and breakdown."""
        assert self._window is not None
        day = to_utc_iso(self._window.start)
        for row in json_payload(response)["data"]:
            value = str(row["dimensionValue"]) or NO_VALUE
            if self.first_sighting(value):
                yield {
                    "date": day,
                    "metric": self._context["metric"],
                    "breakdown": self._context["breakdown"],
                    "dimension_value": value,
                    "metric_value": row["metricValue"],
                }


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
    def partitions(self) -> list[dict[str, Any]]:
        """One per configured metric."""
        return [{"metric": metric} for metric in self.config["metrics"]]

    def windows(self, plan: WindowPlan) -> tuple[Window, ...]:
        """All planned days as one window."""
        if not plan.windows:
            return ()
        return (Window(plan.windows[0].start, plan.windows[-1].end),)

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """The days, daily buckets in time order, and the page."""
        return self.window_params(next_page_token) | {
            "interval": "day",
            "sortBy": "emittedAt",
            "sortOrder": "asc",
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """One record per day inside the window."""
        assert self._window is not None
        for row in json_payload(response)["data"]:
            # The label of a daily bucket is UNVERIFIED (apivideo-data.md §2.2): take its day.
            day = floor_to(parse_utc(row["emittedAt"]), "day")
            if self._window.start <= day < self._window.end and self.first_sighting(str(day)):
                yield {
                    "date": to_utc_iso(day),
                    "metric": self._context["metric"],
                    "interval": "day",
                    "metric_value": row["metricValue"],
                }
