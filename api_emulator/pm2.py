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
  requests (an emulator-only knob to expire a token mid-sync); expired -> 401;
- process events, deployments and issues (pm2.md §4.5-§4.10): ``before`` is a number of
  minutes back from now (a number or a digit string), process events and deployments are kept
  ``retention_days`` (7) and come newest first; issues/list needs ``app_name`` unless
  ``initiator`` and ``source`` are given and leaves fixed issues out; an issue's occurrences
  come oldest first, ``OCCURRENCES_PAGE`` at a time, ``search_after`` (epoch ms, exclusive)
  and ``from`` (an offset) paging them; summaries are ``[{"key", "count"}]``.

The deleting routes the official client maps next to those (``DELETE .../data/issues``,
``DELETE .../data/issues/:identifier``, ``POST .../data/exceptions/delete_all``,
``POST .../data/exceptions/delete``, ``DELETE .../data/events/delete_all``) really delete, and
count themselves in ``deleting_calls``: a tap must never call one.

Admin routes delete a bucket (``DELETE /_emulator/pm2/buckets/{bucket_id}``) or an event key
(``DELETE /_emulator/pm2/event-keys`` with ``{"bucket_id", "app_name", "event_name"}``), and
resolve an issue (``PUT /_emulator/pm2/issues/{identifier}`` with ``{"fixed": true}``).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pendulum

from api_emulator.core import BudgetStatus, Request, Response, VendorApp, VendorError
from api_emulator.data.pm2 import Bucket, Issue, Pm2Dataset, Query

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_REFRESH_TOKEN", "Pm2App", "Pm2Dataset"]

DEFAULT_CLIENT_ID = "795984050"
DEFAULT_REFRESH_TOKEN = "pm2-emulator-refresh-token"
DATA = "/api/bucket/{bucket_id}/data"
RESULT_WINDOW = 10_000
DEFAULT_LIMIT, DEFAULT_DAYS, MAX_DAYS = 100, 2, 30
INTERVALS = ("minute", "hour", "day")
DEFAULT_BEFORE_MINUTES = 60  # processEvents' documented default
OCCURRENCES_PAGE = 50
AGGREGATES = {"servers": "server_name", "apps": "app_name", "initiators": "initiator",
              "sources": "source"}  # fmt: skip
MINUTE_MS = 60_000


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
        "retention_days": float,
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
        self.retention_days = 7.0
        self.deleting_calls: Counter[str] = Counter()  # route -> calls (a tap must make none)
        self._serial = itertools.count(1)
        self.add_route("POST", "/api/oauth/token", self.token, host="auth")
        self.add_route("GET", "/api/bucket", self.list_buckets, host="api")
        for host in ("api", "data"):
            self.add_route("GET", "/api/bucket/{bucket_id}", self.get_bucket, host=host)
        self.add_route("POST", f"{DATA}/events", self.events, host="data")
        self.add_route("POST", f"{DATA}/events/stats", self.histogram, host="data")
        self.add_route("GET", f"{DATA}/eventsKeysByApp", self.event_keys, host="data")
        self.add_route("POST", f"{DATA}/processEvents", self.process_events, host="data")
        self.add_route("POST", f"{DATA}/processEvents/deployments", self.deployments, host="data")
        self.add_route("POST", f"{DATA}/issues/list", self.issues, host="data")
        self.add_route(
            "GET", f"{DATA}/issues/occurrences/{{identifier}}", self.occurrences, host="data"
        )
        self.add_route(
            "GET", f"{DATA}/issues/summary/{{aggregate_by}}", self.issue_summary, host="data"
        )
        self.add_route("POST", f"{DATA}/issues/histogram", self.issue_histogram, host="data")
        self.add_route("DELETE", f"{DATA}/events/delete_all", self.delete_all, host="data")
        self.add_route("DELETE", f"{DATA}/issues", self.delete_issues, host="data")
        self.add_route("DELETE", f"{DATA}/issues/{{identifier}}", self.delete_issue, host="data")
        self.add_route("POST", f"{DATA}/exceptions/delete_all", self.delete_issues, host="data")
        self.add_route("POST", f"{DATA}/exceptions/delete", self.delete_exceptions, host="data")
        self.add_admin_route("DELETE", "buckets/{bucket_id}", self.admin_delete_bucket)
        self.add_admin_route("DELETE", "event-keys", self.admin_delete_event_key)
        self.add_admin_route("PUT", "issues/{identifier}", self.admin_fix_issue)

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

    def process_events(self, request: Request) -> Response:
        """``POST .../data/processEvents``: the last ``before`` minutes' events, newest first."""
        bucket, body = self._bucket(request), _body(request)
        now = _millis(self.clock.now())
        first = max(now - _minutes(body) * MINUTE_MS, self._oldest(now))
        events = [
            e.document
            for e in bucket.incidents.visible_process_events(now, first)
            if _matches(e.document, body)
        ]
        return Response(200, events[::-1])

    def deployments(self, request: Request) -> Response:
        """``POST .../data/processEvents/deployments``: every deployment kept, newest first."""
        bucket, body = self._bucket(request), _body(request)
        now = _millis(self.clock.now())
        kept = [
            d
            for d in bucket.incidents.deployments
            if self._oldest(now) <= d["at"] <= now and _matches(d, body)
        ]
        return Response(200, kept[::-1])

    def issues(self, request: Request) -> Response:
        """``POST .../data/issues/list``: the open issues of an app (or initiator + source)."""
        bucket, body = self._bucket(request), _body(request)
        if not body.get("app_name") and not (body.get("initiator") and body.get("source")):
            raise _refusal(400, "missing parameters: app_name, or initiator and source")
        now = _millis(self.clock.now())
        first = now - _minutes(body) * MINUTE_MS if body.get("before") is not None else 0
        tags = body.get("tags") or []
        listed = [
            document
            for issue in bucket.incidents.issues.values()
            if not issue.fixed and (document := issue.document(now)) is not None
            if document["last_seen"] >= first and _matches(document, body)
            if all(tag in document["tags"] for tag in tags)
        ]
        return Response(200, sorted(listed, key=lambda d: d["last_seen"], reverse=True))

    def occurrences(self, request: Request) -> Response:
        """``GET .../issues/occurrences/:identifier``: a page of occurrences, oldest first,
        after ``search_after`` (epoch ms), from offset ``from``."""
        issue = self._issue(request)
        after = _query_integer(request, "search_after", -1)
        offset = _query_integer(request, "from", 0)
        if offset < 0 or offset + OCCURRENCES_PAGE > RESULT_WINDOW:
            raise _invalid(f"from must be between 0 and {RESULT_WINDOW - OCCURRENCES_PAGE}")
        later = [o.document for o in issue.visible(_millis(self.clock.now())) if o.at > after]
        return Response(200, later[offset : offset + OCCURRENCES_PAGE])

    def issue_summary(self, request: Request) -> Response:
        """``GET .../issues/summary/:aggregateBy``: open issues counted per server, app,
        initiator or source."""
        bucket = self._bucket(request)
        field = AGGREGATES.get(request.params["aggregate_by"])
        if field is None:
            raise _invalid(f"aggregateBy must be one of {', '.join(AGGREGATES)}")
        now = _millis(self.clock.now())
        counts: Counter[str] = Counter()
        for issue in bucket.incidents.issues.values():
            document = None if issue.fixed else issue.document(now)
            if document is not None:
                keys = document["servers"] if field == "server_name" else [document[field]]
                counts.update(str(key) for key in keys if key is not None)
        return Response(200, [{"key": key, "count": n} for key, n in sorted(counts.items())])

    def issue_histogram(self, request: Request) -> Response:
        """``POST .../issues/histogram``: occurrences per interval, per issue."""
        bucket, body = self._bucket(request), _body(request)
        interval = body.get("interval") or "hour"
        if interval not in INTERVALS:
            raise _invalid(f"interval must be one of {', '.join(INTERVALS)}")
        now = pendulum.instance(self.clock.now())
        start = _moment(body, "start", _millis(now.subtract(days=DEFAULT_DAYS)))
        end = min(_moment(body, "end", _millis(now)), _millis(now))
        answer = []
        for issue in bucket.incidents.issues.values():
            if (issue.fixed and not body.get("includeFixed")) or not _matches(
                {"app_name": issue.app, "identifier": issue.identifier}, body
            ):
                continue
            points: Counter[int] = Counter(
                _millis(pendulum.from_timestamp(o.at / 1000).start_of(interval))
                for o in issue.occurrences
                if start <= o.at <= end
            )
            if points or body.get("includeEmptyDocs"):
                answer.append(
                    {
                        "identifier": issue.identifier,
                        "app_name": issue.app,
                        "histogram": sorted([x, y] for x, y in points.items()),
                    }
                )
        return Response(200, answer)

    # -- deleting routes: served, really deleting, counted (a tap must never call one) -------

    def delete_all(self, request: Request) -> Response:
        """``DELETE .../data/events/delete_all``: every custom event of the bucket."""
        bucket = self._deleting(request)
        bucket.clear()
        return Response(200, {})

    def delete_issues(self, request: Request) -> Response:
        """``DELETE .../data/issues`` (``?app_name=``) and ``POST .../exceptions/delete_all``."""
        bucket = self._deleting(request)
        app = request.arg("app_name")
        issues = bucket.incidents.issues
        for identifier in [i for i, issue in issues.items() if app in (None, issue.app)]:
            del issues[identifier]
        return Response(200, {})

    def delete_issue(self, request: Request) -> Response:
        """``DELETE .../data/issues/:identifier``: the deleted issue, as an array."""
        self._deleting(request)
        issue = self._issue(request)
        document = issue.document(_millis(self.clock.now()))
        del self._bucket(request).incidents.issues[issue.identifier]
        return Response(200, [document] if document else [])

    def delete_exceptions(self, request: Request) -> Response:
        """``POST .../data/exceptions/delete``: issues matching ``identifier``, ``app_name``
        and ``server_name`` (those given)."""
        bucket, body = self._deleting(request), _body(request)
        now = _millis(self.clock.now())
        deleted = []
        for identifier, issue in list(bucket.incidents.issues.items()):
            document = issue.document(now) or {"identifier": identifier, "app_name": issue.app}
            if _matches(document, body, fields=("identifier", "app_name", "server_name")):
                deleted.append(document)
                del bucket.incidents.issues[identifier]
        return Response(200, deleted)

    def _deleting(self, request: Request) -> Bucket:
        bucket = self._bucket(request)
        self.deleting_calls[f"{request.method} {request.path}"] += 1
        return bucket

    def _issue(self, request: Request) -> Issue:
        issue = self._bucket(request).incidents.issues.get(request.params["identifier"])
        if issue is None:
            raise _refusal(404, "issue not found")
        return issue

    def _oldest(self, now_ms: int) -> int:
        """The oldest process event or deployment kept."""
        return now_ms - round(self.retention_days * 1440) * MINUTE_MS

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

    def admin_fix_issue(self, request: Request) -> Response:
        """``PUT /_emulator/pm2/issues/{identifier}`` with ``{"fixed": true}``: resolved in the
        dashboard (issues/list leaves it out), or open again with false."""
        identifier = request.params["identifier"]
        issues = [b.incidents.issues[identifier] for b in self.dataset.buckets
                  if identifier in b.incidents.issues]  # fmt: skip
        if not issues:
            raise _refusal(404, "issue not found")
        issues[0].fixed = bool(_body(request).get("fixed", True))
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


def _minutes(body: dict[str, Any]) -> int:
    """``before``: minutes back from now, a number or a digit string (the mappings say
    string, default 60)."""
    value = body.get("before", DEFAULT_BEFORE_MINUTES)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid("before must be a number of minutes >= 1")
    return value


def _matches(
    document: dict[str, Any],
    body: dict[str, Any],
    fields: tuple[str, ...] = ("app_name", "server_name", "identifier", "initiator", "source"),
) -> bool:
    """Whether ``document`` has every filter of ``body`` that it has a field for."""
    return all(body.get(name) in (None, document.get(name)) for name in fields if name in document)


def _query_integer(request: Request, name: str, default: int) -> int:
    value = request.arg(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise _invalid(f"{name} must be a number") from exc


def _query(name: str, body: dict[str, Any]) -> Query:
    """The event name and the optional app and server filters of a data route's body."""
    return name, body.get("app_name"), body.get("server_name")


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
