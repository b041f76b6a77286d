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
    # Process events, deployments and exceptions (the default: none).
    incidents: Incidents = field(default_factory=lambda: Incidents())

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
        exceptions: int = 40,
    ) -> Pm2Dataset:
        """``events`` and ``exceptions`` (occurrences) per bucket over ``days`` before
        ``anchor`` and ``future_days`` after."""
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
                # An rng of their own: the custom events stay what they were without them.
                own = random.Random(f"{seed}:{bucket.id}")
                bucket.incidents = generate_incidents(own, bucket, first_ms, span_ms, exceptions)
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

    def add_process_event(
        self, bucket: Bucket, at: datetime, *, app: str, event: str, late_minutes: float = 0
    ) -> dict[str, Any]:
        """A process event of ``app``'s first process, visible ``late_minutes`` after ``at``."""
        process = _process(app, SERVERS[app][0], 0)
        stored = process_event(
            process, event, _millis(at), manually=False, late_ms=round(late_minutes * MINUTE_MS)
        )
        bucket.incidents.process_events.append(stored)
        bucket.incidents.sort()
        return stored.document

    def deploy(self, bucket: Bucket, app: str, at: datetime) -> str:
        """A deployment of ``app`` at ``at`` (every process of it restarted); its revision."""
        previous = [d["revision"] for d in bucket.incidents.deployments if d["app_name"] == app]
        revision = add_deployment(
            self._rng, bucket.incidents, app, _millis(at), previous=(previous or [""])[-1]
        )
        bucket.incidents.sort()
        return revision

    def add_occurrence(self, bucket: Bucket, identifier: str, at: datetime) -> dict[str, Any]:
        """One more occurrence of an issue (uncaught: its process restarts)."""
        issue = bucket.incidents.issues[identifier]
        occurrence = add_occurrence(self._rng, bucket.incidents, issue, _millis(at), crash=True)
        bucket.incidents.sort()
        return occurrence.document

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


# -- what happens to the processes: restarts, exits, deployments, exceptions -------------------

ERRORS = {
    "api": (
        ("TypeError", "Cannot read properties of undefined (reading 'id')"),
        ("Error", "connect ECONNREFUSED 10.0.0.12:5432"),
        ("RangeError", "Maximum call stack size exceeded"),
    ),
    "worker": (
        ("Error", "Job 'export' timed out after 30000 ms"),
        ("SyntaxError", "Unexpected token < in JSON at position 0"),
    ),
    "web": (
        ("ReferenceError", "window is not defined"),
        ("Error", "ENOENT: no such file or directory, open '/srv/web/dist/index.html'"),
    ),
}
PROCESSES_PER_SERVER = 2  # pm_id 0 and 1 on each server of an app
CRASH_SHARE = 0.6  # uncaught exceptions: the process exits and PM2 restarts it
RESTART_DELAY_MS = 1_000


@dataclass
class Occurrence:
    """One time an exception was thrown (docs/api/pm2.md §4.8: UNVERIFIED shape)."""

    document: dict[str, Any]

    @property
    def at(self) -> int:
        """When it was thrown, epoch milliseconds."""
        return self.document["at"]


@dataclass
class Issue:
    """An exception group: the occurrences of one error of one app (``identifier``)."""

    identifier: str
    app: str
    type: str
    message: str
    occurrences: list[Occurrence] = field(default_factory=list)
    fixed: bool = False  # resolved in the dashboard: issues/list leaves it out

    def visible(self, now_ms: int) -> list[Occurrence]:
        """The occurrences thrown by ``now_ms``, oldest first."""
        return [o for o in self.occurrences if o.at <= now_ms]

    def document(self, now_ms: int) -> dict[str, Any] | None:
        """The issue as issues/list shows it at ``now_ms`` (None before its first occurrence)."""
        seen = self.visible(now_ms)
        if not seen:
            return None
        last = seen[-1].document
        return {
            "identifier": self.identifier,
            "type": self.type,
            "message": self.message,
            "stack": last["stack"],
            "app_name": self.app,
            "server_name": last["process"]["server"],
            "servers": sorted({o.document["process"]["server"] for o in seen}),
            "initiator": "node",
            "source": None,
            "tags": [],
            "first_seen": seen[0].at,
            "last_seen": last["at"],
            "occurrences": len(seen),
            "fixed": self.fixed,
        }


@dataclass
class Incidents:
    """A bucket's process events, deployments and issues, each list sorted by time.

    Process events arrive like custom events (``arrived_ms``); the rest is visible once it
    happened.
    """

    process_events: list[StoredEvent] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    issues: dict[str, Issue] = field(default_factory=dict)

    def sort(self) -> None:
        """Time order everywhere (generation and tests add out of order)."""
        self.process_events.sort(key=_at)
        self.deployments.sort(key=lambda d: d["at"])
        for issue in self.issues.values():
            issue.occurrences.sort(key=lambda o: o.at)

    def visible_process_events(self, now_ms: int, first_ms: int) -> list[StoredEvent]:
        """Arrived by ``now_ms``, with ``first_ms <= at <= now_ms``, oldest first."""
        return [
            e for e in self.process_events if first_ms <= e.at <= now_ms and e.arrived_ms <= now_ms
        ]


def generate_incidents(
    rng: random.Random, bucket: Bucket, first_ms: int, span_ms: int, occurrences: int
) -> Incidents:
    """Deployments (every process restarted, manually), and ``occurrences`` exceptions of
    the bucket's apps, each uncaught one followed by its process's exit and automatic restart."""
    incidents = Incidents()
    for app in bucket.apps:
        for kind, message in ERRORS[app]:
            identifier = _hex(rng, 32)
            incidents.issues[identifier] = Issue(identifier, app, kind, message)
        revision = _hex(rng, 40)
        for _ in range(2):
            at_ms = rng.randrange(first_ms, first_ms + span_ms)
            revision = add_deployment(rng, incidents, app, at_ms, previous=revision)
    issues = list(incidents.issues.values())
    for _ in range(occurrences):
        issue = rng.choice(issues)
        at_ms = rng.randrange(first_ms, first_ms + span_ms)
        add_occurrence(rng, incidents, issue, at_ms, crash=rng.random() < CRASH_SHARE)
    incidents.sort()
    return incidents


def _process(app: str, server: str, pm_id: int) -> dict[str, Any]:
    return {"pm_id": pm_id, "name": app, "server": server, "rev": None}


def process_event(
    process: dict[str, Any], event: str, at_ms: int, *, manually: bool, late_ms: int = 0
) -> StoredEvent:
    """A PM2 process event (``restart``, ``exit``, ...) as the backend stores it (UNVERIFIED)."""
    document = {
        "event": event,
        "manually": manually,
        "at": at_ms,
        "app_name": process["name"],
        "server_name": process["server"],
        "process": dict(process),
    }
    return StoredEvent(document, at_ms + late_ms)


def add_deployment(
    rng: random.Random, incidents: Incidents, app: str, at_ms: int, *, previous: str
) -> str:
    """A deployment of ``app`` on each of its servers, which restarts every process; the
    new revision."""
    revision = _hex(rng, 40)
    for server in SERVERS[app]:
        incidents.deployments.append(
            {
                "at": at_ms,
                "app_name": app,
                "server_name": server,
                "revision": revision,
                "prev_rev": previous,
                "branch": "main",
                "remote": "origin",
                "comment": rng.choice(("fix: retry on timeout", "feat: new checkout", "chore")),
                "type": "git",
            }
        )
        for pm_id in range(PROCESSES_PER_SERVER):
            process = _process(app, server, pm_id) | {"rev": revision}
            incidents.process_events.append(
                process_event(process, "restart", at_ms + pm_id, manually=True)
            )
    return revision


def add_occurrence(
    rng: random.Random, incidents: Incidents, issue: Issue, at_ms: int, *, crash: bool
) -> Occurrence:
    """An occurrence of ``issue``; a crash also exits and restarts its process."""
    server = rng.choice(SERVERS[issue.app])
    process = _process(issue.app, server, rng.randrange(PROCESSES_PER_SERVER))
    occurrence = Occurrence(
        {
            "_id": _hex(rng, 24),
            "identifier": issue.identifier,
            "at": at_ms,
            "type": issue.type,
            "message": issue.message,
            "stack": f"{issue.type}: {issue.message}\n    at handler (/srv/{issue.app}/index.js:"
            f"{rng.randint(10, 400)}:{rng.randint(1, 80)})",
            "uncaught": crash,
            "process": process,
        }
    )
    issue.occurrences.append(occurrence)
    if crash:
        incidents.process_events += [
            process_event(process, "exit", at_ms + 2, manually=False),
            process_event(process, "restart", at_ms + RESTART_DELAY_MS, manually=False),
        ]
    return occurrence
