"""Window planning and the canonical UTC form."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from tap_common.redaction import Redactor
from tap_common.timeutil import ServerClock, parse_utc, to_epoch_ms, to_utc_iso
from tap_common.windows import (
    CountSizedWindows,
    ResultWindowExceededError,
    Window,
    WindowOverfullError,
    WindowRules,
    ceil_to,
    floor_to,
    plan_windows,
    resume_from,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T10:37:12Z",
        "2026-11-20T10:37:12.000Z",
        "2026-11-20T11:37:12+01:00",
        "2026-11-20T10:37:12",
        datetime(2026, 11, 20, 10, 37, 12, tzinfo=UTC),
    ],
)
def test_every_spelling_of_one_instant_has_one_canonical_form(value):
    assert to_utc_iso(value) == "2026-11-20T10:37:12.000000+00:00"


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1700000000", "P1D"])
def test_parse_utc_rejects_what_is_not_a_date_time(value):
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_utc(value)


def test_floor_and_ceil_align_to_the_unit():
    assert floor_to(NOW, "hour") == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert ceil_to(NOW, "day") == datetime(2026, 11, 21, tzinfo=UTC)
    boundary = datetime(2026, 11, 20, tzinfo=UTC)
    assert ceil_to(boundary, "day") == boundary


def test_windows_are_consecutive_aligned_and_closed():
    rules = WindowRules("hour")
    plan = plan_windows(rules, datetime(2026, 11, 20, 6, 15, tzinfo=UTC), NOW)
    starts = [w.start.hour for w in plan.windows]
    assert starts == [6, 7, 8, 9]  # 10:00-11:00 is still open at 10:37
    for before, after in itertools.pairwise(plan.windows):
        assert before.end == after.start
        assert after.end - after.start == timedelta(hours=1)
    assert plan.clamped_from is None


def test_a_start_beyond_the_horizon_is_clamped_and_reported():
    rules = WindowRules("day", oldest=timedelta(days=14))
    asked = datetime(2026, 1, 1, tzinfo=UTC)
    plan = plan_windows(rules, asked, NOW)
    assert plan.clamped_from == asked
    assert plan.windows[0].start == datetime(2026, 11, 7, tzinfo=UTC)  # 11-06 10:38 rounded up
    assert plan.windows[-1].end == datetime(2026, 11, 20, tzinfo=UTC)
    assert len(plan.windows) == 13


def test_no_start_means_as_far_back_as_allowed_without_a_clamp_report():
    rules = WindowRules("minute", oldest=timedelta(hours=48))
    plan = plan_windows(rules, None, NOW)
    assert plan.clamped_from is None
    assert plan.windows[0].start >= NOW - timedelta(hours=48)
    assert plan.windows[-1].end == datetime(2026, 11, 20, 10, 37, tzinfo=UTC)


def test_server_clock_follows_the_date_header():
    clock = ServerClock()
    clock.observe("Fri, 20 Nov 2026 10:37:12 GMT")
    assert abs(clock.now() - NOW) < timedelta(seconds=5)
    clock.observe("garbage")  # ignored
    assert abs(clock.now() - NOW) < timedelta(seconds=5)
    assert clock.known
    assert not ServerClock().known


def test_redactor_masks_every_secret_and_ignores_trivial_ones():
    redact = Redactor(["s3cret-token", "ab"])
    redact.add("issued-access-token")
    text = redact("token s3cret-token then issued-access-token; ab stays")
    assert "s3cret-token" not in text
    assert "issued-access-token" not in text
    assert "ab stays" in text


def test_a_resume_starts_the_look_back_before_the_bookmark_but_not_before_start_date():
    lookback = timedelta(minutes=30)
    bookmark = "2026-11-20T10:00:00+00:00"
    assert resume_from(bookmark, lookback=lookback, start_date=None) == (
        datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    )
    late_start = "2026-11-20T09:45:00Z"
    assert resume_from(bookmark, lookback=lookback, start_date=late_start) == (
        datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    )
    assert resume_from(None, lookback=lookback, start_date=late_start) == (
        datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    )
    assert resume_from(None, lookback=lookback, start_date=None) is None  # the stream's default


def test_a_unit_series_resumes_one_unit_after_its_bookmark_less_the_look_back():
    bookmark = "2026-11-18T00:00:00+00:00"  # the last whole day read
    after = resume_from(bookmark, start_date=None, unit="day")
    assert after == datetime(2026, 11, 19, tzinfo=UTC)
    two_back = resume_from(bookmark, start_date=None, unit="day", lookback=timedelta(days=2))
    assert two_back == datetime(2026, 11, 17, tzinfo=UTC)
    assert resume_from(None, start_date=None, unit="minute") is None  # as far back as allowed


def test_a_canonical_value_is_kept_and_any_other_spelling_is_normalised():
    canonical = "2026-11-20T10:37:12.345000+00:00"
    assert to_utc_iso(canonical) == canonical
    assert to_utc_iso("2026-11-20T11:37:12.345+01:00") == canonical
    assert to_utc_iso("2026-11-20T10:37:12.345000Z") == canonical


def _overfull(windows: CountSizedWindows, feed) -> bool:
    try:
        feed()
    except WindowOverfullError:
        return True
    return False


def test_count_sized_windows_start_whole_and_are_cut_then_sized_by_density():
    end = NOW + timedelta(days=100)
    windows = CountSizedWindows(limit=1000, start=NOW, end=lambda: end)
    first = windows.next()
    assert first == Window(NOW, end)  # nothing known yet: the whole range
    assert _overfull(windows, lambda: windows.total(50_000))  # 500 a day: 90% of cap, 1.8 days
    second = windows.next()
    assert second == Window(NOW, NOW + timedelta(days=1.8))
    assert not _overfull(windows, lambda: windows.total(1000))
    windows.held(450)  # sparser than thought: the next window grows to hold ~900
    third = windows.next()
    assert third == Window(second.end, second.end + timedelta(days=3.6))
    windows.held(1)  # nearly empty: grows fourfold, no more
    assert windows.next() == Window(third.end, third.end + timedelta(days=14.4))
    last = None
    while (window := windows.next()) is not None:
        last = window
        windows.held(0)
    assert last is not None
    assert last.end == end  # never past the end, and then the range is read


def test_an_empty_window_keeps_the_size_a_cut_measured():
    end = NOW + timedelta(days=10)
    windows = CountSizedWindows(limit=1000, start=NOW, end=lambda: end)
    windows.next()
    _overfull(windows, lambda: windows.total(5000))
    cut = windows.next()
    windows.held(0)  # no density to go by: the same size again
    assert windows.next() == Window(cut.end, cut.end + cut.length)


def test_the_vendor_total_counts_once_per_window():
    windows = CountSizedWindows(limit=10, start=NOW, end=lambda: NOW + timedelta(hours=1))
    windows.next()
    windows.total(None)  # not sent: says nothing
    windows.total(5)
    assert not _overfull(windows, lambda: windows.total(500))  # later pages: not the first


def test_full_time_ordered_pages_cut_a_window_far_over_its_cap():
    hour_ms = 3_600_000
    windows = CountSizedWindows(limit=100, start=NOW, end=lambda: NOW + timedelta(hours=10))
    windows.next()
    dense = [to_epoch_ms(NOW) + i for i in range(100)]  # 100 events in 0.1 s of 10 hours
    assert _overfull(windows, lambda: windows.page(dense, full=True))
    cut = windows.next()
    assert cut.length < timedelta(hours=10)
    spread = [to_epoch_ms(NOW) + i * hour_ms // 100 for i in range(100)]  # density fits
    assert not _overfull(windows, lambda: windows.page(spread, full=True))


def test_a_window_that_cannot_be_cut_any_more_fails_clearly():
    windows = CountSizedWindows(
        limit=10, start=NOW, end=lambda: NOW + timedelta(seconds=3), smallest=timedelta(seconds=1)
    )
    windows.next()
    assert _overfull(windows, windows.result_window_full)  # count unknown: halved
    assert windows.next().length == timedelta(seconds=1.5)
    assert _overfull(windows, lambda: windows.total(10**9))  # far too many: the smallest
    tiny = windows.next()
    assert tiny.length == timedelta(seconds=1)
    assert not _overfull(windows, lambda: windows.total(10**9))  # read whole, not looping
    with pytest.raises(ResultWindowExceededError, match="smallest window"):
        windows.result_window_full()


def test_count_sized_windows_leave_a_short_remainder_to_the_next_run():
    now = NOW
    windows = CountSizedWindows(
        limit=10, start=now - timedelta(hours=1), end=lambda: now, catch_up=timedelta(minutes=1)
    )
    assert windows.next() is not None
    now += timedelta(seconds=30)  # the server's clock moved on while the window was read
    windows.held(3)
    assert windows.next() is None
