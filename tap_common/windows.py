"""Time windows for every windowed stream: aligned, bounded, never still open.

A window is half-open, ``[start, end)``. Windows are a whole number of units long and start on
a unit boundary, so two runs cut time on the same grid and a resumed run picks up exactly where
the last one stopped: the next window starts where the bookmarked one ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import pendulum

from tap_common.timeutil import parse_utc

Unit = Literal["minute", "hour", "day"]

# A request reaches the server a little after its windows were planned, and the server's clock is
# only known to the second; starting a minute inside the horizon keeps the first window legal.
HORIZON_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Window:
    """One half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class WindowRules:
    """What an API allows for one kind of window.

    ``unit``: the grid windows align to. ``size``: units per window. ``max_span``: the widest
    range the API accepts. ``oldest``: how far before now a window may start. ``lag``: how long
    after its end a window's data is final (a window younger than that is not emitted).
    ``open_end``: after the last whole window, one more, shorter window up to ``now - lag`` (for
    streams that re-read a look-back on the next run, so a partial window is safe to read).
    ``aligned``: windows start on the unit grid; when False (APIs that take any instant), the
    first window starts exactly at the requested start, so a rerun re-reads no more than asked.
    """

    unit: Unit
    size: int = 1
    max_span: timedelta | None = None
    oldest: timedelta | None = None
    lag: timedelta = timedelta(0)
    open_end: bool = False
    aligned: bool = True

    @property
    def span(self) -> timedelta:
        """The length of one window."""
        return pendulum.duration(**{f"{self.unit}s": self.size}).as_timedelta()

    def check(self) -> None:
        """Raise ``ValueError`` if a window would be wider than the API allows."""
        if self.size < 1:
            msg = "a window must be at least one unit long"
            raise ValueError(msg)
        if self.max_span is not None and self.span > self.max_span:
            msg = f"{self.size} {self.unit}(s) per window exceed the API's limit, {self.max_span}"
            raise ValueError(msg)


@dataclass(frozen=True)
class WindowPlan:
    """The windows to fetch, and the requested start if the API's horizon cut it short."""

    windows: tuple[Window, ...]
    clamped_from: datetime | None = None


def floor_to(moment: datetime, unit: Unit) -> datetime:
    """The unit boundary at or before ``moment`` (UTC)."""
    return parse_utc(pendulum.instance(parse_utc(moment)).start_of(unit))


def ceil_to(moment: datetime, unit: Unit) -> datetime:
    """The unit boundary at or after ``moment`` (UTC)."""
    floor = floor_to(moment, unit)
    if floor == parse_utc(moment):
        return floor
    return parse_utc(pendulum.instance(floor).add(**{f"{unit}s": 1}))


def plan_windows(rules: WindowRules, start: datetime | None, now: datetime) -> WindowPlan:
    """Closed windows from ``start`` (aligned down to the grid) up to ``now - lag``.

    ``start=None`` means as far back as the API allows. A start older than the API's horizon is
    moved up to the oldest aligned start allowed, and the plan says so, so the caller can warn.
    The last window ends on or before the last boundary that is ``lag`` old: a window still
    open is never emitted.
    """
    rules.check()
    horizon = (
        None if rules.oldest is None else ceil_to(now - rules.oldest + HORIZON_MARGIN, rules.unit)
    )
    if start is None:
        if horizon is None:
            msg = "a start is required when the API sets no horizon"
            raise ValueError(msg)
        return WindowPlan(tuple(_iter_windows(rules, horizon, now)))
    first = floor_to(start, rules.unit) if rules.aligned else parse_utc(start)
    if horizon is not None and first < horizon:
        return WindowPlan(tuple(_iter_windows(rules, horizon, now)), clamped_from=parse_utc(start))
    return WindowPlan(tuple(_iter_windows(rules, first, now)))


def _iter_windows(rules: WindowRules, first: datetime, now: datetime) -> Iterator[Window]:
    limit = floor_to(now - rules.lag, rules.unit) if rules.aligned else now - rules.lag
    span = rules.span
    start = first
    while start + span <= limit:
        yield Window(start, start + span)
        start += span
    if rules.open_end and start < now - rules.lag:
        yield Window(start, now - rules.lag)


def resume_from(
    bookmark: str | None, *, lookback: timedelta, start_date: str | None, default: datetime
) -> datetime:
    """Where an incremental read starts.

    With a bookmark: ``lookback`` before it (late data lands there), never before
    ``start_date``. Without one: ``start_date``, else ``default``.
    """
    floor = parse_utc(start_date) if start_date else None
    if bookmark:
        start = parse_utc(bookmark) - lookback
        return max(start, floor) if floor else start
    return floor or default


@dataclass
class CountSizedWindows:
    """Windows cut to hold at most ``limit`` records, for APIs that take any instant as a bound.

    The first window runs to the end of the range, so a range holding up to ``limit`` records
    costs the fewest requests possible. A window found to hold more (the API's own total, or a
    result that overflowed) is cut down before anything of it is emitted, and every next window
    is sized from the density the last one showed, aiming a little under ``limit`` (FILL) so that
    ordinary ups and downs do not overflow. State advances after each window, so ``limit`` also
    bounds what a crash makes the next run re-read.
    """

    FILL = 0.9
    GROWTH = 4

    limit: int
    smallest: timedelta = timedelta(milliseconds=1)
    _span: timedelta | None = None

    def next(self, start: datetime, end: datetime) -> Window | None:
        """The window from ``start`` (None once ``start`` reaches ``end``)."""
        if start >= end:
            return None
        return Window(start, end if self._span is None else min(end, start + self._span))

    def overfull(self, window: Window, count: int) -> bool:
        """Whether a window holding ``count`` records should be cut before it is read."""
        return count > self.limit and self.can_cut(window)

    def can_cut(self, window: Window) -> bool:
        """Whether the window is longer than the smallest one."""
        return window.end - window.start > self.smallest

    def held(self, window: Window, count: int) -> None:
        """A window was read whole with ``count`` records: size the next one from it.

        An empty window says nothing about density (typically: the range starts before the
        first record), so once a cut has measured one, the next window keeps its size; it
        grows at most GROWTH-fold from a sparse one. An overfull window costs a wasted request.
        """
        length = window.end - window.start
        if count == 0:
            self._span = None if self._span is None else length
        else:
            self._span = min(length * self.GROWTH, self._scaled(window, count))

    def cut(self, window: Window, count: int | None = None) -> None:
        """Make the next window hold about ``FILL * limit`` of ``count`` (half when unknown)."""
        length = window.end - window.start
        span = length / 2 if count is None else self._scaled(window, count)
        self._span = max(self.smallest, span if span < length else length / 2)

    def _scaled(self, window: Window, count: int) -> timedelta:
        span = (window.end - window.start) * (self.FILL * self.limit / count)
        return max(self.smallest, span)
