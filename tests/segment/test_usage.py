"""Usage, event volume, audit trail and delivery overview: exact rows, resume, open buckets."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from api_emulator.data import segment_usage as usage
from tap_common.timeutil import parse_utc, to_utc_iso
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import SyncResult, duplicates, run_tap
from tests.segment.selection import selecting

UTC = timezone.utc
DAY = timedelta(days=1)
OVERVIEW_KEY = ("sourceId", "destinationId", "stage", "granularity", "time")


def sync(emulator, config, *streams: str, state: dict | None = None) -> SyncResult:
    """Sync ``streams`` after the destination list (whose answer tells the server's clock)."""
    catalog = selecting(config, "destinations", *streams)
    result = run_tap(TapSegmentConfig, config, state=state, catalog=catalog)
    assert result.error is None, result.error
    return result


def own_days(emulator, source: str, first: datetime, end: datetime) -> dict[str, int]:
    """The seeded API calls of each day in [first, end), day by day."""
    now, dataset = emulator.clock.now(), emulator.app.dataset
    destinations = usage.destinations_by_source(dataset)[source]
    counts, day = {}, first
    while day < end:
        counts[to_utc_iso(day)] = usage.day_usage(dataset, destinations, day, now)["apiCalls"]
        day += DAY
    return counts


def test_usage_rows_are_the_ended_days_with_the_cumulative_and_the_days_own_count(emulator, config):
    result = sync(emulator, config, "usage_api_calls_per_source_daily")
    today = datetime(2026, 11, 20, tzinfo=UTC)
    first = datetime(2026, 10, 1, tzinfo=UTC)  # no start_date: from last month's start
    rows = result.records("usage_api_calls_per_source_daily")
    for source in usage.source_ids(emulator.app.dataset):
        mine = [r for r in rows if r["sourceId"] == source]
        expected = own_days(emulator, source, first, today)
        assert {r["timestamp"]: r["apiCalls"] for r in mine} == expected  # today never
        for row in mine:  # cumulative as served: the days of its month so far
            month = [c for day, c in expected.items() if row["period"] <= day <= row["timestamp"]]
            assert row["apiCallsCumulative"] == sum(month)
    periods = Counter(e.query["period"][0] for e in emulator.log.entries() if "period" in e.query)
    assert set(periods) == {"2026-10-01", "2026-11-01"}


def test_usage_resumes_across_a_month_end_without_gap_or_duplicate(emulator, config):
    streams = ("usage_mtu_daily", "usage_api_calls_daily")
    config = config | {"start_date": "2026-10-20T00:00:00Z"}
    emulator.clock.set(datetime(2026, 10, 30, 8, tzinfo=UTC))
    first = sync(emulator, config, *streams)
    emulator.clock.set(datetime(2026, 11, 2, 8, tzinfo=UTC))
    emulator.log.clear()
    second = sync(emulator, config, *streams, state=first.state)
    whole = sync(emulator, config, *streams)
    for stream in streams:
        resumed = first.records(stream) + second.records(stream)
        assert duplicates([(r["timestamp"],) for r in resumed]) == []
        assert resumed == whole.records(stream)  # the days' own counts too, across the month end
        assert [r["timestamp"][:10] for r in second.records(stream)] == [
            "2026-10-30",
            "2026-10-31",
            "2026-11-01",
        ]
    # October is read again for its last days, November for its first; nothing else
    assert sorted(
        {e.query["period"][0] for e in emulator.log.entries() if "period" in e.query}
    ) == [
        "2026-10-01",
        "2026-11-01",
    ]


def test_the_current_month_is_read_again_for_the_day_that_ended(emulator, config):
    first = sync(emulator, config, "usage_api_calls_daily")
    emulator.clock.advance(DAY)
    emulator.log.clear()
    second = sync(emulator, config, "usage_api_calls_daily", state=first.state)
    (row,) = second.records("usage_api_calls_daily")
    assert row["timestamp"] == to_utc_iso(datetime(2026, 11, 20, tzinfo=UTC))
    before = first.records("usage_api_calls_daily")[-1]
    assert row["apiCalls"] == row["apiCallsCumulative"] - before["apiCallsCumulative"]
    assert [e.query["period"][0] for e in emulator.log.entries() if "period" in e.query] == [
        "2026-11-01"
    ]


def overview(emulator, config, state=None, **settings) -> SyncResult:
    return sync(
        emulator,
        config | settings,
        "delivery_overview",
        "delivery_overview_sources",
        state=state,
    )


def test_delivery_overview_adds_up_with_the_delivery_metrics_of_the_same_day(emulator, config):
    result = overview(emulator, config, delivery_overview_group_by=["eventType", "discardReason"])
    dataset, now = emulator.app.dataset, emulator.clock.now()
    day = datetime(2026, 11, 18, tzinfo=UTC)
    rows = [r for r in result.records("delivery_overview") if r["time"] == to_utc_iso(day)]
    for destination in dataset.destinations:
        totals = dataset.expected_metrics(destination["id"], day, day + DAY, now)
        stages = Counter()
        for row in rows:
            if row["destinationId"] == destination["id"]:
                stages[row["stage"]] += row["count"]
        assert stages["successful-delivery"] == totals["successes"]
        assert stages["failed-delivery"] == totals["discarded"]
    sources = result.records("delivery_overview_sources")
    assert {r["sourceId"] for r in sources} == set(usage.source_ids(dataset))
    assert duplicates([tuple(r.values())[:-2] for r in sources]) == []  # each source once


def test_delivery_overview_requests_stay_within_the_granularity_limits(emulator, config):
    overview(
        emulator,
        config,
        delivery_overview_granularity="MINUTE",
        destination_ids=[emulator.app.dataset.destinations[0]["id"]],
    )
    now = emulator.clock.now()
    asked = [e for e in emulator.log.entries() if e.path.startswith("/delivery-overview/")]
    assert asked
    for entry in asked:
        start, end = (parse_utc(entry.query[k][0]) for k in ("startTime", "endTime"))
        assert start >= now - timedelta(hours=48)
        assert end - start <= timedelta(hours=4)
        assert entry.query["granularity"] == ["minute"]


def test_the_open_bucket_is_read_again_and_upserts_with_its_final_count(emulator, config):
    one = emulator.app.dataset.destinations[0]["id"]
    settings = {"delivery_overview_granularity": "HOUR", "destination_ids": [one]}
    first = overview(emulator, config, **settings)
    emulator.clock.advance(timedelta(hours=2))
    second = overview(emulator, config, state=first.state, **settings)
    whole = overview(emulator, config, **settings)

    kept = min(r["time"] for r in whole.records("delivery_overview"))  # its horizon moved on

    def table(*results: SyncResult) -> dict[tuple, int]:
        rows = [r for result in results for r in result.records("delivery_overview")]
        return {tuple(r[k] for k in OVERVIEW_KEY): r["count"] for r in rows if r["time"] >= kept}

    assert table(first, second) == table(whole)  # upserted by key: the final counts
    opened = to_utc_iso(datetime(2026, 11, 20, 10, tzinfo=UTC))
    again = [r for r in second.records("delivery_overview") if r["time"] == opened]
    before = [r for r in first.records("delivery_overview") if r["time"] == opened]
    assert again
    assert len(again) == len(before)
    assert sum(r["count"] for r in again) > sum(r["count"] for r in before)
    # only that bucket is read twice: the second run starts there
    assert min(r["time"] for r in second.records("delivery_overview")) == opened


def test_event_volume_rows_per_bucket_and_group_add_up_to_what_each_source_received(
    emulator, config
):
    grouped = config | {"event_volume_group_by": ["source", "eventName", "eventType"]}
    result = sync(emulator, grouped, "event_volume")
    rows = result.records("event_volume")
    dataset, now = emulator.app.dataset, emulator.clock.now()
    day = datetime(2026, 11, 18, tzinfo=UTC)
    for source in usage.source_ids(dataset):
        counted = [r for r in rows if r["sourceId"] == source and r["time"] == to_utc_iso(day)]
        assert len(counted) == 9  # 3 event names x 3 event types
        destinations = usage.destinations_by_source(dataset)[source]
        received = usage.source_counts(dataset, destinations, day, day + DAY, now)
        assert sum(r["count"] for r in counted) == received["successfully-received"]
    assert (
        duplicates([(r["time"], r["sourceId"], r["eventName"], r["eventType"]) for r in rows]) == []
    )
    times = sorted({r["time"] for r in rows})
    assert times[0] == to_utc_iso(datetime(2026, 10, 22, tzinfo=UTC))  # 30 days kept
    assert times[-1] == to_utc_iso(datetime(2026, 11, 20, tzinfo=UTC))  # open: re-read next run


def test_audit_events_resume_with_their_look_back(emulator, config):
    first = sync(emulator, config, "audit_events")
    events = first.records("audit_events")
    assert len(events) == len(emulator.app.dataset.destinations) * 6
    newest = max(parse_utc(e["timestamp"]) for e in events)
    emulator.log.clear()
    second = sync(emulator, config, "audit_events", state=first.state)
    (asked,) = [e for e in emulator.log.entries() if e.path == "/audit-events"]
    assert parse_utc(asked.query["startTime"][0]) == newest - timedelta(hours=1)
    assert {e["id"] for e in second.records("audit_events")} == {
        e["id"] for e in events if parse_utc(e["timestamp"]) >= newest - timedelta(hours=1)
    }


def test_without_the_audit_trail_the_stream_is_skipped_with_one_warning(emulator, config):
    emulator.app.set_options({"audit_trail_enabled": False})
    result = sync(emulator, config, "audit_events", "usage_api_calls_daily")
    assert result.records("audit_events") == []
    assert result.records("usage_api_calls_daily")  # the sync goes on
    assert result.logs.count("Skipping audit_events") == 1
    assert "audit_events" not in result.state.get("bookmarks", {}) or not any(
        p.get("replication_key_value")
        for p in result.state["bookmarks"]["audit_events"].get("partitions", [])
    )


def test_a_sync_failing_between_two_stages_of_a_window_resumes_without_gap(emulator, config):
    one = emulator.app.dataset.destinations[0]["id"]
    settings = {"delivery_overview_granularity": "HOUR", "destination_ids": [one]}
    # the second window's successful-delivery request fails (no retries)
    emulator.faults.arm("status", path="/delivery-overview/successful-delivery", after=1)
    catalog = selecting(config, "destinations", "delivery_overview")
    failed = run_tap(TapSegmentConfig, config | settings | {"max_retries": 0}, catalog=catalog)
    assert failed.error is not None
    (partition,) = failed.state["bookmarks"]["delivery_overview"]["partitions"]
    first_window = partition["replication_key_value"]  # the first window's last bucket
    resumed = overview(emulator, config, state=failed.state, **settings)
    assert min(r["time"] for r in resumed.records("delivery_overview")) == first_window
    whole = overview(emulator, config, **settings)

    def keys(*results: SyncResult) -> set[tuple]:
        rows = [r for result in results for r in result.records("delivery_overview")]
        return {tuple(r[k] for k in OVERVIEW_KEY) for r in rows}

    assert keys(failed, resumed) == keys(whole)  # every stage of every bucket
