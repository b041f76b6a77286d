"""A Segment workspace: destinations, their subscriptions, and delivery traffic over time.

Everything derives from a seed, so two emulators with the same seed serve the same workspace.
Traffic is a closed-form function of the minute, so the totals of any window (a minute or
fourteen days) cost the same few operations, even for tens of thousands of destinations.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

BASE62 = string.digits + string.ascii_letters
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _action(rng: random.Random, slug: str, name: str, fields: list[tuple[str, str]]) -> dict:
    return {
        "id": _id(rng),
        "slug": slug,
        "name": name,
        "description": f"{name} with the mapped fields.",
        "platform": "CLOUD",
        "hidden": False,
        "defaultTrigger": 'type = "track"' if slug != "identifyUser" else 'type = "identify"',
        "fields": [
            {
                "id": _id(rng),
                "sortOrder": order,
                "fieldKey": key,
                "label": key.replace("_", " ").title(),
                "type": kind,
                "description": f"The {key.replace('_', ' ')}.",
                "placeholder": "",
                "defaultValue": {"@path": f"$.properties.{key}"} if kind == "STRING" else None,
                "required": order == 0,
                "multiple": False,
                "choices": None,
                "dynamic": False,
                "allowNull": order != 0,
                "hidden": False,
            }
            for order, (key, kind) in enumerate(fields)
        ],
    }


def _id(rng: random.Random, length: int = 22) -> str:
    return "".join(rng.choice(BASE62) for _ in range(length))


def _catalog(rng: random.Random) -> list[dict[str, Any]]:
    """Six catalog entries with every field of DestinationMetadataV1."""
    entries = [
        ("Amplitude", "amplitude", ["Analytics"], "https://amplitude.com", []),
        (
            "Google Analytics 4",
            "google-analytics-4",
            ["Analytics"],
            "https://analytics.google.com",
            [],
        ),
        (
            "Braze",
            "braze",
            ["Email Marketing", "SMS & Push Notifications"],
            "https://braze.com",
            [],
        ),
        (
            "Webhooks (Actions)",
            "actions-webhook",
            ["Raw Data"],
            "https://segment.com",
            [
                _action(
                    rng,
                    "send",
                    "Send",
                    [("url", "STRING"), ("method", "STRING"), ("data", "OBJECT")],
                )
            ],
        ),
        (
            "Mixpanel (Actions)",
            "actions-mixpanel",
            ["Analytics"],
            "https://mixpanel.com",
            [
                _action(
                    rng, "trackEvent", "Track Event", [("event", "STRING"), ("time", "DATETIME")]
                ),
                _action(
                    rng,
                    "identifyUser",
                    "Identify User",
                    [("user_id", "STRING"), ("traits", "OBJECT")],
                ),
            ],
        ),
        (
            "Customer.io (Actions)",
            "actions-customerio",
            ["Email Marketing"],
            "https://customer.io",
            [
                _action(
                    rng,
                    "createUpdatePerson",
                    "Create or Update Person",
                    [("id", "STRING"), ("email", "STRING")],
                )
            ],
        ),
    ]
    return [_metadata(rng, *entry) for entry in entries]


def _metadata(
    rng: random.Random, name: str, slug: str, categories: list[str], website: str, actions: list
) -> dict[str, Any]:
    cdn = "https://cdn.filepicker.io/api/file/"
    metadata: dict[str, Any] = {
        "id": "".join(rng.choice("0123456789abcdef") for _ in range(24)),
        "name": name,
        "description": f"{name} receives your Segment events.",
        "slug": slug,
        "logos": {"default": cdn + _id(rng, 20), "mark": cdn + _id(rng, 20), "alt": None},
        "options": [
            {
                "name": "apiKey",
                "type": "string",
                "required": True,
                "description": f"Your {name} API key.",
                "defaultValue": "",
                "label": "API Key",
            },
            {
                "name": "sendAnonymousId",
                "type": "boolean",
                "required": False,
                "description": "Send the anonymous id as well.",
                "defaultValue": False,
                "label": "Send anonymous id",
            },
        ],
        "status": "PUBLIC" if slug != "braze" else "PUBLIC_BETA",
        "previousNames": [name.replace(" (Actions)", "")],
        "categories": categories,
        "website": website,
        "components": [
            {
                "type": "SERVER",
                "code": "https://github.com/segmentio/integrations",
                "owner": "SEGMENT",
            }
        ],
        "supportedFeatures": {
            "cloudModeInstances": "MULTIPLE" if actions else "SINGLE",
            "deviceModeInstances": "NONE",
            "replay": bool(actions),
            "browserUnbundling": False,
            "browserUnbundlingPublic": False,
        },
        "supportedMethods": dict.fromkeys(
            ("pageview", "identify", "alias", "track", "group"), True
        ),
        "supportedPlatforms": {"browser": True, "server": True, "mobile": not actions},
        "actions": actions,
        "presets": [
            {
                "actionId": action["id"],
                "name": f"{action['name']} (default)",
                "trigger": action["defaultTrigger"],
                "fields": {},
            }
            for action in actions
        ],
        "contacts": [
            {"name": "Segment", "email": "partners@segment.com", "role": "owner", "isPrimary": True}
        ],
        "partnerOwned": slug == "braze",
        "supportedRegions": ["us-west-2", "eu-west-1"],
        "regionEndpoints": ["US", "EU"],
    }
    if actions:
        metadata["multiInstanceSupportedVersion"] = "SUPPORTED"
    return metadata


@dataclass(frozen=True)
class Traffic:
    """Events per minute of one destination: a base rate plus periodic bursts.

    Every count is a sum of "every k-th minute adds n" terms, so a window's total is closed-form.
    """

    base: int  # successes every minute
    burst_every: int
    burst: int
    discard_every: int
    retry_every: int
    retried: int

    def totals(self, first_minute: int, end_minute: int) -> dict[str, int]:
        """Counts over minutes [first_minute, end_minute)."""
        minutes = max(0, end_minute - first_minute)
        bursts = _multiples(first_minute, end_minute, self.burst_every)
        discards = _multiples(first_minute, end_minute, self.discard_every)
        retries = _multiples(first_minute, end_minute, self.retry_every) * self.retried
        return {
            "successes": self.base * minutes + self.burst * bursts,
            "discarded": discards,
            "retried": retries,
        }


def _multiples(first: int, end: int, k: int) -> int:
    """How many multiples of k lie in [first, end)."""
    if end <= first:
        return 0
    return (end - 1) // k - (first - 1) // k


@dataclass
class SegmentDataset:
    """The seeded workspace."""

    seed: int
    destinations: list[dict[str, Any]]
    subscriptions: dict[str, list[dict[str, Any]]]
    traffic: dict[str, Traffic]
    catalog: list[dict[str, Any]]
    sources: list[str]
    _rng: random.Random = field(repr=False)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls, seed: int = 7, destinations: int = 8) -> SegmentDataset:
        """A workspace with ``destinations`` destinations (about one source per three)."""
        rng = random.Random(seed)
        catalog = _catalog(rng)
        sources = [_id(rng) for _ in range(max(1, destinations // 3))]
        dataset = cls(seed, [], {}, {}, catalog, sources, rng)
        for _ in range(destinations):
            dataset.add_destination()
        return dataset

    def add_destination(self) -> dict[str, Any]:
        """A new destination (with its subscriptions and traffic), deterministic per seed."""
        rng = self._rng
        metadata = rng.choice(self.catalog)
        number = len(self.destinations) + 1
        destination: dict[str, Any] = {
            "id": _id(rng),
            "name": f"{metadata['name']} ({rng.choice(['prod', 'staging', 'eu', 'web'])} {number})",
            "enabled": rng.random() < 0.85,
            "sourceId": rng.choice(self.sources),
            "settings": {
                "apiKey": "••••••••••" + _id(rng, 4).lower(),
                "sendAnonymousId": rng.random() < 0.5,
            },
            "metadata": metadata,  # shared between destinations of one type: memory stays flat
        }
        self.destinations.append(destination)
        self.by_id[destination["id"]] = destination
        self.subscriptions[destination["id"]] = self._subscriptions(destination, metadata)
        self.traffic[destination["id"]] = Traffic(
            base=rng.randint(0, 40) if destination["enabled"] else 0,
            burst_every=rng.randint(5, 17),
            burst=rng.randint(10, 200) if destination["enabled"] else 0,
            discard_every=rng.randint(30, 120) if destination["enabled"] else 10**9,
            retry_every=rng.randint(15, 90),
            retried=rng.randint(1, 5) if destination["enabled"] else 0,
        )
        return destination

    def _subscriptions(self, destination: dict, metadata: dict) -> list[dict[str, Any]]:
        rng = self._rng
        actions = metadata["actions"]
        result = []
        for n in range(rng.randint(0, 4) if actions else 0):
            action = rng.choice(actions)
            subscription: dict[str, Any] = {
                "id": _id(rng),
                "name": f"{action['name']} {n + 1}",
                "actionId": action["id"],
                "actionSlug": action["slug"],
                "destinationId": destination["id"],
                "enabled": rng.random() < 0.8,
                "settings": {
                    f["fieldKey"]: {"@path": f"$.properties.{f['fieldKey']}"}
                    for f in action["fields"]
                },
                "trigger": action["defaultTrigger"],
            }
            if rng.random() < 0.3:
                subscription["modelId"] = _id(rng)
                subscription["reverseETLSchedule"] = {
                    "strategy": "PERIODIC",
                    "config": {"interval": "1h"},
                }
            result.append(subscription)
        return result

    def remove_destination(self, destination_id: str) -> dict[str, Any] | None:
        """Delete a destination (its subscriptions go with it); the removed one, or None."""
        destination = self.by_id.pop(destination_id, None)
        if destination is not None:
            self.destinations.remove(destination)
        return destination

    def restore_destination(self, destination: dict[str, Any]) -> None:
        """Bring back a removed destination, with the subscriptions it had."""
        self.destinations.append(destination)
        self.by_id[destination["id"]] = destination

    def remove_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """Delete one subscription; the removed one, or None."""
        for subscriptions in self.subscriptions.values():
            for subscription in subscriptions:
                if subscription["id"] == subscription_id:
                    subscriptions.remove(subscription)
                    return subscription
        return None

    def restore_subscription(self, subscription: dict[str, Any]) -> None:
        """Bring back a removed subscription (to its destination)."""
        self.subscriptions.setdefault(subscription["destinationId"], []).append(subscription)

    def find(self, destination_id: str) -> dict[str, Any] | None:
        """The destination with this id, or None."""
        return self.by_id.get(destination_id)

    def subscriptions_for(self, destination_id: str) -> list[dict[str, Any]]:
        """The subscriptions of one destination."""
        return self.subscriptions.get(destination_id, [])

    def expected_metrics(
        self, destination_id: str, start: datetime, end: datetime, now: datetime
    ) -> dict[str, int]:
        """Ground truth: the totals the API reports for [start, end), counting only the past."""
        first = _minute(start)
        last = min(_minute(end), _minute(now))
        return self.traffic[destination_id].totals(first, last)


def _minute(moment: datetime) -> int:
    """Whole minutes since the epoch (a partial minute counts from its start)."""
    return int((moment - EPOCH).total_seconds() // 60)
