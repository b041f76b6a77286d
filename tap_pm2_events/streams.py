"""The streams of tap-pm2-events.

buckets -> event keys -> events and event histograms; buckets -> process events and
deployments; buckets -> issue apps -> issues -> issue occurrences.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import quote

import requests
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator, OffsetPaginator
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
from tap_common.windows import CalendarWindows, CountSizedWindows, Window
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
        """Each bucket's routes are read per bucket, from the bucket's data node; ``app_names``
        (the filter, joined) keys the state of the streams filtered by it."""
        apps = ",".join(sorted(self.config.get("app_names") or []))
        return {"bucket_id": record["id"], "data_endpoint": record["data_endpoint"], "apps": apps}


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


# -- what happens to the processes: process events, deployments, issues ----------------------


class AppsPaginator(BaseAPIPaginator[int]):
    """One request per filtered app (the page token is its index); one request when unfiltered."""

    def __init__(self, apps: int) -> None:
        super().__init__(0)
        self.apps = apps

    @override
    def get_next(self, response: requests.Response) -> int | None:
        following = self.current_value + 1
        return following if following < self.apps else None

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """An app with nothing to report is no reason to skip the next one."""
        return True


class RecentStream(WindowedStream[int], BucketDataStream):
    """A bucket's route with no time bounds but a relative one, incremental on ``at``: one
    window from the bookmark (less the look-back) to the run's pinned end, of which only what
    lies inside is kept. Per bucket, and per ``app_names`` when they filter (each app a
    request, its name in the body); records of other apps are dropped.

    A bookmark older than the API keeps (``retention_days``) starts where the API's data
    starts, with a warning: what happened in between is gone.
    """

    parent_stream_type = BucketsStream
    http_method = "POST"
    replication_key = "at"
    id_field: str  # the primary key: the vendor's id, else a content hash
    identity: tuple[str, ...]  # the fields hashed when there is no vendor id

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.apps = sorted(self.config.get("app_names") or [])
        self.state_partitioning_keys = ["bucket_id", *(["apps"] if self.apps else [])]

    @override
    def windows(self, context: Context) -> CalendarWindows:
        end = self.runtime.run_end
        start = self.resume_start(
            context,
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            default=end - DEFAULT_HISTORY,
        )
        oldest = end - timedelta(days=self.config["retention_days"])
        if start < oldest:
            self.logger.warning(
                "%s of bucket %s: asked from %s, but the API keeps %s days (retention_days); "
                "what happened before %s is not available any more",
                self.name,
                context["bucket_id"],
                to_utc_iso(start),
                self.config["retention_days"],
                to_utc_iso(oldest),
            )
            start = oldest
        return CalendarWindows([Window(start, end)] if start < end else [])

    @override
    def get_new_paginator(self) -> AppsPaginator:
        return AppsPaginator(max(1, len(self.apps)))

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        return {"app_name": self.apps[page or 0]} if self.apps else {}

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The documents timed inside the window (of the filtered apps)."""
        first, end = to_epoch_ms(window.start), to_epoch_ms(window.end)
        for document, raw, ms in _timed(json_payload(response)):
            record = self.columns(document) | {"at": to_utc_iso(_moment(raw)), "raw": document}
            if first <= ms < end and (not self.apps or record["app_name"] in self.apps):
                yield record

    def columns(self, document: dict[str, Any]) -> dict[str, Any]:
        """The columns found in one document."""
        raise NotImplementedError

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Stamp the bucket and compute the primary key."""
        assert context is not None
        row["bucket_id"] = context["bucket_id"]
        row[self.id_field] = _document_id(row, ("bucket_id", "at", *self.identity))
        return super().post_process(row, context)


class ProcessEventsStream(RecentStream):
    """Restarts, exits, starts and stops of a bucket's processes (``processEvents``).

    ``before`` ("filter out events that are after X minute", default 60) is the route's only
    time control: the minutes from the window's start to the server's now, rounded up, plus one
    (the server's clock is known to the second, and the request takes a moment); what is older
    than the window's start is dropped. docs/api/pm2.md §4.5.
    """

    name = "process_events"
    path = "/api/bucket/{bucket_id}/data/processEvents"
    primary_keys = ("process_event_id",)
    id_field = "process_event_id"
    identity = ("event", "app_name", "server_name", "pm_id")
    schema = schemas.PROCESS_EVENT.to_dict()

    @override
    def window_params(self, window: Window, context: Context, page: int | None) -> dict[str, Any]:
        behind = self.runtime.server_clock.now() - window.start
        minutes = math.ceil(behind / timedelta(minutes=1)) + 1
        return super().window_params(window, context, page) | {"before": minutes}

    @override
    def columns(self, document: dict[str, Any]) -> dict[str, Any]:
        """The event, its process's app, server, id and revision (UNVERIFIED: at the top or
        under ``process``)."""
        process = document.get("process") or {}
        return {
            "event": _first(document, "event", "type", "name"),
            "manually": document.get("manually"),
            "app_name": _first(document, "app_name") or process.get("name"),
            "server_name": _first(document, "server_name") or process.get("server"),
            "pm_id": as_count(_first(document, "pm_id") or process.get("pm_id")),
            "revision": _first(document, "rev", "revision") or process.get("rev"),
        }


class DeploymentsStream(RecentStream):
    """A bucket's deployments (``processEvents/deployments``): the route takes no time at all,
    so each run reads the list and keeps what lies after the bookmark (less the look-back).

    Incremental, not full table: a deployment is history, never edited, and one the API no
    longer lists has aged out, not been undone (docs/api/pm2.md §4.6).
    """

    name = "deployments"
    path = "/api/bucket/{bucket_id}/data/processEvents/deployments"
    primary_keys = ("deployment_id",)
    id_field = "deployment_id"
    identity = ("app_name", "server_name", "revision")
    schema = schemas.DEPLOYMENT.to_dict()

    @override
    def columns(self, document: dict[str, Any]) -> dict[str, Any]:
        """App, server and the git fields (UNVERIFIED: at the top or under ``versioning``)."""
        versioning = document.get("versioning") or {}
        merged = versioning | {k: v for k, v in document.items() if v is not None}
        process = document.get("process") or {}
        return {
            "app_name": _first(merged, "app_name") or process.get("name"),
            "server_name": _first(merged, "server_name") or process.get("server"),
            "revision": _first(merged, "revision", "rev"),
            "previous_revision": _first(merged, "prev_rev", "previous_revision"),
            "branch": _first(merged, "branch"),
            "comment": _first(merged, "comment"),
        }


class IssueAppsStream(FullTableStream, BucketDataStream):
    """The apps of a bucket that have open issues, with their count (``issues/summary/apps``):
    issues/list needs an app, and this lists those that have any."""

    name = "issue_apps"
    parent_stream_type = BucketsStream
    narrowed_by = ("app_names",)
    path = "/api/bucket/{bucket_id}/data/issues/summary/apps"
    primary_keys = ("bucket_id", "app_name")
    schema = schemas.ISSUE_APP.to_dict()
    state_partitioning_keys = ["bucket_id"]  # noqa: RUF012 (the SDK declares it a list)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """``[{"key", "count"}]`` (UNVERIFIED: the app under key, name, _id or app_name)."""
        apps = self.config.get("app_names")
        for entry in json_payload(response) or []:
            app = _first(entry, "key", "name", "_id", "app_name")
            if app is not None and (not apps or app in apps):
                yield {"app_name": str(app), "open_issues": as_count(_first(entry, "count"))}

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        assert context is not None
        return {
            "bucket_id": record["bucket_id"],
            "data_endpoint": context["data_endpoint"],
            "app_name": record["app_name"],
        }


class IssuesStream(FullTableStream, BucketDataStream):
    """The open exception groups of an app (``issues/list``), re-read whole each run and
    upserted by identifier, so counts and last-seen stay current; a group resolved (issues/list
    leaves fixed ones out) or deleted is marked deleted."""

    name = "issues"
    parent_stream_type = IssueAppsStream
    path = "/api/bucket/{bucket_id}/data/issues/list"
    http_method = "POST"
    primary_keys = ("bucket_id", "identifier")
    schema = schemas.ISSUE.to_dict()
    state_partitioning_keys = ["bucket_id", "app_name"]  # noqa: RUF012

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: Any
    ) -> dict[str, Any]:
        """One app's issues; no ``before``: every open one, however old."""
        assert context is not None
        return {"app_name": context["app_name"]}

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The issues, under the names the tap looks for (UNVERIFIED, docs/api/pm2.md §4.7)."""
        for issue in json_payload(response) or []:
            first, last = _first(issue, "first_seen", "created_at"), _first(issue, "last_seen")
            yield {
                "identifier": str(issue["identifier"]),
                "app_name": _first(issue, "app_name") or (issue.get("process") or {}).get("name"),
                "server_name": _first(issue, "server_name"),
                "type": _first(issue, "type", "name"),
                "message": _first(issue, "message"),
                "initiator": _first(issue, "initiator"),
                "source": _first(issue, "source"),
                "first_seen": None if first is None else to_utc_iso(_moment(first)),
                "last_seen": None if last is None else to_utc_iso(_moment(last)),
                "occurrences": as_count(_first(issue, "occurrences", "count")),
                "raw": issue,
            }

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        assert context is not None
        return {
            "bucket_id": record["bucket_id"],
            "data_endpoint": context["data_endpoint"],
            "identifier": record["identifier"],
            "last_seen": record["last_seen"],
        }


class IssueOccurrencesStream(WindowedStream[tuple[int, int]], BucketDataStream):
    """Every occurrence of an issue (``issues/occurrences/:identifier``), incremental on ``at``.

    One window from the bookmark (less the look-back) to the run's pinned end. Pages come
    oldest first after ``search_after`` (epoch ms, exclusive) from offset ``from``; each page
    moves ``search_after`` to just before its newest occurrence, and ``from`` past those
    already read at that instant, so paging never runs into the result window and occurrences
    at one instant are neither lost nor read twice. An empty page ends (the page size is not
    documented). An issue not seen since its bookmark (or the start) is not asked at all.
    """

    name = "issue_occurrences"
    parent_stream_type = IssuesStream
    path = "/api/bucket/{bucket_id}/data/issues/occurrences/{identifier}"
    primary_keys = ("occurrence_id",)
    replication_key = "at"
    schema = schemas.ISSUE_OCCURRENCE.to_dict()
    state_partitioning_keys = ["bucket_id", "identifier"]  # noqa: RUF012

    @override
    def get_url(self, context: Context | None) -> str:
        """The data node's URL of this issue's occurrences."""
        assert context is not None
        base = str(context["data_endpoint"]).rstrip("/")
        identifier = quote(str(context["identifier"]), safe="")
        return base + self.path.format(bucket_id=context["bucket_id"], identifier=identifier)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Only issues seen after the newest occurrence read (the bookmark), or since the
        start: UNVERIFIED that ``last_seen`` is the newest occurrence (docs/api/pm2.md §4.7)."""
        assert context is not None
        last_seen = context.get("last_seen")
        if last_seen:
            seen = parse_utc(last_seen)
            bookmark = self.get_context_state(context).get("replication_key_value")
            if seen < self._start(context) or (bookmark and seen <= parse_utc(bookmark)):
                return
        yield from super().get_records(context)

    @override
    def windows(self, context: Context) -> CalendarWindows:
        start, end = self._start(context), self.runtime.run_end
        return CalendarWindows([Window(start, end)] if start < end else [])

    @override
    def get_new_paginator(self) -> OccurrencePaginator:
        assert self._window is not None
        return OccurrencePaginator(to_epoch_ms(self._window.start) - 1, self._window.end)

    @override
    def window_params(
        self, window: Window, context: Context, page: tuple[int, int] | None
    ) -> dict[str, Any]:
        after, offset = page or (to_epoch_ms(window.start) - 1, 0)
        return {"search_after": after, "from": offset}

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        first, end = to_epoch_ms(window.start), to_epoch_ms(window.end)
        for document, raw, ms in _timed(json_payload(response)):
            if first <= ms < end:
                process = document.get("process") or {}
                yield {
                    "occurrence_id": _first(document, "_id", "id"),
                    "at": to_utc_iso(_moment(raw)),
                    "type": _first(document, "type", "name"),
                    "message": _first(document, "message"),
                    "stack": _first(document, "stack"),
                    "app_name": _first(document, "app_name") or process.get("name"),
                    "server_name": _first(document, "server_name") or process.get("server"),
                    "pm_id": as_count(_first(document, "pm_id") or process.get("pm_id")),
                    "raw": document,
                }

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Stamp bucket and issue; without a vendor id, a content hash is the key."""
        assert context is not None
        row |= {"bucket_id": context["bucket_id"], "identifier": context["identifier"]}
        if row["occurrence_id"] is None:
            identity = ("bucket_id", "identifier", "at", "server_name", "pm_id", "stack")
            row["occurrence_id"] = _document_id(row, identity)
        row["occurrence_id"] = str(row["occurrence_id"])
        return super().post_process(row, context)

    def _start(self, context: Context) -> datetime:
        return self.resume_start(
            context,
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            default=self.runtime.run_end - DEFAULT_HISTORY,
        )


class OccurrencePaginator(BaseAPIPaginator[tuple[int, int]]):
    """``(search_after, from)``: rebased on each page's newest instant (see the stream)."""

    def __init__(self, after: int, end: datetime) -> None:
        super().__init__((after, 0))
        self.end_ms = to_epoch_ms(end)

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page with nothing inside the window is not the end (``get_next`` decides)."""
        return True

    @override
    def get_next(self, response: requests.Response) -> tuple[int, int] | None:
        page = json_payload(response) or []
        if not page:
            return None
        times = [ms for _, _, ms in _timed(page)]
        after, offset = self.current_value
        if not times or times != sorted(times):  # not oldest first after all: offsets only
            return after, offset + len(page)
        newest = times[-1]
        if newest >= self.end_ms:
            return None  # past the run's end
        if newest - 1 == after:  # every occurrence since ``after`` is at ``newest``
            return after, offset + len(page)
        return newest - 1, times.count(newest)


def _first(document: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` that ``document`` has a value for."""
    return next((document[n] for n in names if document.get(n) is not None), None)


def _document_id(record: dict[str, Any], identity: tuple[str, ...]) -> str:
    """The vendor's id when the document has one; else a hash of ``identity``'s values."""
    raw = record.get("raw") or {}
    vendor_id = raw.get("_id") or raw.get("id")
    if vendor_id:
        return str(vendor_id)
    canonical = json.dumps([record.get(name) for name in identity], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
