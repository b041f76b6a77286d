"""Rate-limit headers of every vendor style, turned into seconds to wait.

Pure functions and small value objects; the stream base applies them. Each tap declares a
:class:`RateLimitPolicy` naming its vendor's headers and the format of the reset value.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import Enum


class ResetFormat(str, Enum):
    """How a vendor spells the moment its rate-limit window resets."""

    DELAY_SECONDS = "delay-seconds"  # seconds from now, e.g. "12"
    HTTP_DATE = "http-date"  # RFC 5322 / RFC 9110 date, e.g. "Thu, 20 Aug 2026 16:01:00 GMT"
    EPOCH_MS = "epoch-ms"  # Unix time in milliseconds, e.g. "1755705660000"


def parse_wait(value: str | None, fmt: ResetFormat, now: float) -> float | None:
    """Seconds from ``now`` (Unix time) until the moment ``value`` names; never negative.

    Returns None when the value is absent or unreadable: a garbled header must not stop a sync,
    the caller then falls back to exponential backoff.
    """
    if value is None or not value.strip():
        return None
    try:
        if fmt is ResetFormat.DELAY_SECONDS:
            seconds = float(value)
        elif fmt is ResetFormat.HTTP_DATE:
            seconds = parsedate_to_datetime(value).timestamp() - now
        else:  # EPOCH_MS
            seconds = float(value) / 1000 - now
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    fmt = ResetFormat.DELAY_SECONDS if value.strip().isdigit() else ResetFormat.HTTP_DATE
    return parse_wait(value, fmt, now)


def parse_int(value: str | None) -> int | None:
    """An integer header value, or None when absent or garbled."""
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimitStatus:
    """What one response said about the budget: calls left and seconds until it refills."""

    remaining: int | None = None
    reset_after: float | None = None


@dataclass(frozen=True)
class RateLimitPolicy:
    """The header names and formats of one vendor's rate limiting.

    ``remaining_headers`` may name several budgets (LaunchDarkly has a route and a global one);
    the smallest counts. ``retry_after_header`` is read on 429 responses, falling back to the
    reset header. ``reserve`` is the number of calls the throttle keeps in hand: once that few
    remain it spreads the rest over the time left instead of spending them at once.
    """

    remaining_headers: tuple[str, ...] = ()
    reset_header: str | None = None
    reset_format: ResetFormat = ResetFormat.DELAY_SECONDS
    retry_after_header: str | None = "Retry-After"
    reserve: int = 2

    def status(self, headers: Mapping[str, str], now: float) -> RateLimitStatus:
        """Read the remaining budget and the reset delay from response headers."""
        budgets = [parse_int(headers.get(name)) for name in self.remaining_headers]
        known = [budget for budget in budgets if budget is not None]
        reset = self.reset_header and headers.get(self.reset_header)
        return RateLimitStatus(
            remaining=min(known) if known else None,
            reset_after=parse_wait(reset or None, self.reset_format, now),
        )

    def retry_after(
        self, headers: Mapping[str, str], now: float, *, rate_limited: bool
    ) -> float | None:
        """Seconds the vendor asks a client to wait before retrying, or None if it does not say.

        ``Retry-After`` counts on any answer (RFC 9110 allows it on a 503 too); the budget's
        reset time only when the answer was a 429.
        """
        if self.retry_after_header:
            wait = parse_retry_after(headers.get(self.retry_after_header), now)
            if wait is not None:
                return wait
        return self.status(headers, now).reset_after if rate_limited else None

    def pause_before_next(self, status: RateLimitStatus) -> float:
        """Seconds to pause before the next call so the budget is not overrun.

        Out of budget: wait for the reset. Within the reserve: spread the remaining calls evenly
        over the time left. Otherwise, or when the vendor gives no figures: no pause.
        """
        if status.remaining is None or status.reset_after is None:
            return 0.0
        if status.remaining <= 0:
            return status.reset_after
        if status.remaining <= self.reserve:
            return status.reset_after / (status.remaining + 1)
        return 0.0


class Throttle:
    """Shared by all streams of one tap run: holds back calls the vendor's budget cannot take."""

    def __init__(
        self,
        policy: RateLimitPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._monotonic = monotonic
        self._not_before = 0.0
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take in a response's rate-limit headers."""
        status = self.policy.status(headers, time.time())
        pause = self.policy.pause_before_next(status)
        with self._lock:
            self._not_before = self._monotonic() + pause

    def wait(self) -> float:
        """Sleep until the next call is allowed; return the seconds slept."""
        with self._lock:
            delay = self._not_before - self._monotonic()
        if delay > 0:
            self._sleep(delay)
            return delay
        return 0.0


class RouteBudget:
    """A lower limit one route has of its own (``limit`` requests per ``window_seconds``), kept
    by the client: no ``window_seconds`` ever sees more than ``limit`` of its requests start.

    For limits a vendor documents per endpoint but reports only through the shared headers (or
    a 429); the shared :class:`Throttle` still paces every call.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float = 60.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window_seconds = limit, window_seconds
        self._sleep = sleep
        self._monotonic = monotonic
        self._starts: deque[float] = deque(maxlen=limit)  # the last ``limit`` start times
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Sleep until one more request fits in the window; return the seconds slept."""
        with self._lock:
            now = self._monotonic()
            delay = 0.0
            if len(self._starts) == self.limit:
                delay = max(0.0, self._starts[0] + self.window_seconds - now)
            self._starts.append(now + delay)
        if delay > 0:
            self._sleep(delay)
        return delay
