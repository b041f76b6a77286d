"""The workspace's configuration streams: exact records, secrets, gated features, deletes, cost."""

from __future__ import annotations

from collections import Counter

import requests

from api_emulator.segment.workspace import FEATURES
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import OUTPUTS, run_tap
from tests.segment.expected import WORKSPACE_STREAMS, expected_records
from tests.segment.selection import selecting
from tests.taps import SEGMENT

#: Streams each feature switch of the emulator gates.
GATED = {
    "protocols_enabled": ("tracking_plans", "tracking_plan_rules", "transformations"),
    "functions_enabled": ("functions",),
    "reverse_etl_enabled": ("reverse_etl_models",),
    "spaces_enabled": ("spaces",),
    "iam_enabled": ("users", "groups", "group_members", "roles"),
}


def by_key(records: list[dict], stream: str) -> list[dict]:
    keys = SEGMENT.keys[stream]
    return sorted(records, key=lambda r: tuple(str(r[k]) for k in keys))


def workspace_sync(config: dict, **kwargs):
    return run_tap(
        TapSegmentConfig, config, catalog=selecting(config, *WORKSPACE_STREAMS), **kwargs
    )


def test_a_full_sync_yields_exactly_the_seeded_workspace_in_the_fewest_requests(emulator, config):
    result = workspace_sync(config)
    assert result.error is None
    for stream, expected in expected_records(emulator.app.workspace).items():
        assert by_key(result.records(stream), stream) == by_key(expected, stream), stream

    calls = Counter(e.path for e in emulator.log.entries())
    workspace = emulator.app.workspace
    assert calls.pop("/functions") == 3  # one listing per resource type
    children = {
        "/warehouses/{}/connected-sources": [w["id"] for w in workspace.warehouses],
        "/tracking-plans/{}/rules": [p["id"] for p in workspace.tracking_plans],
        "/groups/{}/users": [g["id"] for g in workspace.groups],
    }
    for template, parents in children.items():
        for parent in parents:
            assert calls.pop(template.format(parent)) == 1
    assert set(calls.values()) == {1}  # every other list: one page
    assert len(calls) == 14
    lists = [e for e in emulator.log.entries() if e.path not in ("/", "/labels")]
    assert {e.query["pagination.count"][0] for e in lists} == {"1000"}  # the largest page


def test_write_keys_are_emitted_only_when_opted_in(emulator, config):
    config |= {"emit_write_keys": True}
    result = run_tap(TapSegmentConfig, config, catalog=selecting(config, "sources"))
    seeded = {s["id"]: s["writeKeys"] for s in emulator.app.workspace.sources}
    assert {r["id"]: r["writeKeys"] for r in result.records("sources")} == seeded
    # This run emits write keys on purpose: keep them out of the suite's secret scan.
    OUTPUTS.clear()


def test_without_a_feature_its_streams_are_skipped_with_one_warning_and_nothing_deleted(
    emulator, config
):
    first = workspace_sync(config)
    for option in FEATURES:
        setattr(emulator.app, option, False)
    emulator.log.clear()

    second = workspace_sync(config, state=first.state)
    assert second.error is None
    for streams in GATED.values():
        for stream in streams:
            assert second.records(stream) == [], stream
            assert second.logs.count(f"Skipping {stream}:") == (stream not in CHILDREN), stream
            # nothing marked deleted, the rows it knew still remembered
            assert second.state["bookmarks"][stream] == first.state["bookmarks"][stream]
    activated = {m["stream"] for m in second.messages if m["type"] == "ACTIVATE_VERSION"}
    assert activated == set(WORKSPACE_STREAMS) - {s for group in GATED.values() for s in group}
    refused = [e.path for e in emulator.log.entries() if e.status == 403]
    assert sorted(refused) == sorted(GATED_PATHS)
    assert len(second.records("sources")) == len(emulator.app.workspace.sources)


CHILDREN = ("tracking_plan_rules", "group_members")  # a refused parent gives them no contexts
GATED_PATHS = [
    "/tracking-plans",
    "/transformations",
    "/functions",
    "/reverse-etl-models",
    "/spaces",
    "/users",
    "/groups",
    "/roles",
]


def test_another_4xx_on_a_gated_endpoint_stays_an_error(emulator, config):
    emulator.faults.arm("status", path="/spaces", status=404, times=1)
    result = workspace_sync(config)
    assert result.error is not None
    assert "404" in str(result.error)
    assert "/spaces" in str(result.error)


def test_rows_gone_from_the_workspace_are_marked_deleted(emulator, config):
    first = workspace_sync(config)
    workspace = emulator.app.workspace
    source = workspace.sources[-1]  # the one no destination uses
    workspace.remove("sources", source["id"])
    plan_id, rules = next(iter(workspace.rules.items()))
    rule = rules.pop()
    group_id, members = next(iter(workspace.members.items()))
    member = members.pop()
    label = workspace.labels.pop()

    second = workspace_sync(config, state=first.state)
    assert second.error is None
    gone = {
        stream: [r for r in second.records(stream) if r["_sdc_deleted_at"] is not None]
        for stream in WORKSPACE_STREAMS
    }
    (deleted_at,) = {r["_sdc_deleted_at"] for rows in gone.values() for r in rows}  # run start
    rule_id = "/".join(str(p) for p in (rule["type"], rule.get("key"), rule["version"]) if p)
    assert {stream: rows for stream, rows in gone.items() if rows} == {
        "sources": [{"id": source["id"], "_sdc_deleted_at": deleted_at}],
        "tracking_plan_rules": [
            {"trackingPlanId": plan_id, "ruleId": rule_id, "_sdc_deleted_at": deleted_at}
        ],
        "group_members": [
            {"userGroupId": group_id, "userId": member, "_sdc_deleted_at": deleted_at}
        ],
        "labels": [{"key": label["key"], "value": label["value"], "_sdc_deleted_at": deleted_at}],
    }


def test_the_rules_route_budget_of_its_own_is_waited_out(emulator, config):
    with_budget = requests.put(
        f"{emulator.url}/_emulator/segment/route-budgets",
        json={"route": "/tracking-plans/{trackingPlanId}/rules", "limit": 1, "window_seconds": 1},
        timeout=5,
    )
    assert with_budget.status_code == 204
    result = run_tap(TapSegmentConfig, config, catalog=selecting(config, "tracking_plan_rules"))
    assert result.error is None
    rules = [e for e in emulator.log.entries() if e.path.endswith("/rules")]
    assert [e.status for e in rules] == [200, 429, 200]  # the second plan's first try is refused
    assert rules[2].started - rules[1].finished >= 1.0  # Retry-After waited out
    assert len(result.records("tracking_plan_rules")) == sum(
        len(r) for r in emulator.app.workspace.rules.values()
    )
