"""The rest of a Segment workspace: its sources, warehouses, Protocols, functions, IAM, catalog.

Deterministic per seed and consistent with the destinations (api_emulator.data.segment): every
``sourceId`` a destination references is a source here, warehouses connect to sources,
transformations and reverse-ETL models point at sources, tracking plans own their rules, groups
list their members (``memberCount`` agrees), and the destinations catalog is the one the
destinations' ``metadata`` comes from. Sizes are small and fixed: only the sources grow with the
destinations.

Every credential a record carries is a recognisable planted value (``secrets``): the write keys
of sources and the secret settings of sources and warehouses, which the real API masks in some
answers and not others (docs/api/segment.md §11); the suite's scan fails if one leaves a tap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from api_emulator.data.segment import BASE62

UTC = timezone.utc
CREATED = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
ROLES = [
    ("Workspace Owner", "Full access to the workspace."),
    ("Workspace Member", "Access to assigned resources."),
    ("Source Admin", "Edit sources and their connections."),
    ("Tracking Plan Read-only", "Read tracking plans."),
]
SOURCE_CATALOG = [
    ("Javascript", "javascript", ["Website"], False),
    ("iOS", "ios", ["Mobile"], False),
    ("HTTP API", "http-api", ["Server"], False),
    ("Stripe", "stripe", ["Payments"], True),
    ("Zendesk", "zendesk", ["Helpdesk"], True),
]
WAREHOUSE_CATALOG = [
    ("Snowflake", "snowflake", "password"),
    ("BigQuery", "bigquery", "credentials"),
    ("Redshift", "redshift", "password"),
]
FUNCTION_TYPES = ("SOURCE", "DESTINATION", "INSERT_DESTINATION")
TRACKED_EVENTS = ("Order Completed", "Product Viewed", "Signed Up")


def _id(rng: random.Random, length: int = 22) -> str:
    return "".join(rng.choice(BASE62) for _ in range(length))


def _iso(moment: datetime) -> str:
    """Segment's own spelling of an instant: milliseconds, Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _logos(rng: random.Random) -> dict[str, Any]:
    cdn = "https://cdn.filepicker.io/api/file/"
    return {"default": cdn + _id(rng, 20), "mark": cdn + _id(rng, 20), "alt": ""}


def _option(name: str, kind: str, label: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "required": required,
        "description": f"The {label.lower()}.",
        "defaultValue": "",
        "label": label,
    }


@dataclass
class WorkspaceDataset:
    """The seeded configuration of one workspace (see the module doc)."""

    workspace: dict[str, Any]
    sources: list[dict[str, Any]]
    warehouses: list[dict[str, Any]]
    connections: dict[str, list[str]]  # warehouse id -> connected source ids
    tracking_plans: list[dict[str, Any]]
    rules: dict[str, list[dict[str, Any]]]  # tracking plan id -> its rules
    functions: list[dict[str, Any]]
    transformations: list[dict[str, Any]]
    reverse_etl_models: list[dict[str, Any]]
    spaces: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    members: dict[str, list[str]]  # group id -> member user ids
    catalog_sources: list[dict[str, Any]]
    catalog_destinations: list[dict[str, Any]]
    catalog_warehouses: list[dict[str, Any]]
    secrets: set[str] = field(default_factory=set)

    @classmethod
    def generate(
        cls, seed: int, source_ids: list[str], catalog_destinations: list[dict[str, Any]]
    ) -> WorkspaceDataset:
        """The workspace around the destinations' ``source_ids`` (plus one source of its own)."""
        rng = random.Random(f"segment-workspace-{seed}")
        workspace = {"id": _id(rng), "slug": f"acme-{seed}", "name": f"Acme {seed}"}
        dataset = cls(
            workspace=workspace,
            sources=[],
            warehouses=[],
            connections={},
            tracking_plans=[],
            rules={},
            functions=[],
            transformations=[],
            reverse_etl_models=[],
            spaces=[],
            labels=[
                {"key": "environment", "value": "prod", "description": "Production traffic."},
                {"key": "environment", "value": "dev", "description": "Test traffic."},
                {"key": "team", "value": "growth", "description": "Owned by Growth."},
            ],
            roles=[{"id": _id(rng), "name": name, "description": text} for name, text in ROLES],
            users=[],
            groups=[],
            members={},
            catalog_sources=[_source_metadata(rng, *entry) for entry in SOURCE_CATALOG],
            catalog_destinations=catalog_destinations,
            catalog_warehouses=[_warehouse_metadata(rng, *entry) for entry in WAREHOUSE_CATALOG],
        )
        for source_id in [*source_ids, _id(rng)]:
            dataset.sources.append(dataset._source(rng, source_id))
        dataset._warehouses(rng)
        dataset._protocols(rng)
        dataset._functions(rng)
        dataset._engage(rng)
        dataset._iam(rng)
        return dataset

    # -- generation ------------------------------------------------------------------------

    def _source(self, rng: random.Random, source_id: str) -> dict[str, Any]:
        number = len(self.sources) + 1
        metadata = self.catalog_sources[number % len(self.catalog_sources)]
        write_keys = [self._plant(f"wk{number}x{_id(rng, 26)}") for _ in range(1 + number % 2)]
        settings: dict[str, Any] = {"track": {"allowUnplannedEvents": number % 3 != 0}}
        if metadata["isCloudEventSource"]:
            settings["apiToken"] = self._plant(f"src-api-token-{_id(rng, 24)}")
        return {
            "id": source_id,
            "slug": f"{metadata['slug']}-{number}",
            "name": f"{metadata['name']} {number}",
            "metadata": metadata,
            "workspaceId": self.workspace["id"],
            "enabled": number % 4 != 0,
            "writeKeys": write_keys,
            "settings": settings,
            "labels": [self.labels[number % 2]],
        }

    def _warehouses(self, rng: random.Random) -> None:
        for number, metadata in enumerate(self.catalog_warehouses, 1):
            secret_name = WAREHOUSE_CATALOG[number - 1][2]
            warehouse = {
                "id": _id(rng),
                "metadata": metadata,
                "workspaceId": self.workspace["id"],
                "enabled": number != 3,
                "settings": {
                    "name": f"{metadata['name']} warehouse",
                    "hostname": f"{metadata['slug']}.example.com",
                    "username": "segment_loader",
                    secret_name: self._plant(f"wh-{secret_name}-{_id(rng, 24)}"),
                },
            }
            self.warehouses.append(warehouse)
            # Every source but the last loads into the first warehouse; a few into more.
            connected = [s["id"] for s in self.sources[: len(self.sources) - 1]]
            self.connections[warehouse["id"]] = connected[::number]

    def _protocols(self, rng: random.Random) -> None:
        for number, kind in enumerate(("LIVE", "TEMPLATE"), 1):
            plan_id = "tp_" + _id(rng, 24)
            created = CREATED + timedelta(days=number)
            self.tracking_plans.append(
                {
                    "id": plan_id,
                    "name": f"Plan {number}",
                    "slug": f"plan-{number}",
                    "description": f"The {kind.lower()} tracking plan.",
                    "type": kind,
                    "createdAt": _iso(created),
                    "updatedAt": _iso(created + timedelta(hours=5, milliseconds=250)),
                }
            )
            rules: list[dict[str, Any]] = [_rule("COMMON", None, 1, created)]
            for event in TRACKED_EVENTS[: number + 1]:
                rules.append(_rule("TRACK", event, 1, created))
            rules.append(_rule("TRACK", TRACKED_EVENTS[0], 2, created + timedelta(days=3)))
            rules[1]["deprecatedAt"] = _iso(created + timedelta(days=3))
            rules.append(_rule("IDENTIFY", None, 1, created))
            self.rules[plan_id] = rules
        for number, source in enumerate(self.sources[:3], 1):
            destination_type = self.catalog_destinations[number % len(self.catalog_destinations)]
            self.transformations.append(
                {
                    "id": _id(rng),
                    "name": f"Rename events {number}",
                    "sourceId": source["id"],
                    "destinationMetadataId": destination_type["id"],
                    "enabled": number != 2,
                    "if": 'event = "Order Completed"',
                    "newEventName": "Order Placed",
                    "propertyRenames": [{"oldName": "revenue", "newName": "total"}],
                    "propertyValueTransformations": [
                        {"propertyPaths": ["properties.currency"], "propertyValue": "USD"}
                    ],
                    "fqlDefinedProperties": [],
                    "allowProperties": [],
                }
            )

    def _functions(self, rng: random.Random) -> None:
        for number, kind in enumerate((*FUNCTION_TYPES, "DESTINATION"), 1):
            self.functions.append(
                {
                    "id": ("sfn_" if kind == "SOURCE" else "dfn_") + _id(rng, 20),
                    "resourceType": kind,
                    "createdAt": _iso(CREATED + timedelta(days=10 * number, seconds=7)),
                    "createdBy": _id(rng),
                    "displayName": f"{kind.title().replace('_', ' ')} function {number}",
                    "description": "Reshapes events before delivery.",
                    "logoUrl": "https://cdn.example.com/fn.svg",
                    "catalogId": _id(rng),
                }
            )

    def _engage(self, rng: random.Random) -> None:
        self.spaces = [
            {"id": "spa_" + _id(rng, 20), "slug": slug, "name": slug.title()}
            for slug in ("production", "staging")
        ]
        warehouse_sources = self.sources[-2:]  # reverse ETL reads from a warehouse source
        for number, source in enumerate(warehouse_sources, 1):
            self.reverse_etl_models.append(
                {
                    "id": _id(rng),
                    "sourceId": source["id"],
                    "name": f"Active users {number}",
                    "description": "Users active in the last 30 days.",
                    "enabled": True,
                    "scheduleStrategy": "PERIODIC" if number == 1 else "MANUAL",
                    "scheduleConfig": {"interval": "1h"} if number == 1 else {},
                    "query": "SELECT id, email FROM users WHERE active",
                    "queryIdentifierColumn": "id",
                }
            )

    def _iam(self, rng: random.Random) -> None:
        owner, member = self.roles[0], self.roles[1]
        for number, name in enumerate(("Ada", "Grace", "Linus", "Margaret", "Ken"), 1):
            role = owner if number == 1 else member
            resources = [{"id": self.workspace["id"], "type": "WORKSPACE", "labels": []}]
            if role is member:
                resources = [{"id": self.sources[0]["id"], "type": "SOURCE", "labels": []}]
            self.users.append(
                {
                    "id": _id(rng),
                    "name": name,
                    "email": f"{name.lower()}@example.com",
                    "permissions": [_permission(role, resources)],
                }
            )
        for number, name in enumerate(("Engineering", "Marketing", "Auditors"), 1):
            group_id = _id(rng)
            self.members[group_id] = [u["id"] for u in self.users[number - 1 :: number]]
            role = self.roles[1 + number % 3]
            resources = [
                {"id": self.workspace["id"], "type": "WORKSPACE", "labels": [self.labels[0]]}
            ]
            self.groups.append(
                {
                    "id": group_id,
                    "name": name,
                    "memberCount": len(self.members[group_id]),
                    "permissions": [_permission(role, resources)],
                }
            )

    def _plant(self, secret: str) -> str:
        self.secrets.add(secret)
        return secret

    # -- reading ---------------------------------------------------------------------------

    def connected_sources(self, warehouse_id: str) -> list[dict[str, Any]]:
        """The sources connected to one warehouse."""
        wanted = set(self.connections.get(warehouse_id, ()))
        return [source for source in self.sources if source["id"] in wanted]

    def group_members(self, group_id: str) -> list[dict[str, Any]]:
        """The members of one group, as Segment's MinimalUserV1."""
        wanted = set(self.members.get(group_id, ()))
        return [
            {key: user[key] for key in ("id", "name", "email")}
            for user in self.users
            if user["id"] in wanted
        ]

    def remove(self, collection: str, record_id: str) -> dict[str, Any] | None:
        """Delete one record of a top-level list (by ``id``); the removed one, or None."""
        records: list[dict[str, Any]] = getattr(self, collection)
        for record in records:
            if record.get("id") == record_id:
                records.remove(record)
                return record
        return None


def _rule(kind: str, key: str | None, version: int, created: datetime) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "type": kind,
        "jsonSchema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"properties": {"type": "object", "required": ["revenue"]}},
        },
        "version": version,
        "createdAt": _iso(created),
        "updatedAt": _iso(created + timedelta(minutes=version)),
    }
    if key is not None:
        rule["key"] = key
    return rule


def _permission(role: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"roleName": role["name"], "roleId": role["id"], "resources": resources, "labels": []}


def _source_metadata(
    rng: random.Random, name: str, slug: str, categories: list[str], cloud: bool
) -> dict[str, Any]:
    options = [_option("apiToken", "password", "API token", required=True)] if cloud else []
    return {
        "id": _id(rng, 10),
        "name": name,
        "slug": slug,
        "description": f"Send data from {name}.",
        "logos": _logos(rng),
        "options": options,
        "categories": categories,
        "isCloudEventSource": cloud,
    }


def _warehouse_metadata(rng: random.Random, name: str, slug: str, secret: str) -> dict[str, Any]:
    return {
        "id": _id(rng, 10),
        "name": name,
        "slug": slug,
        "description": f"Load your data into {name}.",
        "logos": _logos(rng),
        "options": [
            _option("hostname", "string", "Host name", required=True),
            _option("username", "string", "User name", required=True),
            _option(secret, "password", secret.title(), required=True),
        ],
    }
