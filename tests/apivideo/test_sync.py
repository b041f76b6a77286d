"""tap-apivideo-analytics against the emulator: exact rows per day, windows, state, tokens."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from api_emulator.apivideo import BREAKDOWNS
from tap_apivideo_analytics.tap import TapApiVideoAnalytics
from tap_common.timeutil import parse_utc, to_utc_iso, utc_now
from tests.apivideo.conftest import (
    FIRST_DAY,
    LIVE_DIMENSIONS,
    PLAYS_KEY,
    VIDEO_DIMENSIONS,
    days,
    expected_plays,
)
from tests.harness import duplicates, run_tap
from tests.taps import APIVIDEO
from tests.taps import APIVIDEO_TODAY as TODAY

NOW = APIVIDEO.now
START = TODAY - timedelta(days=6)
PLAYS = {
    "video_plays": ("video", VIDEO_DIMENSIONS, "video_id", "/analytics/videos/plays"),
    "live_stream_plays": (
        "live-stream",
        LIVE_DIMENSIONS,
        "live_stream_id",
        "/analytics/live-streams/plays",
    ),
}
BUCKET_KEY = ("date", "metric", "breakdown", "dimension_value")


def plays_of(result, stream: str) -> dict[tuple[str, str, str], int]:
    return {tuple(r[f] for f in PLAYS_KEY): r["plays"] for r in result.records(stream)}


def bookmarks(state: dict, stream: str) -> dict[tuple, str]:
    partitions = state["bookmarks"][stream]["partitions"]
    return {tuple(p["context"].values()): p["replication_key_value"] for p in partitions}


def requests_to(emulator, path: str) -> list:
    return [e for e in emulator.log.entries() if e.path == path]


def expected_buckets(emulator, breakdowns, first, end) -> dict[tuple, int]:
    """(date, "play", breakdown, value) -> plays, per complete day, from the sessions."""
    expected: dict[tuple, int] = {}
    for day in days(first, end):
        sessions = emulator.app.dataset.between(day, day + timedelta(days=1))
        for breakdown in breakdowns:
            counts = Counter(BREAKDOWNS[breakdown](s) for s in sessions if s.played)
            for value, plays in counts.items():
                # An empty value (no referrer) is kept as "(none)": key columns are never empty.
                expected[(to_utc_iso(day), "play", breakdown, value or "(none)")] = plays
    return expected


@pytest.mark.parametrize("stream", sorted(PLAYS))
def test_every_dimension_yields_exactly_the_seeded_plays_per_day(emulator, config, stream):
    media_type, dimensions, id_field, _ = PLAYS[stream]
    result = run_tap(TapApiVideoAnalytics, config)
    assert result.error is None
    keys = result.keys(stream, *PLAYS_KEY, id_field)
    assert duplicates(keys) == []
    assert plays_of(result, stream) == expected_plays(
        emulator, media_type, dimensions, START, TODAY
    )
    assert {r[id_field] for r in result.records(stream)} == {"*"}  # the whole project
    assert {r["dimension"] for r in result.records(stream)} == set(dimensions)


def test_emitted_at_values_are_the_hourly_buckets_of_their_day(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["emittedAt"]})
    rows = result.records("video_plays")
    assert rows
    for row in rows:
        bucket = parse_utc(row["value"])
        assert row["value"].endswith(":00:00.000Z")
        assert parse_utc(row["date"]) <= bucket < parse_utc(row["date"]) + timedelta(days=1)
    assert len({r["value"] for r in rows}) > len(days(START, TODAY))  # hours, not days


def test_only_complete_days_are_read_one_per_request(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["country"]})
    assert result.error is None
    for stream in ("video_plays", "live_stream_plays", "metric_buckets", "metric_timeseries"):
        dates = {r["date"] for r in result.records(stream)}
        assert dates == {to_utc_iso(day) for day in days(START, TODAY)}, stream  # no today
    for entry in requests_to(emulator, "/analytics/videos/plays"):
        first, end = entry.query["from"][0], entry.query["to"][0]
        assert parse_utc(end) - parse_utc(first) == timedelta(days=1)  # half-open [D, D+1)


def test_a_start_older_than_30_days_is_clamped_with_a_warning(emulator, config):
    config = config | {"start_date": (TODAY - timedelta(days=60)).isoformat()}
    result = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["country"]})
    assert result.error is None
    assert all(e.status == 200 for e in emulator.log.entries())
    dates = sorted({r["date"] for r in result.records("video_plays")})
    assert dates == [to_utc_iso(day) for day in days(FIRST_DAY, TODAY)]  # 29 complete days
    assert "older than the 30 days api.video keeps" in result.logs
    assert result.logs.count("older than the 30 days") == 6  # once per daily stream


def test_without_a_start_date_the_sync_reaches_back_as_far_as_kept(emulator, config):
    config = {k: v for k, v in config.items() if k != "start_date"}
    result = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["browser"]})
    assert result.error is None
    assert min(r["date"] for r in result.records("live_stream_plays")) == to_utc_iso(FIRST_DAY)
    assert "older than" not in result.logs


def test_id_filters_give_each_media_its_own_rows(emulator, config):
    dataset = emulator.app.dataset
    videos, live = dataset.videos[:2], dataset.live_streams[:1]
    config |= {"video_ids": videos, "live_stream_ids": live, "dimensions": ["country", "videoId"]}
    result = run_tap(TapApiVideoAnalytics, config)
    assert result.error is None
    for video in videos:
        rows = [r for r in result.records("video_plays") if r["video_id"] == video]
        got = {tuple(r[f] for f in PLAYS_KEY): r["plays"] for r in rows}
        dims = ("country", "videoId")
        assert got == expected_plays(emulator, "video", dims, START, TODAY, video)
    filters = {e.query["filter"][0] for e in requests_to(emulator, "/analytics/videos/plays")}
    assert filters == {f"videoId:{video}" for video in videos}
    rows = result.records("live_stream_plays")
    assert {r["live_stream_id"] for r in rows} == set(live)
    assert {r["dimension"] for r in rows} == {"country"}  # videoId is not a live dimension


def test_pages_are_walked_to_pages_total_with_the_full_parameter_set(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config | {"page_size": 4, "dimensions": ["videoId"]})
    assert result.error is None
    pages = requests_to(emulator, "/analytics/videos/plays")
    assert max(int(e.query["currentPage"][0]) for e in pages) > 3  # the sync really paged
    for entry in pages:
        assert set(entry.query) == {"from", "to", "dimension", "currentPage", "pageSize"}
        assert entry.query["pageSize"] == ["4"]
    per_day = Counter(e.query["from"][0] for e in pages)
    for day in days(START, TODAY):
        videos = {
            k[2]
            for k in expected_plays(emulator, "video", ("videoId",), day, day + timedelta(days=1))
        }
        assert per_day[day.date().isoformat()] == -(-len(videos) // 4)  # no page past the last
    assert duplicates(result.keys("video_plays", *PLAYS_KEY)) == []


def test_metric_buckets_hold_every_breakdown_of_every_day(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config)
    assert result.error is None
    rows = result.records("metric_buckets")
    assert duplicates(result.keys("metric_buckets", *BUCKET_KEY)) == []
    got = {tuple(r[f] for f in BUCKET_KEY): r["metric_value"] for r in rows}
    assert got == expected_buckets(emulator, list(BREAKDOWNS), START, TODAY)
    for entry in requests_to(emulator, "/data/buckets/play/country"):
        first, end = parse_utc(entry.query["from"][0]), parse_utc(entry.query["to"][0])
        assert end - first == timedelta(days=1)
        assert entry.query["from"][0].endswith("+00:00")  # sent as %2B00%3A00, decoded here


def test_metric_timeseries_hold_one_row_per_metric_and_day_in_one_request(emulator, config):
    metrics = ["play", "impression", "end"]
    result = run_tap(TapApiVideoAnalytics, config | {"metrics": metrics})
    assert result.error is None
    rows = result.records("metric_timeseries")
    assert duplicates(result.keys("metric_timeseries", "date", "metric")) == []
    dataset = emulator.app.dataset
    for day in days(START, TODAY):
        sessions = dataset.between(day, day + timedelta(days=1))
        expected = {
            "play": sum(s.played for s in sessions),
            "impression": len(sessions),
            "end": sum(s.ended for s in sessions),
        }
        got = {r["metric"]: r["metric_value"] for r in rows if r["date"] == to_utc_iso(day)}
        assert got == expected
    for metric in metrics:
        (call,) = requests_to(emulator, f"/data/timeseries/{metric}")
        assert call.query["interval"] == ["day"]


def test_state_keeps_one_bookmark_per_partition_at_the_last_complete_day(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config)
    yesterday = to_utc_iso(TODAY - timedelta(days=1))
    marks = bookmarks(result.state, "video_plays")
    assert marks == {(dimension, "*"): yesterday for dimension in VIDEO_DIMENSIONS}
    assert set(bookmarks(result.state, "metric_buckets").values()) == {yesterday}
    assert bookmarks(result.state, "metric_timeseries") == {("play",): yesterday}
    assert result.state["bookmarks"]["media_watch_time"]["replication_key_value"] == yesterday
    assert set(bookmarks(result.state, "metric_aggregates").values()) == {yesterday}
    assert "not resumable" not in result.logs


def test_a_rerun_re_reads_the_look_back_with_late_plays_and_nothing_older(emulator, config):
    config |= {"dimensions": ["videoId", "country"], "lookback_days": 2}
    first = run_tap(TapApiVideoAnalytics, config)
    dataset = emulator.app.dataset
    video = dataset.videos[0]
    late = dataset.add_late_plays(TODAY - timedelta(days=1), 7, video)  # inside the look-back
    dataset.add_late_plays(TODAY - timedelta(days=5), 9, video)  # outside: stays as synced
    emulator.clock.set(NOW + timedelta(days=1))
    emulator.log.clear()

    second = run_tap(TapApiVideoAnalytics, config, state=first.state)
    assert second.error is None
    tomorrow = TODAY + timedelta(days=1)
    reread = {e.query["from"][0] for e in requests_to(emulator, "/analytics/videos/plays")}
    # Bookmark 11-19: the look-back re-reads 11-18 and 11-19, then the new day 11-20.
    assert reread == {(TODAY - timedelta(days=n)).date().isoformat() for n in (2, 1, 0)}
    assert plays_of(second, "video_plays") == expected_plays(
        emulator, "video", ("videoId", "country"), TODAY - timedelta(days=2), tomorrow
    )
    key = (to_utc_iso(TODAY - timedelta(days=1)), "videoId", video)
    assert plays_of(second, "video_plays")[key] == plays_of(first, "video_plays").get(key, 0) + 7
    assert bookmarks(second.state, "video_plays")[("country", "*")] == to_utc_iso(TODAY)
    buckets = {e.query["from"][0][:10] for e in requests_to(emulator, "/data/buckets/play/country")}
    assert min(buckets) == (TODAY - timedelta(days=2)).date().isoformat()
    # The other daily streams re-read the same days: watch time grows by the late plays'.
    reread_days = [to_utc_iso(TODAY - timedelta(days=n)) for n in (2, 1, 0)]
    assert sorted({r["date"] for r in second.records("metric_aggregates")}) == reread_days
    watched = [{(r["date"], r["media_id"]): r["watch_time_seconds"]
                for r in run.records("media_watch_time")} for run in (first, second)]  # fmt: skip
    assert sorted({day for day, _ in watched[1]}) == reread_days
    key = (to_utc_iso(TODAY - timedelta(days=1)), video)
    assert watched[1][key] == watched[0].get(key, 0) + sum(s.watch_seconds for s in late)


def test_without_a_look_back_a_rerun_reads_only_new_days(emulator, config):
    config |= {"dimensions": ["country"], "lookback_days": 0}
    first = run_tap(TapApiVideoAnalytics, config)
    emulator.log.clear()
    second = run_tap(TapApiVideoAnalytics, config, state=first.state)
    assert second.error is None
    assert second.records("video_plays") == []  # today is not complete yet
    assert requests_to(emulator, "/analytics/videos/plays") == []


def test_a_crash_costs_at_most_one_window(emulator, config):
    config |= {"dimensions": ["videoId"], "max_retries": 1, "page_size": 10, "lookback_days": 0}
    full = run_tap(TapApiVideoAnalytics, config).keys("video_plays", *PLAYS_KEY)
    emulator.log.clear()
    emulator.faults.arm("status", path="/analytics/videos/plays", status=500, after=7, times=10)
    crashed = run_tap(TapApiVideoAnalytics, config)
    assert crashed.error is not None
    emulator.faults.clear()

    resumed = run_tap(TapApiVideoAnalytics, config, state=crashed.state)
    assert resumed.error is None
    crashed_keys = crashed.keys("video_plays", *PLAYS_KEY)
    resumed_keys = resumed.keys("video_plays", *PLAYS_KEY)
    assert set(crashed_keys) | set(resumed_keys) == set(full)
    reread_days = {k[0] for k in set(crashed_keys) & set(resumed_keys)}
    assert len(reread_days) <= 1  # only the window that failed midway


def test_basic_auth_sends_the_key_and_never_asks_for_a_token(emulator, config):
    bearer = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["country"]})
    emulator.log.clear()
    basic = run_tap(
        TapApiVideoAnalytics, config | {"dimensions": ["country"], "auth_mode": "basic"}
    )
    assert basic.error is None
    assert not [e for e in emulator.log.entries() if e.path.startswith("/auth/")]
    for stream in ("video_plays", "metric_buckets"):
        assert basic.records(stream) == bearer.records(stream)


def test_a_token_that_expires_mid_sync_is_refreshed_and_the_request_replayed(emulator, config):
    config |= {"dimensions": ["videoId", "country"]}
    clean = run_tap(TapApiVideoAnalytics, config)
    emulator.log.clear()
    emulator.app.token_max_uses = 9  # every token dies after nine calls
    result = run_tap(TapApiVideoAnalytics, config)
    assert result.error is None
    for stream in ("video_plays", "live_stream_plays", "metric_buckets", "metric_timeseries"):
        assert result.records(stream) == clean.records(stream)
    statuses = Counter(e.status for e in emulator.log.entries())
    refreshes = requests_to(emulator, "/auth/refresh")
    assert statuses[401] == len(refreshes) > 3  # one refresh per expiry, one replay each
    assert len(requests_to(emulator, "/auth/api-key")) == 1


def test_a_token_about_to_expire_is_renewed_before_use(emulator, config):
    """Tokens live 2 s on a clock that moves; the first read takes 1.5 s, so the token is past
    half its life after it, and must be renewed before the next read, not after a 401."""
    emulator.clock.follow_real_time()
    emulator.app.token_lifetime = 2
    emulator.faults.arm("slow", path="/analytics/videos/plays", delay=1.5, times=1)
    config |= {"dimensions": ["country"], "breakdowns": ["country"], "request_timeout": 5}
    recent = (utc_now() - timedelta(days=2)).isoformat()
    result = run_tap(TapApiVideoAnalytics, config | {"start_date": recent})
    assert result.error is None
    assert 401 not in {e.status for e in emulator.log.entries()}
    assert len(requests_to(emulator, "/auth/refresh")) >= 1


def test_a_refused_refresh_falls_back_to_the_api_key(emulator, config):
    emulator.app.token_max_uses = 3
    emulator.faults.arm("status", path="/auth/refresh", status=400, times=1)
    result = run_tap(TapApiVideoAnalytics, config | {"dimensions": ["country"]})
    assert result.error is None
    assert len(requests_to(emulator, "/auth/api-key")) == 2  # the first, then the fallback
