"""The records tap-segment-config should emit for a seeded workspace, derived from the seed data
(api_emulator.data.segment_workspace) by the documented rules, not by the tap's own code."""

from __future__ import annotations

from typing import Any

from api_emulator.data.segment_workspace import WorkspaceDataset
from tap_common.redaction import fingerprint
from tap_common.timeutil import to_utc_iso

MASKED = "••••••••"
#: The planted credentials of each settings object (docs/api/segment.md §11.2).
SECRET_SETTINGS = ("apiToken", "password", "credentials")
WORKSPACE_STREAMS = (
    "workspace",
    "sources",
    "warehouses",
    "source_warehouse_connections",
    "tracking_plans",
    "tracking_plan_rules",
    "functions",
    "transformations",
    "reverse_etl_models",
    "spaces",
    "labels",
    "users",
    "groups",
    "group_members",
    "roles",
    "catalog_sources",
    "catalog_destinations",
    "catalog_warehouses",
)


def _masked(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: MASKED if k in SECRET_SETTINGS else v for k, v in settings.items()}


def _utc(record: dict[str, Any], *fields: str) -> dict[str, Any]:
    return record | {name: to_utc_iso(record[name]) for name in fields if name in record}


def expected_records(workspace: WorkspaceDataset) -> dict[str, list[dict[str, Any]]]:
    """Stream -> its records (live, so ``_sdc_deleted_at`` null), in any order."""
    w = workspace
    rules = [
        _utc(
            {
                "trackingPlanId": plan_id,
                "ruleId": "/".join(str(p) for p in (r["type"], r.get("key"), r["version"]) if p),
                **{k: v for k, v in r.items() if k != "version"},
                "ruleVersion": r["version"],
            },
            "createdAt",
            "updatedAt",
            "deprecatedAt",
        )
        for plan_id, plan_rules in w.rules.items()
        for r in plan_rules
    ]
    records = {
        "workspace": [w.workspace],
        "sources": [
            s
            | {
                "writeKeys": [fingerprint(k) for k in s["writeKeys"]],
                "settings": _masked(s["settings"]),
            }
            for s in w.sources
        ],
        "warehouses": [h | {"settings": _masked(h["settings"])} for h in w.warehouses],
        "source_warehouse_connections": [
            {"warehouseId": h, "sourceId": s} for h, ids in w.connections.items() for s in ids
        ],
        "tracking_plans": [_utc(p, "createdAt", "updatedAt") for p in w.tracking_plans],
        "tracking_plan_rules": rules,
        "functions": [_utc(f, "createdAt") for f in w.functions],
        "transformations": w.transformations,
        "reverse_etl_models": w.reverse_etl_models,
        "spaces": w.spaces,
        "labels": w.labels,
        "users": w.users,
        "groups": w.groups,
        "group_members": [
            {"userGroupId": g, "userId": u} for g, ids in w.members.items() for u in ids
        ],
        "roles": w.roles,
        "catalog_sources": w.catalog_sources,
        "catalog_destinations": w.catalog_destinations,
        "catalog_warehouses": w.catalog_warehouses,
    }
    return {name: [r | {"_sdc_deleted_at": None} for r in rs] for name, rs in records.items()}
