"""PM2 Plus buckets and their custom ("human") events over time.

Each event has the shape docs/api/pm2.md §4.1 calls most probable: ``name``, a free-form
``data`` object, ``process`` (``pm_id``, ``name`` = app, ``rev``, ``server``) and ``at`` (epoch
ms). What only the emulator knows: when the event *arrives*. Most arrive within seconds, a few
minutes late, so a sync that has already read past ``at`` misses them unless it re-reads a
look-back.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from api_emulator.data import collector_paused

APPS = {
    "api": ("user:register", "user:login", "payment:failed", "cache:miss"),
    "worker": ("job:done", "job:failed", "queue:drained"),
    "web": ("page:error", "user:login", "deploy:finished"),
}
SERVERS = {"api": ("api-01", "api-02"), "worker": ("worker-01",), "web": ("web-01", "web-02")}
BUCKET_NAMES = ("production", "staging", "eu-cluster", "internal-tools")
PLANS = ("free", "pro", "enterprise")
COUNTRIES = ("FR", "DE", "US", "BR", "JP", "IN")
PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LATE_SHARE = 0.05  # events that reach the backend minutes after they happened
LATE_DELAY_MINUTES = (2, 20)
MINUTE_MS, DAY_MS = 60_000, 86_400_000


def _hex(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(slots=True)
class StoredEvent:
    """One event as the backend stores it, and when it reached the backend."""

    document: dict[str, Any]
    arrived_ms: int

    @property
    def at(self) -> int:
        """Event time, epoch milliseconds."""
        return self.document["at"]

    @property
    def app(self) -> str:
        """The app (process name) that emitted it."""
        return self.document["process"]["name"]


# What a listing asks for: an event name, and optionally an app and a server.
Query = tuple[str, str | None, str | None]


def _answers(event: StoredEvent, query: Query) -> bool:
    name, app, server = query
    process = event.document["process"]
    return (
        event.document["name"] == name
        and app in (None, process["name"])
        and server in (None, process["server"])
    )


@dataclass
class Series:
    """The events that answer one query, in bucket order, and their times."""

    events: list[StoredEvent] = field(default_factory=list)
    times: list[int] = field(default_factory=list)

    def append(self, event: StoredEvent) -> None:
        """Add an event that comes after every one already here."""
        self.events.append(event)
        self.times.append(event.at)

    def insert(self, event: StoredEvent) -> None:
        """Add an event in time order, after those at the same time (as the bucket does)."""
        index = bisect.bisect_right(self.times, event.at)
        self.times.insert(index, event.at)
        self.events.insert(index, event)


@dataclass(frozen=True)
class Window:
    """A series' visible events in a time range, ascending: ``events[low:settled]``, which
    have all arrived, then ``late``, those of the rest that have."""

    series: Series
    low: int
    settled: int
    late: list[StoredEvent]

    def __len__(self) -> int:
        return self.settled - self.low + len(self.late)

    def page(self, offset: int, limit: int, *, newest_first: bool) -> list[StoredEvent]:
        """Events ``offset`` to ``offset + limit`` in listing order: copies no more than that."""
        wanted, events = offset + limit, self.series.events
        if newest_first:
            head = events[max(self.low, self.settled - wanted) : self.settled]
            ordered = self.late[::-1] + head[::-1]
        else:
            ordered = events[self.low : min(self.settled, self.low + wanted)] + self.late
        return ordered[offset:wanted]

    def times(self) -> list[int]:
        """The events' times, ascending."""
        return self.series.times[self.low : self.settled] + [event.at for event in self.late]


@dataclass
class Bucket:
    """One bucket: its public fields and its events, sorted by ``at``."""

    public: dict[str, Any]
    apps: tuple[str, ...]
    events: list[StoredEvent] = field(default_factory=list)
    _times: list[int] = field(default_factory=list, init=False, repr=False)
    # Query -> its series, kept up to date by insert: one per event name and per (name, app)
    # from the start, others on first use.
    _series: dict[Query, Series] = field(default_factory=dict, init=False, repr=False)
    # The longest any event took to arrive: every event older than that has arrived.
    _late_ms: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.load(self.events)

    @property
    def id(self) -> str:
        """The 24-hex bucket id."""
        return self.public["_id"]

    def load(self, events: list[StoredEvent]) -> None:
        """Replace the events with ``events``, sorted once (stable: ties keep their order)."""
        events.sort(key=_at)
        self.events, self._times = events, [event.at for event in events]
        self._series = {}
        for event in events:
            for query in self._indexed(event):
                self._series[query].append(event)
        self._late_ms = max((event.arrived_ms - event.at for event in events), default=0)

    def insert(self, event: StoredEvent) -> None:
        """Store an event in time order."""
        index = bisect.bisect_right(self._times, event.at)
        self._times.insert(index, event.at)
        self.events.insert(index, event)
        self._indexed(event)
        for query, series in list(self._series.items()):  # a request may add a query meanwhile
            if _answers(event, query):
                series.insert(event)
        self._late_ms = max(self._late_ms, event.arrived_ms - event.at)

    def clear(self) -> None:
        """Delete every event."""
        self.load([])

    def remove_event_key(self, app: str, name: str) -> list[StoredEvent]:
        """Delete every event of ``name`` from ``app`` (eventsKeysByApp then lists the pair no
        more); the removed events."""
        removed = [e for e in self.events if e.app == app and e.document["name"] == name]
        self.load([e for e in self.events if not (e.app == app and e.document["name"] == name)])
        return removed

    def restore_events(self, events: list[StoredEvent]) -> None:
        """Bring back removed events."""
        self.load(self.events + events)

    def visible(self, now_ms: int, first_ms: int, last_ms: int) -> list[StoredEvent]:
        """Events with ``first_ms <= at <= last_ms`` that have arrived by ``now_ms``."""
        low = bisect.bisect_left(self._times, first_ms)
        high = bisect.bisect_right(self._times, last_ms)
        return [e for e in self.events[low:high] if e.arrived_ms <= now_ms]

    def window(self, query: Query, now_ms: int, first_ms: int, last_ms: int) -> Window:
        """The events answering ``query`` with ``first_ms <= at <= last_ms``, arrived by
        ``now_ms``: found by bisection, only the last minutes filtered on arrival."""
        series = self._series_for(query)
        times = series.times
        low = bisect.bisect_left(times, first_ms)
        high = bisect.bisect_right(times, last_ms, lo=low)
        settled = bisect.bisect_right(times, now_ms - self._late_ms, lo=low, hi=high)
        late = [e for e in series.events[settled:high] if e.arrived_ms <= now_ms]
        return Window(series, low, settled, late)

    def counts(self, now_ms: int) -> dict[tuple[str, str], int]:
        """(app, event name) -> events arrived by ``now_ms`` with ``at <= now_ms``, if any."""
        counts = {
            (app, name): len(self.window((name, app, None), now_ms, 0, now_ms))
            for name, app, server in list(self._series)
            if app is not None and server is None
        }
        return {pair: count for pair, count in counts.items() if count}

    def _indexed(self, event: StoredEvent) -> tuple[Query, Query]:
        """The queries always indexed that ``event`` answers, their series created if new."""
        name = event.document["name"]
        queries = (name, None, None), (name, event.app, None)
        for query in queries:
            self._series.setdefault(query, Series())
        return queries

    def _series_for(self, query: Query) -> Series:
        name, app, _ = query
        try:
            hash(query)
        except TypeError:  # a filter given as a JSON list or object: no event has it
            return Series()
        if (name, None, None) not in self._series:
            return Series()  # a name no event has: not kept, or unknown names would pile up
        if query not in self._series:
            wider = self._series.get((name, app, None), self._series[(name, None, None)])
            narrowed = Series()
            for event in wider.events:
                if _answers(event, query):
                    narrowed.append(event)
            self._series[query] = narrowed
        return self._series[query]


def _at(event: StoredEvent) -> int:
    return event.at


@dataclass
class Pm2Dataset:
    """Buckets with apps, servers and events spread before (and a little after) an anchor."""

    seed: int
    buckets: list[Bucket]
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        events: int = 600,
        *,
        buckets: int = 2,
        anchor: datetime | None = None,
        days: int = 10,
        future_days: int = 2,
    ) -> Pm2Dataset:
        """``events`` per bucket over ``days`` before ``anchor`` and ``future_days`` after."""
        rng = random.Random(seed)
        anchor = anchor or datetime.now(timezone.utc)
        dataset = cls(seed, [], _rng=rng)
        for index in range(buckets):
            apps = tuple(sorted(APPS)) if index == 0 else tuple(sorted(rng.sample(list(APPS), 2)))
            public = {
                "_id": _hex(rng, 24),
                "name": BUCKET_NAMES[index % len(BUCKET_NAMES)],
                "public_id": "".join(rng.choice(PUBLIC_ID_ALPHABET) for _ in range(15)),
                "secret_id": _hex(rng, 15),
                "credits": {"offer_type": rng.choice(["free", "pro"])},
                "created_at": (anchor - timedelta(days=400 + index)).isoformat(),
            }
            dataset.buckets.append(Bucket(public, apps))
        first_ms = _millis(anchor - timedelta(days=days))
        span_ms = (days + future_days) * DAY_MS
        with collector_paused():
            for bucket in dataset.buckets:
                # Made in time order, the events lie in memory in the order listings read.
                times = sorted(rng.randrange(first_ms, first_ms + span_ms) for _ in range(events))
                bucket.load([dataset._event(bucket, at_ms) for at_ms in times])
        return dataset

    def bucket(self, bucket_id: str) -> Bucket | None:
        """The bucket with this id, if any."""
        return next((b for b in self.buckets if b.id == bucket_id), None)

    def remove_bucket(self, bucket_id: str) -> Bucket | None:
        """Delete a bucket (with its events); the removed one, or None."""
        bucket = self.bucket(bucket_id)
        if bucket is not None:
            self.buckets.remove(bucket)
        return bucket

    def restore_bucket(self, bucket: Bucket) -> None:
        """Bring back a removed bucket."""
        self.buckets.append(bucket)

    def add_event(
        self,
        bucket: Bucket,
        at: datetime,
        *,
        app: str | None = None,
        name: str | None = None,
        late_minutes: float | None = None,
    ) -> dict[str, Any]:
        """A new event at ``at``; ``late_minutes`` after ``at`` it becomes visible."""
        event = self._event(bucket, _millis(at), app=app, name=name, late_minutes=late_minutes)
        bucket.insert(event)
        return event.document

    def _event(
        self,
        bucket: Bucket,
        at_ms: int,
        *,
        app: str | None = None,
        name: str | None = None,
        late_minutes: float | None = None,
    ) -> StoredEvent:
        rng = self._rng
        app = app or rng.choice(bucket.apps)
        name = name or rng.choice(APPS[app])
        if late_minutes is None:
            late = rng.random() < LATE_SHARE
            late_minutes = rng.uniform(*LATE_DELAY_MINUTES) if late else rng.uniform(0, 0.05)
        document = {
            "name": name,
            "data": self._data(name),
            "process": {
                "pm_id": rng.randint(0, 7),
                "name": app,
                "rev": _hex(rng, 40) if rng.random() < 0.8 else None,
                "server": rng.choice(SERVERS[app]),
            },
            "at": at_ms,
        }
        return StoredEvent(document, at_ms + round(late_minutes * MINUTE_MS))

    def _data(self, name: str) -> dict[str, Any]:
        rng = self._rng
        data: dict[str, Any] = {"request_id": _hex(rng, 16)}
        if name.startswith("user:"):
            data |= {"plan": rng.choice(PLANS), "country": rng.choice(COUNTRIES)}
        elif name.startswith("job:") or name == "queue:drained":
            data |= {"queue": rng.choice(["mail", "billing", "export"]), "ms": rng.randint(5, 9000)}
        elif name == "payment:failed":
            data |= {"amount": round(rng.uniform(1, 500), 2), "currency": "EUR", "retry": True}
        else:
            data |= {
                "path": rng.choice(["/", "/cart", "/search"]),
                "tags": ["a", "b"][: rng.randint(0, 2)],
            }
        return data
