"""api.video analytics, as apivideo.md (plays endpoints, auth) and apivideo-data.md (``/data/*``).

Routes: ``POST /auth/api-key``, ``POST /auth/refresh``, ``GET /analytics/videos/plays``,
``GET /analytics/live-streams/plays``, ``GET /data/metrics/{metric}/{aggregation}``,
``GET /data/buckets/{metric}/{breakdown}``, ``GET /data/timeseries/{metric}``, ``GET /videos``,
``GET /live-streams`` (docs/api/apivideo-media.md); admin
``PUT /_emulator/apivideo/options``.

Conventions the vendor does not document, chosen here and kept consistent:
- Days are UTC. Plays ``from``/``to`` are days and the range is half-open, ``[from, to)``;
  ``to`` defaults to today (so today is excluded). ``from`` may be at most ``retention_days``
  (30) days before today; ``to`` at most tomorrow (an explicit ``to`` may take in today so far).
- "Period <= 2 days" means ``to - from <= 2`` days: hourly ``emittedAt`` buckets, else daily;
  bucket values are UTC starts with milliseconds and ``Z`` (``2026-08-10T09:00:00.000Z``).
- Plays rows are sorted by plays descending, then value ascending; ``emittedAt`` rows by time.
- ``/data`` windows are half-open ``[from, to)`` instants; ``Z``, offsets and fractions are
  accepted, a value without a time part is refused; ``from`` older than the retention is refused.
- Values that are zero are omitted (no zero-play rows, no empty time buckets).
- A page past the last one is empty; ``next``/``previous`` links appear only when that page
  exists; links repeat the caller's query as sent, with ``currentPage``/``pageSize``.
- Rate-limit headers go on every answer, ``/auth/*`` included (whether auth calls count is
  UNVERIFIED); the budget is the core's ``RateBudget`` (configure 100/min for the sandbox).
- The analytics-disabled 403 (documented for the plays endpoints only) also guards ``/data/*``.
- ``/data`` metric approximations (UNVERIFIED semantics): ``start`` = ``play``; ``ccv-peak`` is
  the most plays begun in one minute, ``ccv-average`` plays per minute with plays; a ``view`` is
  a play watched at least 5 s (api.video's default ``viewDuration``).
- ``/data`` takes only the query parameters the tap sends: ``unique``, ``viewDuration`` and
  ``filterBy[...]``, which api.video also takes, are refused as unexpected fields, except
  ``filterBy[mediaId]`` (one id, or ``[]`` for several) and ``filterBy[mediaType]`` on
  ``/data/metrics``: the per-media watch time of docs/api/apivideo-media.md §4.
- ``/videos`` and ``/live-streams`` default to ``createdAt`` ascending (UNVERIFIED); they are not
  analytics, so a project with analytics disabled still lists them.
- Bearer tokens live ``token_lifetime`` seconds of the emulator clock; ``token_max_uses`` (an
  emulator-only knob) makes a token answer 401 after that many accepted calls, so a test can
  expire one mid-sync. A refresh rotates both tokens; the old refresh token stops working, the
  old access token lives on until it expires (UNVERIFIED). The Basic password is ignored.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import urlencode

from api_emulator.core import BudgetStatus, Request, Response, VendorApp, VendorError
from api_emulator.data.apivideo import COUNTRY_BY_CODE, ApiVideoDataset, Session
from api_emulator.data.apivideo_media import public_view

__all__ = [
    "DEFAULT_API_KEY",
    "NO_ANALYTICS_KEY",
    "SANDBOX_READS_PER_MINUTE",
    "ApiVideoApp",
    "ApiVideoDataset",
]

UTC = timezone.utc
DEFAULT_API_KEY = "apivideo-emulator-key"
NO_ANALYTICS_KEY = "apivideo-emulator-no-analytics"  # a project with analytics disabled
SANDBOX_READS_PER_MINUTE = 100
DOCS = "https://docs.api.video/reference/"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 100


@dataclass(frozen=True)
class PlaysKind:
    """What differs between the two plays endpoints."""

    media_type: str
    id_dimension: str
    noun: str

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The endpoint's ``dimension`` enum, in the order its error message lists it."""
        return (
            "emittedAt",
            self.id_dimension,
            "country",
            "deviceType",
            "operatingSystem",
            "browser",
        )


VIDEO = PlaysKind("video", "videoId", "video")
LIVE = PlaysKind("live-stream", "liveStreamId", "live stream")

AGGREGATIONS = {
    "play": ("count", "rate", "total"),
    "start": ("count",),
    "end": ("count",),
    "impression": ("count",),
    "impression-time": ("average", "sum"),
    "watch-time": ("average", "sum"),
    "ccv": ("peak", "live"),
    "view": ("count",),  # not stated by the spec (UNVERIFIED)
}
BUCKET_METRICS = (
    "play",
    "play-rate",
    "play-total",
    "start",
    "end",
    "impression",
    "ccv-peak",
    "ccv-average",
    "view",
)
TIMESERIES_METRICS = tuple(m for m in BUCKET_METRICS if m != "play-total")
BREAKDOWNS: dict[str, Callable[[Session], str]] = {
    "media-id": lambda s: s.media_id,
    "media-type": lambda s: s.media_type,
    "continent": lambda s: COUNTRY_BY_CODE[s.country].continent,
    "country": lambda s: s.country,
    "device-type": lambda s: s.device,
    "operating-system": lambda s: s.operating_system,
    "browser": lambda s: s.browser,
    "referrer": lambda s: s.referrer,
}
VIDEO_SORTS = ("title", "createdAt", "publishedAt", "updatedAt")
LIVE_SORTS = ("name", "createdAt", "updatedAt")
MEDIA_FILTERS = ("filterBy[mediaId]", "filterBy[mediaId][]", "filterBy[mediaType]")
VIEW_SECONDS = 5  # watched this long, a play is a view (the default viewDuration, 5s)
INTERVALS = ("minute", "hour", "day")
PLAYS_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _problem(
    status: int, slug: str, title: str, *, detail: str | None = None, name: str | None = None
) -> VendorError:
    """api.video's flat problem body."""
    body: dict[str, Any] = {"type": DOCS + slug, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if name is not None:
        body["name"] = name
    return VendorError(status, body)


def _invalid_query(name: str, detail: str) -> VendorError:
    return _problem(
        400,
        "request-invalid-query-parameter",
        "A query parameter is invalid.",
        detail=detail,
        name=name,
    )


def _invalid_attribute(
    name: str, detail: str = "This value must be of type string."
) -> VendorError:
    return _problem(400, "invalid-attribute", "An attribute is invalid.", detail=detail, name=name)


def _one_of(values: Iterable[str]) -> str:
    return f"This value must be part of the following values: {','.join(values)}"


CREDENTIALS_REFUSED = _problem(
    400, "authentication-invalid-user-credentials", "The user credentials were incorrect.", name=""
)
ANALYTICS_DISABLED = _problem(
    403, "authorization-disabled-analytics", "You cannot get analytics from this project."
)


@dataclass
class _Token:
    api_key: str
    expires_at: datetime
    uses: int = 0


@dataclass(frozen=True)
class _Window:
    """A resolved ``/data`` window, ``[start, end)``: what its figures depend on."""

    start: datetime
    end: datetime


class ApiVideoApp(VendorApp):
    """The analytics endpoints of api.video projects, one per API key."""

    name = "apivideo"
    rate_headers_on_errors = True  # "on 200/400/403/404/429" (docs/api/apivideo.md §4)
    options: ClassVar[dict[str, Any]] = {
        "analytics_enabled": bool,
        "token_lifetime": int,
        "token_max_uses": int | None,  # None: unlimited
        "retention_days": int,
    }

    def __init__(self, dataset: ApiVideoDataset, api_keys: dict[str, bool] | None = None) -> None:
        super().__init__()
        self.dataset = dataset
        # API key -> whether its project has analytics enabled.
        self.api_keys = api_keys or {DEFAULT_API_KEY: True, NO_ANALYTICS_KEY: False}
        self.analytics_enabled = True  # the switch for every project at once
        self.token_lifetime = 3600
        self.token_max_uses: int | None = None
        self.retention_days = 30
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, str] = {}  # live refresh token -> API key
        self.issued: list[str] = []  # every access and refresh token handed out (for tests)
        self._lock = threading.Lock()
        self.add_route("POST", "/auth/api-key", self.authenticate)
        self.add_route("POST", "/auth/refresh", self.refresh)
        self.add_route("GET", "/analytics/videos/plays", self._guarded(self.video_plays))
        self.add_route("GET", "/analytics/live-streams/plays", self._guarded(self.live_plays))
        self.add_route("GET", "/data/metrics/{metric}/{aggregation}", self._guarded(self.metrics))
        self.add_route("GET", "/data/buckets/{metric}/{breakdown}", self._guarded(self.buckets))
        self.add_route("GET", "/data/timeseries/{metric}", self._guarded(self.timeseries))
        self.add_route("GET", "/videos", self.videos)
        self.add_route("GET", "/live-streams", self.live_streams)

    def register_key(self, api_key: str, *, analytics: bool = True) -> str:
        """Accept one more API key (its project's analytics on or off); returns it."""
        self.api_keys[api_key] = analytics
        return api_key

    # -- envelopes -------------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        """Unknown URL, wrong method: api.video's flat problem body."""
        if status == 404:
            return Response(
                404, _problem(404, "unrecognized-request-url", "Unrecognized request URL.").body
            )
        # The 405 slug is UNVERIFIED; the title is documented (docs/api/apivideo-data.md §7).
        return Response(
            status,
            _problem(status, "method-not-allowed", "Method is not allowed for this route.").body,
        )

    def server_error(self, status: int) -> Response:
        """``Server error`` (api.video's general-errors page, cited in docs/api/apivideo.md)."""
        return Response(status, {"title": "Server error", "status": status})

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        """The documented 429; the wait is in ``X-RateLimit-Retry-After``, not ``Retry-After``."""
        headers = self.rate_limit_headers(budget)
        headers["X-RateLimit-Remaining"] = "0"
        if retry_after:
            headers["X-RateLimit-Retry-After"] = str(retry_after)
        body = _problem(429, "too-many-requests", "Too many requests.").body
        return Response(429, body, headers)

    def rate_limit_headers(self, budget: BudgetStatus) -> dict[str, str]:
        """Limit per minute, calls left, seconds until the window resets."""
        return {
            "X-RateLimit-Limit": str(budget.limit),
            "X-RateLimit-Remaining": str(max(budget.remaining, 0)),
            "X-RateLimit-Retry-After": str(budget.retry_after_seconds),
        }

    def secrets(self) -> set[str]:
        """The credentials accepted or issued, and those the project's media carry."""
        return set(self.api_keys) | set(self.issued) | self.dataset.catalogue.secrets()

    # -- authentication ----------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response:
        """``POST /auth/api-key`` ``{"apiKey": ...}`` -> a token pair."""
        body = request.json()
        api_key = body.get("apiKey") if isinstance(body, dict) else None
        if api_key not in self.api_keys:
            raise CREDENTIALS_REFUSED
        return Response(200, self._issue(api_key))

    def refresh(self, request: Request) -> Response:
        """``POST /auth/refresh`` ``{"refreshToken": ...}`` -> a new pair; the old one dies."""
        body = request.json()
        token = body.get("refreshToken") if isinstance(body, dict) else None
        with self._lock:
            api_key = self._refresh.pop(token, None) if isinstance(token, str) else None
        if api_key is None or api_key not in self.api_keys:
            raise CREDENTIALS_REFUSED
        return Response(200, self._issue(api_key))

    def _issue(self, api_key: str) -> dict[str, Any]:
        access, refresh = "eyJ" + secrets.token_urlsafe(24), "def50200" + secrets.token_hex(24)
        expires_at = self.clock.now() + timedelta(seconds=self.token_lifetime)
        with self._lock:
            self._access[access] = _Token(api_key, expires_at)
            self._refresh[refresh] = api_key
            self.issued += [access, refresh]
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "access_token": access,
            "refresh_token": refresh,
        }

    def _api_key(self, request: Request) -> str:
        """The API key behind the request's Basic or Bearer credential, or a 401."""
        header = request.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if not header:
            raise _problem(
                401,
                "authentication-missing-authorization-header",
                'The "Authorization" header is missing.',
            )
        if scheme.lower() == "basic":
            api_key = _basic_username(value)
            if api_key in self.api_keys:
                return api_key
            raise _problem(401, "authentication-invalid-api-key", "The API key is invalid.")
        if scheme.lower() == "bearer":
            with self._lock:
                token = self._access.get(value)
                if token is not None and self._usable(token):
                    token.uses += 1
                    return token.api_key
        # The slug for a bad bearer token is UNVERIFIED; the title is documented.
        raise _problem(
            401,
            "authentication-invalid-authorization-header-value",
            "The access token is invalid or expired.",
        )

    def _usable(self, token: _Token) -> bool:
        if self.clock.now() >= token.expires_at:
            return False
        return self.token_max_uses is None or token.uses < self.token_max_uses

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Authenticated, and only for a project whose analytics are enabled."""

        def guarded(request: Request) -> Response:
            api_key = self._api_key(request)
            if not (self.analytics_enabled and self.api_keys[api_key]):
                raise ANALYTICS_DISABLED
            return handler(request)

        return guarded

    # -- plays endpoints (docs/api/apivideo.md §3) --------------------------------------------

    def video_plays(self, request: Request) -> Response:
        """``GET /analytics/videos/plays``."""
        return Response(200, self._plays(request, VIDEO))

    def live_plays(self, request: Request) -> Response:
        """``GET /analytics/live-streams/plays``."""
        return Response(200, self._plays(request, LIVE))

    def _plays(self, request: Request, kind: PlaysKind) -> dict[str, Any]:
        first, end = self._plays_days(request)
        dimension = request.arg("dimension")
        if dimension is None:
            raise _invalid_attribute("dimension")
        if dimension not in kind.dimensions:
            raise _invalid_query("dimension", _one_of(kind.dimensions))
        media_id = self._plays_filter(request, kind)
        page, size = _paging(request)
        start, stop = _midnight(first), min(_midnight(end), self.clock.now())
        daily = (end - first).days > 2
        # stop follows the clock when the range takes in today, and so does the key.
        key = ("plays", kind.media_type, dimension, start, stop, media_id, daily)
        items = self.dataset.memo(
            key, lambda: self._plays_rows(kind, dimension, start, stop, media_id, daily=daily)
        )
        return _paged(request, items, page, size)

    def _plays_rows(
        self,
        kind: PlaysKind,
        dimension: str,
        start: datetime,
        stop: datetime,
        media_id: str,
        *,
        daily: bool,
    ) -> list[dict[str, Any]]:
        """Every row of a plays query, in the order pages show them."""
        counts = self.dataset.plays(kind.media_type, dimension, start, stop, media_id)
        if dimension == "emittedAt":
            if daily:
                counts = _daily(counts)
            rows = sorted(counts.items())
        else:
            rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "plays": plays} for value, plays in rows]

    def _plays_days(self, request: Request) -> tuple[date, date]:
        today = self.clock.now().date()
        oldest = today - timedelta(days=self.retention_days)
        within = f"This value must be within the last {self.retention_days} days."
        raw_from = request.arg("from")
        if raw_from is None:
            raise _invalid_attribute("from")
        first = _plays_day(raw_from, "from")
        if not oldest <= first <= today:
            raise _invalid_query("from", within)
        raw_to = request.arg("to")
        if raw_to is None:
            return first, max(first, today)
        end = _plays_day(raw_to, "to")
        if not oldest <= end <= today + timedelta(days=1):
            raise _invalid_query("to", within)
        if end <= first:
            raise _invalid_query("to", "This value must be after from.")
        return first, end

    def _plays_filter(self, request: Request, kind: PlaysKind) -> str:
        raw = request.arg("filter")
        if raw is None:
            return ""
        prefix, _, media_id = raw.partition(":")
        if prefix != kind.id_dimension or not media_id:
            shape = f"{kind.id_dimension}:{{{kind.id_dimension}}}"
            detail = f"This value must be of the following structure(s): {shape}"
            raise _invalid_query("filter", detail)
        known = self.dataset.videos if kind is VIDEO else self.dataset.live_streams
        if media_id not in known:
            raise _invalid_query("filter", f"This value must refer to an existing {kind.noun}")
        return media_id

    # -- media lists (docs/api/apivideo-media.md) ---------------------------------------------

    def videos(self, request: Request) -> Response:
        """``GET /videos``: every video, filtered and sorted as asked, one page."""
        self._api_key(request)
        items = [public_view(video) for video in self.dataset.catalogue.videos.values()]
        if title := request.arg("title"):
            items = [v for v in items if title in v["title"]]
        if live_id := request.arg("liveStreamId"):
            items = [v for v in items if v["source"].get("liveStream", {}).get("liveStreamId")
                     == live_id]  # fmt: skip
        if tags := request.query.get("tags[]") or request.query.get("tags"):
            items = [v for v in items if set(tags) <= set(v["tags"])]
        return Response(200, self._media_page(request, items, VIDEO_SORTS, "videoId"))

    def live_streams(self, request: Request) -> Response:
        """``GET /live-streams``: every live stream, sorted as asked, one page."""
        self._api_key(request)
        items = [public_view(live) for live in self.dataset.catalogue.live_streams.values()]
        if name := request.arg("name"):
            items = [live for live in items if name in live["name"]]
        return Response(200, self._media_page(request, items, LIVE_SORTS, "liveStreamId"))

    def _media_page(
        self, request: Request, items: list[dict[str, Any]], sorts: tuple[str, ...], id_field: str
    ) -> dict[str, Any]:
        sort_by = _choice(request, "sortBy", sorts, "createdAt")
        descending = _choice(request, "sortOrder", ("asc", "desc"), "asc") == "desc"
        page, size = _paging(request)
        return _paged(request, _sorted(items, sort_by, id_field, descending=descending), page, size)

    # -- /data endpoints (docs/api/apivideo-data.md) ------------------------------------------

    def metrics(self, request: Request) -> Response:
        """``GET /data/metrics/{metric}/{aggregation}``: one number, unpaginated."""
        metric, aggregation = request.params["metric"], request.params["aggregation"]
        if metric not in AGGREGATIONS:
            raise _invalid_attribute("metric", _one_of(AGGREGATIONS))
        if aggregation not in AGGREGATIONS[metric]:
            raise _invalid_attribute("aggregation", _one_of(AGGREGATIONS[metric]))
        ignores_window = (metric, aggregation) == ("play", "total")
        window = self._data_window(request, ("from", "to", *MEDIA_FILTERS), all_time=ignores_window)
        sessions = _media_filtered(request, self.dataset.between(window.start, window.end))
        value = aggregate(metric, aggregation, sessions, self.clock.now())
        context = {
            "metric": _context_metric(metric),
            "aggregation": aggregation,
            "timeframe": _timeframe(window),
        }
        return Response(200, {"context": context, "data": value})

    def buckets(self, request: Request) -> Response:
        """``GET /data/buckets/{metric}/{breakdown}``: one value per dimension value."""
        metric, breakdown = request.params["metric"], request.params["breakdown"]
        if metric not in BUCKET_METRICS:
            raise _invalid_attribute("metric", _one_of(BUCKET_METRICS))
        if breakdown not in BREAKDOWNS:
            raise _invalid_attribute("breakdown", _one_of(BREAKDOWNS))
        if metric == "play-total" and breakdown != "media-id":
            raise _invalid_attribute("breakdown", _one_of(["media-id"]))
        allowed = ("from", "to", "sortBy", "sortOrder", "currentPage", "pageSize")
        window = self._data_window(request, allowed, all_time=metric == "play-total")
        sort_by = _choice(request, "sortBy", ("metricValue", "dimensionValue"), "metricValue")
        descending = _choice(request, "sortOrder", ("asc", "desc"), "desc") == "desc"
        page, size = _paging(request)
        rows = self.dataset.memo(
            ("buckets", metric, breakdown, window, sort_by, descending),
            lambda: self._bucket_rows(metric, breakdown, window, sort_by, descending=descending),
        )
        context = {
            "metric": _context_metric(metric),
            "breakdown": breakdown,
            "timeframe": _timeframe(window),
        }
        return Response(200, {"context": context} | _paged(request, rows, page, size))

    def _bucket_rows(
        self, metric: str, breakdown: str, window: _Window, sort_by: str, *, descending: bool
    ) -> list[dict[str, Any]]:
        """Every row of a buckets query, in the order pages show them."""
        groups: dict[str, list[Session]] = defaultdict(list)
        key = BREAKDOWNS[breakdown]
        for session in self.dataset.between(window.start, window.end):
            groups[key(session)].append(session)
        rows = [
            {"dimensionValue": value, "metricValue": measured}
            for value, members in groups.items()
            if (measured := _measure(metric, members))
        ]
        return _sorted(rows, sort_by, "dimensionValue", descending=descending)

    def timeseries(self, request: Request) -> Response:
        """``GET /data/timeseries/{metric}``: one value per time bucket."""
        metric = request.params["metric"]
        if metric not in TIMESERIES_METRICS:
            raise _invalid_attribute("metric", _one_of(TIMESERIES_METRICS))
        allowed = ("from", "to", "interval", "sortBy", "sortOrder", "currentPage", "pageSize")
        window = self._data_window(request, allowed)
        interval = self._interval(request, window)
        sort_by = _choice(request, "sortBy", ("metricValue", "emittedAt"), "emittedAt")
        default_order = "asc" if sort_by == "emittedAt" else "desc"
        descending = _choice(request, "sortOrder", ("asc", "desc"), default_order) == "desc"
        page, size = _paging(request)
        rows = self.dataset.memo(
            ("timeseries", metric, interval, window, sort_by, descending),
            lambda: self._series_rows(metric, interval, window, sort_by, descending=descending),
        )
        context = {
            "metric": _context_metric(metric),
            "interval": interval,
            "timeframe": _timeframe(window),
        }
        return Response(200, {"context": context} | _paged(request, rows, page, size))

    def _series_rows(
        self, metric: str, interval: str, window: _Window, sort_by: str, *, descending: bool
    ) -> list[dict[str, Any]]:
        """Every row of a timeseries query, in the order pages show them."""
        groups: dict[datetime, list[Session]] = defaultdict(list)
        for session in self.dataset.between(window.start, window.end):
            groups[_floor(session.at, interval)].append(session)
        rows = [
            {"emittedAt": bucket.isoformat(timespec="seconds"), "metricValue": measured}
            for bucket, members in groups.items()
            if (measured := _measure(metric, members))
        ]
        return _sorted(rows, sort_by, "emittedAt", descending=descending)

    def _interval(self, request: Request, window: _Window) -> str:
        span = window.end - window.start
        interval = request.arg("interval") or ("hour" if span <= timedelta(days=2) else "day")
        if interval not in INTERVALS:
            raise _invalid_query(
                "interval", 'This interval is invalid. Use one of "minute", "hour", "day".'
            )
        if interval == "minute" and span > timedelta(minutes=60):
            raise _invalid_query(
                "interval", "This interval cannot be used with a timeframe over 60 minutes."
            )
        return interval

    def _data_window(
        self, request: Request, allowed: tuple[str, ...], *, all_time: bool = False
    ) -> _Window:
        """Validate the query of a ``/data`` call and resolve its window."""
        for field_name in request.query:
            if field_name not in allowed:
                raise _invalid_query(field_name, "This field was not expected.")
        now = self.clock.now().replace(microsecond=0)
        end = _atom(request.arg("to"), "to") or now
        start = _atom(request.arg("from"), "from") or end - timedelta(days=1)
        if not all_time and start < now - timedelta(days=self.retention_days):
            raise _invalid_query(
                "from", f"This value must be within the last {self.retention_days} days."
            )
        if start >= end:
            raise _invalid_query("from", "This value must be before to.")
        if all_time:
            start, end = datetime.min.replace(tzinfo=UTC), now
        return _Window(start, min(end, now))


# -- helpers -------------------------------------------------------------------------------------


def _basic_username(value: str) -> str | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


def _plays_day(value: str, name: str) -> date:
    try:
        if PLAYS_DAY.match(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _invalid_query(name, "This value must be a valid date in the format YYYY-MM-DD.")


def _atom(value: str | None, name: str) -> datetime | None:
    """An ATOM date-time in UTC, whole seconds; a raw ``+`` arrives as a space and fails."""
    if value is None:
        return None
    try:
        if "T" not in value or " " in value:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_query(
            name,
            "This value must be a date-time in the ATOM format, e.g. 2024-02-05T00:00:00+01:00.",
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _media_filtered(request: Request, sessions: list[Session]) -> list[Session]:
    """The sessions of the media in ``filterBy[mediaId]`` and of ``filterBy[mediaType]``."""
    ids = request.query.get("filterBy[mediaId]", []) + request.query.get("filterBy[mediaId][]", [])
    media_type = request.arg("filterBy[mediaType]")
    if media_type is not None and media_type not in ("video", "live-stream"):
        raise _invalid_query("filterBy[mediaType]", _one_of(("video", "live-stream")))
    return [
        s
        for s in sessions
        if (not ids or s.media_id in ids) and (media_type is None or s.media_type == media_type)
    ]


def _choice(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.arg(name) or default
    if value not in allowed:
        raise _invalid_query(name, _one_of(allowed))
    return value


def _paging(request: Request) -> tuple[int, int]:
    page = _integer(request, "currentPage", 1)
    if page < 1:
        raise _invalid_query("currentPage", "This value should be greater than or equal to 1.")
    size = _integer(request, "pageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise _invalid_query("pageSize", f"This value should be between 1 and {MAX_PAGE_SIZE}.")
    return page, size


def _integer(request: Request, name: str, default: int) -> int:
    value = request.arg(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _invalid_query(name, "This value should be of type int.") from None


def _paged(request: Request, items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    """One page of ``items`` with a self-consistent ``pagination`` object."""
    pages = math.ceil(len(items) / size)
    shown = items[(page - 1) * size : page * size]
    own = [
        (k, v)
        for k, values in request.query.items()
        for v in values
        if k not in ("currentPage", "pageSize")
    ]

    def link(rel: str, number: int) -> dict[str, str]:
        query = urlencode([*own, ("currentPage", number), ("pageSize", size)])
        return {"rel": rel, "uri": f"{request.path}?{query}"}

    links = [link("self", page)]
    if pages:
        links.append(link("first", 1))
    if 1 < page <= pages + 1:
        links.append(link("previous", page - 1))
    if page < pages:
        links.append(link("next", page + 1))
    if pages:
        links.append(link("last", pages))
    pagination = {
        "currentPage": page,
        "currentPageItems": len(shown),
        "pageSize": size,
        "pagesTotal": pages,
        "itemsTotal": len(items),
        "links": links,
    }
    return {"data": shown, "pagination": pagination}


def _sorted(
    rows: list[dict[str, Any]], by: str, label: str, *, descending: bool
) -> list[dict[str, Any]]:
    """Sorted on ``by``; ties broken on the label ascending, so pages are stable."""
    rows = sorted(rows, key=lambda row: row[label])
    return sorted(rows, key=lambda row: row[by], reverse=descending)


def _measure(metric: str, sessions: list[Session]) -> float | int:
    """One metric over a group of sessions (see the module docstring for approximations)."""
    played = [s for s in sessions if s.played]
    if metric in ("play", "start", "play-total"):
        return len(played)
    if metric == "end":
        return sum(1 for s in played if s.ended)
    if metric == "impression":
        return len(sessions)
    if metric == "play-rate":
        return round(len(played) / len(sessions), 4) if sessions else 0
    if metric == "view":
        return sum(1 for s in played if s.watch_seconds >= VIEW_SECONDS)
    per_minute = Counter(s.at for s in played)
    if metric == "ccv-peak":
        return max(per_minute.values(), default=0)
    return round(len(played) / len(per_minute), 2) if per_minute else 0  # ccv-average


def aggregate(metric: str, aggregation: str, sessions: list[Session], now: datetime) -> float | int:
    """``/data/metrics/{metric}/{aggregation}`` over ``sessions`` (the module's approximations)."""
    if (metric, aggregation) == ("play", "rate"):
        return _measure("play-rate", sessions)
    if metric in ("impression-time", "watch-time"):
        values = (
            [s.load_ms for s in sessions]
            if metric == "impression-time"
            else [s.watch_seconds for s in sessions if s.played]
        )
        if aggregation == "sum":
            return sum(values)
        return round(sum(values) / len(values), 2) if values else 0
    if metric == "ccv":
        if aggregation == "peak":
            return _measure("ccv-peak", sessions)
        return sum(
            1
            for s in sessions
            if s.played and s.at <= now < s.at + timedelta(seconds=s.watch_seconds)
        )
    return _measure(metric, sessions)


def _context_metric(metric: str) -> str:
    """A view names its duration: ``view-5`` (UNVERIFIED)."""
    return f"view-{VIEW_SECONDS}" if metric == "view" else metric


def _timeframe(window: _Window) -> dict[str, str | None]:
    return {
        "from": window.start.isoformat(timespec="seconds") if window.start.year > 1 else None,
        "to": window.end.isoformat(timespec="seconds"),
    }


def _floor(moment: datetime, interval: str) -> datetime:
    if interval == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)


def _daily(hourly: Counter[str]) -> Counter[str]:
    days: Counter[str] = Counter()
    for value, plays in hourly.items():
        days[value[:10] + "T00:00:00.000Z"] += plays
    return days


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
