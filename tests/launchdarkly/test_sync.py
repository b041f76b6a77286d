"""tap-launchdarkly-events: every event once, resumable per environment, late impact re-read."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import pytest

from tap_common.timeutil import parse_utc
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tests.harness import duplicates, run_tap
from tests.launchdarkly.conftest import expected_ids, flag_event_requests
from tests.taps import LAUNCHDARKLY
from tests.taps import LAUNCHDARKLY_ENVIRONMENTS as ENVIRONMENTS
from tests.taps import LAUNCHDARKLY_START as START

NOW = LAUNCHDARKLY.now

STREAM = "flag_events"
PATH = "/api/v2/engineering-insights/flag-events"


def ids(result) -> list[str]:
    return [record["id"] for record in result.records(STREAM)]


def bookmarks(state: dict) -> dict[str, str]:
    """Environment key -> bookmark of the flag_events partitions."""
    partitions = state["bookmarks"][STREAM]["partitions"]
    return {p["context"]["environmentKey"]: p["replication_key_value"] for p in partitions}


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize("newest_first", [True, False])
def test_every_event_once_across_pages_and_windows_in_either_order(emulator, config, newest_first):
    emulator.app.newest_first = newest_first
    result = run_tap(TapLaunchDarklyEvents, config | {"page_size": 4, "window_max_events": 20})
    assert result.error is None
    assert duplicates([(i,) for i in ids(result)]) == []
    assert set(ids(result)) == expected_ids(emulator, START, NOW)
    pages = [e for e in flag_event_requests(emulator) if e.path == PATH]
    assert any("after" in e.query for e in pages)  # the sync really paged
    assert len({e.query["from"][0] for e in pages}) >= 6  # ~60 events an environment


def window_sizes(emulator, environment: str) -> dict[tuple[int, int], int]:
    """(from, to) of each window asked for -> events the API holds in it for ``environment``."""
    sizes = {}
    for entry in flag_event_requests(emulator):
        if entry.query["environmentKey"] == [environment]:
            first, last = int(entry.query["from"][0]), int(entry.query["to"][0])
            held = emulator.app.dataset.between(first, last)
            sizes[(first, last)] = sum(
                1 for e in held if e.public.get("environmentKey") in (environment, None)
            )
    return sizes


def test_a_range_that_fits_one_window_costs_the_fewest_requests(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config)
    per_environment = Counter(r.get("environmentKey") or ENVIRONMENTS[0] for r in
                              result.records(STREAM))  # fmt: skip
    fewest = sum(math.ceil(n / config["page_size"]) for n in per_environment.values())
    assert len(flag_event_requests(emulator)) == fewest
    assert all(len(window_sizes(emulator, env)) == 1 for env in ENVIRONMENTS)


def test_windows_are_cut_by_count_before_anything_is_emitted(emulator, config):
    config = config | {"environment_keys": ["production"], "window_max_events": 12}
    result = run_tap(TapLaunchDarklyEvents, config | {"page_size": 5})
    assert result.error is None
    assert duplicates([(i,) for i in ids(result)]) == []
    sizes = window_sizes(emulator, "production")
    probes = {w for w, n in sizes.items() if n > 12}  # cut after their first page
    assert probes  # the first window, up to now, holds ~70 events
    for window in probes:
        pages = [e for e in flag_event_requests(emulator) if e.query["from"][0] == str(window[0])]
        assert any("after" not in e.query for e in pages)
    read_whole = [n for w, n in sizes.items() if w not in probes]
    assert sum(read_whole) == len(ids(result))  # every event from windows of at most 12
    assert len(probes) <= len(read_whole)  # density carries over: cuts stay rare


def test_every_page_sends_the_full_parameter_set_and_only_takes_the_cursor(emulator, config):
    run_tap(TapLaunchDarklyEvents, config)
    for entry in flag_event_requests(emulator):
        assert entry.query["projectKey"] == ["default"]
        assert entry.query["environmentKey"][0] in ENVIRONMENTS
        assert entry.query["limit"] == ["25"]
        assert int(entry.query["from"][0]) < int(entry.query["to"][0])


def test_records_carry_a_canonical_utc_time_beside_the_raw_milliseconds(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config)
    for record in result.records(STREAM):
        assert record["eventDateTime"].endswith("+00:00")
        assert millis(parse_utc(record["eventDateTime"])) == record["eventTime"]
        assert START <= parse_utc(record["eventDateTime"]) < NOW


def test_global_events_are_read_once_with_the_first_environment(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config)
    global_ids = [r["id"] for r in result.records(STREAM) if r.get("environmentKey") is None]
    assert global_ids  # the seeded data has some
    assert len(global_ids) == len(set(global_ids))
    queries = [e.query for e in flag_event_requests(emulator)]
    assert {q["environmentKey"][0] for q in queries if q["global"] == ["include"]} == {"production"}

    result = run_tap(TapLaunchDarklyEvents, config | {"include_global": False})
    assert set(ids(result)) == expected_ids(emulator, START, NOW, include_global=False)


def test_state_keeps_one_bookmark_per_environment_at_its_newest_event(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config)
    newest: dict[str, str] = {}
    for record in result.records(STREAM):
        environment = record.get("environmentKey") or ENVIRONMENTS[0]
        newest[environment] = max(newest.get(environment, ""), record["eventDateTime"])
    assert bookmarks(result.state) == newest


def test_state_advances_after_every_window(emulator, config):
    config = config | {
        "environment_keys": ["production"],
        "window_max_events": 10,
        "state_interval_seconds": 0,
    }
    result = run_tap(TapLaunchDarklyEvents, config)
    marks = [bookmarks(s).get("production") for s in result.states() if STREAM in s["bookmarks"]]
    progress = sorted({m for m in marks if m})
    assert len(progress) >= 6  # one promotion per window of <= 10 events, not one at the end
    assert "not resumable" not in result.logs  # the SDK's warning would be wrong here


def test_a_rerun_reads_only_new_events_and_the_look_back(emulator, config):
    first = run_tap(TapLaunchDarklyEvents, config)
    marks = bookmarks(first.state)
    dataset = emulator.app.dataset
    later = NOW + timedelta(hours=2)
    added = {dataset.add_event(NOW + timedelta(minutes=m))["id"] for m in (5, 50, 100)}
    emulator.clock.set(later)
    emulator.log.clear()

    second = run_tap(TapLaunchDarklyEvents, config | {"lookback_minutes": 30}, state=first.state)
    assert second.error is None
    assert added <= set(ids(second))
    for record in second.records(STREAM):
        environment = record.get("environmentKey") or ENVIRONMENTS[0]
        floor = parse_utc(marks[environment]) - timedelta(minutes=30)
        assert parse_utc(record["eventDateTime"]) >= floor
    expected_reread = {
        e.public["id"]
        for environment, mark in marks.items()
        for e in dataset.between(millis(parse_utc(mark) - timedelta(minutes=30)), millis(NOW) - 1)
        if e.public.get("environmentKey", ENVIRONMENTS[0]) == environment
    }
    assert set(ids(second)) == expected_reread | expected_ids(emulator, NOW, later)
    assert len(flag_event_requests(emulator)) == len(ENVIRONMENTS)  # one window, one page each


def test_an_impact_still_waiting_lands_on_the_next_run(emulator, config):
    dataset = emulator.app.dataset
    fresh = dataset.add_event(NOW - timedelta(minutes=3), environment="staging")["id"]
    first = run_tap(TapLaunchDarklyEvents, config | {"environment_keys": ["staging"]})
    (waiting,) = [r for r in first.records(STREAM) if r["id"] == fresh]
    assert waiting["impact"]["reason"] == "waiting"

    emulator.clock.set(NOW + timedelta(minutes=20))
    second = run_tap(
        TapLaunchDarklyEvents, config | {"environment_keys": ["staging"]}, state=first.state
    )
    (settled,) = [r for r in second.records(STREAM) if r["id"] == fresh]
    assert settled["impact"]["reason"] == "evaluations"
    assert settled["impact"]["evaluationsSummary"]["variations"]


def test_a_crash_costs_at_most_one_window(emulator, config):
    config = config | {
        "environment_keys": ["production"],
        "max_retries": 1,
        "window_max_events": 20,
        "page_size": 5,
    }
    full = set(ids(run_tap(TapLaunchDarklyEvents, config)))
    emulator.log.clear()
    emulator.faults.arm("status", path=PATH, status=500, after=3, times=10)
    crashed = run_tap(TapLaunchDarklyEvents, config)
    assert crashed.error is not None
    emulator.faults.clear()

    resumed = run_tap(TapLaunchDarklyEvents, config | {"lookback_minutes": 0}, state=crashed.state)
    assert resumed.error is None
    assert set(ids(crashed)) | set(ids(resumed)) == full
    reread = set(ids(crashed)) & set(ids(resumed))
    windows_read = {e.query["from"][0] for e in flag_event_requests(emulator) if e.status == 200}
    # Only the failed window's pages read before the fault (and the bookmark's own event).
    assert len(reread) <= config["window_max_events"] + 1
    assert len(windows_read) >= 2


def test_filters_are_sent_as_the_api_spells_them(emulator, config):
    config = config | {
        "application_keys": ["web-app", "ios-app"],
        "query": "checkout",
        "impact_size": "large",
        "has_experiments": False,
        "expand_experiments": True,
    }
    result = run_tap(TapLaunchDarklyEvents, config)
    assert result.error is None
    query = flag_event_requests(emulator)[0].query
    assert query["applicationKey"] == ["web-app,ios-app"]
    assert query["query"] == ["checkout"]
    assert query["impactSize"] == ["large"]
    assert query["hasExperiments"] == ["false"]
    assert query["expand"] == ["experiments"]
    for record in result.records(STREAM):
        assert "checkout" in record["flagKey"]
        assert record["experiments"] == {"totalCount": 0, "items": []}


def test_expanded_experiments_keep_their_nested_shape(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config | {"expand_experiments": True})
    with_experiments = [r for r in result.records(STREAM) if r["experiments"]["totalCount"]]
    assert with_experiments
    iteration = with_experiments[0]["experiments"]["items"][0]["iteration"]
    assert isinstance(iteration["startedAt"], int)
