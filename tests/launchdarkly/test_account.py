"""tap-launchdarkly-events beyond flag events: the account's resources, the audit log,
discovery of every (project, environment), secrets, deletes, gating and old state."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api_emulator.launchdarkly import AUDIT_PATH
from tap_common.redaction import fingerprint
from tap_common.timeutil import parse_utc
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tests.harness import duplicates, run_tap
from tests.launchdarkly.conftest import flag_event_requests
from tests.taps import LAUNCHDARKLY
from tests.taps import LAUNCHDARKLY_START as START

NOW = LAUNCHDARKLY.now
CATCH_UP = timedelta(minutes=1)
FIXTURES = Path(__file__).parent / "fixtures"


def millis(moment) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def everything(config) -> dict[str, Any]:
    """No project_key, no environment_keys: every project and environment the token reads."""
    return {k: v for k, v in config.items() if k not in ("project_key", "environment_keys")}


def tombstones(result, stream: str) -> list[dict]:
    return [r for r in result.records(stream) if r.get("_sdc_deleted_at")]


def audit_ids(emulator, first, end) -> set[str]:
    entries = emulator.app.account.audit_page(millis(first) - 1, millis(end), 1_000_000)
    return {entry["_id"] for entry in entries}


def test_every_stream_reads_exactly_what_the_account_holds(emulator, everything):
    result = run_tap(TapLaunchDarklyEvents, everything)
    assert result.error is None
    account = emulator.app.account
    expected = {
        "projects": {(key,) for key in account.projects},
        "environments": {(p, e["key"]) for p, envs in account.environments.items() for e in envs},
        "flags": {
            (p, e, f["key"])
            for p, flags in account.flags.items()
            for f in flags
            for e in account.projects[p].environments
        },
        "segments": {(p, e, s["key"]) for (p, e), segs in account.segments.items() for s in segs},
        "metrics": {(p, m["key"]) for p, metrics in account.metrics.items() for m in metrics},
        "members": {(m["_id"],) for m in account.members},
        "teams": {(t["key"],) for t in account.teams},
        "audit_log": {(i,) for i in audit_ids(emulator, START, NOW - CATCH_UP)},
    }
    for stream, keys in expected.items():
        found = result.keys(stream, *LAUNCHDARKLY.keys[stream])
        assert duplicates(found) == [], stream
        assert set(found) == keys, stream
    # Flag events of every project and environment, the mobile project's included.
    events = {
        e.public["id"]
        for project in account.projects.values()
        for e in project.between(millis(START), millis(NOW) - 1)
    }
    assert {r["id"] for r in result.records("flag_events")} == events
    partitions = result.state["bookmarks"]["flag_events"]["partitions"]
    assert {(p["context"]["projectKey"], p["context"]["environmentKey"]) for p in partitions} == {
        key[:2] for key in expected["environments"]
    }


def test_sdk_and_mobile_keys_never_leave_the_tap(emulator, everything):
    result = run_tap(TapLaunchDarklyEvents, everything)
    assert result.error is None
    planted = {
        (p, e["key"]): e for p, envs in emulator.app.account.environments.items() for e in envs
    }
    records = result.records("environments")
    assert records
    for record in records:
        source = planted[record["projectKey"], record["key"]]
        assert "apiKey" not in record
        assert "mobileKey" not in record
        assert record["apiKeyFingerprint"] == fingerprint(source["apiKey"])
        assert record["mobileKeyFingerprint"] == fingerprint(source["mobileKey"])
    # The suite's scan fails the test if any planted key is in the output.
    assert planted[next(iter(planted))]["apiKey"] in emulator.app.secrets()


def test_rows_gone_from_the_account_are_marked_deleted(emulator, everything):
    first = run_tap(TapLaunchDarklyEvents, everything)
    assert first.error is None
    account = emulator.app.account
    gone_flag = account.flags["mobile"].pop()
    gone_member = account.members.pop()
    gone_segment = account.segments["default", "staging"].pop()
    second = run_tap(TapLaunchDarklyEvents, everything, state=first.state)
    assert second.error is None
    assert {(r["projectKey"], r["key"]) for r in tombstones(second, "flags")} == {
        ("mobile", gone_flag["key"])
    }
    assert len(tombstones(second, "flags")) == 2  # in each of the project's environments
    assert [r["_id"] for r in tombstones(second, "members")] == [gone_member["_id"]]
    assert [(r["environmentKey"], r["key"]) for r in tombstones(second, "segments")] == [
        ("staging", gone_segment["key"])
    ]
    assert tombstones(second, "projects") == tombstones(second, "environments") == []


def test_a_read_narrowed_to_some_environments_marks_nothing_deleted(emulator, everything):
    first = run_tap(TapLaunchDarklyEvents, everything)
    assert first.error is None
    emulator.app.account.segments["default", "staging"].pop()
    narrowed = everything | {"project_key": "default", "environment_keys": ["staging"]}
    second = run_tap(TapLaunchDarklyEvents, narrowed, state=first.state)
    assert second.error is None
    assert second.records("environments")  # read, but not in full
    for stream in ("projects", "environments", "flags", "segments", "metrics"):
        assert tombstones(second, stream) == [], stream


def test_where_insights_are_not_offered_flag_events_are_skipped_once(emulator, everything):
    emulator.app.engineering_insights = False
    result = run_tap(TapLaunchDarklyEvents, everything)
    assert result.error is None
    assert result.records("flag_events") == []
    assert result.logs.count("Skipping flag_events") == 1
    assert len(flag_event_requests(emulator)) == 1  # the first refusal ends the stream
    assert result.records("audit_log")
    assert len(result.records("environments")) == 5  # the rest of the sync went on


def test_audit_entries_sharing_a_millisecond_across_a_page_boundary_come_once(emulator, everything):
    account = emulator.app.account
    window_end = START + timedelta(hours=24)
    page = account.audit_page(millis(START) - 1, millis(window_end), 20)
    boundary = page[-1]["date"]  # the oldest entry of the window's first page
    for n in range(3):
        account.add_audit_entry(boundary, "member", f"m{n}@acme.example", "Invited")
    result = run_tap(TapLaunchDarklyEvents, everything | {"audit_log_window_hours": 24})
    assert result.error is None
    found = result.keys("audit_log", "_id")
    assert duplicates(found) == []
    assert {i for (i,) in found} == audit_ids(emulator, START, NOW - CATCH_UP)
    asked = [e.query.get("before") for e in emulator.log.entries() if e.path == AUDIT_PATH]
    assert [str(boundary + 1)] in asked  # the next page began inside that millisecond


def test_audit_log_spec_reads_only_the_entries_of_matching_resources(emulator, everything):
    spec = "proj/mobile:env/*:flag/*"
    result = run_tap(TapLaunchDarklyEvents, everything | {"audit_log_spec": spec})
    assert result.error is None
    mobile = {
        e.public["auditLogEntryId"]
        for e in emulator.app.account.projects["mobile"].between(millis(START), millis(NOW) - 1)
        if not e.is_global and millis(NOW - CATCH_UP) > e.public["eventTime"]
    }
    assert mobile
    assert {r["_id"] for r in result.records("audit_log")} == mobile


def test_an_audit_log_crash_costs_at_most_one_window(emulator, everything):
    config = everything | {"audit_log_window_hours": 12, "max_retries": 1, "lookback_minutes": 0}
    full = {r["_id"] for r in run_tap(TapLaunchDarklyEvents, config).records("audit_log")}
    emulator.faults.arm("status", path=AUDIT_PATH, status=500, after=8, times=10)
    crashed = run_tap(TapLaunchDarklyEvents, config)
    assert crashed.error is not None
    emulator.faults.clear()
    bookmark = crashed.state["bookmarks"]["audit_log"]["partitions"][0]["replication_key_value"]

    resumed = run_tap(TapLaunchDarklyEvents, config, state=crashed.state)
    assert resumed.error is None
    before = {r["_id"]: r["dateTime"] for r in crashed.records("audit_log")}
    after = {r["_id"] for r in resumed.records("audit_log")}
    assert set(before) | after == full
    # Re-read: only the window that failed (its pages before the fault) and the bookmark's entry.
    reread = [before[i] for i in set(before) & after]
    assert all(parse_utc(moment) >= parse_utc(bookmark) for moment in reread)
    assert all(parse_utc(moment) < parse_utc(bookmark) + timedelta(hours=12) for moment in reread)


def test_state_written_by_release_0_1_0_resumes_every_environment(emulator, config):
    state = json.loads((FIXTURES / "state-0.1.0.json").read_text())
    marks = {
        p["context"]["environmentKey"]: parse_utc(p["replication_key_value"])
        for p in state["bookmarks"]["flag_events"]["partitions"]
    }
    result = run_tap(TapLaunchDarklyEvents, config, state=state)
    assert result.error is None
    lookback = timedelta(minutes=config["lookback_minutes"])
    first_from = {}
    for entry in flag_event_requests(emulator):
        first_from.setdefault(entry.query["environmentKey"][0], int(entry.query["from"][0]))
    assert first_from == {env: millis(mark - lookback) for env, mark in marks.items()}
    resumed = result.state["bookmarks"]["flag_events"]["partitions"]
    assert {(p["context"]["projectKey"], p["context"]["environmentKey"]) for p in resumed} == {
        ("default", env) for env in marks
    }
