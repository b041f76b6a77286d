"""Segment Public API, destinations endpoints, as segment.md documents them.

Bearer auth; ``{"data": ...}`` success bodies and ``{"errors": [...]}`` error bodies; cursor
pagination through ``pagination.count`` / ``pagination.cursor`` (also the bracket form the
official SDKs send); subscriptions as an Alpha feature (the ``subscriptions_enabled`` option
switches it); delivery metrics with the granularity window limits, enforced against the
emulator's clock; rate-limit headers on every success and the documented 429. Admin routes
delete a destination or a subscription (``DELETE /_emulator/segment/destinations/{id}``,
``.../subscriptions/{id}``). The rest of the workspace (sources, warehouses, Protocols, IAM,
catalogs...) is served by api_emulator.segment.workspace.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any, ClassVar

from api_emulator.core import BudgetStatus, Request, Response, VendorApp, VendorError
from api_emulator.data.segment import SegmentDataset
from api_emulator.segment import usage, workspace

__all__ = ["DEFAULT_TOKEN", "NO_ACCESS_TOKEN", "SegmentApp", "SegmentDataset"]

DEFAULT_TOKEN = "segment-emulator-token"
NO_ACCESS_TOKEN = "segment-emulator-no-access"
DEFAULT_COUNT, MAX_COUNT = 200, 1000

# Granularity -> (widest range, oldest start, default start before now) (docs/api/segment.md
# §6). The DAY default (30 days) breaks the DAY limit (14 days): a client that omits startTime is
# refused.
WINDOW_LIMITS = {
    "MINUTE": (timedelta(hours=4), timedelta(hours=48), timedelta(hours=1)),
    "HOUR": (timedelta(days=7), timedelta(days=7), timedelta(days=7)),
    "DAY": (timedelta(days=14), timedelta(days=14), timedelta(days=30)),
}
SUBSCRIPTIONS_OFF = (
    "Destination Subscriptions is an Alpha feature that is not enabled for this workspace"
)


def _refusal(status: int, kind: str, message: str, /, **details: Any) -> VendorError:
    """Segment's error envelope around one entry (whose details may hold a ``status`` too)."""
    return VendorError(status, {"errors": [{"type": kind, "message": message, **details}]})


def _invalid(field: str, message: str) -> VendorError:
    return _refusal(422, "input-validation", message, field=field)


def _not_found(message: str) -> VendorError:
    return _refusal(404, "resource-not-found", message, status=404)


class SegmentApp(VendorApp):
    """The destinations endpoints of one workspace."""

    name = "segment"
    options: ClassVar[dict[str, Any]] = {
        "subscriptions_enabled": bool,
        **workspace.OPTIONS,
        **usage.OPTIONS,
    }

    def __init__(self, dataset: SegmentDataset, tokens: dict[str, str] | None = None) -> None:
        super().__init__()
        self.dataset = dataset
        self.tokens = tokens or {DEFAULT_TOKEN: "full", NO_ACCESS_TOKEN: "forbidden"}
        self.subscriptions_enabled = True
        base = "/destinations/{destinationId}"
        self.add_route("GET", "/destinations", self._guarded(self.list_destinations))
        self.add_route("GET", base, self._guarded(self.get_destination))
        self.add_route("GET", base + "/subscriptions", self._guarded(self.list_subscriptions))
        self.add_route("GET", base + "/subscriptions/{id}", self._guarded(self.get_subscription))
        self.add_route("GET", base + "/delivery-metrics", self._guarded(self.delivery_metrics))
        self.add_admin_route("DELETE", "destinations/{id}", self.delete_destination)
        self.add_admin_route("DELETE", "subscriptions/{id}", self.delete_subscription)
        self.workspace = workspace.register(self)  # sources, warehouses, IAM, catalog...
        usage.register(self)  # usage, event volume, audit trail, delivery overview

    def register_token(self, token: str, access: str = "full") -> str:
        """Accept one more token ("full" or "forbidden"); returns it."""
        self.tokens[token] = access
        return token

    # -- envelopes -------------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        """Segment's error envelope."""
        kind = {404: "resource-not-found", 405: "method-not-allowed"}.get(status, "server")
        return Response(status, {"errors": [{"type": kind, "message": message, "status": status}]})

    def server_error(self, status: int) -> Response:
        """A 5xx in Segment's envelope."""
        return self.error(status, "Internal Server Error")

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        """429 with ``Retry-After`` and the documented body (docs/api/segment.md §7)."""
        retry_after = retry_after or budget.retry_after_seconds
        body = {
            "type": "RequestError",
            "message": "Too many requests",
            "data": {
                "remainingPoints": 0,
                "msBeforeNext": retry_after * 1000,
                "consumedPoints": budget.consumed,
            },
        }
        return Response(429, {"errors": [body]}, {"Retry-After": str(retry_after)})

    def rate_limit_headers(self, budget: BudgetStatus) -> dict[str, str]:
        """On every success; the reset date is rounded up so no client is early."""
        reset = float(int(budget.reset_wall_time) + 1)
        return {
            "X-RateLimit-Consumed": str(budget.consumed),
            "X-RateLimit-Remaining": str(budget.remaining),
            "X-RateLimit-Reset": formatdate(reset, usegmt=True),
        }

    def emptied(self, body: Any, request: Request) -> Any:
        """``data.<list>`` emptied; ``next`` a fresh cursor to the same offset."""
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and isinstance(data.get("pagination"), dict):
            for name, value in data.items():
                if isinstance(value, list):
                    data[name] = []
            cursor = request.arg("pagination.cursor", "pagination[cursor]")
            position = base64.b64decode(cursor).decode() if cursor else "0"
            # int() ignores the padding: a new cursor string for the same offset
            data["pagination"]["next"] = base64.b64encode(f" {position}".encode()).decode()
        return body

    def secrets(self) -> set[str]:
        """The credentials accepted or issued, and those planted in records (write keys...)."""
        return set(self.tokens) | self.workspace.secrets

    def _guarded(self, handler: Any) -> Any:
        """Authenticate, run the handler, wrap its data in Segment's envelope."""

        def guarded(request: Request) -> Response:
            self._authenticate(request)
            return Response(200, {"data": handler(request)})

        return guarded

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        access = self.tokens.get(token) if scheme == "Bearer" else None
        if access is None:
            raise _refusal(401, "unauthorized", "Unauthorized")
        if access != "full":
            # Segment documents insufficient permission under 401 (docs/api/segment.md §8); the
            # product spec asks the emulator for a 403 here, so taps must handle both as
            # credential errors.
            raise _refusal(403, "forbidden", "The token does not have access to this resource")

    # -- routes ----------------------------------------------------------------------------

    def list_destinations(self, request: Request) -> dict[str, Any]:
        """``GET /destinations``."""
        ordered = sorted(self.dataset.destinations, key=lambda d: d["id"])
        page, pagination = self._page(request, ordered)
        return {"destinations": page, "pagination": pagination}

    def get_destination(self, request: Request) -> dict[str, Any]:
        """``GET /destinations/{destinationId}``."""
        return {"destination": self._destination(request)}

    def list_subscriptions(self, request: Request) -> dict[str, Any]:
        """``GET /destinations/{destinationId}/subscriptions`` (Alpha)."""
        self._require_subscriptions()
        destination = self._destination(request)
        ordered = sorted(self.dataset.subscriptions_for(destination["id"]), key=lambda s: s["id"])
        page, pagination = self._page(request, ordered)
        return {"subscriptions": page, "pagination": pagination}

    def get_subscription(self, request: Request) -> dict[str, Any]:
        """``GET /destinations/{destinationId}/subscriptions/{id}`` (Alpha)."""
        self._require_subscriptions()
        destination = self._destination(request)
        for subscription in self.dataset.subscriptions_for(destination["id"]):
            if subscription["id"] == request.params["id"]:
                return {"subscription": subscription}
        raise _not_found("Subscription not found")

    def delivery_metrics(self, request: Request) -> dict[str, Any]:
        """``GET /destinations/{destinationId}/delivery-metrics`` (Beta): one summary."""
        destination = self._destination(request)
        source_id = request.arg("sourceId")
        if not source_id:
            raise _invalid("sourceId", '"sourceId" is required')
        if source_id != destination["sourceId"]:
            # The real status/body for a source not connected to the destination is UNVERIFIED.
            raise _invalid("sourceId", '"sourceId" is not connected to this destination')
        start, end = self._window(request)
        totals = self.dataset.expected_metrics(destination["id"], start, end, self.clock.now())
        return {"deliveryMetricsSummary": _summary(source_id, destination, totals)}

    # -- admin (emulator only: a workspace changing between two syncs) ----------------------

    def delete_destination(self, request: Request) -> Response:
        """``DELETE /_emulator/segment/destinations/{id}``: gone, with its subscriptions."""
        if self.dataset.remove_destination(request.params["id"]) is None:
            raise _not_found("Destination not found")
        return Response(204)

    def delete_subscription(self, request: Request) -> Response:
        """``DELETE /_emulator/segment/subscriptions/{id}``."""
        if self.dataset.remove_subscription(request.params["id"]) is None:
            raise _not_found("Subscription not found")
        return Response(204)

    # -- helpers ---------------------------------------------------------------------------

    def _destination(self, request: Request) -> dict[str, Any]:
        destination = self.dataset.find(request.params["destinationId"])
        if destination is None:
            raise _not_found("Destination not found")
        return destination

    def _require_subscriptions(self) -> None:
        # Status and body for a workspace without the feature are UNVERIFIED
        # (docs/api/segment.md §8).
        if not self.subscriptions_enabled:
            raise _refusal(403, "forbidden", SUBSCRIPTIONS_OFF, status=403)

    def _page(self, request: Request, items: list[dict]) -> tuple[list[dict], dict[str, Any]]:
        count = _count(request.arg("pagination.count", "pagination[count]"))
        offset = _offset(request.arg("pagination.cursor", "pagination[cursor]"), len(items))
        # Segment's docs show absent and null links alike; this emulator sends null.
        pagination = {
            "current": _cursor(offset),
            "next": _cursor(offset + count) if offset + count < len(items) else None,
            "previous": _cursor(max(0, offset - count)) if offset else None,
            "totalEntries": len(items),
        }
        return items[offset : offset + count], pagination

    def _window(self, request: Request) -> tuple[datetime, datetime]:
        granularity = request.arg("granularity") or "MINUTE"
        if granularity not in WINDOW_LIMITS:
            raise _invalid("granularity", '"granularity" must be one of [MINUTE, HOUR, DAY]')
        widest, oldest, default_start = WINDOW_LIMITS[granularity]
        now = self.clock.now()
        start = _time(request, "startTime") or now - default_start
        end = _time(request, "endTime") or now
        if end <= start:
            raise _invalid("endTime", '"endTime" must be after "startTime"')
        if start < now - oldest:
            raise _invalid(
                "startTime",
                f'"startTime" must not be older than {_human(oldest)} '
                f"for {granularity} granularity",
            )
        if end - start > widest:
            raise _invalid(
                "endTime",
                f'"endTime" - "startTime" must not exceed {_human(widest)} '
                f"for {granularity} granularity",
            )
        return start, end


def _summary(source_id: str, destination: dict, totals: dict[str, int]) -> dict[str, Any]:
    retried, discarded = totals["retried"], totals["discarded"]
    after_retry = min(retried, totals["successes"])
    bad_request = discarded - discarded // 3
    return {
        "sourceId": source_id,
        "destinationMetadataId": destination["metadata"]["id"],
        "metrics": [
            {
                "metricName": "successes",
                "total": totals["successes"],
                "breakdown": [
                    {
                        "metricName": "successes_on_first_attempt",
                        "value": totals["successes"] - after_retry,
                    },
                    {"metricName": "successes_after_retry", "value": after_retry},
                ],
            },
            {
                "metricName": "discarded",
                "total": discarded,
                "breakdown": [
                    {"metricName": "bad_request", "value": bad_request},
                    {"metricName": "unauthorized", "value": discarded - bad_request},
                ],
            },
            {"metricName": "retried", "total": retried},
        ],
    }


def _count(value: str | None) -> int:
    if value is None:
        return DEFAULT_COUNT
    try:
        count = int(value)
    except ValueError:
        raise _invalid("pagination.count", '"pagination.count" must be a number') from None
    if count < 1:
        raise _invalid("pagination.count", '"pagination.count" must be greater than or equal to 1')
    if count > MAX_COUNT:
        raise _invalid(
            "pagination.count", f'"pagination.count" must be less than or equal to {MAX_COUNT}'
        )
    return count


def _cursor(offset: int) -> str:
    """Opaque to clients; like Segment's own, a base64 offset."""
    return base64.b64encode(str(offset).encode()).decode()


def _offset(cursor: str | None, total: int) -> int:
    if cursor is None:
        return 0
    try:
        offset = int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid("pagination.cursor", '"pagination.cursor" is invalid') from None
    if not 0 <= offset <= total:
        raise _invalid("pagination.cursor", '"pagination.cursor" is invalid')
    return offset


def _time(request: Request, name: str) -> datetime | None:
    value = request.arg(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name, f'"{name}" must be a valid ISO-8601 date-time') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _human(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
