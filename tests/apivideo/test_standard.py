"""singer-sdk's standard tap tests, against a module-wide emulator.

The SDK builds the test class at import time and needs the API's URL then, so this module
starts its own emulator (real clock) instead of using the per-test fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tests.taps import APIVIDEO

EMULATOR = APIVIDEO.emulator(seed=11, frozen=False, videos=12).start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    EMULATOR.stop()


TestTapApiVideoAnalytics = get_tap_test_class(
    tap_class=APIVIDEO.tap_class,
    config=APIVIDEO.config(EMULATOR, metrics=["play", "play-rate", "impression"]),
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=200),
)
