"""Partition state found through an index: the same entries the SDK's scan would find."""

from __future__ import annotations

import pytest

from tap_common.state import IndexedStateManager


def manager(state: dict) -> IndexedStateManager:
    return IndexedStateManager(
        tap_name="tap-test",
        stream_name="s",
        tap_state=state,
        state_partitioning_keys=None,
        is_sorted=False,
        check_sorted=False,
    )


def test_each_partition_has_one_entry_in_the_sdks_own_list():
    state: dict = {"bookmarks": {"s": {"partitions": [{"context": {"id": "a"}, "v": 1}]}}}
    states = manager(state)
    assert states.get_context_state({"id": "a"})["v"] == 1  # loaded, found
    new = states.get_context_state({"id": "b"})
    new["v"] = 2
    assert states.get_context_state({"id": "b"}) is new
    assert [p["context"]["id"] for p in state["bookmarks"]["s"]["partitions"]] == ["a", "b"]


def test_a_list_replaced_or_grown_elsewhere_is_indexed_again():
    state: dict = {"bookmarks": {"s": {"partitions": []}}}
    states = manager(state)
    states.get_context_state({"id": "a"})
    state["bookmarks"]["s"]["partitions"].append({"context": {"id": "c"}, "v": 3})
    assert states.get_context_state({"id": "c"})["v"] == 3
    state["bookmarks"]["s"]["partitions"] = [{"context": {"id": "a"}, "v": 4}]
    assert states.get_context_state({"id": "a"})["v"] == 4


def test_duplicate_partitions_in_a_state_file_are_refused_as_the_sdk_does():
    twice = [{"context": {"id": "a"}, "v": 1}, {"context": {"id": "a"}, "v": 2}]
    states = manager({"bookmarks": {"s": {"partitions": twice}}})
    with pytest.raises(ValueError, match="duplicate"):
        states.get_context_state({"id": "a"})
