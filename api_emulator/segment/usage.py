"""Segment Public API: usage, event volume, audit trail and delivery overview.

As docs/api/segment.md §12-§16 document them: the four daily usage series (cumulative within a
monthly ``period``, the day still running included), event volume per bucket (its own budget of
60 requests a minute), the Audit Trail (an entitlement: the ``audit_trail_enabled`` option
switches it) and the six Delivery Overview stages with their granularity limits. Counts come
from :mod:`api_emulator.data.segment_usage`, so they agree with the delivery metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import api_emulator.segment as segment_api
from api_emulator.core import RateBudget, Request, Response
from api_emulator.data import segment_usage as usage
from api_emulator.data.segment_usage import split

if TYPE_CHECKING:
    from api_emulator.segment import SegmentApp

#: Emulator switches (``PUT /_emulator/segment/options``) this module adds.
OPTIONS: dict[str, Any] = {"audit_trail_enabled": bool}
AUDIT_TRAIL_OFF = "The Audit Trail feature is not enabled for this workspace"
#: The seeded audit events lie in the 30 days before this instant.
AUDIT_ANCHOR = datetime(2026, 11, 20, tzinfo=timezone.utc)
EVENT_VOLUME_PER_MINUTE = 60  # docs/api/segment.md §13
UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
# Granularity -> (widest range, oldest start) (docs/api/segment.md §15); event volume is held to
# the same limits (UNVERIFIED, §13).
BUCKET_LIMITS = {
    "minute": (timedelta(hours=4), timedelta(hours=48)),
    "hour": (timedelta(days=14), timedelta(days=30)),
    "day": (timedelta(days=30), timedelta(days=30)),
}
OVERVIEW_GROUPS = ("eventName", "eventType", "discardReason", "appVersion")
VOLUME_GROUPS = ("eventName", "eventType", "source")

Handler = Callable[[Request], dict[str, Any]]


def register(app: SegmentApp) -> None:
    """Serve this module's routes on ``app``."""
    UsageRoutes(app)


class UsageRoutes:
    """The routes, bound to one app (its dataset, clock, auth and pagination)."""

    def __init__(self, app: SegmentApp) -> None:
        self.app = app
        setattr(app, "audit_trail_enabled", True)  # noqa: B010 (an option set_options sets)
        self.volume_budget = RateBudget(EVENT_VOLUME_PER_MINUTE, 60.0)
        self._audit: list[usage.AuditEvent] | None = None
        for path, kind in (
            ("/usage/api-calls/daily", "api-calls"),
            ("/usage/api-calls/sources/daily", "api-calls-sources"),
            ("/usage/mtu/daily", "mtu"),
            ("/usage/mtu/sources/daily", "mtu-sources"),
        ):
            app.add_route("GET", path, self._route(self._usage_handler(kind)))
        app.add_route("GET", "/events/volume", self._route(self.event_volume, self.volume_budget))
        app.add_route("GET", "/audit-events", self._route(self.audit_events))
        for stage in (*usage.SOURCE_STAGES, *usage.DESTINATION_STAGES):
            handler = self._overview_handler(stage)
            app.add_route("GET", f"/delivery-overview/{stage}", self._route(handler))

    def _route(self, handler: Handler, budget: RateBudget | None = None) -> Any:
        """Authenticate; spend the route's own budget, if it has one; wrap in ``data``."""

        def route(request: Request) -> Response:
            self.app._authenticate(request)
            if budget is not None and (status := budget.consume()).limited:
                return self.app.rate_limited(status, None)
            return Response(200, {"data": handler(request)})

        return route

    # -- usage -------------------------------------------------------------------------------

    def _usage_handler(self, kind: str) -> Handler:
        def handler(request: Request) -> dict[str, Any]:
            period = _period(request)
            per_source, metric = kind.endswith("-sources"), kind.split("-sources")[0]
            rows = self._usage_rows(period, metric, per_source=per_source)
            name = {
                ("api-calls", False): "dailyWorkspaceAPICallsUsage",
                ("api-calls", True): "dailyPerSourceAPICallsUsage",
                ("mtu", False): "dailyWorkspaceMTUUsage",
                ("mtu", True): "dailyPerSourceMTUUsage",
            }[metric, per_source]
            page, pagination = self.app._page(request, rows)
            return {name: page, "pagination": pagination}

        return handler

    def _usage_rows(self, period: datetime, metric: str, *, per_source: bool) -> list[dict]:
        """Cumulative snapshots, one per day of the period begun so far (and source)."""
        now = self.app.clock.now()
        end = _next_month(period)
        days = []
        day = period
        while day < end and day <= now:
            days.append(day)
            day += timedelta(days=1)
        by_source = usage.destinations_by_source(self.app.dataset)
        sources = list(by_source)
        running = {source: dict.fromkeys(("apiCalls", *usage.MTU_SHARES), 0) for source in sources}
        rows = []
        for day in days:
            for source in sources:
                for name, count in usage.day_usage(
                    self.app.dataset, by_source[source], day, now
                ).items():
                    running[source][name] += count
            totals: list[tuple[str | None, dict[str, int]]] = (
                [(source, running[source]) for source in sources]
                if per_source
                else [(None, _summed(running.values()))]
            )
            for owner, counts in totals:
                row: dict[str, Any] = {} if owner is None else {"sourceId": owner}
                if metric == "api-calls":
                    row["apiCalls"] = str(counts["apiCalls"])
                else:
                    row["periodStart"] = int(period.timestamp())
                    row["periodEnd"] = int(end.timestamp())
                    row.update({name: str(counts[name]) for name in usage.MTU_SHARES})
                row["timestamp"] = _iso(day)
                rows.append(row)
        return rows

    # -- event volume ------------------------------------------------------------------------

    def event_volume(self, request: Request) -> dict[str, Any]:
        """``GET /events/volume``: a series per group of source, event name and type."""
        granularity = (request.arg("granularity") or "").upper()
        if granularity not in ("DAY", "HOUR", "MINUTE"):
            raise segment_api._invalid(
                "granularity", '"granularity" must be one of [DAY, HOUR, MINUTE]'
            )
        start, end, buckets = self._buckets(request, granularity.lower())
        groups = _list(request, "groupBy")
        if unknown := [g for g in groups if g not in VOLUME_GROUPS]:
            raise segment_api._invalid(
                "groupBy", f'"groupBy" must be among {", ".join(VOLUME_GROUPS)}: {unknown[0]}'
            )
        wanted = _list(request, "sourceId")
        by_source = usage.destinations_by_source(self.app.dataset)
        sources = [s for s in by_source if not wanted or s in wanted]
        now = self.app.clock.now()
        dims = [g for g in ("eventName", "eventType") if g in groups]
        series: dict[tuple, list[dict[str, Any]]] = {}
        for label, (bucket_start, bucket_end) in buckets:
            per_source = {
                s: usage.source_counts(
                    self.app.dataset, by_source[s], bucket_start, bucket_end, now
                )["successfully-received"]
                for s in sources
            }
            counted: list[tuple[str | None, int]] = (
                list(per_source.items())
                if "source" in groups
                else [(None, sum(per_source.values()))]
            )
            for owner, count in counted:
                for grouped, share in _grouped(count, dims):
                    key = (owner, *grouped.items())
                    series.setdefault(key, []).append({"time": _iso(label), "count": share})
        result = []
        for (owner, *values), points in series.items():
            entry: dict[str, Any] = dict(values)
            if owner is not None:
                entry["source"] = usage.source_reference(owner)
            result.append({**entry, "total": sum(p["count"] for p in points), "series": points})
        page, pagination = self.app._page(request, result)
        query = {
            "workspaceId": "emulated-workspace",
            "granularity": granularity,
            "startTime": _iso(start),
            "endTime": _iso(end),
            "groupBy": groups,
        }
        return {"path": "/events/volume", "query": query, "result": page, "pagination": pagination}

    # -- audit trail -------------------------------------------------------------------------

    def audit_events(self, request: Request) -> dict[str, Any]:
        """``GET /audit-events``: newest first; an entitlement."""
        if not getattr(self.app, "audit_trail_enabled"):  # noqa: B009
            # Status and body for a workspace without the entitlement are UNVERIFIED (§14).
            raise segment_api._refusal(403, "forbidden", AUDIT_TRAIL_OFF, status=403)
        _require_count(request)
        if self._audit is None:
            count = max(20, 6 * len(self.app.dataset.destinations))
            self._audit = usage.audit_events(self.app.dataset, AUDIT_ANCHOR, count)
        now = self.app.clock.now()
        start = segment_api._time(request, "startTime")
        end = segment_api._time(request, "endTime") or now
        kept = [
            event.body
            for event in self._audit
            if event.timestamp <= now
            and (start is None or event.timestamp >= start)
            and event.timestamp < end
            and request.arg("resourceId") in (None, event.body["resourceId"])
            and request.arg("resourceType") in (None, event.body["resourceType"])
        ]
        page, pagination = self.app._page(request, kept)
        return {"events": page, "pagination": pagination}

    # -- delivery overview -------------------------------------------------------------------

    def _overview_handler(self, stage: str) -> Handler:
        def handler(request: Request) -> dict[str, Any]:
            return self.delivery_overview(request, stage)

        return handler

    def delivery_overview(self, request: Request, stage: str) -> dict[str, Any]:
        """``GET /delivery-overview/{stage}``: a series per group, counts per bucket."""
        source_id = request.arg("sourceId")
        if not source_id:
            raise segment_api._invalid("sourceId", '"sourceId" is required')
        by_source = usage.destinations_by_source(self.app.dataset)
        if source_id not in by_source:
            raise segment_api._not_found("Source not found")
        destination = None
        if stage in usage.DESTINATION_STAGES:
            destination_id = request.arg("destinationConfigId")
            if not destination_id:
                raise segment_api._invalid(
                    "destinationConfigId", '"destinationConfigId" is required'
                )
            destination = self.app.dataset.find(destination_id)
            if destination is None:
                raise segment_api._not_found("Destination not found")
            if destination["sourceId"] != source_id:
                raise segment_api._invalid(
                    "destinationConfigId", "Destination is not connected to the source"
                )
        granularity = request.arg("granularity") or ""
        if granularity not in UNITS:
            raise segment_api._invalid(
                "granularity", '"granularity" must be one of [day, hour, minute]'
            )
        _require_count(request)
        _, _, buckets = self._buckets(request, granularity)
        groups = _list(request, "groupBy")
        allowed = (
            OVERVIEW_GROUPS
            if stage != "successfully-received"
            else ("eventName", "eventType", "appVersion")
        )
        if unknown := [g for g in groups if g not in allowed]:
            raise segment_api._invalid(
                "groupBy", f'"groupBy" must be among {", ".join(allowed)}: {unknown[0]}'
            )
        dims = [g for g in OVERVIEW_GROUPS if g in groups]
        now = self.app.clock.now()
        series: dict[tuple, list[dict[str, Any]]] = {}
        for label, (bucket_start, bucket_end) in buckets:
            if destination is None:
                counts = usage.source_counts(
                    self.app.dataset, by_source[source_id], bucket_start, bucket_end, now
                )
            else:
                counts = usage.destination_counts(
                    self.app.dataset, destination["id"], bucket_start, bucket_end, now
                )
            for values, share in _grouped(counts[stage], dims, stage):
                point = {"time": _iso(label), "count": share}
                series.setdefault(tuple(values.items()), []).append(point)
        dataset = [
            {**dict(key), "total": sum(p["count"] for p in points), "series": points}
            for key, points in series.items()
        ]
        page, pagination = self.app._page(request, dataset)
        total = sum(entry["total"] for entry in dataset)
        return {"total": total, "dataset": page, "pagination": pagination}

    # -- helpers -----------------------------------------------------------------------------

    def _buckets(
        self, request: Request, unit: str
    ) -> tuple[datetime, datetime, list[tuple[datetime, tuple[datetime, datetime]]]]:
        """``[startTime, endTime)`` within the granularity's limits, and its buckets: each
        one's start on the unit grid, and the part of the range it covers."""
        start, end = segment_api._time(request, "startTime"), segment_api._time(request, "endTime")
        if start is None:
            raise segment_api._invalid("startTime", '"startTime" is required')
        if end is None:
            raise segment_api._invalid("endTime", '"endTime" is required')
        if end <= start:
            raise segment_api._invalid("endTime", '"endTime" must be after "startTime"')
        widest, oldest = BUCKET_LIMITS[unit]
        if start < self.app.clock.now() - oldest:
            raise segment_api._invalid(
                "startTime",
                f'"startTime" must not be older than {segment_api._human(oldest)} '
                f"for {unit} granularity",
            )
        if end - start > widest:
            raise segment_api._invalid(
                "endTime",
                f'"endTime" - "startTime" must not exceed {segment_api._human(widest)} '
                f"for {unit} granularity",
            )
        span = UNITS[unit]
        first = _floor(start, span)
        buckets = []
        while first < end:
            buckets.append((first, (max(first, start), min(first + span, end))))
            first += span
        return start, end, buckets


def _grouped(count: int, dims: Sequence[str], stage: str = "") -> list[tuple[dict[str, str], int]]:
    """``count`` split over every combination of the dimensions' values."""
    result: list[tuple[dict[str, str], int]] = [({}, count)]
    for dim in dims:
        values = usage.DIMENSIONS.get(dim) or usage.DISCARD_REASONS[stage]
        result = [
            ({**grouped, dim: value}, share)
            for grouped, total in result
            for value, share in split(total, values)
        ]
    return result


def _summed(counts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for entry in counts:
        for name, value in entry.items():
            total[name] = total.get(name, 0) + value
    return total


def _period(request: Request) -> datetime:
    """The ``period`` parameter: the first day of a usage month (UTC)."""
    value = request.arg("period")
    if not value:
        raise segment_api._invalid("period", '"period" is required')
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise segment_api._invalid("period", '"period" must be a valid ISO-8601 date') from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if moment != moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        # UNVERIFIED: what Segment answers for a period inside a month (docs/api/segment.md §12)
        raise segment_api._invalid("period", '"period" must be the start of a usage month')
    return moment


def _next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def _floor(moment: datetime, span: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return epoch + span * ((moment - epoch) // span)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _list(request: Request, name: str) -> list[str]:
    """A list parameter in any of the forms clients send: repeated, ``name[i]``, or comma-joined."""
    values = [
        value
        for key, found in request.query.items()
        if key == name or (key.startswith(f"{name}[") and key.endswith("]"))
        for value in found
    ]
    return [part for value in values for part in value.split(",") if part]


def _require_count(request: Request) -> None:
    if request.arg("pagination.count", "pagination[count]") is None:
        raise segment_api._invalid("pagination.count", '"pagination.count" is required')
