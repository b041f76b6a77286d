"""PM2 Plus buckets and their custom ("human") events over time.

Each event has the shape pm2.md §4.1 calls most probable: ``name``, a free-form ``data`` object,
``process`` (``pm_id``, ``name`` = app, ``rev``, ``server``) and ``at`` (epoch ms). What only the
emulator knows: when the event *arrives*. Most arrive within seconds, a few minutes late, so a
sync that has already read past ``at`` misses them unless it re-reads a look-back.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

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


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
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


@dataclass
class Bucket:
    """One bucket: its public fields and its events, sorted by ``at``."""

    public: dict[str, Any]
    apps: tuple[str, ...]
    events: list[StoredEvent] = field(default_factory=list)
    _times: list[int] = field(default_factory=list, repr=False)

    @property
    def id(self) -> str:
        """The 24-hex bucket id."""
        return self.public["_id"]

    def insert(self, event: StoredEvent) -> None:
        """Store an event in time order."""
        index = bisect.bisect_right(self._times, event.at)
        self._times.insert(index, event.at)
        self.events.insert(index, event)

    def visible(self, now_ms: int, first_ms: int, last_ms: int) -> list[StoredEvent]:
        """Events with ``first_ms <= at <= last_ms`` that have arrived by ``now_ms``."""
        low = bisect.bisect_left(self._times, first_ms)
        high = bisect.bisect_right(self._times, last_ms)
        return [e for e in self.events[low:high] if e.arrived_ms <= now_ms]


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
                "public_id": "".join(
                    rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15)
                ),
                "secret_id": _hex(rng, 15),
                "credits": {"offer_type": rng.choice(["free", "pro"])},
                "created_at": (anchor - timedelta(days=400 + index)).isoformat(),
            }
            dataset.buckets.append(Bucket(public, apps))
        start = anchor - timedelta(days=days)
        span = timedelta(days=days + future_days).total_seconds()
        for bucket in dataset.buckets:
            for _ in range(events):
                dataset.add_event(bucket, start + timedelta(seconds=rng.uniform(0, span)))
        return dataset

    def bucket(self, bucket_id: str) -> Bucket | None:
        """The bucket with this id, if any."""
        return next((b for b in self.buckets if b.id == bucket_id), None)

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
            "at": _millis(at),
        }
        arrived = _millis(at + timedelta(minutes=late_minutes))
        bucket.insert(StoredEvent(document, arrived))
        return document

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
