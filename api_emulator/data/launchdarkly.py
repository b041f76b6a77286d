"""A LaunchDarkly project: environments, flags, and flag events over time.

Events carry what the API shows (launchdarkly.md §3) plus what only the emulator knows: which
applications an event touched, and the impact it settles on ten minutes after it happened.
Events lie in the past and in the near future of the anchor, so a test that moves the clock
forward sees new events arrive.
"""

from __future__ import annotations

import bisect
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

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
FLAGS = (
    "enable-new-payment-method", "checkout-redesign", "search-v2", "dark-mode",
    "beta-banner", "recommendations-model-b", "rate-limit-tuning", "new-onboarding",
    "mobile-upsell", "geo-pricing",
)  # fmt: skip
APPLICATIONS = ("web-app", "ios-app", "android-app", "checkout-service", "search-service")
MEMBERS = (
    ("Ariel", "Flores"), ("Mina", "Okafor"), ("Jonas", "Berg"), ("Priya", "Raman"),
    ("Leo", "Costa"),
)  # fmt: skip
IMPACT_DELAY = timedelta(minutes=10)  # impact covers the ten minutes after the event


def _hex24(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class FlagEvent:
    """One flag event: the public fields, and the emulator's hidden ones."""

    public: dict[str, Any]
    applications: tuple[str, ...]
    settled_impact: dict[str, Any]
    experiments: dict[str, Any] | None

    @property
    def key(self) -> tuple[int, str]:
        """Sort key: (eventTime, id)."""
        return (self.public["eventTime"], self.public["id"])

    @property
    def is_global(self) -> bool:
        """Global events are not scoped to an environment."""
        return "environmentKey" not in self.public

    def render(self, now: datetime, *, expand_experiments: bool) -> dict[str, Any]:
        """The event as the API shows it at ``now``: impact is "waiting" for ten minutes."""
        shown = dict(self.public)
        if self.is_global:
            shown["impact"] = {"size": "none", "percentage": 0, "reason": "global"}
        elif _millis(now) < self.public["eventTime"] + IMPACT_DELAY.total_seconds() * 1000:
            shown["impact"] = {"size": "none", "percentage": 0, "reason": "waiting"}
        else:
            shown["impact"] = self.settled_impact
        if expand_experiments:
            shown["experiments"] = self.experiments or {"totalCount": 0, "items": []}
        return shown


@dataclass
class LaunchDarklyDataset:
    """One project with a few environments and their flag events, sorted by (eventTime, id)."""

    seed: int
    project: dict[str, str]
    environments: dict[str, str]  # key -> id
    events: list[FlagEvent] = field(default_factory=list)
    _keys: list[tuple[int, str]] = field(default_factory=list, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def generate(
        cls,
        seed: int = 7,
        events: int = 200,
        *,
        anchor: datetime | None = None,
        days: int = 30,
        future_days: int = 3,
    ) -> LaunchDarklyDataset:
        """``events`` events spread over ``days`` before ``anchor`` and ``future_days`` after."""
        rng = random.Random(seed)
        anchor = anchor or datetime.now(timezone.utc)
        project = {"id": _hex24(rng), "key": "default"}
        environments = {key: _hex24(rng) for key in ("production", "staging", "test")}
        dataset = cls(seed, project, environments, _rng=rng)
        start = anchor - timedelta(days=days)
        span = timedelta(days=days + future_days).total_seconds()
        for _ in range(events):
            dataset.add_event(start + timedelta(seconds=rng.uniform(0, span)))
        return dataset

    def add_event(
        self, at: datetime, *, environment: str | None = None, is_global: bool | None = None
    ) -> dict[str, Any]:
        """A new event at ``at`` (random environment unless given); returns its public fields."""
        rng = self._rng
        is_global = rng.random() < 0.08 if is_global is None else is_global
        event_type = rng.choice(EVENT_TYPES)
        public: dict[str, Any] = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "projectId": self.project["id"],
            "projectKey": self.project["key"],
            "flagKey": rng.choice(FLAGS),
            "eventType": event_type,
            "eventTime": _millis(at),
            "description": event_type.replace("_", " ").capitalize(),
            "auditLogEntryId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "actions": ACTIONS[event_type],
        }
        if not is_global:
            key = environment or rng.choice(list(self.environments))
            public["environmentKey"], public["environmentId"] = key, self.environments[key]
        if rng.random() < 0.9:  # a few changes come from integrations, not members
            first, last = rng.choice(MEMBERS)
            public["member"] = {
                "id": _hex24(rng),
                "email": f"{first.lower()}@acme.example",
                "firstName": first,
                "lastName": last,
            }
        event = FlagEvent(public, self._applications(), self._impact(), self._experiments(at))
        index = bisect.bisect(self._keys, event.key)
        self._keys.insert(index, event.key)
        self.events.insert(index, event)
        return public

    def between(self, first_ms: int, last_ms: int) -> list[FlagEvent]:
        """Events with ``first_ms <= eventTime <= last_ms``, ascending by (eventTime, id)."""
        low = bisect.bisect_left(self._keys, (first_ms, ""))
        high = bisect.bisect_right(self._keys, (last_ms, "\uffff"))
        return self.events[low:high]

    def _applications(self) -> tuple[str, ...]:
        return tuple(sorted(self._rng.sample(APPLICATIONS, self._rng.randint(1, 2))))

    def _impact(self) -> dict[str, Any]:
        rng = self._rng
        before_true, after_true = rng.randint(0, 5000), rng.randint(0, 5000)
        total_after = after_true + rng.randint(0, 5000)
        share_before = before_true / max(1, before_true + rng.randint(0, 5000))
        change = abs(after_true / max(1, total_after) - share_before) * 100
        size = (
            "none"
            if change == 0
            else "small"
            if change < 20
            else "medium"
            if change <= 80
            else "large"
        )
        return {
            "size": size,
            "percentage": round(change, 2),
            "reason": "evaluations",
            "evaluationsSummary": {
                "variations": [
                    {"value": True, "before": before_true, "after": after_true},
                    {
                        "value": False,
                        "before": rng.randint(0, 5000),
                        "after": total_after - after_true,
                    },
                ]
            },
        }

    def _experiments(self, at: datetime) -> dict[str, Any] | None:
        rng = self._rng
        if rng.random() >= 0.2:
            return None
        started = at - timedelta(days=rng.randint(1, 20))
        iteration: dict[str, Any] = {
            "id": _hex24(rng),
            "status": rng.choice(["running", "stopped"]),
            "startedAt": _millis(started),
            "_links": {},
        }
        if iteration["status"] == "stopped":
            iteration["endedAt"] = _millis(at + timedelta(days=1))
        number = rng.randint(1, 9)
        item = {
            "key": f"experiment-{number}",
            "name": f"Experiment {number}",
            "iteration": iteration,
            "_links": {},
        }
        return {"totalCount": 1, "items": [item]}
