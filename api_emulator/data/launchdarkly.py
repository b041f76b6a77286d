"""A LaunchDarkly project: environments, flags, and flag events over time.

Events carry what the API shows (docs/api/launchdarkly.md §3) plus what only the emulator knows:
which applications an event touched, and the impact it settles on ten minutes after it happened.
Events lie in the past and in the near future of the anchor, so a test that moves the clock
forward sees new events arrive.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from api_emulator.data import collector_paused

EVENT_TYPES = (
    "enabled_targeting", "disabled_targeting", "updated_rollout", "updated_rules",
    "updated_fallthrough", "added_prerequisite", "created_flag",
)  # fmt: skip
ACTIONS = {
    "enabled_targeting": ["updateOn"],
    "disabled_targeting": ["updateOn"],
    "updated_rollout": ["updateFallthrough"],
    "updated_rules": ["updateRules"],
    "updated_fallthrough": ["updateFallthrough"],
    "added_prerequisite": ["updatePrerequisites"],
    "created_flag": ["createFlag"],
}
DESCRIPTIONS = {kind: kind.replace("_", " ").capitalize() for kind in EVENT_TYPES}
FLAGS = (
    "enable-new-payment-method", "checkout-redesign", "search-v2", "dark-mode",
    "beta-banner", "recommendations-model-b", "rate-limit-tuning", "new-onboarding",
    "mobile-upsell", "geo-pricing",
)  # fmt: skip
APPLICATIONS = ("web-app", "ios-app", "android-app", "checkout-service", "search-service")
# An event touches one application or two, either count as likely; tuples shared by events.
APPLICATION_SETS = (
    tuple((app,) for app in sorted(APPLICATIONS)),
    tuple(itertools.combinations(sorted(APPLICATIONS), 2)),
)
MEMBERS = (
    ("Ariel", "Flores"), ("Mina", "Okafor"), ("Jonas", "Berg"), ("Priya", "Raman"),
    ("Leo", "Costa"),
)  # fmt: skip
MEMBER_FIELDS = tuple(
    {
        # A member keeps one id: the audit log and the member listing name the same person.
        "id": hashlib.sha256(first.encode()).hexdigest()[:24],
        "email": f"{first.lower()}@acme.example",
        "firstName": first,
        "lastName": last,
    }
    for first, last in MEMBERS
)
IMPACT_DELAY = timedelta(minutes=10)  # impact covers the ten minutes after the event
GLOBAL_SHARE = 0.08
DAY_MS = 86_400_000
# UUID version 4: the version nibble is 4 and the variant bits are 10 (RFC 4122).
UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _hex24(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _uuid4(rng: random.Random) -> str:
    # What str(uuid.UUID(int=..., version=4)) gives, without building a UUID object.
    digits = f"{rng.getrandbits(128) & UUID_CLEAR | UUID_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _count(rng: random.Random) -> int:
    """An evaluation count, 0 to 5000: ``randint`` costs four times more, four times an event."""
    return int(rng.random() * 5001)


def _size(change: float) -> str:
    """Impact size of a change in the share of users served true, in points
    (docs/api/launchdarkly.md)."""
    if change == 0:
        return "none"
    return "small" if change < 20 else "medium" if change <= 80 else "large"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(slots=True)
class FlagEvent:
    """One flag event: the public fields, and the emulator's hidden ones."""

    public: dict[str, Any]
    applications: tuple[str, ...]
    # Users served true, then false, in the ten minutes before the event, then in the ten
    # after: four numbers, not the impact's nested dicts (a gigabyte over a million events).
    evaluations: tuple[int, int, int, int]
    experiments: dict[str, Any] | None

    @property
    def key(self) -> tuple[int, str]:
        """Sort key: (eventTime, id)."""
        return (self.public["eventTime"], self.public["id"])

    @property
    def is_global(self) -> bool:
        """Global events are not scoped to an environment."""
        return "environmentKey" not in self.public

    @property
    def settled_impact(self) -> dict[str, Any]:
        """The impact shown once the ten minutes after the event are over."""
        true_before, false_before, true_after, false_after = self.evaluations
        share_before = true_before / max(1, true_before + false_before)
        change = abs(true_after / max(1, true_after + false_after) - share_before) * 100
        return {
            "size": _size(change),
            "percentage": round(change, 2),
            "reason": "evaluations",
            "evaluationsSummary": {
                "variations": [
                    {"value": True, "before": true_before, "after": true_after},
                    {"value": False, "before": false_before, "after": false_after},
                ]
            },
        }

    def impact(self, now_ms: int) -> dict[str, Any]:
        """The impact shown at ``now_ms``: "global" or, for ten minutes, "waiting" (size none)."""
        if self.is_global:
            return {"size": "none", "percentage": 0, "reason": "global"}
        if now_ms < self.public["eventTime"] + IMPACT_DELAY.total_seconds() * 1000:
            return {"size": "none", "percentage": 0, "reason": "waiting"}
        return self.settled_impact

    def render(self, now: datetime, *, expand_experiments: bool) -> dict[str, Any]:
        """The event as the API shows it at ``now``."""
        shown = dict(self.public)
        shown["impact"] = self.impact(_millis(now))
        if expand_experiments:
            shown["experiments"] = self.experiments or {"totalCount": 0, "items": []}
        return shown


def _key(event: FlagEvent) -> tuple[int, str]:
    return event.key


def _time(event: FlagEvent) -> int:
    return event.public["eventTime"]


def span(events: list[FlagEvent], first_ms: int, last_ms: int) -> tuple[int, int]:
    """``(low, high)``: ``events[low:high]`` have ``first_ms <= eventTime <= last_ms``.

    ``events`` must be sorted by (eventTime, id), as every list the dataset hands out is.
    """
    low = bisect.bisect_left(events, first_ms, key=_time)
    return low, bisect.bisect_right(events, last_ms, lo=low, key=_time)


def position(events: list[FlagEvent], event: FlagEvent, low: int, high: int) -> int | None:
    """Where ``event`` stands in the sorted ``events[low:high]`` (absolute index), if there."""
    index = bisect.bisect_left(events, event.key, low, high, key=_key)
    return index if index < high and events[index] is event else None


@dataclass
class LaunchDarklyDataset:
    """One project with a few environments and their flag events, sorted by (eventTime, id)."""

    seed: int
    project: dict[str, str]
    environments: dict[str, str]  # key -> id
    events: list[FlagEvent] = field(default_factory=list)
    flag_keys: tuple[str, ...] = FLAGS
    anchor: datetime | None = None  # the "now" the data was generated around
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    # What a listing reads, kept up to date by add_event: (environment, with the global
    # events or not) -> those events, and id -> event (pagination cursors).
    _scoped: dict[tuple[str, bool], list[FlagEvent]] = field(
        default_factory=dict, init=False, repr=False
    )
    _by_id: dict[str, FlagEvent] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._load(self.events)

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        events: int = 200,
        *,
        anchor: datetime | None = None,
        days: int = 30,
        future_days: int = 3,
        environments: int = 3,
        project_key: str = "default",
        flag_keys: tuple[str, ...] = FLAGS,
    ) -> LaunchDarklyDataset:
        """``events`` events spread over ``days`` before ``anchor`` and ``future_days`` after,
        in ``environments`` environments: production, staging, test, then environment-4 on."""
        rng = random.Random(seed)
        anchor = anchor or datetime.now(timezone.utc)
        project = {"id": _hex24(rng), "key": project_key}
        named = ("production", "staging", "test")
        keys = named[:environments] + tuple(
            f"environment-{number}" for number in range(len(named) + 1, environments + 1)
        )
        dataset = cls(
            seed,
            project,
            {key: _hex24(rng) for key in keys},
            flag_keys=flag_keys,
            anchor=anchor,
            _rng=rng,
        )
        first_ms = _millis(anchor - timedelta(days=days))
        span_ms = (days + future_days) * DAY_MS
        with collector_paused():
            # Made in time order, the events lie in memory in the order every listing reads.
            times = sorted(rng.randrange(first_ms, first_ms + span_ms) for _ in range(events))
            dataset._load([dataset._event(at_ms) for at_ms in times])
        return dataset

    def add_event(
        self, at: datetime, *, environment: str | None = None, is_global: bool | None = None
    ) -> dict[str, Any]:
        """A new event at ``at`` (random environment unless given); returns its public fields."""
        event = self._event(_millis(at), environment, is_global)
        bisect.insort(self.events, event, key=_key)
        for (key, with_global), scoped in self._scoped.items():
            if event.public.get("environmentKey") in ((key, None) if with_global else (key,)):
                bisect.insort(scoped, event, key=_key)
        self._by_id[event.public["id"]] = event
        return event.public

    def between(self, first_ms: int, last_ms: int) -> list[FlagEvent]:
        """Events with ``first_ms <= eventTime <= last_ms``, ascending by (eventTime, id)."""
        low, high = span(self.events, first_ms, last_ms)
        return self.events[low:high]

    def in_environment(self, key: str, *, with_global: bool = True) -> list[FlagEvent]:
        """The environment's events (and the global ones), sorted by (eventTime, id).

        The dataset's own list, kept sorted as events are added: read it, do not change it.
        """
        return self._scoped[key, with_global]

    def find(self, event_id: str) -> FlagEvent | None:
        """The event with this id, if any."""
        return self._by_id.get(event_id)

    def _load(self, events: list[FlagEvent]) -> None:
        """Sort ``events`` once (inserting each in place is quadratic) and index them."""
        events.sort(key=_key)
        self.events = events
        self._scoped = {}
        for key in self.environments:
            self._scoped[key, True] = [
                e for e in events if e.public.get("environmentKey") in (key, None)
            ]
            self._scoped[key, False] = [e for e in events if e.public.get("environmentKey") == key]
        self._by_id = {event.public["id"]: event for event in events}

    def _event(
        self, at_ms: int, environment: str | None = None, is_global: bool | None = None
    ) -> FlagEvent:
        rng = self._rng
        is_global = rng.random() < GLOBAL_SHARE if is_global is None else is_global
        event_type = rng.choice(EVENT_TYPES)
        public: dict[str, Any] = {
            "id": _uuid4(rng),
            "projectId": self.project["id"],
            "projectKey": self.project["key"],
            "flagKey": rng.choice(self.flag_keys),
            "eventType": event_type,
            "eventTime": at_ms,
            "description": DESCRIPTIONS[event_type],
            "auditLogEntryId": _uuid4(rng),
            "actions": ACTIONS[event_type],
        }
        if not is_global:
            key = environment or rng.choice(tuple(self.environments))
            public["environmentKey"], public["environmentId"] = key, self.environments[key]
        if rng.random() < 0.9:  # a few changes come from integrations, not members
            rng.getrandbits(96)  # release 0.1.0 drew a member id here: seeded data stay the same
            public["member"] = dict(rng.choice(MEMBER_FIELDS))
        applications = rng.choice(APPLICATION_SETS[rng.random() < 0.5])
        evaluations = (_count(rng), _count(rng), _count(rng), _count(rng))
        return FlagEvent(public, applications, evaluations, self._experiments(at_ms))

    def _experiments(self, at_ms: int) -> dict[str, Any] | None:
        rng = self._rng
        if rng.random() >= 0.2:
            return None
        iteration: dict[str, Any] = {
            "id": _hex24(rng),
            "status": rng.choice(["running", "stopped"]),
            "startedAt": at_ms - rng.randint(1, 20) * DAY_MS,
            "_links": {},
        }
        if iteration["status"] == "stopped":
            iteration["endedAt"] = at_ms + DAY_MS
        number = rng.randint(1, 9)
        item = {
            "key": f"experiment-{number}",
            "name": f"Experiment {number}",
            "iteration": iteration,
            "_links": {},
        }
        return {"totalCount": 1, "items": [item]}
