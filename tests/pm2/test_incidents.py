"""Process events, deployments, issues and occurrences: exact sets, resume and look-back, the
relative ``before`` at its edges, deletes of resolved issues, and never a deleting call."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import requests

from tap_common.timeutil import parse_utc
from tap_pm2_events.tap import TapPm2Events
from tests.harness import SyncResult, duplicates, run_tap
from tests.pm2.conftest import millis
from tests.taps import PM2
from tests.taps import PM2_START as START

NOW = PM2.now


def requests_to(emulator, suffix: str) -> list:
    return [e for e in emulator.log.entries() if e.path.endswith(suffix)]


def process_event_keys(records: list[dict]) -> list[tuple]:
    return [(r["bucket_id"], millis(parse_utc(r["at"])), r["event"], r["server_name"],
             r["pm_id"]) for r in records]  # fmt: skip


def expected_process_events(emulator, first: datetime, end: datetime) -> set[tuple]:
    now = millis(emulator.clock.now())
    return {
        (b.id, e.at, e.document["event"], e.document["server_name"], e.document["process"]["pm_id"])
        for b in emulator.app.dataset.buckets
        for e in b.incidents.visible_process_events(now, millis(first))
        if e.at < millis(end)
    }


def bookmarks(result: SyncResult, stream: str) -> dict[str, datetime]:
    """bucket id -> bookmark."""
    return {
        p["context"]["bucket_id"]: parse_utc(p["replication_key_value"])
        for p in result.state["bookmarks"][stream]["partitions"]
        if p.get("replication_key_value")
    }


def test_every_process_event_deployment_issue_and_occurrence_once(emulator, config):
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    events = process_event_keys(result.records("process_events"))
    assert duplicates([(k,) for k in events]) == []
    assert set(events) == expected_process_events(emulator, START, NOW)
    now, first = millis(NOW), millis(START)
    buckets = emulator.app.dataset.buckets
    assert {(r["bucket_id"], millis(parse_utc(r["at"])), r["server_name"], r["revision"])
            for r in result.records("deployments")} == {
        (b.id, d["at"], d["server_name"], d["revision"])
        for b in buckets for d in b.incidents.deployments if first <= d["at"] < now
    }  # fmt: skip
    assert len(result.records("deployments")) == len({r["deployment_id"] for r in
                                                      result.records("deployments")})  # fmt: skip
    issues = {(b.id, i.identifier): i.document(now) for b in buckets
              for i in b.incidents.issues.values() if i.document(now)}  # fmt: skip
    rows = {(r["bucket_id"], r["identifier"]): r for r in result.records("issues")}
    assert set(rows) == set(issues)
    for key, row in rows.items():
        assert row["occurrences"] == issues[key]["occurrences"]
        assert millis(parse_utc(row["last_seen"])) == issues[key]["last_seen"]
    assert Counter((r["bucket_id"], r["app_name"]) for r in result.records("issues")) == {
        (r["bucket_id"], r["app_name"]): r["open_issues"] for r in result.records("issue_apps")
    }
    occurrences = result.keys("issue_occurrences", "occurrence_id")
    assert duplicates(occurrences) == []
    assert {(r["bucket_id"], r["identifier"], r["occurrence_id"])
            for r in result.records("issue_occurrences")} == {
        (b.id, i.identifier, o.document["_id"]) for b in buckets
        for i in b.incidents.issues.values() for o in i.visible(now) if o.at >= first
    }  # fmt: skip


def test_before_reaches_the_bookmark_less_the_look_back_and_the_edges_hold(emulator, config):
    first = run_tap(TapPm2Events, config)
    marks = bookmarks(first, "process_events")
    bucket = emulator.app.dataset.buckets[0]
    start = marks[bucket.id] - timedelta(minutes=30)
    dataset = emulator.app.dataset
    # Late arrivals on both sides of the look-back's start, and one at the next run's end.
    on_start = dataset.add_process_event(bucket, start, app="api", event="exit", late_minutes=40)
    before_start = dataset.add_process_event(
        bucket, start - timedelta(milliseconds=1), app="api", event="stop", late_minutes=40
    )
    second_end = NOW + timedelta(hours=1)
    at_end = dataset.add_process_event(bucket, second_end, app="api", event="online")
    emulator.clock.set(second_end)
    emulator.log.clear()

    second = run_tap(TapPm2Events, config | {"lookback_minutes": 30}, state=first.state)
    assert second.error is None
    (asked,) = [e.body["before"] for e in requests_to(emulator, "/processEvents")
                if f"/{bucket.id}/" in e.path]  # fmt: skip
    minutes = math.ceil((second_end - start) / timedelta(minutes=1))
    assert minutes <= asked <= minutes + 2  # reaches the start; a minute of margin, no more
    got = {(r["bucket_id"], r["event"], millis(parse_utc(r["at"])))
           for r in second.records("process_events")}  # fmt: skip
    assert (bucket.id, "exit", on_start["at"]) in got
    assert (bucket.id, "stop", before_start["at"]) not in got
    assert (bucket.id, "online", at_end["at"]) not in got  # the run's end is exclusive
    assert all(
        parse_utc(r["at"]) >= marks[r["bucket_id"]] - timedelta(minutes=30)
        for r in second.records("process_events")
    )

    emulator.clock.set(second_end + timedelta(hours=1))
    third = run_tap(TapPm2Events, config | {"lookback_minutes": 0}, state=second.state)
    assert (bucket.id, "online", at_end["at"]) in {
        (r["bucket_id"], r["event"], millis(parse_utc(r["at"])))
        for r in third.records("process_events")
    }


def test_a_run_later_than_the_api_keeps_warns_and_reads_what_is_kept(emulator, config):
    first = run_tap(TapPm2Events, config)
    later = NOW + timedelta(days=9)
    emulator.clock.set(later)
    emulator.log.clear()
    second = run_tap(TapPm2Events, config | {"retention_days": 7}, state=first.state)
    assert second.error is None
    assert "retention_days" in second.logs
    assert "process_events of bucket" in second.logs
    asked = [e.body["before"] for e in requests_to(emulator, "/processEvents")]
    assert asked
    assert all(7 * 1440 <= minutes <= 7 * 1440 + 2 for minutes in asked)
    oldest = later - timedelta(days=7)
    assert set(process_event_keys(second.records("process_events"))) == expected_process_events(
        emulator, oldest, later
    )


def test_app_names_ask_per_app_and_key_the_state_by_the_filter(emulator, config):
    result = run_tap(TapPm2Events, config | {"app_names": ["web", "api"]})
    assert result.error is None
    bodies = [e.body for e in requests_to(emulator, "/processEvents")]
    buckets = emulator.app.dataset.buckets
    assert sorted(b["app_name"] for b in bodies) == sorted(["api", "web"] * len(buckets))
    assert {r["app_name"] for r in result.records("process_events")} <= {"api", "web"}
    assert set(process_event_keys(result.records("process_events"))) == {
        key
        for key in expected_process_events(emulator, START, NOW)
        if key[3].split("-")[0] in ("api", "web")
    }
    for stream in ("process_events", "deployments"):
        partitions = result.state["bookmarks"][stream]["partitions"]
        assert {p["context"]["apps"] for p in partitions} == {"api,web"}
    assert {r["app_name"] for r in result.records("issues")} <= {"api", "web"}


def test_a_rerun_emits_new_deployments_and_not_the_old_ones(emulator, config):
    first = run_tap(TapPm2Events, config)
    marks = bookmarks(first, "deployments")
    bucket = emulator.app.dataset.buckets[0]
    emulator.clock.set(NOW + timedelta(hours=1))
    deployed = NOW + timedelta(minutes=30)
    dataset = emulator.app.dataset
    dataset.deploy(bucket, "api", deployed)
    second = run_tap(TapPm2Events, config | {"lookback_minutes": 0}, state=first.state)
    rows = second.records("deployments")
    new = {(r["bucket_id"], r["server_name"]) for r in rows if parse_utc(r["at"]) == deployed}
    assert new == {(bucket.id, "api-01"), (bucket.id, "api-02")}
    assert all(
        parse_utc(r["at"]) == deployed or parse_utc(r["at"]) == marks[r["bucket_id"]] for r in rows
    )  # only the new ones, and the bookmark's own (the start is inclusive)
    restarts = {r["server_name"] for r in second.records("process_events")
                if parse_utc(r["at"]) >= deployed and r["manually"]}  # fmt: skip
    assert restarts == {"api-01", "api-02"}  # the deployment restarted its processes


def test_issues_stay_current_and_a_resolved_one_is_marked_deleted(emulator, config):
    first = run_tap(TapPm2Events, config)
    bucket = emulator.app.dataset.buckets[0]
    issues = sorted(bucket.incidents.issues.values(), key=lambda i: i.identifier)
    recurring, resolved = issues[0], issues[1]
    thrown = NOW + timedelta(minutes=30)
    occurrence = emulator.app.dataset.add_occurrence(bucket, recurring.identifier, thrown)
    admin = f"{emulator.url}/_emulator/pm2/issues/{resolved.identifier}"
    assert requests.put(admin, json={"fixed": True}, timeout=5).status_code == 204
    emulator.clock.set(NOW + timedelta(hours=1))
    emulator.log.clear()

    second = run_tap(TapPm2Events, config | {"lookback_minutes": 0}, state=first.state)
    assert second.error is None
    rows = {r["identifier"]: r for r in second.records("issues")}
    before = {r["identifier"]: r for r in first.records("issues")}
    assert (
        rows[recurring.identifier]["occurrences"] == before[recurring.identifier]["occurrences"] + 1
    )
    assert parse_utc(rows[recurring.identifier]["last_seen"]) == thrown
    assert rows[resolved.identifier]["_sdc_deleted_at"] is not None  # the tombstone
    assert all(r["_sdc_deleted_at"] is None for i, r in rows.items() if i != resolved.identifier)
    new = [r for r in second.records("issue_occurrences") if parse_utc(r["at"]) == thrown]
    assert [r["occurrence_id"] for r in new] == [occurrence["_id"]]
    # Occurrences are asked only of issues seen since their bookmark.
    asked = {e.path.rsplit("/", 1)[1] for e in requests_to(emulator, "")
             if "/issues/occurrences/" in e.path}  # fmt: skip
    assert asked == {recurring.identifier}
    restarted = [r for r in second.records("process_events")
                 if parse_utc(r["at"]) == thrown + timedelta(seconds=1)]  # fmt: skip
    assert [(r["event"], r["manually"]) for r in restarted] == [("restart", False)]


def test_occurrences_at_one_instant_are_read_once_across_pages(emulator, config):
    bucket = emulator.app.dataset.buckets[0]
    issue = next(iter(bucket.incidents.issues.values()))
    instant = NOW - timedelta(hours=2)
    for _ in range(120):  # more than two pages at one millisecond
        emulator.app.dataset.add_occurrence(bucket, issue.identifier, instant)
    emulator.app.dataset.add_occurrence(bucket, issue.identifier, instant + timedelta(seconds=1))
    config = config | {"bucket_ids": [bucket.id]}
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    mine = [r for r in result.records("issue_occurrences") if r["identifier"] == issue.identifier]
    expected = {o.document["_id"] for o in issue.visible(millis(NOW)) if o.at >= millis(START)}
    assert duplicates([(r["occurrence_id"],) for r in mine]) == []
    assert {r["occurrence_id"] for r in mine} == expected
    pages = [e for e in emulator.log.entries() if e.path.endswith(issue.identifier)]
    assert all(int(e.query["from"][0]) + 50 <= 10_000 for e in pages)
    assert len(pages) <= math.ceil(len(expected) / 50) + 1  # no page read twice; one empty


def test_the_tap_never_calls_a_deleting_route(emulator, config):
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    assert result.records("issues")
    assert result.records("process_events")
    assert emulator.app.deleting_calls == Counter()
    assert [e for e in emulator.log.entries() if e.method not in ("GET", "POST")] == []
