"""Rate-limit header parsing and pacing, for every vendor style."""

import time
from email.utils import formatdate

import pytest

from tap_common.ratelimit import (
    RateLimitPolicy,
    RateLimitStatus,
    ResetFormat,
    RouteBudget,
    Throttle,
    parse_retry_after,
    parse_wait,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("12", ResetFormat.DELAY_SECONDS, 12.0),
        ("0.5", ResetFormat.DELAY_SECONDS, 0.5),
        (formatdate(NOW + 30, usegmt=True), ResetFormat.HTTP_DATE, 30.0),
        (str(int((NOW + 7.5) * 1000)), ResetFormat.EPOCH_MS, 7.5),
        (str(int((NOW - 5) * 1000)), ResetFormat.EPOCH_MS, 0.0),  # reset already past
        ("soon", ResetFormat.DELAY_SECONDS, None),
        ("not a date", ResetFormat.HTTP_DATE, None),
        ("", ResetFormat.EPOCH_MS, None),
        (None, ResetFormat.EPOCH_MS, None),
    ],
)
def test_parse_wait_reads_every_vendor_style(value, fmt, expected):
    wait = parse_wait(value, fmt, NOW)
    if expected is None:
        assert wait is None
    else:
        assert wait == pytest.approx(expected)


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(formatdate(NOW + 9, usegmt=True), NOW) == pytest.approx(9.0)
    assert parse_retry_after(None, NOW) is None


SEGMENT_LIKE = RateLimitPolicy(
    remaining_headers=("X-RateLimit-Remaining",),
    reset_header="X-RateLimit-Reset",
    reset_format=ResetFormat.HTTP_DATE,
)
LAUNCHDARKLY_LIKE = RateLimitPolicy(
    remaining_headers=("X-Ratelimit-Route-Remaining", "X-Ratelimit-Global-Remaining"),
    reset_header="X-Ratelimit-Reset",
    reset_format=ResetFormat.EPOCH_MS,
)


def test_smallest_of_several_budgets_counts():
    headers = {
        "X-Ratelimit-Route-Remaining": "40",
        "X-Ratelimit-Global-Remaining": "3",
        "X-Ratelimit-Reset": str(int((NOW + 4) * 1000)),
    }
    status = LAUNCHDARKLY_LIKE.status(headers, NOW)
    assert status.remaining == 3
    assert status.reset_after == pytest.approx(4.0)


def test_retry_after_header_wins_and_reset_only_counts_for_429():
    headers = {"Retry-After": "2", "X-RateLimit-Reset": formatdate(NOW + 60, usegmt=True)}
    assert SEGMENT_LIKE.retry_after(headers, NOW, rate_limited=True) == 2.0
    only_reset = {"X-RateLimit-Reset": formatdate(NOW + 60, usegmt=True)}
    assert SEGMENT_LIKE.retry_after(only_reset, NOW, rate_limited=True) == pytest.approx(60.0)
    assert SEGMENT_LIKE.retry_after(only_reset, NOW, rate_limited=False) is None


@pytest.mark.parametrize(
    ("status", "pause"),
    [
        (RateLimitStatus(remaining=100, reset_after=10.0), 0.0),
        (RateLimitStatus(remaining=0, reset_after=10.0), 10.0),
        (RateLimitStatus(remaining=1, reset_after=10.0), 5.0),  # within the reserve: spread
        (RateLimitStatus(remaining=None, reset_after=10.0), 0.0),  # vendor gives no figure
        (RateLimitStatus(remaining=0, reset_after=None), 0.0),
    ],
)
def test_pause_before_next_spreads_the_last_calls(status, pause):
    assert SEGMENT_LIKE.pause_before_next(status) == pytest.approx(pause)


def test_throttle_sleeps_until_the_budget_resets():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    throttle = Throttle(LAUNCHDARKLY_LIKE, sleep=sleep, monotonic=lambda: clock[0])
    assert throttle.wait() == 0.0
    reset_ms = str(int((time.time() + 3) * 1000))
    throttle.observe({"X-Ratelimit-Route-Remaining": "0", "X-Ratelimit-Reset": reset_ms})
    waited = throttle.wait()
    assert 2.0 < waited <= 3.0
    assert slept == [waited]
    assert throttle.wait() == 0.0  # the wait is spent once


def test_a_route_budget_spaces_requests_to_its_own_limit():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    budget = RouteBudget(2, 60.0, sleep=sleep, monotonic=lambda: clock[0])
    assert [budget.wait(), budget.wait()] == [0.0, 0.0]  # within the limit: no wait
    clock[0] += 10
    assert budget.wait() == 50.0  # the third starts a window after the first (at 160)
    assert budget.wait() == 0.0  # the fourth too: the second's window has passed as well
    assert budget.wait() == 60.0  # the fifth: two have started at 160
    assert slept == [50.0, 60.0]
