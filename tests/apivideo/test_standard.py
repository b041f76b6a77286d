"""singer-sdk's standard tap tests, against a module-wide emulator.

The SDK builds the test class at import time and needs the API's URL then, so this module
starts its own emulator (real clock) instead of using the per-test fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from api_emulator import EmulatorServer
from api_emulator.apivideo import DEFAULT_API_KEY, ApiVideoApp, ApiVideoDataset
from tap_apivideo_analytics.tap import TapApiVideoAnalytics

EMULATOR = EmulatorServer(ApiVideoApp(ApiVideoDataset.generate(seed=11, videos=12)))
EMULATOR.start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    EMULATOR.stop()


TestTapApiVideoAnalytics = get_tap_test_class(
    tap_class=TapApiVideoAnalytics,
    config={
        "api_url": EMULATOR.url,
        "api_key": DEFAULT_API_KEY,
        "metrics": ["play", "play-rate", "impression"],
    },
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=200),
)
