"""The vendor-agnostic server core: routing, clock, rate budget, faults, request log.

A vendor module subclasses :class:`VendorApp` (its routes, validation, error bodies and
options); its handlers refuse a request by raising :class:`VendorError`. An
:class:`EmulatorServer` serves one app on a loopback port. Tests drive the server in-process;
scripts drive a CLI-started one through the admin routes under ``/_emulator/``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import struct
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

ADMIN_PREFIX = "/_emulator/"
FAULT_KINDS = ("status", "rate_limit", "slow", "reset", "truncate", "empty_page")


@dataclass
class Request:
    """One HTTP request as a route handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    host: str = "api"  # which of the app's hosts (listening ports) it arrived on

    def arg(self, *names: str) -> str | None:
        """The first value of the first query parameter present among ``names``."""
        for name in names:
            if name in self.query:
                return self.query[name][0]
        return None

    def json(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Response:
    """What a handler answers: status, a JSON-able body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Clock:
    """The emulator's notion of now: real time, or frozen where a test puts it."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """Now, as an aware UTC datetime."""
        return self._frozen or datetime.now(timezone.utc)

    def set(self, moment: datetime) -> None:
        """Freeze the clock at ``moment``."""
        self._frozen = moment.astimezone(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        """Move a frozen clock forward (freezing it at now first if it follows real time)."""
        self._frozen = self.now() + delta

    def follow_real_time(self) -> None:
        """Unfreeze."""
        self._frozen = None


@dataclass(frozen=True)
class BudgetStatus:
    """The rate budget after one request."""

    limit: int
    consumed: int
    remaining: int
    reset_wall_time: float
    limited: bool

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds until the window resets, at least one."""
        return max(1, math.ceil(self.reset_wall_time - time.time()))


UNLIMITED = 1_000_000


class RateBudget:
    """Requests allowed per window of real (monotonic) time.

    Real time, not the emulator clock: a test that freezes the data clock must still see its
    rate windows reset.
    """

    def __init__(self, limit: int | None = None, window_seconds: float = 60.0) -> None:
        self._lock = threading.Lock()
        self.configure(limit, window_seconds)

    def configure(self, limit: int | None, window_seconds: float = 60.0) -> None:
        """Set the budget (None: unlimited) and start a fresh window."""
        with self._lock:
            self.limit, self.window_seconds = limit, window_seconds
            self._window_start, self._consumed = time.monotonic(), 0

    def consume(self) -> BudgetStatus:
        """Spend one request; report what is left and whether this one is over budget."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.window_seconds:
                self._window_start, self._consumed = now, 0
            limit = self.limit if self.limit is not None else UNLIMITED
            limited = self._consumed >= limit
            if not limited:
                self._consumed += 1
            reset = time.time() + self._window_start + self.window_seconds - now
            return BudgetStatus(limit, self._consumed, limit - self._consumed, reset, limited)


@dataclass
class Fault:
    """One armed fault: what to do, to which paths, after how many clean ones, how many times."""

    kind: str
    path: str | None = None
    times: int = 1
    after: int = 0  # matching requests to let through first (to fail a sync midway)
    status: int = 500
    delay: float = 0.0
    retry_after: int = 1

    def matches(self, path: str) -> bool:
        """Whether the fault applies to a request for ``path`` (prefix match)."""
        return self.path is None or path.startswith(self.path)


class FaultInjector:
    """Faults armed by tests; each fires ``times`` times on matching requests, in order."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, kind: str, **options: Any) -> Fault:
        """Arm a fault of ``kind`` (status, rate_limit, slow, reset, truncate)."""
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        fault = Fault(kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """The first armed fault matching ``path``, spent once; None if there is none."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._faults.clear()

    def armed(self) -> int:
        """How many faults have not fired their last time yet."""
        with self._lock:
            return len(self._faults)


@dataclass(frozen=True)
class LoggedRequest:
    """One vendor request as answered. Header values are never kept: they hold secrets."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None  # None: the connection was reset without an answer
    started: float  # time.monotonic()
    finished: float
    wall: float  # time.time() when it arrived
    fault: str | None = None
    host: str = "api"
    body: Any = None  # only what the app lets through (see VendorApp.logged_body)


class RequestLog:
    """Every vendor request, in arrival order."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        """A copy of the log."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget everything logged so far."""
        with self._lock:
            self._entries.clear()


class VendorError(Exception):
    """A request the vendor refuses: a handler raises it, the dispatch answers with it."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status, self.body = status, body


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """A method and a path template with ``{param}`` placeholders."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    host: str | None = None  # None: served on every host


class VendorApp:
    """A vendor's API: its routes, and how it spells errors and rate-limit headers."""

    name = "vendor"
    #: The vendor's hosts, one listening port each (a vendor with an auth host and data nodes
    #: has several); the first is the main one.
    hosts: tuple[str, ...] = ("api",)
    rate_window_seconds = 60.0  # the length of the vendor's rate-limit window
    rate_headers_on_errors = False  # whether error answers carry the rate-limit headers too
    #: Emulator-only switches ``PUT /_emulator/<name>/options`` sets: attribute -> its type
    #: (``int | None`` also takes null).
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._admin_routes: list[Route] = []
        self.clock = Clock()  # replaced by the server's clock when served
        self.urls: dict[str, str] = {}  # host name -> base URL, set when served

    def add_route(
        self, method: str, template: str, handler: Handler, *, host: str | None = None
    ) -> None:
        """Serve ``method template`` with ``handler``; ``{name}`` matches one path segment.

        A trailing slash is tolerated, as the vendors' own servers do: clients send both
        (``@pm2/js-api`` asks for ``GET /api/bucket/``).
        """
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append(Route(method, re.compile(f"^{regex}/?$"), handler, host))

    def add_admin_route(self, method: str, template: str, handler: Handler) -> None:
        """Serve ``method /_emulator/<name>/<template>``: an emulator-only control route (to
        change the vendor's data between two syncs, say)."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", f"{self.name}/{template}")
        self._admin_routes.append(Route(method, re.compile(f"^{regex}$"), handler))

    def admin(self, request: Request, route: str) -> Response | None:
        """Answer an admin ``route`` (the path after ``/_emulator/``) of this vendor, if any."""
        for admin_route in self._admin_routes:
            match = admin_route.pattern.match(route)
            if match is not None and admin_route.method == request.method:
                request.params = {name: unquote(v) for name, v in match.groupdict().items()}
                try:
                    return admin_route.handler(request)
                except VendorError as refusal:
                    return Response(refusal.status, refusal.body)
        return None

    def dispatch(self, request: Request) -> Response:
        """Route and answer a request; a :class:`VendorError` raised on the way is the answer.

        Unknown path -> 404, wrong method -> 405, in the vendor's envelope.
        """
        allowed = False
        for route in self._routes:
            match = route.pattern.match(request.path)
            if match is None or route.host not in (None, request.host):
                continue
            allowed = True
            if route.method == request.method:
                request.params = match.groupdict()
                try:
                    return route.handler(request)
                except VendorError as refusal:
                    return Response(refusal.status, refusal.body)
        if allowed:
            return self.error(405, f"Method {request.method} not allowed")
        return self.error(404, "Not found")

    def error(self, status: int, message: str) -> Response:
        """An error in the vendor's envelope."""
        return Response(status, {"error": message})

    def server_error(self, status: int) -> Response:
        """The vendor's body for an internal failure (used by the status fault)."""
        return self.error(status, "Internal Server Error")

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        """The vendor's 429; ``retry_after`` is set when a fault asks for that header."""
        wait = retry_after or budget.retry_after_seconds
        return Response(429, {"error": "Too many requests"}, {"Retry-After": str(wait)})

    def rate_limit_headers(self, budget: BudgetStatus) -> dict[str, str]:
        """Headers the vendor sends on every success."""
        return {}

    def set_options(self, values: Any) -> dict[str, Any]:
        """Apply ``{option: value}`` (see ``options``); every option's value after.

        All are checked before any is applied: a refused request changes nothing.
        """
        if not isinstance(values, dict):
            raise TypeError("options are a JSON object")
        if unknown := sorted(set(values) - set(self.options)):
            known = ", ".join(self.options) or "none"
            msg = f"unknown option(s) {', '.join(unknown)}; {self.name} takes {known}"
            raise ValueError(msg)
        checked = {name: _option(name, value, self.options[name]) for name, value in values.items()}
        for name, value in checked.items():
            setattr(self, name, value)
        return {name: getattr(self, name) for name in self.options}

    def secrets(self) -> set[str]:
        """Every credential the app accepts or has issued (tests scan output for them)."""
        return set()

    def logged_body(self, request: Request) -> Any:
        """The part of a request body the log may keep: none by default (bodies carry secrets)."""
        return None

    def emptied(self, body: Any, request: Request) -> Any:
        """The empty_page fault: an empty page whose cursor leads back to where ``request`` was.

        Only cursor-paged vendors can say "nothing here, go on" without losing a page; the
        others answer unchanged.
        """
        return body


def _option(name: str, value: Any, kind: Any) -> Any:
    """``value`` if it is a JSON value of type ``kind``; an int given for a float becomes one."""
    kinds = typing.get_args(kind) or (kind,)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int to isinstance, never to an option: true is no number
    if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
        return value
    msg = f"option {name} takes {getattr(kind, '__name__', kind)}, not {json.dumps(value)}"
    raise ValueError(msg)


class EmulatorServer:
    """One vendor app served over HTTP/1.1 on a loopback port (0: any free port)."""

    #: Every server created in this process, in order (a test suite audits their logs).
    created: ClassVar[list[EmulatorServer]] = []

    def __init__(
        self, app: VendorApp, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
    ) -> None:
        self.app = app
        self.clock = Clock()
        app.clock = self.clock
        self.budget = RateBudget(None, app.rate_window_seconds)
        self.faults = FaultInjector()
        self.log = RequestLog()
        self.verbose = verbose
        # The main host on the port asked for; any further host on a free port.
        self._listeners = [
            _HTTPServer((host, port if index == 0 else 0), _Handler, self, name)
            for index, name in enumerate(app.hosts)
        ]
        app.urls = self.urls
        self._threads: list[threading.Thread] = []
        EmulatorServer.created.append(self)

    @property
    def url(self) -> str:
        """The main host's base URL, e.g. http://127.0.0.1:54321."""
        return self.urls[self.app.hosts[0]]

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of each of the app's hosts."""
        return {listener.name: listener.url for listener in self._listeners}

    def start(self) -> EmulatorServer:
        """Serve every host in a background thread."""
        for listener in self._listeners:
            thread = threading.Thread(
                target=listener.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and release the ports."""
        if self._threads:
            for listener in self._listeners:
                listener.shutdown()
            for thread in self._threads:
                thread.join()
            self._threads = []
        for listener in self._listeners:
            listener.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering -------------------------------------------------------------------------

    def answer(self, request: Request, fault: Fault | None) -> Response:
        """The response to a vendor request, after any fault that replaces it."""
        if fault is not None and fault.kind == "status":
            return self.app.server_error(fault.status)
        budget = self.budget.consume()
        if fault is not None and fault.kind == "rate_limit":
            return self.app.rate_limited(budget, fault.retry_after)
        if budget.limited:
            return self.app.rate_limited(budget, None)
        response = self.app.dispatch(request)
        if fault is not None and fault.kind == "empty_page" and response.status == 200:
            response.body = self.app.emptied(response.body, request)
        if response.status < 400 or self.app.rate_headers_on_errors:
            response.headers.update(self.app.rate_limit_headers(budget))
        return response

    def admin(self, request: Request) -> Response:
        """The control routes under /_emulator/."""
        route = (request.method, request.path[len(ADMIN_PREFIX) :].rstrip("/"))
        body = request.json() or {}
        if route == ("GET", "health"):
            return Response(200, {"status": "ok", "vendor": self.app.name, "urls": self.urls})
        if route == ("GET", "requests"):
            return Response(200, [asdict(entry) for entry in self.log.entries()])
        if route == ("DELETE", "requests"):
            self.log.clear()
            return Response(204)
        if route == ("PUT", "clock"):
            return self._set_clock(body.get("now"))
        if route == ("POST", "faults"):
            return self._arm(body)
        if route == ("DELETE", "faults"):
            self.faults.clear()
            return Response(204)
        if route == ("PUT", "budget"):
            self.budget.configure(body.get("limit"), float(body.get("window_seconds", 60)))
            return Response(204)
        if route == ("PUT", f"{self.app.name}/options"):
            return self._set_options(body)
        return self.app.admin(request, route[1]) or Response(404, {"error": "unknown admin route"})

    def _set_clock(self, now: str | None) -> Response:
        if now is None:
            self.clock.follow_real_time()
        else:
            self.clock.set(datetime.fromisoformat(now.replace("Z", "+00:00")))
        return Response(200, {"now": self.clock.now().isoformat()})

    def _arm(self, body: dict[str, Any]) -> Response:
        try:
            fault = self.faults.arm(**body)
        except (TypeError, ValueError) as exc:
            return Response(400, {"error": str(exc)})
        return Response(201, asdict(fault))

    def _set_options(self, body: Any) -> Response:
        try:
            return Response(200, self.app.set_options(body))
        except (TypeError, ValueError) as exc:
            return Response(400, {"error": str(exc)})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type, emulator: EmulatorServer, name: str
    ) -> None:
        self.emulator = emulator
        self.name = name
        super().__init__(address, handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET address
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits ~40 ms
    # for a delayed ACK on every request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header follows the emulator clock: taps plan windows on it."""
        moment = self.server.emulator.clock.now().timestamp() if timestamp is None else timestamp
        return formatdate(moment, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def finish(self) -> None:
        # The connection may have been reset or cut on purpose (a fault), or by the client.
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    def _handle(self) -> None:
        emulator = self.server.emulator
        request = self._read_request()
        if request.path.startswith(ADMIN_PREFIX):
            self._send(emulator.admin(request))
            return
        started, wall = time.monotonic(), time.time()
        fault = emulator.faults.take(request.path)

        try:
            if fault is not None and fault.kind == "reset":
                self._log(request, None, started, wall, fault)
                self._reset()
                return
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            response = emulator.answer(request, fault)
            # Logged before the answer goes out: a client holding its answer finds it logged.
            self._log(request, response.status, started, wall, fault)
            self._send(response, truncate=fault is not None and fault.kind == "truncate")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout): fine

    def _log(
        self, request: Request, status: int | None, started: float, wall: float, fault: Fault | None
    ) -> None:
        entry = LoggedRequest(
            request.method,
            request.path,
            request.query,
            status,
            started,
            time.monotonic(),
            wall,
            fault.kind if fault else None,
            request.host,
            self.server.emulator.app.logged_body(request),
        )
        self.server.emulator.log.add(entry)

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(parts.query, keep_blank_values=True)
        return Request(self.command, parts.path, query, self.headers, body, host=self.server.name)

    def _send(self, response: Response, *, truncate: bool = False) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if truncate:  # promise the whole body, deliver half, hang up
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST: the client sees a reset, not an answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
