"""tap-pm2-events: every event once, resumable, late events and tokens handled, histograms."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import requests

from tap_common.timeutil import parse_utc
from tap_pm2_events.client import Pm2TokenAuth
from tap_pm2_events.tap import TapPm2Events
from tests.harness import duplicates, run_tap
from tests.pm2.conftest import event_keys, expected_events, millis
from tests.taps import PM2
from tests.taps import PM2_START as START

NOW = PM2.now

DATA_ROUTES = "/data/"


def data_requests(emulator, suffix: str = "/data/events") -> list:
    return [e for e in emulator.log.entries() if e.path.endswith(suffix)]


@pytest.mark.parametrize("newest_first", [True, False])
def test_every_event_once_across_pages_windows_and_apps(emulator, config, newest_first):
    emulator.app.newest_first = newest_first
    result = run_tap(TapPm2Events, config | {"page_size": 7})
    assert result.error is None
    records = result.records("events")
    assert duplicates([(k,) for k in event_keys(records)]) == []
    assert set(event_keys(records)) == expected_events(emulator, START, NOW)
    assert len({r["event_id"] for r in records}) == len(records)
    assert any(e.status == 200 for e in data_requests(emulator))


def test_a_range_that_fits_one_window_costs_one_request_per_event_name(emulator, config):
    result = run_tap(TapPm2Events, config | {"page_size": 10_000})
    assert result.error is None
    partitions = {(r["bucket_id"], r["event_name"]) for r in result.records("event_keys")}
    assert len(data_requests(emulator)) == len(partitions)


@pytest.mark.parametrize("newest_first", [True, False])
def test_windows_are_cut_by_count_and_each_holds_at_most_window_max_events(
    emulator, config, newest_first
):
    emulator.app.newest_first = newest_first
    config = config | {"event_names": ["user:login"], "page_size": 4, "window_max_events": 10}
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    records = result.records("events")
    assert duplicates([(k,) for k in event_keys(records)]) == []
    assert set(event_keys(records)) == expected_events(emulator, START, NOW, names={"user:login"})
    pages_per_window = Counter(
        (e.path, e.body["start"], e.body["end"]) for e in data_requests(emulator)
    )
    assert max(pages_per_window.values()) <= 3  # offsets 0, 4, 8: never past 10 events
    assert len(pages_per_window) > 2  # ~23 events a bucket: the range was cut


def test_records_carry_utc_time_names_and_the_payload_object(emulator, config):
    result = run_tap(TapPm2Events, config)
    for record in result.records("events"):
        assert record["at"].endswith("+00:00")
        assert millis(parse_utc(record["at"])) == record["at_epoch_ms"]
        assert record["app_name"] == record["process"]["name"]
        assert record["server_name"] == record["process"]["server"]
        assert record["event_name"] == record["name"]
        assert isinstance(record["data"], dict)


def test_the_data_node_is_resolved_from_the_bucket_and_delete_all_never_called(emulator, config):
    result = run_tap(TapPm2Events, config)
    buckets = result.records("buckets")
    assert {b["id"] for b in buckets} == {b.id for b in emulator.app.dataset.buckets}
    assert {b["data_endpoint"] for b in buckets} == {emulator.urls["data"]}
    assert all("secret_id" not in b for b in buckets)
    entries = emulator.log.entries()
    assert {e.host for e in entries if DATA_ROUTES in e.path} == {"data"}
    assert {(e.host, e.method, e.path) for e in entries if e.host == "auth"} == {
        ("auth", "POST", "/api/oauth/token")
    }
    assert [e for e in entries if e.method in ("DELETE", "PUT", "PATCH")] == []


def test_event_keys_are_one_row_per_bucket_app_and_name(emulator, config):
    result = run_tap(TapPm2Events, config)
    rows = result.records("event_keys")
    assert duplicates(result.keys("event_keys", "bucket_id", "app_name", "event_name")) == []
    now = millis(NOW)
    for bucket in emulator.app.dataset.buckets:
        counts = Counter((e.app, e.document["name"]) for e in bucket.visible(now, 0, now))
        assert {
            (r["app_name"], r["event_name"]): r["count"]
            for r in rows
            if r["bucket_id"] == bucket.id
        } == counts


def test_a_rerun_reads_new_and_late_events_and_nothing_before_the_look_back(emulator, config):
    first = run_tap(TapPm2Events, config)
    marks = {
        (p["context"]["bucket_id"], p["context"]["event_name"]): parse_utc(
            p["replication_key_value"]
        )
        for p in first.state["bookmarks"]["events"]["partitions"]
    }
    bucket = emulator.app.dataset.buckets[0]
    dataset = emulator.app.dataset
    late = dataset.add_event(bucket, NOW - timedelta(minutes=5), late_minutes=15)
    fresh = dataset.add_event(bucket, NOW + timedelta(minutes=20), late_minutes=0)
    emulator.clock.set(NOW + timedelta(hours=1))
    emulator.log.clear()

    second = run_tap(TapPm2Events, config | {"lookback_minutes": 30}, state=first.state)
    assert second.error is None
    keys = set(event_keys(second.records("events")))
    assert {
        (bucket.id, late["data"]["request_id"]),
        (bucket.id, fresh["data"]["request_id"]),
    } <= keys
    for record in second.records("events"):
        mark = marks.get((record["bucket_id"], record["event_name"]))
        if mark is not None:
            assert parse_utc(record["at"]) >= mark - timedelta(minutes=30)
    read_before = set(event_keys(first.records("events")))
    reread = [r for r in second.records("events") if event_keys([r])[0] in read_before]
    assert reread  # at least each bookmark's own event, inside its look-back
    assert all((r["bucket_id"], r["event_name"]) in marks for r in reread)  # bounded above


def test_a_token_that_expires_mid_sync_is_renewed_and_the_request_replayed(emulator, config):
    clean = run_tap(TapPm2Events, config)
    emulator.log.clear()
    emulator.app.token_max_uses = 6
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    assert sorted(event_keys(result.records("events"))) == sorted(
        event_keys(clean.records("events"))
    )
    statuses = Counter(e.status for e in emulator.log.entries() if e.host != "auth")
    exchanges = [e for e in emulator.log.entries() if e.host == "auth"]
    assert statuses[401] >= 2
    assert len(exchanges) == 1 + statuses[401]  # one exchange per expiry, no more


def test_a_token_about_to_expire_is_renewed_before_it_is_sent(emulator, config):
    tap = TapPm2Events(config=config, parse_env_config=False)
    auth = tap.runtime.authenticator
    assert isinstance(auth, Pm2TokenAuth)
    first = auth.current()
    assert auth.current() == first  # fresh: kept
    emulator.clock.set(NOW + timedelta(minutes=59, seconds=30))  # 30 s before expire_at
    tap.runtime.observe(requests.get(f"{emulator.url}/_emulator/health", timeout=5))
    second = auth.current()
    assert second != first
    assert auth.exchanges == 2
    answer = requests.get(
        f"{emulator.url}/api/bucket", headers={"Authorization": f"Bearer {second}"}, timeout=5
    )
    assert answer.status_code == 200
    assert [e.status for e in emulator.log.entries()] == [200, 200, 200]  # no 401 on the way


def test_a_window_with_more_events_than_the_result_window_is_split(emulator, config):
    bucket = emulator.app.dataset.buckets[0]
    for second in range(10_050):
        emulator.app.dataset.add_event(
            bucket,
            NOW - timedelta(hours=3, seconds=second / 2),
            app="api",
            name="burst",
            late_minutes=0,
        )
    config = config | {
        "event_names": ["burst"],
        "bucket_ids": [bucket.id],
        "page_size": 1000,
        "start_date": (NOW - timedelta(hours=6)).isoformat(),
    }
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    assert len(result.records("events")) == 10_050
    assert duplicates([(k,) for k in event_keys(result.records("events"))]) == []
    assert all(e.status == 200 for e in emulator.log.entries())  # never asked past 10,000


def test_filters_narrow_partitions_and_bodies(emulator, config):
    result = run_tap(TapPm2Events, config | {"app_names": ["web"], "event_names": ["user:login"]})
    assert result.error is None
    assert {(r["app_name"], r["event_name"]) for r in result.records("events")} == {
        ("web", "user:login")
    }
    partitions = result.state["bookmarks"]["events"]["partitions"]
    assert all(p["context"]["app_name"] == "web" for p in partitions)
    assert {e.path for e in data_requests(emulator)}  # bodies are not logged; the tap's filter:
    assert {r["app_name"] for r in result.records("event_histograms")} == {"web"}


def test_an_unreadable_bucket_id_is_named(emulator, config):
    result = run_tap(TapPm2Events, config | {"bucket_ids": ["0123456789abcdef01234567"]})
    assert result.error is not None
    assert "bucket_ids" in str(result.error)
    assert "0123456789abcdef01234567" in str(result.error)


def test_histograms_count_per_bucket_and_rerun_only_from_the_partial_one(emulator, config):
    config = config | {"histogram_interval": "hour", "histogram_days": 2}
    first = run_tap(TapPm2Events, config)
    rows = first.records("event_histograms")
    pk = ("bucket_id", "app_name", "event_name", "interval", "bucket_start")
    assert duplicates(first.keys("event_histograms", *pk)) == []
    bucket = emulator.app.dataset.buckets[0]
    now = millis(NOW)
    sample = next(r for r in rows if r["count"] and r["bucket_id"] == bucket.id)
    start = millis(parse_utc(sample["bucket_start"]))
    expected = sum(
        1
        for e in bucket.visible(now, start, start + 3_600_000 - 1)
        if (e.app, e.document["name"]) == (sample["app_name"], sample["event_name"])
    )
    assert sample["count"] == expected
    newest = max(r["bucket_start"] for r in rows)
    assert parse_utc(newest) == NOW.replace(minute=0, second=0, microsecond=0)

    emulator.clock.set(NOW + timedelta(minutes=30))
    second = run_tap(TapPm2Events, config, state=first.state)
    next_hour = parse_utc(newest) + timedelta(hours=1)
    assert {parse_utc(r["bucket_start"]) for r in second.records("event_histograms")} == {
        parse_utc(newest),  # the partial bucket of the last run, now complete
        next_hour,  # the new partial one
    }


def test_a_crash_costs_at_most_one_window(emulator, config):
    bucket = emulator.app.dataset.buckets[0]
    config = config | {
        "bucket_ids": [bucket.id],
        "event_names": ["user:login"],  # 23 events
        "page_size": 5,
        "window_max_events": 10,
    }
    full = set(event_keys(run_tap(TapPm2Events, config).records("events")))
    path = f"/api/bucket/{bucket.id}/data/events"
    pages = len([e for e in emulator.log.entries() if e.path == path])
    emulator.log.clear()
    # The last two pages fail: several windows completed before, at least one is left.
    emulator.faults.arm("status", path=path, status=500, after=pages - 2, times=10)
    crashed = run_tap(TapPm2Events, config | {"max_retries": 1})
    assert crashed.error is not None
    emulator.faults.clear()

    resumed = run_tap(TapPm2Events, config | {"lookback_minutes": 0}, state=crashed.state)
    assert resumed.error is None
    first, second = (set(event_keys(r.records("events"))) for r in (crashed, resumed))
    assert first | second == full
    assert len(first & second) <= 1  # only the bookmark's own event: no window read twice
    assert first  # the crash came after at least one completed window
