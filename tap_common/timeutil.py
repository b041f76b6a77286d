"""One canonical UTC form for every timestamp a tap emits or bookmarks.

The SDK compares replication-key values as JSON strings (meltano/sdk #2753), so two spellings
of one instant ("Z" vs "+00:00", with or without microseconds) can mis-order. Every replication
key therefore goes through :func:`to_utc_iso`, which always yields
``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (the form the SDK itself writes for datetimes).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pendulum

#: How far back a first sync reads when no ``start_date`` is set (what LaunchDarkly itself reads
#: when ``from`` is omitted, docs/api/launchdarkly.md §2.2; the same default for PM2).
DEFAULT_HISTORY = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)
CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def parse_utc(value: str | datetime) -> datetime:
    """Parse an ISO-8601 value (or take a datetime) as an aware UTC datetime.

    Naive values and bare dates are taken as UTC. Raises ``ValueError`` on anything else.
    """
    if not isinstance(value, datetime):
        try:
            parsed = pendulum.parse(value, strict=True)
        except ValueError as exc:  # pendulum's ParserError is a ValueError
            msg = f"not an ISO-8601 date-time: {value!r}"
            raise ValueError(msg) from exc
        if not isinstance(parsed, datetime):  # a duration or a time of day
            msg = f"not an ISO-8601 date-time: {value!r}"
            raise ValueError(msg)
        value = parsed
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    utc = moment.astimezone(timezone.utc)
    # Hand back a plain datetime: pendulum's subclass must not leak into records or state.
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=timezone.utc)


def to_utc_iso(value: str | datetime) -> str:
    """Return the canonical UTC ISO-8601 string of a date-time."""
    if isinstance(value, str) and CANONICAL.fullmatch(value):
        return value  # already canonical (the taps' own output): no parse per record
    return parse_utc(value).isoformat(timespec="microseconds")


def from_epoch_ms(value: float) -> datetime:
    """Return the aware UTC datetime of a Unix timestamp in milliseconds."""
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def to_epoch_ms(moment: datetime) -> int:
    """Unix milliseconds, rounded up: an integer ``t >= to_epoch_ms(m)`` exactly when t >= m.

    Window bounds go through this one function, so ``[start, end)`` in milliseconds holds the
    same events as in microseconds, and consecutive windows neither overlap nor leave a gap.
    """
    return -((EPOCH - moment) // ONE_MS)


def iso_ms(moment: datetime) -> str:
    """UTC with milliseconds and ``Z`` (``2026-01-31T12:00:00.000Z``), as JavaScript writes it."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_count(value: Any) -> int | None:
    """``value`` when the vendor sent a count (an integer, not a boolean), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class ServerClock:
    """The API server's idea of now, read from the ``Date`` header of its responses.

    Window limits ("no older than 14 days", "not still open") are enforced by the server against
    its own clock. Planning windows on the server's clock keeps a skewed local clock from asking
    for a window the API would reject. Before any response has been seen, local UTC is used.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self.known = False  # whether a Date header has been seen (else local UTC is used)

    def observe(self, date_header: str | None) -> None:
        """Take in a response's ``Date`` header (RFC 9110), ignoring garbled values."""
        if not date_header:
            return
        try:
            server_now = parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server_now.tzinfo is None:
            return
        self._offset = server_now - utc_now()
        self.known = True

    def now(self) -> datetime:
        """The current time on the server, as an aware UTC datetime."""
        return utc_now() + self._offset
