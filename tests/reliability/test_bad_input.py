"""A refused credential, state files that cannot be used, and catalog deselection, for every tap.

(Invalid settings: test_settings_table.py.)
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tap_common.errors import CredentialError
from tap_common.state import StateError
from tests.harness import BIN, run_tap
from tests.reliability.cases import CASES, TapCase


def first_bookmarked(case: TapCase, state: dict) -> tuple[str, dict]:
    """A stream of the state with a bookmark value (top level or first partition)."""
    for name, stream_state in state["bookmarks"].items():
        if stream_state.get("replication_key_value"):
            return name, stream_state
        partitions = stream_state.get("partitions") or []
        if partitions and partitions[0].get("replication_key_value"):
            return name, partitions[0]
    msg = f"{case} wrote no bookmark"
    raise AssertionError(msg)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_refused_credential_stops_at_the_first_request_naming_but_never_showing_it(case):
    emulator = case.start_emulator()
    try:
        wrong = "wrong-" + "Zq8" * 8
        setting = case.setup.credential
        result = run_tap(case.tap_class, case.settings(emulator) | {setting: wrong})
        assert isinstance(result.error, CredentialError)
        (refused,) = emulator.log.entries()
        assert refused.status in (400, 401, 403)
        assert f"({refused.status})" in str(result.error)
        assert f"Check the `{setting}` setting" in str(result.error)
        assert wrong not in str(result.error) + result.logs + result.stdout
    finally:
        emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_state_file_that_is_not_json_stops_the_cli_naming_the_option(case, tmp_path):
    emulator = case.start_emulator()
    try:
        (tmp_path / "config.json").write_text(json.dumps(case.settings(emulator)))
        (tmp_path / "state.json").write_text('{"bookmarks": {')
        command = [str(BIN / case.tap), "--config", str(tmp_path / "config.json")]
        completed = subprocess.run(
            [*command, "--state", str(tmp_path / "state.json")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 2
        assert "Invalid value for '--state'" in completed.stderr
        assert "is not JSON" in completed.stderr
        assert "Traceback" not in completed.stderr
        assert emulator.log.entries() == []
    finally:
        emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_bookmark_that_is_not_a_date_time_is_refused_before_any_request(case):
    emulator = case.start_emulator()
    try:
        state = run_tap(case.tap_class, case.settings(emulator)).state
        name, holder = first_bookmarked(case, state)
        holder["replication_key_value"] = "last tuesday"
        emulator.log.clear()
        result = run_tap(case.tap_class, case.settings(emulator), state=state)
        assert isinstance(result.error, StateError)
        assert f"bookmark of {name}" in str(result.error)
        assert "'last tuesday'" in str(result.error)
        assert emulator.log.entries() == []
    finally:
        emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_another_taps_state_is_ignored_with_a_warning_and_a_first_run_follows(case):
    emulator = case.start_emulator()
    try:
        clean = run_tap(case.tap_class, case.settings(emulator))
        foreign = {"bookmarks": {"someone_elses_stream": {"replication_key_value": "x"}}}
        result = run_tap(case.tap_class, case.settings(emulator), state=foreign)
        assert result.error is None
        assert "ignoring bookmarks of streams this tap does not have: someone_elses_stream" in (
            result.logs
        )
        for table, columns in case.keys.items():
            assert set(result.keys(table, *columns)) == set(clean.keys(table, *columns))
    finally:
        emulator.stop()


def deselected(case: TapCase, emulator, stream: str) -> dict:
    """The tap's catalog with ``stream`` deselected."""
    catalog = case.tap_class(config=case.settings(emulator), parse_env_config=False).catalog_dict
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == stream:
            for metadata in entry["metadata"]:
                if not metadata["breadcrumb"]:
                    metadata["metadata"]["selected"] = False
    return catalog


STREAMS = [(case, stream) for case in CASES for stream in case.keys]


@pytest.mark.parametrize(("case", "stream"), STREAMS, ids=[f"{c}-{s}" for c, s in STREAMS])
def test_a_deselected_stream_is_neither_emitted_nor_requested(case, stream):
    emulator = case.start_emulator()
    try:
        tap = case.tap_class(config=case.settings(emulator), parse_env_config=False)
        is_parent = any(
            child.parent_stream_type is type(tap.streams[stream]) for child in tap.streams.values()
        )
        emulator.log.clear()
        result = run_tap(
            case.tap_class, case.settings(emulator), catalog=deselected(case, emulator, stream)
        )
        assert result.error is None
        assert result.records(stream) == []
        others = [name for name in case.keys if name != stream]
        assert all(result.records(name) for name in others)
        requested = [e.path for e in emulator.log.entries()]
        own = [path for path in requested if re.search(case.endpoints[stream], path)]
        # A parent's endpoint still gives its selected children their contexts (not emitted).
        assert bool(own) == is_parent
    finally:
        emulator.stop()
