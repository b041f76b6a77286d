"""A LaunchDarkly account around its flag events: projects, environments, flags, segments,
metrics, members, teams and the audit log (docs/api/launchdarkly.md §10).

Everything a flag event names exists: its project, environment, flag and member. Each flag
event's change is also an audit-log entry (``auditLogEntryId`` is the entry's ``_id``, at the
same instant), so the audit log is derived from the events, never copied: a bench of a million
events costs no extra memory. A few entries for other resources (members, projects) come on
top. Environments carry an SDK key and a mobile key, credentials to LaunchDarkly itself, which
``secrets`` hands to the suite's scan.
"""

from __future__ import annotations

import bisect
import fnmatch
import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from api_emulator.data.launchdarkly import (
    MEMBER_FIELDS,
    FlagEvent,
    LaunchDarklyDataset,
    _hex24,
    _millis,
    _uuid4,
    span,
)

# The second project every account has: mobile apps, two environments, a few events.
MOBILE_FLAGS = ("ios-paywall", "android-paywall", "push-reminders")
MOBILE_EVENTS = 24
TEAMS = (("platform", "Platform"), ("growth", "Growth"))
COLORS = ("417505", "F5A623", "4A90E2", "9013FE")
ROLES = ("owner", "admin", "writer", "reader", "writer")


def _link(href: str) -> dict[str, Any]:
    return {"self": {"href": href, "type": "application/json"}}


@dataclass
class AuditEntry:
    """An audit-log entry that is not a flag event's (sorted with them by (date, id))."""

    date: int
    id: str
    body: dict[str, Any]


@dataclass
class LaunchDarklyAccount:
    """Projects (each a :class:`LaunchDarklyDataset` with its resources), members and teams."""

    id: str
    projects: dict[str, LaunchDarklyDataset]
    environments: dict[str, list[dict[str, Any]]]  # project key -> environment records
    flags: dict[str, list[dict[str, Any]]]  # project key -> flags
    segments: dict[tuple[str, str], list[dict[str, Any]]]  # (project, environment) -> segments
    metrics: dict[str, list[dict[str, Any]]]  # project key -> metrics
    members: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    other_audit: list[AuditEntry] = field(default_factory=list)  # sorted by (date, id)

    @classmethod
    def around(cls, dataset: LaunchDarklyDataset) -> LaunchDarklyAccount:
        """``dataset`` as the first project, a small ``mobile`` project beside it."""
        rng = random.Random(dataset.seed * 7919 + 1)
        anchor = dataset.anchor or datetime.now(timezone.utc)
        first_ms = dataset.events[0].public["eventTime"] if dataset.events else _millis(anchor)
        days = max(1, (_millis(anchor) - first_ms) // 86_400_000 + 1)
        mobile = LaunchDarklyDataset.generate(
            dataset.seed + 1,
            MOBILE_EVENTS,
            anchor=anchor,
            days=days,
            future_days=0,
            environments=2,
            project_key="mobile",
            flag_keys=MOBILE_FLAGS,
        )
        projects = {dataset.project["key"]: dataset, "mobile": mobile}
        created = _millis(anchor - timedelta(days=days + 30))
        account = cls(
            id=_hex24(rng),
            projects=projects,
            environments={},
            flags={},
            segments={},
            metrics={},
            members=[
                _member(fields, ROLES[n], created + n * 3_600_000)
                for n, fields in enumerate(MEMBER_FIELDS)
            ],
            teams=[_team(key, name, created) for key, name in TEAMS],
        )
        for key, project in projects.items():
            account.environments[key] = [
                _environment(rng, key, env_key, env_id, n)
                for n, (env_key, env_id) in enumerate(project.environments.items())
            ]
            account.flags[key] = [
                _flag(rng, key, flag, project.environments, created) for flag in project.flag_keys
            ]
            account.metrics[key] = [_metric(rng, key, n, created) for n in range(1, 4)]
            for env_key in project.environments:
                account.segments[key, env_key] = [
                    _segment(key, env_key, name, created) for name in ("beta-testers", "staff")
                ]
        for n, member in enumerate(account.members):
            account.add_audit_entry(
                created + n * 3_600_000, "member", member["email"], f"Invited {member['email']}"
            )
        return account

    # -- reads -----------------------------------------------------------------------------

    def project_records(self) -> list[dict[str, Any]]:
        """Every project as ``GET /api/v2/projects`` lists it."""
        return [
            {
                "_id": project.project["id"],
                "key": key,
                "name": key.capitalize(),
                "tags": [],
                "includeInSnippetByDefault": False,
                "defaultClientSideAvailability": {
                    "usingMobileKey": True,
                    "usingEnvironmentId": False,
                },
                "_links": _link(f"/api/v2/projects/{key}"),
            }
            for key, project in self.projects.items()
        ]

    def secrets(self) -> set[str]:
        """Every SDK and mobile key the environments carry."""
        return {
            env[name]
            for records in self.environments.values()
            for env in records
            for name in ("apiKey", "mobileKey")
        }

    def audit_page(
        self, after_ms: int, before_ms: int, limit: int, spec: str | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries with ``after_ms < date < before_ms``, newest first; with a
        resource specifier, only entries with a resource it matches (as a glob: UNVERIFIED)."""
        if spec:
            everything = self.audit_page(after_ms, before_ms, 10**9)
            matching = [e for e in everything if _touches(e, spec)]
            return matching[:limit]
        newest: list[tuple[int, str, Any]] = []
        for project in self.projects.values():
            low, high = span(project.events, after_ms + 1, before_ms - 1)
            if high - low > limit:  # the newest `limit`, and every event sharing the oldest ms
                low = span(project.events, project.events[high - limit].public["eventTime"],
                           before_ms - 1)[0]  # fmt: skip
            newest.extend(
                (e.public["eventTime"], e.public["auditLogEntryId"], e)
                for e in project.events[low:high]
            )
        dates = [entry.date for entry in self.other_audit]
        low = bisect.bisect_right(dates, after_ms)
        high = bisect.bisect_left(dates, before_ms)
        newest.extend((e.date, e.id, e) for e in self.other_audit[low:high])  # a few only
        chosen = heapq.nlargest(limit, newest, key=lambda item: (item[0], item[1]))
        return [self._audit_body(item) for _, _, item in chosen]

    def add_audit_entry(self, date_ms: int, kind: str, name: str, description: str) -> str:
        """An entry for a change that is not a flag event's; returns its ``_id``."""
        entry_id = _uuid4(random.Random(f"{date_ms}:{name}:{description}"))
        body = {
            "_id": entry_id,
            "date": date_ms,
            "kind": kind,
            "name": name,
            "description": description,
            "shortDescription": description,
            "accesses": [{"action": "createMember", "resource": f"member/{name}"}],
        }
        bisect.insort(
            self.other_audit, AuditEntry(date_ms, entry_id, body), key=lambda e: (e.date, e.id)
        )
        return entry_id

    def _audit_body(self, item: FlagEvent | AuditEntry) -> dict[str, Any]:
        if isinstance(item, AuditEntry):
            body = dict(item.body)
        else:
            event = item.public
            environment = event.get("environmentKey")
            resource = f"proj/{event['projectKey']}"
            resource += f":env/{environment}" if environment else ""
            body = {
                "_id": event["auditLogEntryId"],
                "date": event["eventTime"],
                "kind": "flag",
                "name": event["flagKey"],
                "description": event["description"],
                "shortDescription": event["description"],
                "accesses": [
                    {"action": action, "resource": f"{resource}:flag/{event['flagKey']}"}
                    for action in event["actions"]
                ],
            }
            if "member" in event:
                member = event["member"]
                body["member"] = {
                    "_id": member["id"],
                    "email": member["email"],
                    "firstName": member["firstName"],
                    "lastName": member["lastName"],
                    "_links": _link(f"/api/v2/members/{member['id']}"),
                }
        body["_accountId"] = self.id
        body["_links"] = _link(f"/api/v2/auditlog/{body['_id']}")
        return body


def _touches(entry: dict[str, Any], spec: str) -> bool:
    return any(fnmatch.fnmatchcase(access["resource"], spec) for access in entry["accesses"])


def _environment(
    rng: random.Random, project: str, key: str, env_id: str, number: int
) -> dict[str, Any]:
    return {
        "_id": env_id,
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        # Recognisable, so the suite's scan finds one anywhere it leaks.
        "apiKey": f"sdk-{_uuid4(rng)}",
        "mobileKey": f"mob-{_uuid4(rng)}",
        "color": COLORS[number % len(COLORS)],
        "defaultTtl": 0,
        "secureMode": False,
        "defaultTrackEvents": False,
        "requireComments": key == "production",
        "confirmChanges": key == "production",
        "tags": [],
        "critical": key == "production",
        "_links": _link(f"/api/v2/projects/{project}/environments/{key}"),
    }


def _flag(
    rng: random.Random, project: str, key: str, environments: dict[str, str], created: int
) -> dict[str, Any]:
    modified = created + rng.randrange(86_400_000, 20 * 86_400_000)
    return {
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        "kind": "boolean",
        "description": "",
        "_version": rng.randint(1, 40),
        "creationDate": created,
        "variations": [
            {"_id": _uuid4(rng), "value": True, "name": "On"},
            {"_id": _uuid4(rng), "value": False, "name": "Off"},
        ],
        "temporary": True,
        "tags": [],
        "archived": False,
        "deprecated": False,
        "customProperties": {},
        "experiments": {"baselineIdx": 0, "items": []},
        "defaults": {"onVariation": 0, "offVariation": 1},
        "_links": _link(f"/api/v2/flags/{project}/{key}"),
        "environments": {
            env: {
                "on": rng.random() < 0.6,
                "archived": False,
                "salt": f"{rng.getrandbits(64):016x}",
                "sel": f"{rng.getrandbits(128):032x}",
                "lastModified": modified,
                "version": rng.randint(1, 30),
                "_site": {"href": f"/{project}/{env}/features/{key}", "type": "text/html"},
                "_environmentName": env.capitalize(),
                "trackEvents": False,
                "trackEventsFallthrough": False,
                "_summary": {"variations": {}, "prerequisites": 0},
            }
            for env in environments
        },
    }


def _segment(project: str, environment: str, key: str, created: int) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.replace("-", " ").capitalize(),
        "description": "",
        "tags": [],
        "creationDate": created,
        "lastModifiedDate": created + 86_400_000,
        "rules": [],
        "version": 1,
        "deleted": False,
        "generation": 1,
        "unbounded": False,
        "_links": _link(f"/api/v2/segments/{project}/{environment}/{key}"),
    }


def _metric(rng: random.Random, project: str, number: int, created: int) -> dict[str, Any]:
    key = f"checkout-conversion-{number}"
    return {
        "_id": _hex24(rng),
        "_versionId": _uuid4(rng),
        "key": key,
        "name": f"Checkout conversion {number}",
        "kind": "custom",
        "eventKey": f"checkout-{number}",
        "isNumeric": number == 3,
        "tags": [],
        "_creationDate": created,
        "dataSource": {"key": "launchdarkly"},
        "_links": _link(f"/api/v2/metrics/{project}/{key}"),
    }


def _member(fields: dict[str, str], role: str, created: int) -> dict[str, Any]:
    return {
        "_id": fields["id"],
        "firstName": fields["firstName"],
        "lastName": fields["lastName"],
        "email": fields["email"],
        "role": role,
        "_pendingInvite": False,
        "_verified": True,
        "customRoles": [],
        "mfa": "enabled",
        "_lastSeen": created + 86_400_000,
        "creationDate": created,
        "_links": _link(f"/api/v2/members/{fields['id']}"),
    }


def _team(key: str, name: str, created: int) -> dict[str, Any]:
    return {
        "key": key,
        "name": name,
        "description": f"The {name} team",
        "_creationDate": created,
        "_lastModified": created + 86_400_000,
        "_version": 1,
        "_idpSynced": False,
        "_links": _link(f"/api/v2/teams/{key}"),
    }
