"""Window planning and the canonical UTC form."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from tap_common.redaction import Redactor
from tap_common.timeutil import ServerClock, parse_utc, to_utc_iso
from tap_common.windows import (
    CountSizedWindows,
    Window,
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
    rules = WindowRules("day", oldest=timedelta(days=14), max_span=timedelta(days=14))
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


def test_lag_holds_back_recent_windows():
    rules = WindowRules("hour", lag=timedelta(minutes=45))
    plan = plan_windows(rules, datetime(2026, 11, 20, 7, tzinfo=UTC), NOW)
    assert plan.windows[-1].end == datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_an_open_end_adds_one_shorter_window_up_to_now():
    rules = WindowRules("day", open_end=True)
    plan = plan_windows(rules, datetime(2026, 11, 18, 7, tzinfo=UTC), NOW)
    assert [(w.start.day, w.end) for w in plan.windows] == [
        (18, datetime(2026, 11, 19, tzinfo=UTC)),
        (19, datetime(2026, 11, 20, tzinfo=UTC)),
        (20, NOW),
    ]


def test_unaligned_windows_start_exactly_at_the_start_and_end_at_now():
    rules = WindowRules("day", open_end=True, aligned=False)
    start = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)
    plan = plan_windows(rules, start, NOW)
    assert [(w.start, w.end) for w in plan.windows] == [
        (start, start + timedelta(days=1)),
        (start + timedelta(days=1), start + timedelta(days=2)),
        (start + timedelta(days=2), NOW),
    ]


def test_an_unaligned_rerun_within_a_day_is_one_window():
    rules = WindowRules("day", open_end=True, aligned=False)
    plan = plan_windows(rules, NOW - timedelta(minutes=40), NOW)
    assert [(w.start, w.end) for w in plan.windows] == [(NOW - timedelta(minutes=40), NOW)]


def test_a_window_wider_than_the_api_allows_is_refused():
    rules = WindowRules("day", size=15, max_span=timedelta(days=14))
    with pytest.raises(ValueError, match="limit"):
        plan_windows(rules, NOW - timedelta(days=30), NOW)


def test_server_clock_follows_the_date_header():
    clock = ServerClock()
    clock.observe("Fri, 20 Nov 2026 10:37:12 GMT")
    assert abs(clock.now() - NOW) < timedelta(seconds=5)
    clock.observe("garbage")  # ignored
    assert abs(clock.now() - NOW) < timedelta(seconds=5)


def test_redactor_masks_every_secret_and_ignores_trivial_ones():
    redact = Redactor(["s3cret-token", "ab"])
    redact.add("issued-access-token")
    text = redact("token s3cret-token then issued-access-token; ab stays")
    assert "s3cret-token" not in text
    assert "issued-access-token" not in text
    assert "ab stays" in text


def test_a_resume_starts_the_look_back_before_the_bookmark_but_not_before_start_date():
    lookback = timedelta(minutes=30)
    default = NOW - timedelta(days=7)
    bookmark = "2026-11-20T10:00:00+00:00"
    assert resume_from(bookmark, lookback=lookback, start_date=None, default=default) == (
        datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    )
    late_start = "2026-11-20T09:45:00Z"
    assert resume_from(bookmark, lookback=lookback, start_date=late_start, default=default) == (
        datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    )
    assert resume_from(None, lookback=lookback, start_date=late_start, default=default) == (
        datetime(2026, 11, 20, 9, 45, tzinfo=UTC)
    )
    assert resume_from(None, lookback=lookback, start_date=None, default=default) == default


def test_a_canonical_value_is_kept_and_any_other_spelling_is_normalised():
    canonical = "2026-11-20T10:37:12.345000+00:00"
    assert to_utc_iso(canonical) == canonical
    assert to_utc_iso("2026-11-20T11:37:12.345+01:00") == canonical
    assert to_utc_iso("2026-11-20T10:37:12.345000Z") == canonical


def test_count_sized_windows_start_whole_and_are_cut_then_sized_by_density():
    windows = CountSizedWindows(limit=1000)
    end = NOW + timedelta(days=10)
    first = windows.next(NOW, end)
    assert first == Window(NOW, end)  # nothing known yet: the whole range
    assert windows.overfull(first, 5000)
    assert not windows.overfull(first, 1000)
    windows.cut(first, 5000)  # 500 a day: 90% of the cap is 1.8 days
    second = windows.next(NOW, end)
    assert second == Window(NOW, NOW + timedelta(days=1.8))
    windows.held(second, 450)  # sparser than thought: the next window grows to hold ~900
    assert windows.next(second.end, end) == Window(second.end, second.end + timedelta(days=3.6))
    windows.held(second, 1)  # nearly empty: grows fourfold, no more
    assert windows.next(second.end, end) == Window(second.end, second.end + timedelta(days=7.2))
    windows.held(second, 0)  # empty: no density to go by, the same size again
    assert windows.next(second.end, end) == Window(second.end, second.end + timedelta(days=1.8))
    assert windows.next(end - timedelta(days=1), end).end == end  # never past the end
    assert windows.next(end, end) is None


def test_a_count_sized_window_cut_blind_is_halved_and_never_below_the_smallest():
    windows = CountSizedWindows(limit=10, smallest=timedelta(seconds=1))
    window = Window(NOW, NOW + timedelta(seconds=3))
    windows.cut(window)  # count unknown
    assert windows.next(NOW, NOW + timedelta(days=1)).end == NOW + timedelta(seconds=1.5)
    windows.cut(window, 10**9)  # far too many: stops at the smallest window
    tiny = windows.next(NOW, NOW + timedelta(days=1))
    assert tiny.end - tiny.start == timedelta(seconds=1)
    assert not windows.can_cut(tiny)
    assert not windows.overfull(tiny, 10**9)  # read whole rather than looping
