"""tap-segment-config against the emulator: exact record sets, windows, state, pagination."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from tap_common.timeutil import parse_utc, to_utc_iso
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import duplicates, run_tap
from tests.taps import SEGMENT

NOW = SEGMENT.now

UTC = timezone.utc
METRIC_KEY = ("destinationId", "sourceId", "granularity", "windowStart")


def metrics_requests(emulator) -> list:
    return [e for e in emulator.log.entries() if e.path.endswith("/delivery-metrics")]


def days(first: datetime, last: datetime) -> list[str]:
    """Canonical starts of the daily windows first..last inclusive."""
    count = (last - first).days + 1
    return [to_utc_iso(first + timedelta(days=n)) for n in range(count)]


def test_a_full_sync_yields_exactly_the_seeded_data(emulator, config):
    dataset = emulator.app.dataset
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None

    destinations = result.records("destinations")
    live = {"_sdc_deleted_at": None}  # a full-table row says it is not deleted
    assert destinations == [d | live for d in sorted(dataset.destinations, key=lambda d: d["id"])]
    subscriptions = result.records("destination_subscriptions")
    seeded = [s for d in dataset.destinations for s in dataset.subscriptions_for(d["id"])]
    assert sorted(s["id"] for s in subscriptions) == sorted(s["id"] for s in seeded)
    assert duplicates(result.keys("destination_subscriptions", "id")) == []

    metrics = result.records("delivery_metrics")
    assert duplicates(result.keys("delivery_metrics", *METRIC_KEY)) == []
    # 14 days back from 2026-11-20 10:37 rounds up to 11-07; the day still open is not emitted.
    expected_days = days(datetime(2026, 11, 7, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))
    for destination in dataset.destinations:
        own = [m for m in metrics if m["destinationId"] == destination["id"]]
        assert [m["windowStart"] for m in own] == expected_days
        for record in own:
            assert record["sourceId"] == destination["sourceId"]
            assert record["granularity"] == "DAY"
            start, end = parse_utc(record["windowStart"]), parse_utc(record["windowEnd"])
            assert end - start == timedelta(days=1)
            totals = {m["metricName"]: m["total"] for m in record["metrics"]}
            assert totals == dataset.expected_metrics(destination["id"], start, end, NOW)


@pytest.mark.parametrize(
    ("granularity", "unit", "horizon"),
    [
        ("MINUTE", timedelta(minutes=1), timedelta(hours=48)),
        ("HOUR", timedelta(hours=1), timedelta(days=7)),
        ("DAY", timedelta(days=1), timedelta(days=14)),
    ],
)
def test_windows_are_one_aligned_unit_within_the_granularity_limits(
    emulator, config, granularity, unit, horizon
):
    first = emulator.app.dataset.destinations[0]["id"]
    config |= {"delivery_metrics_granularity": granularity, "destination_ids": [first]}
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None

    windows = [
        (parse_utc(r["windowStart"]), parse_utc(r["windowEnd"]))
        for r in result.records("delivery_metrics")
    ]
    assert all(end - start == unit for start, end in windows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))  # consecutive, no gap
    assert windows[0][0] >= NOW - horizon  # within what Segment keeps
    assert windows[0][0] - (NOW - horizon) <= unit + timedelta(minutes=1)  # ...and no later
    assert windows[-1][1] <= NOW < windows[-1][1] + unit  # the open window is left out
    statuses = {e.status for e in metrics_requests(emulator)}
    assert statuses == {200}
    assert len(metrics_requests(emulator)) == len(windows)


def test_a_start_date_beyond_what_segment_keeps_is_clamped_with_a_warning(emulator, config):
    config |= {"start_date": "2026-01-01T00:00:00Z"}
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None
    assert "start_date 2026-01-01T00:00:00.000000+00:00 is older than" in result.logs
    starts = {r["windowStart"] for r in result.records("delivery_metrics")}
    assert min(starts) == to_utc_iso(datetime(2026, 11, 7, tzinfo=UTC))


def test_a_recent_start_date_is_honoured(emulator, config):
    config |= {"start_date": "2026-11-17T08:00:00+00:00"}
    result = run_tap(TapSegmentConfig, config)
    starts = sorted({r["windowStart"] for r in result.records("delivery_metrics")})
    assert starts == days(datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC))


def test_a_resumed_run_fetches_exactly_the_new_windows_and_destinations(emulator, config):
    first = run_tap(TapSegmentConfig, config)
    assert first.error is None
    emulator.clock.set(NOW + timedelta(days=2))
    added = emulator.app.dataset.add_destination()
    emulator.log.clear()

    second = run_tap(TapSegmentConfig, config, state=first.state)
    assert second.error is None
    old_keys = set(first.keys("delivery_metrics", *METRIC_KEY))
    new_keys = second.keys("delivery_metrics", *METRIC_KEY)
    assert old_keys.isdisjoint(new_keys)  # no window fetched twice
    for destination in emulator.app.dataset.destinations:
        starts = [k[3] for k in new_keys if k[0] == destination["id"]]
        if destination["id"] == added["id"]:  # new: its full history, 11-09 .. 11-21
            first_day = datetime(2026, 11, 9, tzinfo=UTC)
        else:  # known: the two days that closed since, nothing skipped
            first_day = datetime(2026, 11, 20, tzinfo=UTC)
        assert starts == days(first_day, datetime(2026, 11, 21, tzinfo=UTC))
    assert len(metrics_requests(emulator)) == len(new_keys)


def test_an_interrupted_sync_resumes_without_gap_or_duplicate(emulator, config):
    victim = sorted(d["id"] for d in emulator.app.dataset.destinations)[3]
    emulator.faults.arm(
        "status", path=f"/destinations/{victim}/delivery-metrics", status=500, times=99
    )
    config |= {"max_retries": 1}
    broken = run_tap(TapSegmentConfig, config)
    assert broken.error is not None
    assert "500" in str(broken.error)
    assert f"/destinations/{victim}/delivery-metrics" in str(broken.error)

    emulator.faults.clear()
    resumed = run_tap(TapSegmentConfig, config, state=broken.state)
    assert resumed.error is None
    complete = run_tap(TapSegmentConfig, config)  # a clean full sync, for reference
    before = broken.keys("delivery_metrics", *METRIC_KEY)
    after = resumed.keys("delivery_metrics", *METRIC_KEY)
    assert duplicates(before + after) == []
    assert set(before) | set(after) == set(complete.keys("delivery_metrics", *METRIC_KEY))


def test_pages_follow_the_cursor_with_the_configured_count(emulator, config):
    config |= {"page_size": 3}
    result = run_tap(TapSegmentConfig, config)
    listing = [e for e in emulator.log.entries() if e.path == "/destinations"]
    assert [e.query["pagination.count"] for e in listing] == [["3"], ["3"], ["3"]]
    assert "pagination.cursor" not in listing[0].query
    assert all("pagination.cursor" in e.query for e in listing[1:])
    ids = result.keys("destinations", "id")
    assert len(ids) == 8
    assert duplicates(ids) == []


def test_destination_ids_narrow_the_sync_and_report_unknown_ids(emulator, config):
    wanted = emulator.app.dataset.destinations[2]["id"]
    config |= {"destination_ids": [wanted, "doesNotExist"]}
    result = run_tap(TapSegmentConfig, config)
    assert result.keys("destinations", "id") == [(wanted,)]
    assert {r["destinationId"] for r in result.records("delivery_metrics")} == {wanted}
    assert "destination_ids: not found in this workspace, skipped: doesNotExist" in result.logs


def test_without_the_subscriptions_feature_the_stream_is_skipped_once(emulator, config):
    emulator.app.subscriptions_enabled = False
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None
    assert result.records("destination_subscriptions") == []
    assert result.logs.count("Skipping destination_subscriptions") == 1
    subscription_calls = [e for e in emulator.log.entries() if e.path.endswith("/subscriptions")]
    assert len(subscription_calls) == 1
    assert len(result.records("destinations")) == 8
    assert len(result.records("delivery_metrics")) == 8 * 13
