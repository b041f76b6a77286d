"""The streams of tap-pm2-events: buckets -> event keys -> events and event histograms."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, NoReturn

import requests
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import OffsetPaginator
from typing_extensions import override

from tap_common.deletes import FullTableStream
from tap_common.payload import json_payload
from tap_common.timeutil import (
    DEFAULT_HISTORY,
    as_count,
    from_epoch_ms,
    iso_ms,
    parse_utc,
    to_epoch_ms,
    to_utc_iso,
)
from tap_common.windowed import WindowedStream
from tap_common.windows import CountSizedWindows, Window
from tap_pm2_events import schemas
from tap_pm2_events.client import BucketDataStream, Pm2Stream

# The backend is Elasticsearch (docs/api/pm2.md §0 ONPREM): offset + limit past its default
# result window (10,000) is refused. So a time window may hold at most that many events; one
# holding more is cut and read again.
RESULT_WINDOW = 10_000
SMALLEST_WINDOW = timedelta(seconds=1)


class BucketsStream(FullTableStream, Pm2Stream):
    """The buckets the token can read (all, or those in ``bucket_ids``); no secrets."""

    name = "buckets"
    narrowed_by = ("bucket_ids",)
    path = "/api/bucket"
    primary_keys = ("id",)
    records_jsonpath = "$[*]"
    schema = schemas.BUCKET.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The buckets; a configured id the token cannot read is an error, not a silent gap."""
        wanted = set(self.config.get("bucket_ids") or [])
        seen = set()
        for bucket in super().get_records(context):
            if wanted and bucket["_id"] not in wanted:
                continue
            seen.add(bucket["_id"])
            yield bucket
        if missing := sorted(wanted - seen):
            msg = f"bucket_ids: not readable with this refresh token: {', '.join(missing)}"
            raise ValueError(msg)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Keep the public fields, the data node among them (``secret_id`` never leaves)."""
        endpoints = (row.get("node") or {}).get("endpoints") or {}
        # The list carries node.endpoints like GET /api/bucket/:id does (UNVERIFIED for the
        # list); without one, the main API host is the best guess.
        web = endpoints.get("web") or self.config["api_url"]
        return {
            "id": row["_id"],
            "name": row.get("name"),
            "public_id": row.get("public_id"),
            "data_endpoint": web,
            "realtime_endpoint": endpoints.get("realtime"),
            "created_at": row.get("created_at"),
        }

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Each bucket's routes are read per bucket, from the bucket's data node."""
        return {"bucket_id": record["id"], "data_endpoint": record["data_endpoint"]}


class EventKeysStream(FullTableStream, BucketDataStream):
    """Event names per app of a bucket (``eventsKeysByApp``), full table.

    ``app_names`` and ``event_names`` narrow its children, not the listing itself.
    """

    name = "event_keys"
    parent_stream_type = BucketsStream
    path = "/api/bucket/{bucket_id}/data/eventsKeysByApp"
    primary_keys = ("bucket_id", "app_name", "event_name")
    schema = schemas.EVENT_KEY.to_dict()
    state_partitioning_keys = ["bucket_id"]  # noqa: RUF012 (the SDK declares it a list)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """Rows of (app, event name, count) from whichever shape arrives (UNVERIFIED)."""
        for app_name, event_name, count in _event_keys(json_payload(response)):
            yield {"app_name": app_name, "event_name": event_name, "count": count}

    @override
    def generate_child_contexts(
        self, record: dict, context: Context | None
    ) -> Iterator[dict[str, Any]]:
        """One context per (bucket, app, event name) that passes the filters."""
        assert context is not None
        apps, names = self.config.get("app_names"), self.config.get("event_names")
        if (not apps or record["app_name"] in apps) and (
            not names or record["event_name"] in names
        ):
            yield {
                "bucket_id": record["bucket_id"],
                "data_endpoint": context["data_endpoint"],
                "app_name": record["app_name"],
                "event_name": record["event_name"],
            }


class EventsStream(WindowedStream[int], BucketDataStream):
    """Every event of one name in a bucket (of one app, when ``app_names`` is set).

    The run reads up to an end pinned at its start, so new events cannot shift the offsets
    of a window being paged. Each run re-reads ``lookback_minutes`` before the bookmark, where
    late events land; the primary key upserts what was read before (at-least-once).

    Windows are sized by count: the first runs from the start to the pinned end, and one that
    overflows the result window is cut (sized from the density of what it returned) and read
    again; later windows are sized from the density seen. A cut can come on any page, so a
    window is held back until read whole. State advances after each window.
    """

    name = "events"
    parent_stream_type = EventKeysStream
    path = "/api/bucket/{bucket_id}/data/events"
    http_method = "POST"
    primary_keys = ("event_id",)
    replication_key = "at"
    buffers_windows = True
    schema = schemas.EVENT.to_dict()
    _sizer: CountSizedWindows  # the planner of the partition being read

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._partitions_read: set[tuple[str, ...]] = set()
        # Per (bucket, event name), and per app only when apps are filtered.
        self.per_app = bool(self.config.get("app_names"))
        self.partition_keys = ("bucket_id", "event_name", *(("app_name",) if self.per_app else ()))
        self.state_partitioning_keys = list(self.partition_keys)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The partition's events; the same event name of another app is read once."""
        assert context is not None
        partition = tuple(str(context[key]) for key in self.partition_keys)
        if partition in self._partitions_read:
            return
        self._partitions_read.add(partition)
        yield from super().get_records(context)

    @override
    def windows(self, context: Context) -> CountSizedWindows:
        """From the bookmark (less the look-back) to the run's pinned end, cut by count."""
        end = self.runtime.run_end
        start = self.resume_start(
            context,
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            default=end - DEFAULT_HISTORY,
        )
        self._sizer = CountSizedWindows(
            self.config["window_max_events"], start, lambda: end, smallest=SMALLEST_WINDOW
        )
        return self._sizer

    @override
    def get_new_paginator(self) -> EventPaginator:
        """Offsets until a short page; never past the result window."""
        page_size, ceiling = self.config["page_size"], self.config["window_max_events"]
        return EventPaginator(page_size, ceiling, self._sizer.result_window_full)

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        """The window as ISO-8601 UTC with milliseconds, as the official client sends."""
        body = {
            "event_name": context["event_name"],
            "start": iso_ms(window.start),
            "end": iso_ms(window.end),
            "limit": self.config["page_size"],
            "offset": page or 0,
        }
        if self.per_app:
            body["app_name"] = context["app_name"]
        return body

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The page's events inside ``[start, end)``; a full page whose times show the window
        holding far more than ``window_max_events`` cuts it before any of it is processed."""
        first, end = to_epoch_ms(window.start), to_epoch_ms(window.end)
        inside = [(event, raw, ms) for event, raw, ms in _timed(json_payload(response))
                  if first <= ms < end]  # fmt: skip
        full = len(inside) >= self.config["page_size"]
        self._sizer.page([ms for _, _, ms in inside], full=full)
        for event, raw, ms in inside:
            yield _event_record(event, raw, ms)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Stamp the bucket and compute the primary key."""
        assert context is not None
        row["bucket_id"] = context["bucket_id"]
        row["event_id"] = _event_id(row)
        return super().post_process(row, context)


class EventPaginator(OffsetPaginator):
    """``offset`` paging that ends on a short page and never pages past ``ceiling`` events."""

    def __init__(self, page_size: int, ceiling: int, on_ceiling: Callable[[], NoReturn]) -> None:
        super().__init__(start_value=0, page_size=page_size)
        self.ceiling = ceiling  # at most the result window
        self.on_ceiling = on_ceiling

    @override
    def has_more(self, response: requests.Response) -> bool:
        """A full page may have a successor; a short (or empty) one is the last."""
        return len(json_payload(response)) >= self.page_size

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A full page whose events all fall outside the window is not the end."""
        return self.has_more(response)

    @override
    def get_next(self, response: requests.Response) -> int | None:
        """The next offset; past the ceiling, the window is cut (``on_ceiling``)."""
        offset = super().get_next(response)
        if offset is not None and offset + self.page_size > self.ceiling:
            self.on_ceiling()
        return offset


class EventHistogramsStream(BucketDataStream):
    """Event counts per time bucket of one (bucket, app, event name), incremental."""

    name = "event_histograms"
    parent_stream_type = EventKeysStream
    path = "/api/bucket/{bucket_id}/data/events/stats"
    http_method = "POST"
    primary_keys = ("bucket_id", "app_name", "event_name", "interval", "bucket_start")
    replication_key = "bucket_start"
    is_sorted = True  # parse_response sorts the points
    schema = schemas.EVENT_HISTOGRAM.to_dict()
    state_partitioning_keys = ["bucket_id", "app_name", "event_name"]  # noqa: RUF012

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: Any
    ) -> dict[str, Any]:
        """``days`` back from now: enough to reach the bookmark's (partial) bucket again."""
        assert context is not None
        return {
            "event_name": context["event_name"],
            "app_name": context["app_name"],
            "interval": self.config["histogram_interval"],
            "days": self._days(context),
        }

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """Points from the bookmark's bucket on, oldest first (the newest is partial)."""
        points = sorted(
            (to_utc_iso(_moment(x)), int(y)) for x, y in json_payload(response) if x is not None
        )
        for bucket_start, count in points:
            yield {
                "interval": self.config["histogram_interval"],
                "bucket_start": bucket_start,
                "count": count,
            }

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Points before the bookmark were final when read: not emitted again."""
        assert context is not None
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark and row["bucket_start"] < to_utc_iso(bookmark):
            return None
        row |= {key: context[key] for key in ("bucket_id", "app_name", "event_name")}
        return super().post_process(row, context)

    def _days(self, context: Context) -> int:
        configured = int(self.config["histogram_days"])
        bookmark = self.get_starting_replication_key_value(context)
        if not bookmark:
            return configured
        behind = self.runtime.run_end - parse_utc(bookmark)
        needed = math.floor(behind / timedelta(days=1)) + 1
        if needed > configured:
            self.logger.warning(
                "event_histograms for %s/%s: last synced %s, more than histogram_days (%s) "
                "ago; the buckets in between are not available any more",
                context["app_name"],
                context["event_name"],
                bookmark,
                configured,
            )
        return min(needed, configured)


def _event_keys(payload: Any) -> Iterator[tuple[str, str, int | None]]:
    """(app, event name, count) from the documented-as-probable shape and two tolerated ones."""
    if isinstance(payload, dict):  # {"api": {"user:register": 42}} or {"api": ["user:register"]}
        for app, events in payload.items():
            names = events.items() if isinstance(events, dict) else ((n, None) for n in events)
            for name, count in names:
                yield str(app), str(name), as_count(count)
        return
    for entry in payload or []:
        app = entry.get("app_name") or entry.get("key")
        events = entry.get("events") or []
        if isinstance(events, dict):  # Elasticsearch aggregation style
            events = [
                {"name": b.get("key"), "count": b.get("doc_count")} for b in events["buckets"]
            ]
        for event in events:
            if isinstance(event, str):
                yield str(app), event, None
            else:
                yield (
                    str(app),
                    str(event.get("name") or event.get("key")),
                    as_count(event.get("count")),
                )


def _raw_time(event: dict[str, Any]) -> Any:
    """``at`` (epoch ms, or an ISO string), else ``created_at`` / ``timestamp``.

    The field names are UNVERIFIED (docs/api/pm2.md §4.1).
    """
    return next((event[k] for k in ("at", "created_at", "timestamp") if event.get(k)), None)


def _timed(events: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], Any, int]]:
    """(event, its raw time, epoch ms) of the events that carry a time."""
    for event in events:
        raw = _raw_time(event)
        if isinstance(raw, int) and not isinstance(raw, bool):
            yield event, raw, raw
        elif raw is not None:
            yield event, raw, to_epoch_ms(_moment(raw))


def _event_record(event: dict[str, Any], raw: Any, at_ms: int) -> dict[str, Any]:
    """The event with a UTC ``at``, its raw epoch ms, and app and server names.

    Where the app and server names sit is UNVERIFIED (docs/api/pm2.md §4.1).
    """
    process = event.get("process") or {}
    record = dict(event)
    record["at"] = to_utc_iso(_moment(raw))
    record["at_epoch_ms"] = at_ms if raw is at_ms else None
    record["event_name"] = event.get("name")
    record["app_name"] = event.get("app_name") or process.get("name")
    record["server_name"] = event.get("server_name") or process.get("server")
    return record


def _event_id(record: dict[str, Any]) -> str:
    """The vendor's id when there is one; else a hash of what makes the event itself."""
    vendor_id = record.get("_id") or record.get("id")
    if vendor_id:
        return str(vendor_id)
    process = record.get("process") or {}
    identity = [
        record["bucket_id"],
        record.get("event_name"),
        record["at"],
        record.get("server_name"),
        process.get("pm_id"),
        record.get("data"),
    ]
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _moment(value: Any) -> datetime:
    """Epoch milliseconds or an ISO-8601 string, as UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch_ms(int(value))
    return parse_utc(str(value))
