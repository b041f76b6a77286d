"""Time windows for every windowed stream: planned on a calendar grid, or sized by count.

A window is half-open, ``[start, end)``. A stream reads its windows one after another through a
planner (:class:`CalendarWindows` or :class:`CountSizedWindows`); the next window starts where
the last one read ended, so a resumed run picks up exactly where the last one stopped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NoReturn, Protocol

import pendulum

from tap_common.timeutil import ONE_MS, parse_utc

Unit = Literal["minute", "hour", "day"]

# A request reaches the server a little after its windows were planned, and the server's clock is
# only known to the second; starting a minute inside the horizon keeps the first window legal.
HORIZON_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Window:
    """One half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """How long the window is."""
        return self.end - self.start


class WindowOverfullError(Exception):
    """The window being read holds more than it may: it has been cut, read the next one instead.

    Raised from inside the SDK's request loop by a planner fed what the vendor revealed; the
    windowed stream base catches it before anything of the window is emitted.
    """


class Windows(Protocol):
    """A planner: hands out the next window, and learns how many records each one held."""

    def next(self) -> Window | None:
        """The next window to read, or None when the range is read."""

    def held(self, count: int) -> None:
        """The window last handed out was read whole and held ``count`` records."""


def span_of(unit: Unit) -> timedelta:
    """The length of one ``unit``."""
    return pendulum.duration(**{f"{unit}s": 1}).as_timedelta()


def floor_to(moment: datetime, unit: Unit) -> datetime:
    """The unit boundary at or before ``moment`` (UTC)."""
    return parse_utc(pendulum.instance(parse_utc(moment)).start_of(unit))


def ceil_to(moment: datetime, unit: Unit) -> datetime:
    """The unit boundary at or after ``moment`` (UTC)."""
    floor = floor_to(moment, unit)
    if floor == parse_utc(moment):
        return floor
    return floor + span_of(unit)


def resume_from(
    bookmark: str | None,
    *,
    start_date: str | None,
    lookback: timedelta = timedelta(0),
    unit: Unit | None = None,
) -> datetime | None:
    """Where an incremental read starts: the one resume rule of every incremental stream.

    With a bookmark: ``lookback`` before where it left off (late data lands there), never before
    ``start_date``. A ``unit`` says the bookmark is the start of the last whole unit read (a day
    or minute series), so it left off one unit later. Without a bookmark: ``start_date``, else
    None (the stream's own default: as far back as the API keeps, or a default history).
    """
    floor = parse_utc(start_date) if start_date else None
    if bookmark:
        start = parse_utc(bookmark) + (span_of(unit) if unit else timedelta(0)) - lookback
        return max(start, floor) if floor else start
    return floor


# -- calendar windows --------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowRules:
    """What an API allows for windows of one calendar unit.

    ``unit``: the grid windows align to, one unit per window. ``oldest``: how far before now a
    window may start (None: no limit).
    """

    unit: Unit
    oldest: timedelta | None = None


@dataclass(frozen=True)
class WindowPlan:
    """The closed windows to fetch, and the requested start if the API's horizon cut it short."""

    windows: tuple[Window, ...]
    clamped_from: datetime | None = None


def plan_windows(rules: WindowRules, start: datetime | None, now: datetime) -> WindowPlan:
    """Closed one-unit windows from ``start`` (aligned down to the grid) up to ``now``.

    ``start=None`` means as far back as the API allows. A start older than the API's horizon is
    moved up to the oldest aligned start allowed, and the plan says so, so the caller can warn.
    The last window ends on or before the last boundary: a window still open is never read.
    """
    horizon = (
        None if rules.oldest is None else ceil_to(now - rules.oldest + HORIZON_MARGIN, rules.unit)
    )
    if start is None:
        if horizon is None:
            msg = "a start is required when the API sets no horizon"
            raise ValueError(msg)
        return WindowPlan(_grid(rules.unit, horizon, now))
    first = floor_to(start, rules.unit)
    if horizon is not None and first < horizon:
        return WindowPlan(_grid(rules.unit, horizon, now), clamped_from=parse_utc(start))
    return WindowPlan(_grid(rules.unit, first, now))


def _grid(unit: Unit, first: datetime, now: datetime) -> tuple[Window, ...]:
    limit, span = floor_to(now, unit), span_of(unit)
    count = max(0, math.floor((limit - first) / span))
    return tuple(Window(first + i * span, first + (i + 1) * span) for i in range(count))


class CalendarWindows:
    """Planned windows handed out in order; their size is the calendar's, never cut."""

    def __init__(self, windows: Iterable[Window]) -> None:
        self._windows = deque(windows)

    def next(self) -> Window | None:
        """The next planned window."""
        return self._windows.popleft() if self._windows else None

    def held(self, count: int) -> None:
        """Nothing to learn: the calendar sizes the windows."""


# -- windows sized by count --------------------------------------------------------------------


class ResultWindowExceededError(RuntimeError):
    """A window that cannot be cut any more holds more records than the API lets a client page."""


@dataclass
class CountSizedWindows:
    """Windows cut to hold at most ``limit`` records, for APIs that take any instant as a bound.

    The first window runs from ``start`` to the end of the range (``end()``, asked anew for each
    window), so a range holding up to ``limit`` records costs the fewest requests possible. While
    a window is read, the stream feeds in whatever the vendor reveals: its own count of the
    window (:meth:`total`), the times of a page (:meth:`page`), or a refusal to page further
    (:meth:`result_window_full`). A window found to hold more is cut before anything of it is
    emitted (WindowOverfullError), and every next window is sized from the density the last one
    showed, aiming a little under ``limit`` (FILL) so that ordinary ups and downs do not
    overflow. State advances after each window, so ``limit`` also bounds what a crash makes the
    next run re-read. Once a window has been read, less than ``catch_up`` left before the end is
    left to the next run.
    """

    FILL = 0.9
    GROWTH = 4

    limit: int
    start: datetime
    end: Callable[[], datetime]
    smallest: timedelta = ONE_MS
    catch_up: timedelta = timedelta(0)
    _span: timedelta | None = None
    _current: Window | None = None
    _read_one: bool = False
    _total_seen: bool = False
    _seen: tuple[int, int, int] | None = None  # records, earliest, latest (ms) of the pages

    def next(self) -> Window | None:
        """The window from where the last one ended (None once the range is read)."""
        end = self.end()
        left = end - self.start
        if left <= timedelta(0) or (self._read_one and left < self.catch_up):
            return None
        span = left if self._span is None else min(left, self._span)
        self._current = Window(self.start, self.start + span)
        self._total_seen, self._seen = False, None
        return self._current

    def held(self, count: int) -> None:
        """The window was read whole with ``count`` records: size the next one from it.

        An empty window says nothing about density (typically: the range starts before the
        first record), so once a cut has measured one, the next window keeps its size; it
        grows at most GROWTH-fold from a sparse one.
        """
        window = self._window()
        if count == 0:
            self._span = None if self._span is None else window.length
        else:
            self._span = min(window.length * self.GROWTH, self._scaled(window, count))
        self.start, self._read_one = window.end, True

    # -- what the vendor reveals, while a window is read --------------------------------------

    def total(self, count: int | None) -> None:
        """The vendor's own count of the window's records (its first page is what counts)."""
        if self._total_seen or count is None:
            return
        self._total_seen = True
        if count > self.limit and self._can_cut():
            self._cut(count)

    def page(self, times_ms: Sequence[int], *, full: bool) -> None:
        """A page's record times inside the window (epoch ms); ``full``: more pages follow.

        If the API returns records in time order, full pages show the window's density, and one
        showing over twice ``limit`` is cut at once instead of being paged to the end. In any
        other order the estimate is about what was read, and the window is read on.
        """
        if times_ms:
            count, earliest, latest = self._seen or (0, min(times_ms), max(times_ms))
            self._seen = (
                count + len(times_ms),
                min(earliest, *times_ms),
                max(latest, *times_ms),
            )
        if full and self._seen and self._can_cut() and self._estimate() > 2 * self.limit:
            self._cut(self._overflowing())

    def result_window_full(self) -> NoReturn:
        """The API will not page further into this window: cut it, or fail if it cannot be."""
        if not self._can_cut():
            window = self._window()
            msg = (
                f"more than {self.limit} records between {window.start.isoformat()} and "
                f"{window.end.isoformat()}, the smallest window: the API cannot page them all"
            )
            raise ResultWindowExceededError(msg)
        self._cut(self._overflowing() if self._seen else None)

    # -- sizing ----------------------------------------------------------------------------------

    def _cut(self, count: int | None) -> NoReturn:
        """Make the next window hold about ``FILL * limit`` of ``count`` (half when unknown)."""
        window = self._window()
        span = window.length / 2 if count is None else self._scaled(window, count)
        self._span = max(self.smallest, span if span < window.length else window.length / 2)
        raise WindowOverfullError

    def _can_cut(self) -> bool:
        return self._window().length > self.smallest

    def _estimate(self) -> int:
        """Records in the window, scaled from the time span of those read so far."""
        assert self._seen is not None
        count, earliest, latest = self._seen
        return math.ceil(count * (self._window().length / ONE_MS) / max(1, latest - earliest))

    def _overflowing(self) -> int:
        """What a window that overflowed holds: at least twice what it returned."""
        assert self._seen is not None
        return max(2 * self._seen[0], self._estimate())

    def _scaled(self, window: Window, count: int) -> timedelta:
        return max(self.smallest, window.length * (self.FILL * self.limit / count))

    def _window(self) -> Window:
        assert self._current is not None, "no window handed out yet"
        return self._current
