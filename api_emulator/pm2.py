"""PM2 Plus (Keymetrics) API: OAuth token exchange, buckets, and a bucket's event routes
(docs/api/pm2.md).

Three hosts, one port each, as in production: the OAuth host (``auth``), the main API (``api``)
and the bucket's data node (``data``, announced in ``node.endpoints.web``); the data routes are
served on the data node only, so a client must resolve it. The data node also serves
``GET /api/bucket/:id``: the official client (``@pm2/js-api``) sends every URL holding a bucket
id there, that one included. Conventions the vendor does not document (pm2.md marks them
UNVERIFIED), chosen here and kept consistent:
- error bodies are ``{"msg": ...}`` (what pm2's own CLI reads); OAuth errors are
  ``{"error", "error_description"}``;
- events come newest first by ``at``; ``start`` and ``end`` (ISO-8601 or epoch ms) are both
  inclusive; ``offset + limit`` may not exceed 10,000 (Elasticsearch's result window);
- histogram points are ``[bucket start ms, count]``, ascending, empty buckets as 0, the current
  (partial) bucket last; ``days`` is 1-30; ``interval`` is minute, hour or day;
- ``eventsKeysByApp`` is ``[{"app_name", "events": [{"name", "count"}]}]`` with all-time counts;
- an access token expires at ``expire_at`` on the emulator's clock, or after ``token_max_uses``
  requests (an emulator-only knob to expire a token mid-sync); expired -> 401.

Admin routes delete a bucket (``DELETE /_emulator/pm2/buckets/{bucket_id}``) or an event key
(``DELETE /_emulator/pm2/event-keys`` with ``{"bucket_id", "app_name", "event_name"}``).
"""

from __future__ import annotations

import bisect
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pendulum

from api_emulator.core import BudgetStatus, Request, Response, VendorApp, VendorError
from api_emulator.data.pm2 import Bucket, Pm2Dataset, Query

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_REFRESH_TOKEN", "Pm2App", "Pm2Dataset"]

DEFAULT_CLIENT_ID = "795984050"
DEFAULT_REFRESH_TOKEN = "pm2-emulator-refresh-token"
DATA = "/api/bucket/{bucket_id}/data"
RESULT_WINDOW = 10_000
DEFAULT_LIMIT, DEFAULT_DAYS, MAX_DAYS = 100, 2, 30
INTERVALS = ("minute", "hour", "day")


def _refusal(status: int, message: str) -> VendorError:
    return VendorError(status, {"msg": message})


def _invalid(message: str) -> VendorError:
    return _refusal(400, f"invalid parameters: {message}")


class Pm2App(VendorApp):
    """One PM2 Plus account: refresh tokens, the buckets they can read, and their events."""

    name = "pm2"
    hosts = ("api", "auth", "data")
    options: ClassVar[dict[str, Any]] = {
        "token_lifetime_seconds": float,
        "token_max_uses": int | None,
        "newest_first": bool,
    }

    def __init__(
        self, dataset: Pm2Dataset, refresh_tokens: dict[str, set[str]] | None = None
    ) -> None:
        super().__init__()
        self.dataset = dataset
        every_bucket = {bucket.id for bucket in dataset.buckets}
        # refresh token -> ids of the buckets its user can read
        self.refresh_tokens = refresh_tokens or {DEFAULT_REFRESH_TOKEN: every_bucket}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.issued: list[str] = []  # every access token handed out (tests scan output for them)
        self.token_lifetime_seconds = 3600.0
        self.token_max_uses: int | None = None
        self.newest_first = True
        self._serial = itertools.count(1)
        self.add_route("POST", "/api/oauth/token", self.token, host="auth")
        self.add_route("GET", "/api/bucket", self.list_buckets, host="api")
        for host in ("api", "data"):
            self.add_route("GET", "/api/bucket/{bucket_id}", self.get_bucket, host=host)
        self.add_route("POST", f"{DATA}/events", self.events, host="data")
        self.add_route("POST", f"{DATA}/events/stats", self.histogram, host="data")
        self.add_route("GET", f"{DATA}/eventsKeysByApp", self.event_keys, host="data")
        self.add_route("DELETE", f"{DATA}/events/delete_all", self.delete_all, host="data")
        self.add_admin_route("DELETE", "buckets/{bucket_id}", self.admin_delete_bucket)
        self.add_admin_route("DELETE", "event-keys", self.admin_delete_event_key)

    def register_refresh_token(self, token: str, bucket_ids: set[str] | None = None) -> str:
        """Accept one more refresh token (reading ``bucket_ids``, default all); returns it."""
        self.refresh_tokens[token] = bucket_ids or {b.id for b in self.dataset.buckets}
        return token

    # -- envelopes -------------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        """``{"msg": ...}``."""
        return Response(status, {"msg": message})

    def server_error(self, status: int) -> Response:
        """What every data route documents for a backend failure."""
        return self.error(status, "database error")

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        """Emulator-only: PM2 documents no rate limit (docs/api/pm2.md §5); a 429 with
        Retry-After."""
        wait = retry_after or budget.retry_after_seconds
        return Response(429, {"msg": "too many requests"}, {"Retry-After": str(wait)})

    def logged_body(self, request: Request) -> Any:
        """The JSON query of a data route (never the token route's body: it holds the token)."""
        return request.json() if "/data/" in request.path else None

    def secrets(self) -> set[str]:
        """The credentials accepted or issued."""
        return set(self.refresh_tokens) | set(self.issued)

    # -- auth ------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        """``POST /api/oauth/token`` with a JSON or form body: refresh token -> access token."""
        fields = _form_or_json(request)
        missing = [f for f in ("grant_type", "client_id", "refresh_token") if not fields.get(f)]
        if missing:
            description = f"missing parameter(s): {', '.join(missing)}"
            return Response(400, {"error": "invalid_request", "error_description": description})
        if fields["grant_type"] != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type"})
        refresh = fields["refresh_token"]
        if refresh not in self.refresh_tokens:
            body = {"error": "invalid_grant", "error_description": "Invalid refresh token"}
            return Response(403, body)
        access = f"pm2-access-{next(self._serial):06d}-{abs(hash(refresh)) % 10**8:08d}"
        expires = self.clock.now() + timedelta(seconds=self.token_lifetime_seconds)
        self.access_tokens[access] = {
            "refresh": refresh,
            "expires": expires,
            "uses_left": self.token_max_uses,
        }
        self.issued.append(access)
        return Response(
            200,
            {
                "access_token": access,
                "refresh_token": refresh,
                "expire_at": expires.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "token_type": "Bearer",
            },
        )

    def _readable(self, request: Request) -> set[str]:
        """The bucket ids the request's access token can read; 401 when it is not valid."""
        header = request.headers.get("Authorization") or ""
        grant = self.access_tokens.get(header.removeprefix("Bearer "))
        if not header.startswith("Bearer ") or grant is None:
            raise _refusal(401, "unauthorized: invalid access token")
        if self.clock.now() >= grant["expires"] or grant["uses_left"] == 0:
            raise _refusal(401, "unauthorized: access token expired")
        if grant["uses_left"] is not None:
            grant["uses_left"] -= 1
        return self.refresh_tokens.get(grant["refresh"], set())

    def _bucket(self, request: Request) -> Bucket:
        readable = self._readable(request)
        bucket = self.dataset.bucket(request.params["bucket_id"])
        if bucket is None:
            raise _refusal(404, "bucket not found")
        if bucket.id not in readable:
            raise _refusal(403, "you are not allowed to access this bucket")
        return bucket

    # -- main API --------------------------------------------------------------------------

    def _render_bucket(self, bucket: Bucket) -> dict[str, Any]:
        web = self.urls.get("data", "")
        return bucket.public | {"node": {"endpoints": {"web": web, "realtime": web}}}

    def list_buckets(self, request: Request) -> Response:
        """``GET /api/bucket``: the buckets the user can read."""
        readable = self._readable(request)
        buckets = [self._render_bucket(b) for b in self.dataset.buckets if b.id in readable]
        return Response(200, buckets)

    def get_bucket(self, request: Request) -> Response:
        """``GET /api/bucket/:id`` with ``node.endpoints.web`` (the data node)."""
        return Response(200, self._render_bucket(self._bucket(request)))

    # -- data node -------------------------------------------------------------------------

    def events(self, request: Request) -> Response:
        """``POST .../data/events``: a page of one event name's events, as a bare array."""
        bucket = self._bucket(request)
        body = _body(request)
        name = _required_name(body)
        limit = _integer(body, "limit", DEFAULT_LIMIT, minimum=1)
        offset = _integer(body, "offset", 0, minimum=0)
        if offset + limit > RESULT_WINDOW:
            raise _invalid(
                f"Result window is too large, offset + limit must be less than or equal "
                f"to: [{RESULT_WINDOW}] but was [{offset + limit}]"
            )
        now = _millis(self.clock.now())
        first = _moment(body, "start", 0)
        last = min(_moment(body, "end", now), now)
        window = bucket.window(_query(name, body), now, first, last)
        page = window.page(offset, limit, newest_first=self.newest_first)
        return Response(200, [event.document for event in page])

    def histogram(self, request: Request) -> Response:
        """``POST .../data/events/stats``: ``[[bucket start ms, count], ...]`` over ``days``."""
        bucket = self._bucket(request)
        body = _body(request)
        name = _required_name(body)
        days = _integer(body, "days", DEFAULT_DAYS, minimum=1)
        if days > MAX_DAYS:
            raise _invalid(f"days must be at most {MAX_DAYS}")
        interval = body.get("interval", "minute")
        if interval not in INTERVALS:
            raise _invalid(f"interval must be one of {', '.join(INTERVALS)}")
        now = pendulum.instance(self.clock.now())
        first = now.subtract(days=days).start_of(interval)
        window = bucket.window(_query(name, body), _millis(now), _millis(first), _millis(now))
        times = window.times()
        starts = [
            _millis(start)
            for start in pendulum.interval(first, now.start_of(interval)).range(f"{interval}s")
        ]
        # Every time lies in [first, now]: in the last bucket starting at or before it.
        edges = [bisect.bisect_left(times, start) for start in starts[1:]]
        counts = [b - a for a, b in zip([0, *edges], [*edges, len(times)], strict=True)]
        return Response(200, [[start, count] for start, count in zip(starts, counts, strict=True)])

    def event_keys(self, request: Request) -> Response:
        """``GET .../data/eventsKeysByApp``: event names and counts per app."""
        counts = self._bucket(request).counts(_millis(self.clock.now()))
        apps = [
            {
                "app_name": app,
                "events": [
                    {"name": name, "count": count}
                    for (event_app, name), count in sorted(counts.items())
                    if event_app == app
                ],
            }
            for app in sorted({app for app, _ in counts})
        ]
        return Response(200, apps)

    def delete_all(self, request: Request) -> Response:
        """``DELETE .../data/events/delete_all``: really deletes (a tap must never call it)."""
        self._bucket(request).clear()
        return Response(200, {})

    # -- admin (emulator only: an account changing between two syncs) ----------------------

    def admin_delete_bucket(self, request: Request) -> Response:
        """``DELETE /_emulator/pm2/buckets/{bucket_id}``: gone, with its events."""
        if self.dataset.remove_bucket(request.params["bucket_id"]) is None:
            raise _refusal(404, "bucket not found")
        return Response(204)

    def admin_delete_event_key(self, request: Request) -> Response:
        """``DELETE /_emulator/pm2/event-keys`` with ``{"bucket_id", "app_name", "event_name"}``:
        every event of that name from that app deleted, so eventsKeysByApp lists it no more."""
        body = _body(request)
        bucket = self.dataset.bucket(str(body.get("bucket_id")))
        if bucket is None:
            raise _refusal(404, "bucket not found")
        if not bucket.remove_event_key(str(body.get("app_name")), str(body.get("event_name"))):
            raise _refusal(404, "no such event key in this bucket")
        return Response(204)


def _form_or_json(request: Request) -> dict[str, str]:
    body = request.json()
    if isinstance(body, dict):
        return {k: str(v) for k, v in body.items() if v is not None}
    form = parse_qs(request.body.decode("utf-8", "replace"))
    return {name: values[0] for name, values in form.items()}


def _body(request: Request) -> dict[str, Any]:
    body = request.json()
    if body is None and request.body:
        raise _invalid("the body is not JSON")
    return body if isinstance(body, dict) else {}


def _required_name(body: dict[str, Any]) -> str:
    name = body.get("event_name")
    if not isinstance(name, str) or not name:
        raise _invalid("event_name is required")
    return name


def _integer(body: dict[str, Any], name: str, default: int, *, minimum: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(f"{name} must be an integer >= {minimum}")
    return value


def _moment(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(f"{name} must be an ISO-8601 date or epoch milliseconds") from exc
    return _millis(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


def _query(name: str, body: dict[str, Any]) -> Query:
    """The event name and the optional app and server filters of a data route's body."""
    return name, body.get("app_name"), body.get("server_name")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
