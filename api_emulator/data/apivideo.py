"""An api.video project: videos, live streams, and the viewing sessions behind every figure.

One table of sessions feeds both analytics generations, so ``/analytics/*/plays`` and the
``/data/*`` endpoints agree with each other (docs/api/apivideo-data.md §10). A session is one
player load (an impression) of one media at a UTC instant on the whole minute; most sessions go
on to play, some play to the end. Each carries the viewer's country, device, OS, browser and
referrer.

Sessions run from ``days`` before the anchor to ``future_days`` after it, so a test that moves
the emulator clock forward sees new days arrive. :meth:`ApiVideoDataset.add_late_plays` adds
plays to a past day, as happens when api.video receives events late.

Scale, as records tap-apivideo-analytics emits with its default settings (29 complete days):
each day has one row per distinct *played* media on the id dimensions (``videoId`` or
``liveStreamId``) and again on the ``media-id`` breakdown, plus ~140 rows for the small
dimensions (hours, countries, devices...); so records ~= 29 * (140 + 2 * played media a day).
More media alone do not grow it (each play is a session): ``sessions_per_day`` S does (0.75
of them play, 0.8 of those on videos), spread over enough media that few play twice a day. With
``videos=S * 5 // 2, live_streams=S * 5 // 8`` a media averages 0.24 plays a day, 21% of them
play on a given day, and records ~= 4,100 + 38.7 * S: S=160 gives ~10,000, S=26,000 ~1,010,000
(generated in ~6 s, ~170 MB of sessions).
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any, TypeVar

from api_emulator.data.apivideo_media import MediaCatalogue

UTC = timezone.utc
T = TypeVar("T")
MINUTES_PER_DAY = 24 * 60
# Answers remembered per dataset (see ApiVideoDataset.memo): a paging client walks one query at
# a time, so a few dozen cover it; the bound caps memory when keys follow a moving clock.
MEMO_SIZE = 32


@dataclass(frozen=True)
class Country:
    """A viewer country in both spellings: ISO alpha-2 (``/data``) and name (plays endpoints)."""

    code: str
    name: str
    continent: str


@dataclass(frozen=True)
class Weighted:
    """Values with cumulative weights, drawn exactly as ``random.choices(values, weights)[0]``
    draws them (one ``random()`` call), without re-summing the weights on every draw."""

    values: tuple[str, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, values: Sequence[str], weights: Sequence[int]) -> Weighted:
        return cls(tuple(values), tuple(itertools.accumulate(weights)))

    def draw(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative[-1]
        return self.values[bisect.bisect(self.cumulative, point, 0, len(self.values) - 1)]


COUNTRIES = (
    Country("FR", "france", "EU"),
    Country("US", "united states", "NA"),
    Country("ES", "spain", "EU"),
    Country("DE", "germany", "EU"),
    Country("GB", "united kingdom", "EU"),
    Country("BR", "brazil", "SA"),
    Country("JP", "japan", "AS"),
    Country("IN", "india", "AS"),
    Country("NG", "nigeria", "AF"),
    Country("CA", "canada", "NA"),
)
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}
DEVICES = ("computer", "phone", "tablet", "tv", "console", "wearable", "unknown")
OPERATING_SYSTEMS = ("windows", "mac osx", "android", "ios", "linux")
BROWSERS = ("chrome", "firefox", "edge", "opera", "safari")
# "" is how /data reports events without a referrer (Android/iOS players).
REFERRERS = ("https://www.example.com/blog", "https://news.example.org/", "https://acme.test/", "")
# Skewed weights, so "sorted by plays" has a real order and some values are rare.
COUNTRY_WEIGHTS = (30, 25, 12, 9, 8, 6, 4, 3, 2, 1)
DEVICE_WEIGHTS = (40, 35, 10, 8, 3, 1, 3)
OS_WEIGHTS = (35, 15, 30, 15, 5)
BROWSER_WEIGHTS = (55, 12, 15, 3, 15)
REFERRER_WEIGHTS = (5, 3, 2, 4)
COUNTRY_CODE = Weighted.of([country.code for country in COUNTRIES], COUNTRY_WEIGHTS)
DEVICE = Weighted.of(DEVICES, DEVICE_WEIGHTS)
OPERATING_SYSTEM = Weighted.of(OPERATING_SYSTEMS, OS_WEIGHTS)
BROWSER = Weighted.of(BROWSERS, BROWSER_WEIGHTS)
REFERRER = Weighted.of(REFERRERS, REFERRER_WEIGHTS)
# The session field each plays-endpoint dimension reads (docs/api/apivideo.md §3).
PLAYS_FIELDS = {
    "emittedAt": "at",
    "videoId": "media_id",
    "liveStreamId": "media_id",
    "country": "country",
    "deviceType": "device",
    "operatingSystem": "operating_system",
    "browser": "browser",
}


@dataclass(frozen=True, slots=True)
class Session:
    """One player load of one media, and what the viewer did with it."""

    at: datetime
    media_id: str
    media_type: str  # "video" or "live-stream"
    country: str  # ISO alpha-2
    device: str
    operating_system: str
    browser: str
    referrer: str
    played: bool
    ended: bool
    watch_seconds: int
    load_ms: int


@dataclass
class ApiVideoDataset:
    """Sessions of one project, sorted by time; the emulator's ground truth."""

    seed: int
    anchor: datetime
    videos: list[str]
    live_streams: list[str]
    sessions: list[Session] = field(default_factory=list)
    #: The API objects of every video and live stream (see :mod:`api_emulator.data.apivideo_media`).
    catalogue: MediaCatalogue = field(default_factory=MediaCatalogue)
    _times: list[datetime] = field(default_factory=list, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _memo: OrderedDict[Hashable, Any] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    _version: int = field(default=0, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        videos: int = 40,
        *,
        live_streams: int = 10,
        anchor: datetime | None = None,
        days: int = 30,
        future_days: int = 3,
        sessions_per_day: int = 120,
    ) -> ApiVideoDataset:
        """Sessions on every day from ``days`` before ``anchor`` to ``future_days`` after it.

        Drawn in bulk and sorted once (the same sessions as adding them one by one). For scale,
        see the module docstring.
        """
        rng = random.Random(seed)
        anchor = (anchor or datetime.now(UTC)).astimezone(UTC)
        dataset = cls(
            seed,
            anchor,
            videos=[_media_id("vi", rng) for _ in range(videos)],
            live_streams=[_media_id("li", rng) for _ in range(live_streams)],
            _rng=rng,
        )
        # Drawn from a generator of its own, so the sessions of a seed stay what they were.
        dataset.catalogue = MediaCatalogue.generate(
            random.Random(f"{seed}-media"), dataset.videos, dataset.live_streams, anchor
        )
        first_day = _midnight(anchor) - timedelta(days=days)
        drawn: list[Session] = []
        for offset in range(days + future_days + 1):
            minutes = _minutes_of(first_day + timedelta(days=offset))
            # Busier and quieter days, so daily series are not flat.
            for _ in range(rng.randint(sessions_per_day // 2, sessions_per_day * 3 // 2)):
                drawn.append(dataset._draw(minutes[rng.randrange(MINUTES_PER_DAY)]))
        # A stable sort keeps equal instants in draw order, as inserting one by one would.
        drawn.sort(key=attrgetter("at"))
        dataset.sessions = drawn
        dataset._times = [session.at for session in drawn]
        return dataset

    @property
    def media_ids(self) -> list[str]:
        """Every video and live-stream id."""
        return self.videos + self.live_streams

    def media_type(self, media_id: str) -> str:
        """``video`` or ``live-stream``, from the id's prefix."""
        return "live-stream" if media_id.startswith("li") else "video"

    def add_session(
        self, at: datetime, media_id: str | None = None, *, played: bool | None = None
    ) -> Session:
        """A new session at ``at`` (a random media unless given); returns it."""
        session = self._draw(at.astimezone(UTC).replace(second=0, microsecond=0), media_id, played)
        with self._lock:
            index = bisect.bisect_right(self._times, session.at)
            self._times.insert(index, session.at)
            self.sessions.insert(index, session)
            self._version += 1
            self._memo.clear()
        return session

    def add_late_plays(
        self, day: datetime, count: int, media_id: str | None = None
    ) -> list[Session]:
        """``count`` plays that arrive now for the UTC day of ``day`` (already past)."""
        start = _midnight(day)
        return [
            self.add_session(
                start + timedelta(minutes=self._rng.randrange(MINUTES_PER_DAY)),
                media_id,
                played=True,
            )
            for _ in range(count)
        ]

    def between(self, start: datetime, end: datetime) -> list[Session]:
        """Sessions with ``start <= at < end``, in time order."""
        low = bisect.bisect_left(self._times, start)
        high = bisect.bisect_left(self._times, end)
        return self.sessions[low:high]

    def plays(
        self, media_type: str, dimension: str, start: datetime, end: datetime, media_id: str = ""
    ) -> Counter[str]:
        """Plays per value of a plays-endpoint ``dimension`` in ``[start, end)``.

        ``emittedAt`` values are hourly bucket starts here; the route picks hourly or daily.
        """
        read = attrgetter(PLAYS_FIELDS[dimension])
        # Counted on the raw field first: there are far fewer distinct values than sessions,
        # so each is labelled (a strftime, for emittedAt) once.
        raw = Counter(
            read(session)
            for session in self.between(start, end)
            if session.played
            and session.media_type == media_type
            and (not media_id or session.media_id == media_id)
        )
        counts: Counter[str] = Counter()
        for value, plays in raw.items():
            counts[plays_label(dimension, value)] += plays
        return counts

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` until a session is added.

        For figures derived from the sessions: a paging client asks the same query once a
        page, and each page should not re-aggregate. Only the latest ``MEMO_SIZE`` keys stay.
        """
        with self._lock:
            version = self._version
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._lock:
            if version == self._version:  # else a session arrived meanwhile: value is stale
                self._memo[key] = value
                if len(self._memo) > MEMO_SIZE:
                    self._memo.popitem(last=False)
        return value

    def _draw(
        self, at: datetime, media_id: str | None = None, played: bool | None = None
    ) -> Session:
        """A random session at ``at`` (a random media unless given), not yet added."""
        rng = self._rng
        media_id = media_id or rng.choice(self.videos if rng.random() < 0.8 else self.live_streams)
        played = rng.random() < 0.75 if played is None else played
        watch = rng.randint(1, 900) if played else 0
        return Session(
            at=at,
            media_id=media_id,
            media_type=self.media_type(media_id),
            country=COUNTRY_CODE.draw(rng),
            device=DEVICE.draw(rng),
            operating_system=OPERATING_SYSTEM.draw(rng),
            browser=BROWSER.draw(rng),
            referrer=REFERRER.draw(rng),
            played=played,
            ended=played and rng.random() < 0.4,
            watch_seconds=watch,
            load_ms=rng.randint(80, 2500),
        )


def plays_label(dimension: str, value: datetime | str) -> str:
    """How a plays-endpoint ``dimension`` shows a session's field (docs/api/apivideo.md §3)."""
    if isinstance(value, datetime):  # emittedAt: the hour's start
        return value.replace(minute=0).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if dimension == "country":
        return COUNTRY_BY_CODE[value].name
    return value


def _media_id(prefix: str, rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(rng.choice(alphabet) for _ in range(22))


def _minutes_of(day: datetime) -> list[datetime]:
    """Every whole minute of ``day``: sessions of a minute share one datetime object."""
    return [day + timedelta(minutes=minute) for minute in range(MINUTES_PER_DAY)]


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
