"""singer-sdk's standard tap tests, against a module-wide emulator.

The SDK builds the test class at import time and needs the API's URL then, so this module
starts its own emulator (real clock) instead of using the per-test fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from api_emulator import EmulatorServer
from api_emulator.pm2 import DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset
from tap_pm2_events.tap import TapPm2Events

EMULATOR = EmulatorServer(Pm2App(Pm2Dataset.generate(seed=11, events=150)))
EMULATOR.start()


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Iterator[None]:
    yield
    EMULATOR.stop()


TestTapPm2Events = get_tap_test_class(
    tap_class=TapPm2Events,
    config={
        "api_url": EMULATOR.url,
        "auth_url": EMULATOR.urls["auth"],
        "refresh_token": DEFAULT_REFRESH_TOKEN,
    },
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=200),
)
