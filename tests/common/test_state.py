"""tap_common.state: state and catalog files checked before a sync.

A state file that is not JSON, and a top-level bookmark that is not a date-time, are also run
through every tap's command line: tests/reliability/test_bad_input.py.
"""

from __future__ import annotations

import io

import click
import pytest

from tap_common.state import StateError, checked_json_file, unknown_streams

STREAMS = {"events": "at", "buckets": None}  # stream -> replication key (None: full table)


def test_a_json_file_is_handed_on_with_its_text_and_none_stays_none():
    text = '{"bookmarks": {"events": {"replication_key_value": "2026-11-20T00:00:00Z"}}}'
    checked = checked_json_file(io.StringIO(text), "--state")
    assert checked is not None
    assert checked.read() == text
    assert checked_json_file(None, "--state") is None


def test_a_file_that_is_not_json_is_refused_naming_the_file_and_the_option(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text('{"streams": [')
    with path.open() as handle, pytest.raises(click.BadParameter) as refused:
        checked_json_file(handle, "--catalog")
    message = refused.value.format_message()
    assert message.startswith("Invalid value for '--catalog': ")
    assert f"{path} is not JSON" in message


@pytest.mark.parametrize(
    ("bookmarks", "message"),
    [
        ([], "state: `bookmarks` must be an object of stream name -> bookmark"),
        ({"events": "2026-11-20"}, "state: the bookmark of events must be an object"),
        ({"events": {"partitions": ["b1"]}}, "state: a partition of events must be an object"),
    ],
)
def test_state_not_shaped_like_singer_state_is_refused(bookmarks, message):
    with pytest.raises(StateError) as refused:
        unknown_streams({"bookmarks": bookmarks}, STREAMS)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("stream_state", "message"),
    [
        (
            {"replication_key_value": 1763596800},
            "state: bookmark of events is not a date-time: 1763596800",
        ),
        (
            {
                "partitions": [
                    {"context": {"bucket_id": "b1"}, "replication_key_value": "2026-11-20"},
                    {"context": {"bucket_id": "b2", "app": "api"}, "replication_key_value": ""},
                ]
            },
            "state: bookmark of events [bucket_id=b2, app=api] is not a date-time: ''",
        ),
    ],
    ids=["a-number", "a-partition"],
)
def test_a_bookmark_that_is_not_a_date_time_is_refused_naming_where(stream_state, message):
    with pytest.raises(StateError) as refused:
        unknown_streams({"bookmarks": {"events": stream_state}}, STREAMS)
    assert str(refused.value) == message


def test_bookmarks_not_checked_as_date_times_are_left_alone():
    state = {
        "bookmarks": {
            "buckets": {"replication_key_value": "not a time"},  # no replication key
            "events": {"replication_key_value": None, "partitions": [{"context": {"id": 1}}]},
        }
    }
    assert unknown_streams(state, STREAMS) == []
    assert unknown_streams({}, STREAMS) == []


def test_streams_this_tap_does_not_have_are_named_in_order_and_not_checked():
    state = {
        "bookmarks": {
            "zebra": {"replication_key_value": "yesterday"},
            "events": {"replication_key_value": "2026-11-20T10:37:12+01:00"},
            "apples": {"partitions": [{"replication_key_value": 42}]},
        }
    }
    assert unknown_streams(state, STREAMS) == ["apples", "zebra"]
