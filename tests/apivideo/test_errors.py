"""What only api.video does: analytics switched off, Basic auth, its filters, its budget headers.

Faults, bad settings, refused credentials and secrets for every tap: tests/reliability/.
"""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import FatalAPIError

from api_emulator.apivideo import NO_ANALYTICS_KEY, SANDBOX_READS_PER_MINUTE
from tap_apivideo_analytics.client import AnalyticsDisabledError
from tap_apivideo_analytics.tap import TapApiVideoAnalytics
from tap_common.errors import CredentialError
from tests.harness import run_tap
from tests.taps import APIVIDEO


def analytics_calls(emulator) -> list:
    return [e for e in emulator.log.entries() if not e.path.startswith("/auth/")]


def test_a_sandbox_budget_sees_a_default_first_sync_through_without_a_429():
    """100 requests a window, as the sandbox allows a minute (the minute shortened to 1 s)."""
    with APIVIDEO.emulator(seed=5, videos=4, live_streams=2, sessions_per_day=6) as emulator:
        emulator.budget.configure(limit=SANDBOX_READS_PER_MINUTE, window_seconds=1.0)
        result = run_tap(TapApiVideoAnalytics, APIVIDEO.config(emulator))
        assert result.error is None
        paths = {e.path for e in emulator.log.entries()}
        statuses = [e.status for e in emulator.log.entries()]
    assert {"/videos", "/live-streams", "/data/metrics/watch-time/sum"} <= paths
    assert len(statuses) > 3 * SANDBOX_READS_PER_MINUTE  # needs several budget windows
    assert 429 not in statuses


@pytest.mark.parametrize("auth_mode", ["bearer", "basic"])
def test_a_project_without_analytics_fails_at_once_and_says_so(emulator, config, auth_mode):
    config |= {"api_key": NO_ANALYTICS_KEY, "auth_mode": auth_mode}
    result = run_tap(TapApiVideoAnalytics, config)
    assert isinstance(result.error, AnalyticsDisabledError)
    assert "(403)" in str(result.error)
    assert "You cannot get analytics from this project." in str(result.error)
    assert "enable them in the api.video dashboard" in str(result.error)
    assert len(analytics_calls(emulator)) == 1


def test_analytics_switched_off_for_every_project_fails_the_same_way(emulator, config):
    emulator.app.analytics_enabled = False
    result = run_tap(TapApiVideoAnalytics, config | {"auth_mode": "basic"})
    assert isinstance(result.error, AnalyticsDisabledError)
    assert len(emulator.log.entries()) == 1


def test_a_wrong_key_sent_as_basic_auth_fails_at_once_naming_the_setting(emulator, config):
    result = run_tap(TapApiVideoAnalytics, config | {"api_key": "wrong-key", "auth_mode": "basic"})
    assert isinstance(result.error, CredentialError)
    assert "(401)" in str(result.error)
    assert "`api_key`" in str(result.error)
    assert len(emulator.log.entries()) == 1


def test_an_unknown_filter_id_fails_with_the_parameter_api_video_names(emulator, config):
    # live_stream_plays is the first stream the SDK syncs (streams go in name order)
    result = run_tap(TapApiVideoAnalytics, config | {"live_stream_ids": ["liNOPE"]})
    assert isinstance(result.error, FatalAPIError)
    assert "400" in str(result.error)
    assert "must refer to an existing live stream (parameter filter)" in str(result.error)
    assert len(analytics_calls(emulator)) == 1
