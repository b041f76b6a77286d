"""The stream base: one meaning per HTTP status, and no sync left hanging on a vendor's wait."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import FatalAPIError

from tap_common.errors import Answer, classify
from tap_common.stream import MAX_VENDOR_WAIT_SECONDS
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import run_tap
from tests.taps import SEGMENT


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, Answer.OK),
        (204, Answer.OK),
        (400, Answer.FATAL),
        (401, Answer.CREDENTIAL),
        (403, Answer.CREDENTIAL),
        (404, Answer.FATAL),
        (422, Answer.FATAL),
        (429, Answer.RETRY),
        (500, Answer.RETRY),
        (503, Answer.RETRY),
    ],
)
def test_every_status_has_one_meaning_for_streams_and_token_exchanges(status, answer):
    assert classify(status) is answer


def test_a_vendor_asking_for_an_absurd_wait_ends_the_sync_with_a_message():
    wait = int(MAX_VENDOR_WAIT_SECONDS) * 4
    with SEGMENT.emulator(seed=7, destinations=2) as emulator:
        emulator.faults.arm("rate_limit", path="/destinations", retry_after=wait)
        result = run_tap(TapSegmentConfig, SEGMENT.config(emulator, max_retries=3))
        requests_made = len([e for e in emulator.log.entries() if e.path == "/destinations"])
    assert isinstance(result.error, FatalAPIError)
    assert f"asked to wait {wait} s" in str(result.error)
    assert "Run the sync again later" in str(result.error)
    assert requests_made == 1  # failed at once: no retry, no sleep
