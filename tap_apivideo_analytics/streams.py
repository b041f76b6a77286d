"""The streams of tap-apivideo-analytics: plays per dimension, ``/data`` metrics and watch time
per UTC day, and the videos and live streams they count (full table, see MediaListStream).

Every daily stream reads complete UTC days only: today is still filling up, so it is never emitted;
each run re-reads ``lookback_days`` complete days before its bookmark, where late plays land,
and the primary key upserts them. Days start no earlier than api.video keeps analytics (30
days); an older start is clamped, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_apivideo_analytics import schemas
from tap_apivideo_analytics.client import ApiVideoStream
from tap_common.deletes import FullTableStream
from tap_common.payload import json_payload
from tap_common.redaction import fingerprint
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
# Where a private token sits in an asset URL (docs/api/apivideo-media.md §3): a path segment
# (``/token/{t}`` for video files, ``/private/{t}`` for live streams) or the ``token`` query
# parameter (embeds). The path forms go; ``?token=`` goes with the ``&`` that follows it.
TOKEN_PATH = re.compile(r"/(?:token|private)/[^/?#\"'\s]+")
TOKEN_FIRST_PARAM = re.compile(r"\?token=[^&#\"'\s]*&")
TOKEN_PARAM = re.compile(r"[?&]token=[^&#\"'\s]*")
# One call gives the seconds watched of one media in one window (docs/api/apivideo-media.md §4).
WATCH_TIME_PATH = "/data/metrics/watch-time/sum"


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
        return day_bounds(window) | {"currentPage": page, "pageSize": self.config["page_size"]}


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


class MetricAggregatesStream(DataStream):
    """Each configured metric/aggregation over each UTC day (``/data/metrics``, one call a day).

    Non-additive figures (averages, rates, peaks) cannot be summed from smaller buckets, so
    every day is its own request; the answer is one number.
    """

    name = "metric_aggregates"
    path = "/data/metrics/{metric}/{aggregation}"
    primary_keys = ("date", "metric", "aggregation")
    schema = schemas.METRIC_AGGREGATE.to_dict()

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One per configured ``metric/aggregation`` pair."""
        pairs = (pair.split("/") for pair in self.config["aggregates"])
        return [{"metric": metric, "aggregation": aggregation} for metric, aggregation in pairs]

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The day only: the endpoint is not paginated and refuses paging parameters."""
        return day_bounds(window)

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The day's one value."""
        yield {"date": to_utc_iso(window.start), "metric_value": json_payload(response)["data"]}


class MediaWatchTimeStream(DataStream):
    """Seconds watched per media and UTC day: the media played that day, then each one's sum.

    ``/data/buckets`` has no watch-time metric, so no breakdown gives it per media; the cheapest
    route is one ``/data/buckets/play/media-id`` page per day (100 media a page) for the media
    that played, then one ``/data/metrics/watch-time/sum`` filtered to each of them (media
    without plays have no watch time): per day, 1 + played media requests.
    """

    name = "media_watch_time"
    path = "/data/buckets/play/media-id"
    primary_keys = ("date", "media_id")
    schema = schemas.MEDIA_WATCH_TIME.to_dict()
    # The bookmark at the stream's level: the SDK adds no ``metric`` column to the records.
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One: the project (a partition keeps the day bookmark, as on every daily stream)."""
        return [{"metric": "watch-time"}]

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The partition is not a column here: every row is watch time."""
        return super().post_process(row, None)

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The day, a stable order (late plays cannot reshuffle it), and the page."""
        return super().window_params(window, context, page) | {
            "sortBy": "dimensionValue",
            "sortOrder": "asc",
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """One record per media played that day, with its watch time."""
        day = to_utc_iso(window.start)
        for row in json_payload(response)["data"]:
            media_id = str(row["dimensionValue"])
            if self.first_sighting(window, media_id):
                yield {
                    "date": day,
                    "media_id": media_id,
                    "media_type": "live-stream" if media_id.startswith("li") else "video",
                    "plays": int(row["metricValue"]),
                    "watch_time_seconds": self.watch_time(window, media_id),
                }

    def watch_time(self, window: Window, media_id: str) -> float:
        """``watch-time/sum`` of one media over the window, through the SDK's retries."""
        request = self.build_prepared_request(
            method="GET",
            url=self.url_base + WATCH_TIME_PATH,
            params=day_bounds(window) | {"filterBy[mediaId]": media_id},
            headers=self.http_headers,
        )
        response = self.request_decorator(self._request)(request, None)
        return json_payload(response)["data"]


def day_bounds(window: Window) -> dict[str, str]:
    """``from``/``to`` of a ``/data`` window as ATOM instants."""
    return {
        "from": window.start.isoformat(timespec="seconds"),
        "to": window.end.isoformat(timespec="seconds"),
    }


def without_private_token(text: str) -> str:
    """``text`` (a URL or an embed snippet) with any private token cut out."""
    text = TOKEN_PATH.sub("", text)
    return TOKEN_PARAM.sub("", TOKEN_FIRST_PARAM.sub("?", text))


class MediaListStream(FullTableStream, ApiVideoStream):
    """A list of api.video objects (``GET /videos``, ``/live-streams``), read whole each run.

    Neither list can be filtered by ``updatedAt`` (only sorted), so an incremental read would
    still walk every page, and would never see a deletion: these are full-table streams whose
    deleted rows are marked (tap_common.deletes). Pages are asked in creation order, so media
    created during the read land on the last page instead of shifting the others; a listing
    whose ``itemsTotal`` changed while it was read proves no deletion.
    """

    records_jsonpath = "$.data[*]"
    date_times: ClassVar[tuple[str, ...]] = ("createdAt", "updatedAt")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._totals: set[int] = set()

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> Any:
        """Creation order, the largest pages, and the page."""
        return {
            "sortBy": "createdAt",
            "sortOrder": "asc",
            "currentPage": next_page_token,
            "pageSize": self.config["page_size"],
        }

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The page's objects; the listing's size is noted (see unproven_reason)."""
        pagination = json_payload(response).get("pagination") or {}
        if "itemsTotal" in pagination:
            self._totals.add(int(pagination["itemsTotal"]))
        return super().parse_response(response)

    @override
    def unproven_reason(self) -> str | None:
        """A listing that grew or shrank while it was paged may have shifted a row past us."""
        if len(self._totals) > 1:
            return "the listing changed size while it was read"
        return super().unproven_reason()

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Canonical UTC date-times; asset URLs without private tokens."""
        for name in self.date_times:
            if row.get(name):
                row[name] = to_utc_iso(row[name])
        row["assets"] = {
            name: without_private_token(value) if isinstance(value, str) else value
            for name, value in (row.get("assets") or {}).items()
        }
        return super().post_process(row, context)


class VideosStream(MediaListStream):
    """Every video of the project, every field of the API's video object; full table."""

    name = "videos"
    path = "/videos"
    primary_keys = ("videoId",)
    schema = schemas.VIDEO.to_dict()
    date_times = ("createdAt", "publishedAt", "updatedAt", "discardedAt", "deletesAt")


class LiveStreamsStream(MediaListStream):
    """Every live stream of the project; stream keys only as fingerprints; full table."""

    name = "live_streams"
    path = "/live-streams"
    primary_keys = ("liveStreamId",)
    schema = schemas.LIVE_STREAM.to_dict()

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The stream keys (which let anyone broadcast) become fingerprints."""
        row["streamKeyFingerprint"] = fingerprint(row.pop("streamKey", None))
        row["restreams"] = [
            {
                "name": restream.get("name"),
                "serverUrl": restream.get("serverUrl"),
                "streamKeyFingerprint": fingerprint(restream.get("streamKey")),
            }
            for restream in row.get("restreams") or []
        ]
        return super().post_process(row, context)
