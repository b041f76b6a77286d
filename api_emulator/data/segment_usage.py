"""A Segment workspace's usage, event volume, audit trail and delivery overview, over time.

Nothing here is invented beside the destinations: every count derives from the closed-form
minute traffic of :mod:`api_emulator.data.segment` (``Traffic``), so any window, bucket or
usage day costs a few operations and the figures of one endpoint agree with another's:

- ``successful-delivery`` / ``failed-delivery`` of a destination are its delivery-metrics
  ``successes`` / ``discarded`` for the same window; ``filtered-at-destination`` counts its bursts.
- A source receives (``successfully-received``) what its destinations were sent (the sum over
  them of successes, discards and filtered events); that is also its event volume and its API
  calls; ``failed-on-ingest`` is one event in every FAILED_INGEST_EVERY minutes, and
  ``filtered-at-source`` one in every FILTERED_AT_SOURCE_EVERY.
- A source's MTUs of a day are a fixed share of what it received that day, cumulated over the
  usage month (a user counts once per month).

Group-bys split a bucket's count over fixed dimension values by weight (the remainder goes to
the first value), so the groups of a bucket always add up to its count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api_emulator.data.segment import BASE62, SegmentDataset, _minute, _multiples

FAILED_INGEST_EVERY = 240
FILTERED_AT_SOURCE_EVERY = 60
SOURCE_STAGES = ("successfully-received", "failed-on-ingest", "filtered-at-source")
DESTINATION_STAGES = ("filtered-at-destination", "successful-delivery", "failed-delivery")

#: Dimension -> (value, weight) pairs a bucket's count is split over. ``discardReason`` depends
#: on the stage; failed deliveries split as the delivery-metrics breakdown does (a third
#: unauthorized, the rest bad requests).
DIMENSIONS: dict[str, tuple[tuple[str, int], ...]] = {
    "eventType": (("track", 6), ("identify", 3), ("page", 1)),
    "eventName": (("Order Completed", 5), ("Product Viewed", 3), ("Signed Up", 2)),
    "appVersion": (("2.5.1", 3), ("2.4.0", 1)),
}
DISCARD_REASONS: dict[str, tuple[tuple[str, int], ...]] = {
    "failed-on-ingest": (("invalid_payload", 1),),
    "filtered-at-source": (("tracking_plan_blocked", 1),),
    "filtered-at-destination": (("destination_filter", 1),),
    "successful-delivery": (("successes.attempt.1", 1),),
    "failed-delivery": (("bad_request", 2), ("unauthorized", 1)),
}
MTU_SHARES = {"identified": 40, "anonymous": 25, "anonymousIdentified": 100, "neverIdentified": 50}
AUDIT_TYPES = (
    ("Destination Modified", "destination"),
    ("Destination Enabled", "destination"),
    ("Source Settings Modified", "source"),
    ("Tracking Plan Modified", "tracking_plan"),
)


def source_ids(dataset: SegmentDataset) -> list[str]:
    """The workspace's sources: those its destinations are connected to."""
    return sorted({destination["sourceId"] for destination in dataset.destinations})


def destinations_by_source(dataset: SegmentDataset) -> dict[str, list[str]]:
    """Each source's destinations (ids), for counting a source in one pass."""
    grouped: dict[str, list[str]] = {source: [] for source in source_ids(dataset)}
    for destination in dataset.destinations:
        grouped[destination["sourceId"]].append(destination["id"])
    return grouped


def split(count: int, values: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    """``count`` shared by weight; the rounding remainder goes to the first value."""
    weight = sum(w for _, w in values)
    shares = [(value, count * w // weight) for value, w in values]
    first_value, first_share = shares[0]
    return [(first_value, first_share + count - sum(s for _, s in shares)), *shares[1:]]


def destination_counts(
    dataset: SegmentDataset, destination_id: str, start: datetime, end: datetime, now: datetime
) -> dict[str, int]:
    """The destination stages' counts over [start, end), the past only."""
    totals = dataset.expected_metrics(destination_id, start, end, now)
    traffic = dataset.traffic[destination_id]
    first, last = _minute(start), min(_minute(end), _minute(now))
    filtered = _multiples(first, last, traffic.burst_every) if traffic.base else 0
    return {
        "filtered-at-destination": filtered,
        "successful-delivery": totals["successes"],
        "failed-delivery": totals["discarded"],
    }


def source_counts(
    dataset: SegmentDataset, destinations: list[str], start: datetime, end: datetime, now: datetime
) -> dict[str, int]:
    """The source stages' counts over [start, end), the past only, of a source with these
    ``destinations`` (see :func:`destinations_by_source`)."""
    first, last = _minute(start), min(_minute(end), _minute(now))
    received = sum(
        sum(destination_counts(dataset, destination, start, end, now).values())
        for destination in destinations
    )
    return {
        "successfully-received": received,
        "failed-on-ingest": _multiples(first, last, FAILED_INGEST_EVERY),
        "filtered-at-source": _multiples(first, last, FILTERED_AT_SOURCE_EVERY),
    }


def day_usage(
    dataset: SegmentDataset, destinations: list[str], day: datetime, now: datetime
) -> dict[str, int]:
    """One source's own API calls and new MTUs of one day (so far, if the day is today)."""
    received = source_counts(dataset, destinations, day, day + timedelta(days=1), now)
    calls = received["successfully-received"]
    return {"apiCalls": calls, **{kind: calls // share for kind, share in MTU_SHARES.items()}}


def source_reference(source_id: str) -> dict[str, str]:
    """How event volume names a source (EventSourceV1)."""
    slug = f"source-{source_id[:6].lower()}"
    return {"id": source_id, "name": slug.replace("-", " ").title(), "slug": slug}


@dataclass(frozen=True)
class AuditEvent:
    """One seeded Audit Trail event (AuditEventV1)."""

    id: str
    timestamp: datetime
    body: dict[str, Any]


def audit_events(dataset: SegmentDataset, anchor: datetime, count: int) -> list[AuditEvent]:
    """``count`` events spread over the 30 days before ``anchor``, newest first."""
    rng = random.Random(f"audit:{dataset.seed}")
    resources = {
        "destination": [(d["id"], d["name"]) for d in dataset.destinations],
        "source": [(s, source_reference(s)["name"]) for s in source_ids(dataset)],
        "tracking_plan": [("tp_" + "".join(rng.choice(BASE62) for _ in range(20)), "Main")],
    }
    events = []
    for _ in range(count):
        kind, resource_type = rng.choice(AUDIT_TYPES)
        resource_id, resource_name = rng.choice(resources[resource_type] or [("none", "none")])
        moment = anchor - timedelta(seconds=rng.randint(0, 30 * 86400))
        event_id = "".join(rng.choice(BASE62) for _ in range(27))
        actor = rng.choice(("ada", "grace", "linus"))
        events.append(
            AuditEvent(
                event_id,
                moment,
                {
                    "id": event_id,
                    "timestamp": moment.isoformat().replace("+00:00", "Z"),
                    "type": kind,
                    "actor": f"user/{actor}",
                    "actorEmail": f"{actor}@example.com",
                    "resourceId": resource_id,
                    "resourceType": resource_type,
                    "resourceName": resource_name,
                },
            )
        )
    return sorted(events, key=lambda e: (e.timestamp, e.id), reverse=True)
