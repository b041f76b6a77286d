"""What one run of a tap shares across its streams, built once by the tap (see VendorTap)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from http import HTTPStatus

import requests
from singer_sdk.helpers.types import Auth

from tap_common.ratelimit import RateLimitPolicy, RouteBudget, Throttle
from tap_common.redaction import Redactor
from tap_common.timeutil import ServerClock


@dataclass
class TapRuntime:
    """The rate budget, the server's clock, the secrets and the credential of one run."""

    policy: RateLimitPolicy
    redact: Redactor
    throttle: Throttle = field(init=False)
    server_clock: ServerClock = field(default_factory=ServerClock)
    #: One authenticator for every stream, so a token is exchanged once per run (set by the tap).
    authenticator: Auth | None = None
    #: Route key -> the lower limit it has of its own (VendorStream.route_limit), shared by the
    #: streams (and partitions) that call it.
    route_budgets: dict[str, RouteBudget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.policy)

    @cached_property
    def run_end(self) -> datetime:
        """The server's time at first use: a run that reads up to here sees a fixed data set."""
        return self.server_clock.now()

    def route_budget(self, route: str, limit: int, window_seconds: float) -> RouteBudget:
        """The budget of ``route`` (created on first use)."""
        if route not in self.route_budgets:
            self.route_budgets[route] = RouteBudget(limit, window_seconds)
        return self.route_budgets[route]

    def observe(self, response: requests.Response) -> None:
        """Learn from every response: budget left, and the server's clock."""
        self.throttle.observe(response.headers)
        self.server_clock.observe(response.headers.get("Date"))

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds the vendor asked a client to wait after this response."""
        rate_limited = response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        return self.policy.retry_after(response.headers, time.time(), rate_limited=rate_limited)
