"""Faults survived, rate limits obeyed, refused keys and projects named, bad settings, secrets."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from api_emulator.apivideo import NO_ANALYTICS_KEY
from tap_apivideo_analytics.client import AnalyticsDisabledError
from tap_apivideo_analytics.tap import TapApiVideoAnalytics
from tap_common.errors import CredentialError
from tests.apivideo.conftest import PLAYS_KEY
from tests.harness import duplicates, run_cli, run_tap

PLAYS = "/analytics/videos/plays"
STREAMS = ("video_plays", "live_stream_plays", "metric_buckets", "metric_timeseries")


def narrow(config: dict) -> dict:
    """Faults are about one endpoint, not volume: one dimension, one breakdown."""
    return config | {"dimensions": ["country"], "breakdowns": ["country"]}


def analytics_calls(emulator) -> list:
    return [e for e in emulator.log.entries() if not e.path.startswith("/auth/")]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("status", {"status": 500, "times": 2}),
        ("status", {"status": 502, "times": 1}),
        ("status", {"status": 503, "times": 2}),
        ("rate_limit", {"retry_after": 1, "times": 1}),
        ("slow", {"delay": 3.0, "times": 1}),  # longer than request_timeout (2 s)
        ("reset", {"times": 2}),
        ("truncate", {"times": 1}),
    ],
)
def test_a_transient_fault_is_retried_and_loses_nothing(emulator, config, kind, options):
    config = narrow(config)
    clean = run_tap(TapApiVideoAnalytics, config)
    clean_calls = len(emulator.log.entries())
    emulator.log.clear()

    emulator.faults.arm(kind, path=PLAYS, after=2, **options)  # in the middle of the sync
    result = run_tap(TapApiVideoAnalytics, config)
    assert result.error is None
    for stream in STREAMS:
        assert result.records(stream) == clean.records(stream)
    assert duplicates(result.keys("video_plays", *PLAYS_KEY)) == []
    entries = emulator.log.entries()
    assert len(entries) == clean_calls + options["times"]
    assert [e.status for e in entries if e.path == PLAYS][-1] == 200


def test_a_failing_token_exchange_is_retried(emulator, config):
    emulator.faults.arm("status", path="/auth/api-key", status=503, times=2)
    result = run_tap(TapApiVideoAnalytics, narrow(config))
    assert result.error is None
    assert [e.status for e in emulator.log.entries()][:3] == [503, 503, 200]


def test_a_429_waits_what_x_ratelimit_retry_after_says(emulator, config):
    emulator.faults.arm("rate_limit", path=PLAYS, retry_after=2, times=1)
    result = run_tap(TapApiVideoAnalytics, narrow(config))
    assert result.error is None
    refused, retried = [e for e in emulator.log.entries() if e.path == PLAYS][:2]
    assert refused.status == 429
    assert retried.started - refused.finished >= 2.0


def test_a_steady_sync_is_steered_by_the_budget_headers_without_a_429(emulator, config):
    emulator.budget.configure(limit=4, window_seconds=1.0)
    result = run_tap(TapApiVideoAnalytics, narrow(config) | {"start_date": "2026-11-17"})
    assert result.error is None
    statuses = [e.status for e in emulator.log.entries()]
    assert len(statuses) > 8  # needs more than two budget windows
    assert 429 not in statuses


def test_a_fault_that_outlasts_the_retries_fails_naming_endpoint_and_status(emulator, config):
    emulator.faults.arm("status", path=PLAYS, status=503, times=10)
    result = run_tap(TapApiVideoAnalytics, narrow(config) | {"max_retries": 2})
    assert result.error is not None
    assert "503" in str(result.error)
    assert f"GET {PLAYS}" in str(result.error)
    assert len([e for e in emulator.log.entries() if e.path == PLAYS]) == 3


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


@pytest.mark.parametrize(("auth_mode", "status"), [("bearer", 400), ("basic", 401)])
def test_a_wrong_key_fails_at_once_naming_the_setting(emulator, config, auth_mode, status):
    result = run_tap(
        TapApiVideoAnalytics, config | {"api_key": "wrong-key", "auth_mode": auth_mode}
    )
    assert isinstance(result.error, CredentialError)
    assert f"({status})" in str(result.error)
    assert "`api_key`" in str(result.error)
    assert len(emulator.log.entries()) == 1


def test_an_unknown_filter_id_fails_with_the_parameter_api_video_names(emulator, config):
    # live_stream_plays is the first stream the SDK syncs (streams go in name order)
    result = run_tap(TapApiVideoAnalytics, config | {"live_stream_ids": ["liNOPE"]})
    assert isinstance(result.error, FatalAPIError)
    assert "400" in str(result.error)
    assert "must refer to an existing live stream (parameter filter)" in str(result.error)
    assert len(analytics_calls(emulator)) == 1


BAD_SETTINGS = [
    ({"api_key": None}, "api_key"),
    ({"api_key": ""}, "api_key"),
    ({"auth_mode": "oauth"}, "auth_mode"),
    ({"dimensions": ["country", "city"]}, "dimensions"),
    ({"dimensions": []}, "dimensions"),
    ({"dimensions": ["country", "country"]}, "dimensions"),
    ({"metrics": ["play-total"]}, "metrics"),
    ({"breakdowns": ["region"]}, "breakdowns"),
    ({"video_ids": "vi123"}, "video_ids"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 101}, "page_size"),
    ({"lookback_days": -1}, "lookback_days"),
    ({"lookback_days": 30}, "lookback_days"),
    ({"start_date": "yesterday-ish"}, "start_date"),
    ({"start_date": "2999-01-01T00:00:00Z"}, "start_date"),
    ({"api_url": "ws.api.video"}, "api_url"),
]


@pytest.mark.parametrize(("change", "setting"), BAD_SETTINGS)
def test_bad_settings_fail_before_any_request_naming_the_setting(emulator, config, change, setting):
    config = {k: v for k, v in (config | change).items() if v is not None}
    result = run_tap(TapApiVideoAnalytics, config)
    assert isinstance(result.error, ConfigValidationError)
    assert any(error.startswith(f"{setting}:") for error in result.error.errors)
    assert emulator.log.entries() == []


def test_the_cli_exits_non_zero_with_one_line_per_bad_setting(emulator, config, tmp_path):
    completed, _ = run_cli("tap-apivideo-analytics", config | {"auth_mode": "oauth"}, tmp_path)
    assert completed.returncode == 1
    assert "auth_mode: 'oauth' is not one of ['bearer', 'basic']" in completed.stderr
    assert emulator.log.entries() == []


def test_neither_the_key_nor_any_token_appears_in_any_output(emulator, config, tmp_path):
    key = emulator.app.register_key("key-" + "Zp4w" * 8)
    config = narrow(config) | {"api_key": key}
    emulator.app.token_max_uses = 5  # refreshes mid-sync: more tokens to leak
    ok, result = run_cli("tap-apivideo-analytics", config, tmp_path)
    assert ok.returncode == 0
    assert result.records("video_plays")
    wrong = "key-wrong-" + "Q7" * 12
    refused, _ = run_cli("tap-apivideo-analytics", config | {"api_key": wrong}, tmp_path)
    assert refused.returncode != 0
    assert "api_key" in refused.stderr
    assert len(emulator.app.issued) > 4
    for completed in (ok, refused):
        for secret in [key, wrong, *emulator.app.issued]:
            assert secret not in completed.stdout
            assert secret not in completed.stderr
