"""What only Segment does: a 403 token, the 429 body's ``msBeforeNext``, its rate-limit headers.

Faults, bad settings, refused credentials and secrets for every tap: tests/reliability/.
"""

from __future__ import annotations

from api_emulator import EmulatorServer
from api_emulator.core import BudgetStatus, Response
from api_emulator.segment import NO_ACCESS_TOKEN, SegmentApp, SegmentDataset
from tap_common.errors import CredentialError
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import run_tap
from tests.segment.selection import DESTINATION_STREAMS, selecting
from tests.taps import SEGMENT

LISTING = "/destinations"


def listing_calls(emulator) -> list:
    return [e for e in emulator.log.entries() if e.path == LISTING]


def one_destination(emulator, config) -> dict:
    """Narrow the sync to one destination: the rate limit is about the listing, not volume."""
    return config | {"destination_ids": [emulator.app.dataset.destinations[0]["id"]]}


def test_a_token_without_access_fails_at_once_naming_the_setting(emulator, config):
    result = run_tap(TapSegmentConfig, config | {"api_token": NO_ACCESS_TOKEN})
    assert isinstance(result.error, CredentialError)
    assert "(403)" in str(result.error)
    assert "`api_token`" in str(result.error)
    assert len(emulator.log.entries()) == 1


class SegmentWithoutRetryAfter(SegmentApp):
    """Segment's documented 429 body, without the ``Retry-After`` header."""

    def rate_limited(self, budget: BudgetStatus, retry_after: int | None) -> Response:
        response = super().rate_limited(budget, retry_after)
        del response.headers["Retry-After"]
        return response


def test_a_429_without_retry_after_waits_what_ms_before_next_says():
    app = SegmentWithoutRetryAfter(SegmentDataset.generate(seed=7, destinations=1))
    with EmulatorServer(app) as emulator:
        emulator.clock.set(SEGMENT.now)
        emulator.faults.arm("rate_limit", path=LISTING, retry_after=2, times=1)
        result = run_tap(TapSegmentConfig, SEGMENT.config(emulator, request_timeout=2))
    assert result.error is None
    refused, retried = listing_calls(emulator)
    assert refused.status == 429
    assert retried.started - refused.finished >= 2.0  # the backoff alone would wait about 1 s


def test_the_throttle_keeps_within_the_rate_budget(emulator, config):
    config = one_destination(emulator, config)
    emulator.budget.configure(limit=4, window_seconds=1.0)
    result = run_tap(TapSegmentConfig, config, catalog=selecting(config, *DESTINATION_STREAMS))
    assert result.error is None
    statuses = [e.status for e in emulator.log.entries()]
    assert len(statuses) == 15  # listing, subscriptions, 13 daily windows
    assert 429 not in statuses
