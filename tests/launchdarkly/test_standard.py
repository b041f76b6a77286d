"""singer-sdk's standard tap tests, against a module-wide emulator.

The SDK builds the test class at import time and needs the API's URL then, so this module
starts its own emulator (real clock) instead of using the per-test fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from api_emulator import EmulatorServer
from api_emulator.launchdarkly import DEFAULT_TOKEN, LaunchDarklyApp, LaunchDarklyDataset
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents

EMULATOR = EmulatorServer(LaunchDarklyApp(LaunchDarklyDataset.generate(seed=11, events=120)))
EMULATOR.start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    EMULATOR.stop()


TestTapLaunchDarklyEvents = get_tap_test_class(
    tap_class=TapLaunchDarklyEvents,
    config={
        "api_url": EMULATOR.url,
        "api_token": DEFAULT_TOKEN,
        "project_key": "default",
        "environment_keys": ["production", "staging"],
        "expand_experiments": True,
    },
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=200),
)
