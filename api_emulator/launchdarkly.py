"""LaunchDarkly REST API: flag events (engineering insights, beta), the audit log, and the
projects, environments, flags, segments, metrics, members and teams they refer to
(docs/api/launchdarkly.md; the account's data in api_emulator/data/launchdarkly_account.py).

Conventions the vendor does not document, chosen here and kept consistent
(docs/api/launchdarkly.md §5):
- order is newest first by (eventTime, id) (``LaunchDarklyApp.newest_first = False`` flips it,
  so tests can prove a tap does not depend on it);
- ``after=<id>`` returns the items that follow that item in this order, ``before=<id>`` those
  that precede it; ``_links.next.href`` repeats every query parameter plus ``after``; the last
  page has no ``next``;
- ``from`` and ``to`` are both inclusive; ``totalCount`` counts every match in ``[from, to]``.

The other listings page by ``limit``/``offset`` with ``_links.next`` (§10); the audit log lists
newest first, ``after < date < before`` (both exclusive, as the official client documents them),
its next link's ``before`` the oldest date of the page. Each route has its own budget per ten
seconds (``route_limit``; the audit log and members half of it) besides the global one.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from api_emulator.core import (
    BudgetStatus,
    RateBudget,
    Request,
    Response,
    VendorApp,
    VendorError,
)
from api_emulator.data.launchdarkly import FlagEvent, LaunchDarklyDataset, position, span
from api_emulator.data.launchdarkly_account import LaunchDarklyAccount

__all__ = ["DEFAULT_TOKEN", "NO_ACCESS_TOKEN", "LaunchDarklyApp", "LaunchDarklyDataset"]

DEFAULT_TOKEN = "api-emulator-launchdarkly-token"
NO_ACCESS_TOKEN = "api-emulator-launchdarkly-no-access"
PATH = "/api/v2/engineering-insights/flag-events"
BETA_MESSAGE = (
    "This API is in beta. To use it, your request must include the header `LD-API-Version: beta`."
)
ENUMS = {
    "impactSize": ("none", "small", "medium", "large"),
    "global": ("include", "exclude"),
    "expand": ("experiments",),
    "hasExperiments": ("true", "false"),
}
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
# Filters the environment indexes cannot answer by themselves: rarer, answered by filtering.
FILTERS = ("query", "applicationKey", "impactSize", "hasExperiments")
# A cursor prefixed with this names the same position (the empty_page fault's next link).
ALIAS = "~"
# The offset-paged listings: path -> (the account's records for the path's parameters, the
# `limit` maximum). The maxima are UNVERIFIED but metrics' (the official client says 50).
LISTINGS: dict[str, tuple[Callable[[LaunchDarklyAccount, dict[str, str]], list[Any]], int]] = {
    "/api/v2/projects": (lambda a, p: a.project_records(), 100),
    "/api/v2/projects/{projectKey}/environments": (
        lambda a, p: a.environments[p["projectKey"]],
        100,
    ),
    "/api/v2/flags/{projectKey}": (lambda a, p: a.flags[p["projectKey"]], 100),  # see _flags
    "/api/v2/segments/{projectKey}/{environmentKey}": (
        lambda a, p: a.segments[p["projectKey"], p["environmentKey"]],
        50,
    ),
    "/api/v2/metrics/{projectKey}": (lambda a, p: a.metrics[p["projectKey"]], 50),
    "/api/v2/members": (lambda a, p: a.members, 100),
    "/api/v2/teams": (lambda a, p: a.teams, 100),
}
AUDIT_PATH = "/api/v2/auditlog"
AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT = 10, 20  # the official client: "between 1 and 20"
# Routes whose budget is half the others' (LaunchDarkly limits them harder: §7).
TIGHT_ROUTES = (AUDIT_PATH, "/api/v2/members")
# What a flag-events call answers where engineering insights is not offered (UNVERIFIED, §6).
INSIGHTS_UNAVAILABLE = {
    "code": "forbidden",
    "message": "Engineering insights is not available for this account.",
}


def _validation(*errors: tuple[str, str]) -> VendorError:
    return VendorError(
        400,
        {
            "code": "invalid_request",
            "message": "validation failed",
            "errors": [{"attribute": name, "reason": reason} for name, reason in errors],
        },
    )


class LaunchDarklyApp(VendorApp):
    """The flag-events route of one account with one project."""

    name = "launchdarkly"
    rate_window_seconds = 10.0  # LaunchDarkly's limits are per ten seconds
    rate_headers_on_errors = True  # "on every response of this route" (docs/api/launchdarkly.md §7)
    options: ClassVar[dict[str, Any]] = {
        "newest_first": bool,
        "stale_reset": bool,
        "api_version": str,
        "engineering_insights": bool,
        "route_limit": int | None,
        "route_window_seconds": float,
    }

    def __init__(
        self,
        dataset: LaunchDarklyDataset,
        tokens: dict[str, str] | None = None,
        account: LaunchDarklyAccount | None = None,
    ) -> None:
        super().__init__()
        self.dataset = dataset  # the first project's
        self.account = account or LaunchDarklyAccount.around(dataset)
        self.tokens = tokens or {DEFAULT_TOKEN: "full", NO_ACCESS_TOKEN: "forbidden"}
        self.newest_first = True
        self.stale_reset = False  # LaunchDarkly sometimes sends a reset already in the past
        # The LD-API-Version the route accepts; tests change it to model the route leaving beta.
        self.api_version = "beta"
        self.engineering_insights = True  # False: the plan or instance does not offer it
        self.route_limit: int | None = None  # requests per route per window; None: unlimited
        self.route_window_seconds = self.rate_window_seconds  # tests shorten it
        self._route_budgets: dict[tuple[str, int, float], RateBudget] = {}
        self._answering = threading.local()  # the route budget of the request being answered
        self.add_route("GET", PATH, self.flag_events)
        self.add_route("GET", AUDIT_PATH, self.audit_log)
        self.add_route("GET", "/api/v2/projects/{projectKey}", self.project)
        for template in LISTINGS:
            self.add_route("GET", template, self._listing_route(template))
        self.add_admin_route("DELETE", "flags/{projectKey}/{key}", self.delete_flag)
        self.add_admin_route("DELETE", "members/{id}", self.delete_member)

    def register_token(self, token: str, access: str = "full") -> str:
        """Accept one more token ("full" or "forbidden"); returns it."""
        self.tokens[token] = access
        return token

    # -- envelopes -------------------------------------------------------------------------

    def error(self, status: int, message: str) -> Response:
        """LaunchDarkly's ``{"code", "message"}`` body."""
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal_server_error")
        return Response(status, {"code": code, "message": message})

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        """``RateLimitedErrorRep``; ``Retry-After`` only for the (injected) IP limit."""
        headers = self.rate_limit_headers(budget)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        body = {
            "code": "rate_limited",
            "message": "You've exceeded the API rate limit. Try again later.",
        }
        return Response(429, body, headers)

    def rate_limit_headers(self, budget: BudgetStatus) -> dict[str, str]:
        """Route and global budgets left in the ten-second window, and the reset in epoch ms
        of the budget that runs out first."""
        route: BudgetStatus = getattr(self._answering, "route", None) or budget
        first = route if route.remaining < budget.remaining else budget
        # A stale reset names the moment the previous window ended: already past.
        reset = time.time() - 1.0 if self.stale_reset else first.reset_wall_time
        return {
            "X-Ratelimit-Route-Remaining": str(route.remaining),
            "X-Ratelimit-Global-Remaining": str(budget.remaining),
            "X-Ratelimit-Reset": str(int(reset * 1000)),
        }

    def dispatch(self, request: Request) -> Response:
        """The route's own budget first (its 429 carries the headers), then the answer."""
        self._answering.route = None
        template = self._template(request.path)
        if template is not None and self.route_limit is not None:
            limit = self.route_limit // 2 if template in TIGHT_ROUTES else self.route_limit
            key = (template, max(1, limit), self.route_window_seconds)
            budget = self._route_budgets.setdefault(key, RateBudget(key[1], key[2]))
            self._answering.route = status = budget.consume()
            if status.limited:
                return self.rate_limited(status, None)
        return super().dispatch(request)

    def _template(self, path: str) -> str | None:
        for template in (PATH, AUDIT_PATH, *LISTINGS, "/api/v2/projects/{projectKey}"):
            pattern = template.replace("{projectKey}", "[^/]+").replace("{environmentKey}", "[^/]+")
            if re.fullmatch(pattern + "/?", path):
                return template
        return None

    def emptied(self, body: Any, request: Request) -> Any:
        """``items`` emptied; the next link's ``after`` an alias of this page's own position."""
        if request.path == PATH and isinstance(body, dict):
            body["items"] = []
            query = {k: v for k, v in _flat(request.query).items() if k not in ("after", "before")}
            query["after"] = ALIAS + (request.arg("after") or "")
            body["_links"]["next"] = {
                "href": f"{PATH}?{urlencode(query)}",
                "type": "application/json",
            }
        return body

    def secrets(self) -> set[str]:
        """The credentials accepted or issued, and the SDK and mobile keys records carry."""
        return set(self.tokens) | self.account.secrets()

    # -- the route -------------------------------------------------------------------------

    def flag_events(self, request: Request) -> Response:
        """``GET /api/v2/engineering-insights/flag-events``."""
        self._authenticate(request, beta=True)
        if not self.engineering_insights:
            raise VendorError(403, INSIGHTS_UNAVAILABLE)
        return Response(200, self._collection(request))

    def audit_log(self, request: Request) -> Response:
        """``GET /api/v2/auditlog``: newest first, ``after < date < before``."""
        self._authenticate(request)
        problems: list[tuple[str, str]] = []
        now_ms = int(self.clock.now().timestamp() * 1000)
        limit = _integer(request, "limit", AUDIT_DEFAULT_LIMIT, problems)
        if not 1 <= limit <= AUDIT_MAX_LIMIT:
            problems.append(("limit", f"must be between 1 and {AUDIT_MAX_LIMIT}"))
        before = _integer(request, "before", now_ms + 1, problems)
        after = _integer(request, "after", -1, problems)
        if problems:
            raise _validation(*problems)
        spec = request.arg("spec")
        items = self.account.audit_page(after, min(before, now_ms + 1), limit, spec)
        query = _flat(request.query)
        links = {"self": {"href": f"{AUDIT_PATH}?{urlencode(query)}", "type": "application/json"}}
        if len(items) == limit:
            query["before"] = str(items[-1]["date"])
            links["next"] = {"href": f"{AUDIT_PATH}?{urlencode(query)}", "type": "application/json"}
        return Response(200, {"items": items, "_links": links})

    def delete_flag(self, request: Request) -> Response:
        """``DELETE /_emulator/launchdarkly/flags/{projectKey}/{key}``: gone from the listing."""
        flags = self.account.flags.get(request.params["projectKey"], [])
        kept = [flag for flag in flags if flag["key"] != request.params["key"]]
        if len(kept) == len(flags):
            raise VendorError(404, {"code": "not_found", "message": "Unknown flag"})
        flags[:] = kept
        return Response(204)

    def delete_member(self, request: Request) -> Response:
        """``DELETE /_emulator/launchdarkly/members/{id}``."""
        members = self.account.members
        kept = [member for member in members if member["_id"] != request.params["id"]]
        if len(kept) == len(members):
            raise VendorError(404, {"code": "not_found", "message": "Unknown member"})
        members[:] = kept
        return Response(204)

    def project(self, request: Request) -> Response:
        """``GET /api/v2/projects/{projectKey}``."""
        self._authenticate(request)
        key = request.params["projectKey"]
        found = [p for p in self.account.project_records() if p["key"] == key]
        if not found:
            raise VendorError(404, {"code": "not_found", "message": "Invalid resource identifier"})
        return Response(200, found[0])

    def _listing_route(self, template: str) -> Callable[[Request], Response]:
        records, maximum = LISTINGS[template]

        def listing(request: Request) -> Response:
            self._authenticate(request)
            problems: list[tuple[str, str]] = []
            limit = _integer(request, "limit", 20, problems)
            offset = _integer(request, "offset", 0, problems)
            if not 1 <= limit <= maximum:
                problems.append(("limit", f"must be between 1 and {maximum}"))
            if offset < 0:
                problems.append(("offset", "must be at least 0"))
            if problems:
                raise _validation(*problems)
            try:
                everything = records(self.account, request.params)
            except KeyError:
                unknown = {"code": "not_found", "message": "Invalid resource identifier"}
                raise VendorError(404, unknown) from None
            path = request.path.rstrip("/")
            links = {"self": {"href": f"{path}?limit={limit}&offset={offset}",
                              "type": "application/json"}}  # fmt: skip
            if offset + limit < len(everything):
                href = f"{path}?limit={limit}&offset={offset + limit}"
                links["next"] = {"href": href, "type": "application/json"}
            items = everything[offset : offset + limit]
            if template == "/api/v2/flags/{projectKey}":
                items = _flags(items, request.arg("filter"))
            body = {
                "items": items,
                "totalCount": len(everything),
                "_links": links,
            }
            return Response(200, body)

        return listing

    def _authenticate(self, request: Request, *, beta: bool = False) -> None:
        # The token verbatim, no scheme: "Bearer <token>" is just a wrong token.
        access = self.tokens.get(request.headers.get("Authorization") or "")
        if access is None:
            raise VendorError(401, {"code": "unauthorized", "message": "Invalid access token"})
        if access != "full":
            message = "Forbidden. Access to the requested resource was denied."
            raise VendorError(403, {"code": "forbidden", "message": message})
        versions = request.headers.get_all("LD-API-Version") or []
        if len(versions) > 1:
            raise VendorError(
                400,
                {
                    "code": "invalid_request",
                    "message": "Too many values for parameter LD-API-Version",
                },
            )
        if beta and versions != [self.api_version]:
            raise VendorError(403, {"message": BETA_MESSAGE})

    def _collection(self, request: Request) -> dict[str, Any]:
        args = self._validated(request)
        listing = self._listing(args)
        start = self._start(listing, request, args["limit"])
        page = listing.page(start, args["limit"])
        now = self.clock.now()
        expand = args.get("expand") == "experiments"
        links = {
            "self": {
                "href": f"{PATH}?{urlencode(_flat(request.query))}",
                "type": "application/json",
            }
        }
        if start + args["limit"] < len(listing):
            query = {k: v for k, v in _flat(request.query).items() if k not in ("after", "before")}
            query["after"] = page[-1].public["id"]
            links["next"] = {"href": f"{PATH}?{urlencode(query)}", "type": "application/json"}
        return {
            "totalCount": len(listing),
            "items": [event.render(now, expand_experiments=expand) for event in page],
            "_links": links,
        }

    def _listing(self, args: dict[str, Any]) -> _Listing:
        """The matches of ``args``: a slice of an environment index, filtered if need be."""
        # Indexed both ways: a sync of several environments reads the global events only once.
        with_global = args["global"] != "exclude"
        events = args["project"].in_environment(args["environmentKey"], with_global=with_global)
        low, high = span(events, args["from"], args["to"])
        if any(args[name] for name in FILTERS):
            matching = [e for e in events[low:high] if _matches(e, args)]
            return _Listing(args["project"], matching, 0, len(matching), self.newest_first)
        return _Listing(args["project"], events, low, high, self.newest_first)

    def _validated(self, request: Request) -> dict[str, Any]:
        missing = [name for name in ("projectKey", "environmentKey") if not request.arg(name)]
        if missing:
            raise _validation(*((name, "must be present") for name in missing))
        problems = [
            (name, f"must be one of {', '.join(allowed)}")
            for name, allowed in ENUMS.items()
            if request.arg(name) is not None and request.arg(name) not in allowed
        ]
        args: dict[str, Any] = {name: request.arg(name) for name in ENUMS}
        args["limit"] = _integer(request, "limit", DEFAULT_LIMIT, problems)
        if not 1 <= args["limit"] <= MAX_LIMIT:
            problems.append(("limit", f"must be between 1 and {MAX_LIMIT}"))
        now_ms = int(self.clock.now().timestamp() * 1000)
        args["from"] = _integer(
            request, "from", now_ms - int(timedelta(days=7).total_seconds() * 1000), problems
        )
        args["to"] = _integer(request, "to", now_ms, problems)
        if problems:
            raise _validation(*problems)
        project = self.account.projects.get(request.arg("projectKey") or "")
        if project is None or request.arg("environmentKey") not in project.environments:
            raise VendorError(404, {"code": "not_found", "message": "Invalid resource identifier"})
        args["project"] = project
        args["to"] = min(args["to"], now_ms)  # the future has no events yet
        args["now_ms"] = now_ms
        args["environmentKey"] = request.arg("environmentKey")
        args["query"] = request.arg("query")
        args["applicationKey"] = request.arg("applicationKey")
        return args

    def _start(self, listing: _Listing, request: Request, limit: int) -> int:
        """Index of the first item of the page asked for by ``after`` / ``before``."""
        after, before = request.arg("after"), request.arg("before")
        if after is not None and not after.lstrip(ALIAS):
            return 0  # an alias of the list's start (after an empty page)
        cursor = after.lstrip(ALIAS) if after else before
        if cursor is None:
            return 0
        index = listing.index(cursor)
        if index is None:
            raise _validation(("after" if after else "before", "unknown pagination identifier"))
        return index + 1 if after else max(0, index - limit)


@dataclass(frozen=True)
class _Listing:
    """The matching events ``events[low:high]`` (ascending), listed newest or oldest first.

    Positions are in listing order; a page is a slice, and a cursor is found by bisection,
    so neither costs more on the last page of a month than on the first page of a day.
    """

    dataset: LaunchDarklyDataset
    events: list[FlagEvent]
    low: int
    high: int
    newest_first: bool

    def __len__(self) -> int:
        return self.high - self.low

    def index(self, event_id: str) -> int | None:
        """The listing position of the event with this id; None when it is not listed."""
        event = self.dataset.find(event_id)
        at = None if event is None else position(self.events, event, self.low, self.high)
        if at is None:
            return None
        return self.high - 1 - at if self.newest_first else at - self.low

    def page(self, start: int, limit: int) -> list[FlagEvent]:
        """Up to ``limit`` events from listing position ``start`` on."""
        if self.newest_first:
            stop = max(self.low, self.high - start)
            return self.events[max(self.low, stop - limit) : stop][::-1]
        first = self.low + start
        return self.events[first : min(self.high, first + limit)]


def _matches(event: FlagEvent, args: dict[str, Any]) -> bool:
    """Whether ``event`` passes the ``FILTERS`` (its environment index took care of the rest)."""
    if args["query"] and args["query"] not in event.public["flagKey"]:  # substring: UNVERIFIED
        return False
    if args["applicationKey"]:
        wanted = set(args["applicationKey"].split(","))
        if wanted.isdisjoint(event.applications):
            return False
    # On `impact.size` as shown (docs/api/launchdarkly.md §9): none for a global or waiting event.
    if args["impactSize"] and event.impact(args["now_ms"])["size"] != args["impactSize"]:
        return False
    wants_experiments = args["hasExperiments"]
    return wants_experiments is None or (event.experiments is not None) == (
        wants_experiments == "true"
    )


def _flags(flags: list[dict[str, Any]], filters: str | None) -> list[dict[str, Any]]:
    """Flags as version 20240415 lists them: ``environments`` only for ``filterEnv``'s one."""
    wanted = [f.split(":", 1)[1] for f in (filters or "").split(",") if f.startswith("filterEnv:")]
    shown = []
    for flag in flags:
        listed = {key: value for key, value in flag.items() if key != "environments"}
        if wanted:
            states = flag["environments"]
            listed["environments"] = {env: states[env] for env in wanted if env in states}
        shown.append(listed)
    return shown


def _integer(request: Request, name: str, default: int, problems: list[tuple[str, str]]) -> int:
    value = request.arg(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        problems.append((name, "must be an integer"))
        return default


def _flat(query: dict[str, list[str]]) -> dict[str, str]:
    return {name: values[0] for name, values in query.items()}
