"""An api.video project: videos, live streams, and the viewing sessions behind every figure.

One table of sessions feeds both analytics generations, so ``/analytics/*/plays`` and the
``/data/*`` endpoints agree with each other (apivideo-data.md §10). A session is one player load
(an impression) of one media at a UTC instant on the whole minute; most sessions go on to play,
some play to the end. Each carries the viewer's country, device, OS, browser and referrer.

Sessions run from ``days`` before the anchor to ``future_days`` after it, so a test that moves
the emulator clock forward sees new days arrive. :meth:`ApiVideoDataset.add_late_plays` adds
plays to a past day, as happens when api.video receives events late.
"""

from __future__ import annotations

import bisect
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

UTC = timezone.utc


@dataclass(frozen=True)
class Country:
    """A viewer country in both spellings: ISO alpha-2 (``/data``) and name (plays endpoints)."""

    code: str
    name: str
    continent: str


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


@dataclass(frozen=True)
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
    _times: list[datetime] = field(default_factory=list, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

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
        """Sessions on every day from ``days`` before ``anchor`` to ``future_days`` after it."""
        rng = random.Random(seed)
        anchor = (anchor or datetime.now(UTC)).astimezone(UTC)
        dataset = cls(
            seed,
            anchor,
            videos=[_media_id("vi", rng) for _ in range(videos)],
            live_streams=[_media_id("li", rng) for _ in range(live_streams)],
            _rng=rng,
        )
        first_day = _midnight(anchor) - timedelta(days=days)
        for offset in range(days + future_days + 1):
            day = first_day + timedelta(days=offset)
            # Busier and quieter days, so daily series are not flat.
            for _ in range(rng.randint(sessions_per_day // 2, sessions_per_day * 3 // 2)):
                dataset.add_session(day + timedelta(minutes=rng.randrange(24 * 60)))
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
        rng = self._rng
        media_id = media_id or rng.choice(self.videos if rng.random() < 0.8 else self.live_streams)
        played = rng.random() < 0.75 if played is None else played
        watch = rng.randint(1, 900) if played else 0
        session = Session(
            at=at.astimezone(UTC).replace(second=0, microsecond=0),
            media_id=media_id,
            media_type=self.media_type(media_id),
            country=rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0].code,
            device=rng.choices(DEVICES, DEVICE_WEIGHTS)[0],
            operating_system=rng.choices(OPERATING_SYSTEMS, OS_WEIGHTS)[0],
            browser=rng.choices(BROWSERS, BROWSER_WEIGHTS)[0],
            referrer=rng.choices(REFERRERS, REFERRER_WEIGHTS)[0],
            played=played,
            ended=played and rng.random() < 0.4,
            watch_seconds=watch,
            load_ms=rng.randint(80, 2500),
        )
        index = bisect.bisect_right(self._times, session.at)
        self._times.insert(index, session.at)
        self.sessions.insert(index, session)
        return session

    def add_late_plays(
        self, day: datetime, count: int, media_id: str | None = None
    ) -> list[Session]:
        """``count`` plays that arrive now for the UTC day of ``day`` (already past)."""
        start = _midnight(day)
        return [
            self.add_session(
                start + timedelta(minutes=self._rng.randrange(24 * 60)), media_id, played=True
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
        counts: Counter[str] = Counter()
        for session in self.between(start, end):
            wanted = not media_id or session.media_id == media_id
            if session.played and session.media_type == media_type and wanted:
                counts[plays_value(session, dimension)] += 1
        return counts


def plays_value(session: Session, dimension: str, *, daily: bool = False) -> str:
    """What a plays-endpoint ``dimension`` reads from one session (apivideo.md §3)."""
    if dimension in ("videoId", "liveStreamId"):
        return session.media_id
    if dimension == "emittedAt":
        bucket = _midnight(session.at) if daily else session.at.replace(minute=0)
        return bucket.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if dimension == "country":
        return COUNTRY_BY_CODE[session.country].name
    if dimension == "deviceType":
        return session.device
    if dimension == "operatingSystem":
        return session.operating_system
    return session.browser


def _media_id(prefix: str, rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(rng.choice(alphabet) for _ in range(22))


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
