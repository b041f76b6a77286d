"""tap_common.deletes: rows gone from a full-table listing are marked, only when proven gone.

In-process syncs against the emulators, each from the state the previous one wrote. A sync
proves a row gone only when it read the stream (and its parents) completely; any other sync
marks nothing and remembers what it saw on top of what it knew.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from api_emulator import EmulatorServer
from tap_common.deletes import DELETED_AT, FullTableStream, PresentKeys, with_deleted_at
from tap_common.state import StateError, unknown_streams
from tap_pm2_events.tap import TapPm2Events
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import SyncResult, run_tap
from tests.taps import PM2, PM2_START, SEGMENT

FULL_TABLE = ("destinations", "destination_subscriptions")
EVENT_KEY = ("bucket_id", "app_name", "event_name")


@pytest.fixture
def segment() -> Iterator[EmulatorServer]:
    with SEGMENT.emulator(seed=7, destinations=8) as server:
        yield server


def sync(server: EmulatorServer, state: dict | None = None, **settings: Any) -> SyncResult:
    result = run(TapSegmentConfig, SEGMENT.config(server, **settings), state)
    assert result.error is None, result.error
    return result


def run(tap_class: type, config: dict, state: dict | None, **kwargs: Any) -> SyncResult:
    """A sync from a copy of ``state``: the tap writes into the state it is given."""
    return run_tap(tap_class, config, state=copy.deepcopy(state), **kwargs)


def tombstones(result: SyncResult, stream: str) -> list[dict]:
    return [r for r in result.records(stream) if r[DELETED_AT] is not None]


def activated(result: SyncResult) -> list[str]:
    """The streams of FULL_TABLE a run activated (tap-segment-config has more full-table streams:
    its workspace configuration, which these tests leave alone)."""
    return [
        m["stream"]
        for m in result.messages
        if m["type"] == "ACTIVATE_VERSION" and m["stream"] in FULL_TABLE
    ]


def remembered(result: SyncResult, stream: str) -> set[str]:
    values = result.state["bookmarks"][stream]["present_keys"]["values"]
    if result.error is None:
        assert values == sorted(values)  # one order at the end of a run
    return {key for (key,) in values}


def with_subscriptions(server: EmulatorServer) -> list[dict]:
    dataset = server.app.dataset
    return [d for d in dataset.destinations if dataset.subscriptions_for(d["id"])]


def test_a_complete_sync_marks_what_is_gone_and_a_row_that_comes_back_is_live(segment):
    dataset = segment.app.dataset
    first = sync(segment)
    assert activated(first) == ["destination_subscriptions", "destinations"]  # nothing gone yet
    assert tombstones(first, "destinations") == []
    assert all(r[DELETED_AT] is None for r in first.records("destinations"))  # said, not implied
    version = {m.get("version") for m in first.messages if m["type"] == "RECORD"}
    assert len(version - {None}) == 1  # every live full-table record has the run's version ...
    live = [m for m in first.messages if m["type"] == "RECORD" and m["stream"] in FULL_TABLE]
    assert {m.get("version") for m in live} == version - {None}
    activations = [m for m in first.messages if m["type"] == "ACTIVATE_VERSION"]
    assert {m["version"] for m in activations} == version - {None}
    assert len([m for m in activations if m["stream"] in FULL_TABLE]) == 2
    # ... which the run activates, only at its end
    assert first.messages.index(
        next(m for m in first.messages if m["type"] == "ACTIVATE_VERSION")
    ) > max(i for i, m in enumerate(first.messages) if m["type"] == "RECORD")

    owner, other = with_subscriptions(segment)[:2]
    owned = [s["id"] for s in dataset.subscriptions_for(owner["id"])]
    lone = dataset.subscriptions_for(other["id"])[0]
    dataset.remove_destination(owner["id"])
    dataset.remove_subscription(lone["id"])
    second = sync(segment, first.state)

    marked = tombstones(second, "destinations")
    assert marked == [{"id": owner["id"], DELETED_AT: marked[0][DELETED_AT]}]  # key and mark only
    assert sorted(r["id"] for r in tombstones(second, "destination_subscriptions")) == sorted(
        [*owned, lone["id"]]
    )
    stones = [m for m in second.messages if m["type"] == "RECORD" and m["record"].get(DELETED_AT)]
    assert all(m.get("version") is None for m in stones)  # older than any version: dropped
    for stream in FULL_TABLE:  # a stream's version is activated after its tombstones
        order = [m["type"] for m in second.messages if m.get("stream") == stream]
        assert order[-1] == "ACTIVATE_VERSION"
        assert order.count("ACTIVATE_VERSION") == 1
    assert owner["id"] not in remembered(second, "destinations")
    assert lone["id"] not in remembered(second, "destination_subscriptions")

    third = sync(segment, second.state)  # known deleted: not marked again
    assert tombstones(third, "destinations") == []
    assert tombstones(third, "destination_subscriptions") == []

    dataset.restore_destination(owner)
    dataset.restore_subscription(lone)
    back = sync(segment, third.state)
    assert owner["id"] in {r["id"] for r in back.records("destinations")}
    assert tombstones(back, "destinations") == []
    assert {r[DELETED_AT] for r in back.records("destination_subscriptions")} == {None}
    assert owner["id"] in remembered(back, "destinations")
    assert {lone["id"], *owned} <= remembered(back, "destination_subscriptions")


def test_a_filtered_sync_marks_nothing_and_remembers_what_it_saw_besides(segment):
    dataset = segment.app.dataset
    first = sync(segment)
    kept, gone = dataset.destinations[0], dataset.destinations[1]
    dataset.remove_destination(gone["id"])
    added = dataset.add_destination()

    filtered = sync(segment, first.state, destination_ids=[kept["id"], added["id"]])
    assert activated(filtered) == []
    assert all(not tombstones(filtered, stream) for stream in FULL_TABLE)
    # Nothing forgotten, and the row added under the filter is checked from now on.
    assert remembered(filtered, "destinations") == remembered(first, "destinations") | {added["id"]}

    dataset.remove_destination(added["id"])
    complete = sync(segment, filtered.state)
    assert sorted(r["id"] for r in tombstones(complete, "destinations")) == sorted(
        [gone["id"], added["id"]]
    )


def test_a_failed_sync_marks_nothing_but_keeps_the_rows_it_saw(segment):
    dataset = segment.app.dataset
    first = sync(segment)
    dataset.remove_destination(dataset.destinations[0]["id"])
    added = dataset.add_destination()
    *read, last = sorted(d["id"] for d in dataset.destinations)  # the order the listing has
    assert added["id"] in read
    # Every destination's requests answer but the last one's, which fail past the retries.
    segment.faults.arm("status", path=f"/destinations/{last}/", status=500, times=1000)
    failed = run(TapSegmentConfig, SEGMENT.config(segment, max_retries=0), first.state)
    assert failed.error is not None
    assert activated(failed) == []
    assert tombstones(failed, "destinations") == []
    # The state it ended with forgets nothing and knows the row added since.
    assert remembered(failed, "destinations") == remembered(first, "destinations") | {added["id"]}


def test_subscriptions_answered_not_enabled_are_not_marked(segment):
    first = sync(segment)
    segment.app.subscriptions_enabled = False
    second = sync(segment, first.state)
    assert tombstones(second, "destination_subscriptions") == []
    assert activated(second) == ["destinations"]  # the destinations were read whole
    assert remembered(second, "destination_subscriptions") == remembered(
        first, "destination_subscriptions"
    )


def catalog_without(tap_config: dict, stream: str) -> dict:
    catalog = TapSegmentConfig(config=tap_config, parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == stream:
            root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
            root["metadata"]["selected"] = False
    return catalog


def test_a_child_whose_parent_is_deselected_or_filtered_by_a_map_is_not_marked(segment):
    config = SEGMENT.config(segment)
    first = sync(segment)
    owner = with_subscriptions(segment)[0]
    for subscription in segment.app.dataset.subscriptions_for(owner["id"]):
        segment.app.dataset.remove_subscription(subscription["id"])

    catalog = catalog_without(config, "destinations")
    deselected = run(TapSegmentConfig, config, first.state, catalog=catalog)
    assert deselected.error is None
    assert deselected.records("destinations") == []
    assert tombstones(deselected, "destination_subscriptions") == []
    assert activated(deselected) == []

    # A stream map that drops destinations also drops their subscriptions from the read.
    maps = {"stream_maps": {"destinations": {"__filter__": "enabled is None"}}}
    mapped = run(TapSegmentConfig, config | maps, first.state)
    assert mapped.error is None
    assert tombstones(mapped, "destination_subscriptions") == []
    assert "destination_subscriptions" not in activated(mapped)


def test_the_setting_turns_marking_off(segment):
    first = sync(segment, mark_deleted_rows=False)
    assert activated(first) == []
    assert all(m.get("version") is None for m in first.messages if m["type"] == "RECORD")
    assert "present_keys" not in first.state["bookmarks"].get("destinations", {})
    segment.app.dataset.remove_destination(segment.app.dataset.destinations[0]["id"])
    second = sync(segment, first.state, mark_deleted_rows=False)
    assert tombstones(second, "destinations") == []
    assert {r[DELETED_AT] for r in second.records("destinations")} == {None}  # column stays


def test_pm2_bucket_ids_narrow_buckets_and_event_keys_app_names_only_their_children():
    with PM2.emulator(seed=9, events=120) as server:
        settings = {"start_date": PM2_START.isoformat(), "histogram_days": 1}
        first = run_tap(TapPm2Events, PM2.config(server, **settings))
        assert first.error is None
        one, other = server.app.dataset.buckets
        _, app, name = min(k for k in first.keys("event_keys", *EVENT_KEY) if k[0] == one.id)
        one.remove_event_key(app, name)
        server.app.dataset.remove_bucket(other.id)

        only_one = PM2.config(server, **settings, bucket_ids=[one.id])
        narrowed = run(TapPm2Events, only_one, first.state)
        assert narrowed.error is None
        assert activated(narrowed) == []
        assert not [r for r in narrowed.records("event_keys") if r[DELETED_AT]]

        by_app = PM2.config(server, **settings, app_names=[app])
        complete = run(TapPm2Events, by_app, narrowed.state)
        assert complete.error is None
        buckets = [r for r in complete.records("buckets") if r[DELETED_AT]]
        assert [b["id"] for b in buckets] == [other.id]
        marked = [r for r in complete.records("event_keys") if r[DELETED_AT]]
        keys = {tuple(r[f] for f in EVENT_KEY) for r in marked}
        of_other = {k for k in first.keys("event_keys", *EVENT_KEY) if k[0] == other.id}
        assert keys == {(one.id, app, name)} | of_other


def test_schema_declares_the_mark_and_requires_only_the_key():
    schema = with_deleted_at(
        {
            "properties": {"id": {"type": "string"}, "owner": {"type": ["string"]}},
            "required": ["id", "owner"],
        },
        ("id",),
    )
    assert schema["required"] == ["id"]
    assert schema["properties"]["owner"]["type"] == ["string", "null"]  # a tombstone has none
    assert schema["properties"][DELETED_AT]["format"] == "date-time"
    tap = TapSegmentConfig(config={"api_token": "t"}, parse_env_config=False)
    for stream in FULL_TABLE:
        metadata = tap.streams[stream].metadata[("properties", DELETED_AT)]
        assert metadata.inclusion == "automatic"  # cannot be deselected away from tombstones


def test_present_keys_append_new_keys_to_the_state_at_once_and_sort_at_the_end():
    state: dict = {}
    keys = PresentKeys(state, ["a", "b"])
    keys.add(("y", 2))
    keys.add(("x", 1))
    keys.add(("y", 2))
    assert state["present_keys"] == {"fields": ["a", "b"], "values": [["y", 2], ["x", 1]]}
    keys.sort()
    assert state["present_keys"]["values"] == [["x", 1], ["y", 2]]
    keys.replace([("z", 3)])
    assert state["present_keys"]["values"] == [["z", 3]]
    assert PresentKeys(state, ["a"]).keys == set()  # kept for another key: start again


@pytest.mark.parametrize(
    "present",
    [
        [],
        {"values": []},
        {"fields": [], "values": []},
        {"fields": ["id"], "values": ["d1"]},
        {"fields": ["id"], "values": [["d1", "extra"]]},
    ],
)
def test_a_malformed_present_keys_state_is_refused_naming_the_stream(present):
    state = {"bookmarks": {"destinations": {"present_keys": present}}}
    with pytest.raises(StateError) as refused:
        unknown_streams(state, {"destinations": None})
    assert str(refused.value).startswith("state: present_keys of destinations must be")
    good = {"bookmarks": {"destinations": {"present_keys": {"fields": ["id"], "values": []}}}}
    assert unknown_streams(good, {"destinations": None}) == []


@pytest.mark.parametrize("setup", [SEGMENT, PM2], ids=str)
def test_the_setting_names_every_full_table_stream_of_its_tap(setup):
    tap = setup.tap_class(config={setup.credential: "x"}, parse_env_config=False)
    marking = {n for n, s in tap.streams.items() if isinstance(s, FullTableStream)}
    described = tap.config_jsonschema["properties"]["mark_deleted_rows"]["description"]
    named = described.removeprefix("Rows of ").split(" that ")[0]
    assert set(named.replace(",", " and").split(" and ")) - {""} == marking
