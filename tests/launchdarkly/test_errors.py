"""Faults survived, rate limits obeyed, credentials and versions refused at once, bad settings."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from api_emulator.launchdarkly import NO_ACCESS_TOKEN
from tap_common.stream import CredentialError
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tests.harness import duplicates, run_cli, run_tap

PATH = "/api/v2/engineering-insights/flag-events"
STREAM = "flag_events"


def one_environment(config: dict) -> dict:
    """Faults are about one listing, not volume: one window of several pages."""
    return config | {"environment_keys": ["staging"], "page_size": 5}


def ids(result) -> list[tuple]:
    return result.keys(STREAM, "id")


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
    config = one_environment(config)
    clean = run_tap(TapLaunchDarklyEvents, config)
    clean_calls = len(emulator.log.entries())
    emulator.log.clear()

    emulator.faults.arm(kind, path=PATH, after=2, **options)  # in the middle of the sync
    result = run_tap(TapLaunchDarklyEvents, config)
    assert result.error is None
    assert sorted(ids(result)) == sorted(ids(clean))
    assert duplicates(ids(result)) == []
    entries = emulator.log.entries()
    assert len(entries) == clean_calls + options["times"]
    assert entries[-1].status == 200


def test_an_ip_limit_is_retried_no_sooner_than_retry_after(emulator, config):
    emulator.faults.arm("rate_limit", path=PATH, retry_after=2, times=1)
    result = run_tap(TapLaunchDarklyEvents, one_environment(config))
    assert result.error is None
    refused, retried = emulator.log.entries()[:2]
    assert refused.status == 429
    assert retried.started - refused.finished >= 2.0


def test_the_route_budget_is_steered_by_its_headers_without_a_429(emulator, config):
    emulator.budget.configure(limit=4, window_seconds=1.0)
    result = run_tap(TapLaunchDarklyEvents, one_environment(config) | {"page_size": 5})
    assert result.error is None
    statuses = [e.status for e in emulator.log.entries()]
    assert len(statuses) > 8  # needs more than two budget windows
    assert 429 not in statuses


def test_a_429_with_a_reset_already_past_backs_off_and_recovers(emulator, config):
    emulator.app.stale_reset = True
    emulator.budget.configure(limit=3, window_seconds=1.0)
    result = run_tap(TapLaunchDarklyEvents, one_environment(config) | {"max_retries": 6})
    assert result.error is None
    clean = run_tap(TapLaunchDarklyEvents, one_environment(config) | {"max_retries": 6})
    assert sorted(ids(result)) == sorted(ids(clean))


def test_a_fault_that_outlasts_the_retries_fails_naming_endpoint_and_status(emulator, config):
    config = one_environment(config) | {"max_retries": 2}
    emulator.faults.arm("status", path=PATH, status=503, times=10)
    result = run_tap(TapLaunchDarklyEvents, config)
    assert result.error is not None
    assert "503" in str(result.error)
    assert f"GET {PATH}" in str(result.error)
    assert len(emulator.log.entries()) == 3


@pytest.mark.parametrize(
    ("token", "status"),
    [("wrong-token", 401), (NO_ACCESS_TOKEN, 403), (f"Bearer {NO_ACCESS_TOKEN}", 401)],
)
def test_a_refused_credential_fails_at_once_naming_the_setting(emulator, config, token, status):
    result = run_tap(TapLaunchDarklyEvents, config | {"api_token": token})
    assert isinstance(result.error, CredentialError)
    assert f"({status})" in str(result.error)
    assert "`api_token`" in str(result.error)
    assert len(emulator.log.entries()) == 1


def test_a_refused_api_version_fails_at_once_and_says_so(emulator, config):
    emulator.app.api_version = "20991231"  # the route has left beta: "beta" is refused
    result = run_tap(TapLaunchDarklyEvents, config)
    assert isinstance(result.error, FatalAPIError)
    assert not isinstance(result.error, CredentialError)
    assert "refused the API version" in str(result.error)
    assert "LD-API-Version: beta" in str(result.error)
    assert len(emulator.log.entries()) == 1


def test_an_unknown_project_fails_with_the_vendor_message(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config | {"project_key": "nope"})
    assert isinstance(result.error, FatalAPIError)
    assert "404" in str(result.error)
    assert "Invalid resource identifier" in str(result.error)
    assert len(emulator.log.entries()) == 1


BAD_SETTINGS = [
    ({"api_token": None}, "api_token"),
    ({"project_key": None}, "project_key"),
    ({"project_key": ""}, "project_key"),
    ({"environment_keys": []}, "environment_keys"),
    ({"environment_keys": "production"}, "environment_keys"),
    ({"page_size": 101}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"start_date": "2026-13-45"}, "start_date"),
    ({"start_date": "2999-01-01T00:00:00Z"}, "start_date"),
    ({"impact_size": "huge"}, "impact_size"),
    ({"lookback_minutes": -5}, "lookback_minutes"),
    ({"has_experiments": "sometimes"}, "has_experiments"),
    ({"api_url": "not a url"}, "api_url"),
]


@pytest.mark.parametrize(("change", "setting"), BAD_SETTINGS)
def test_bad_settings_fail_before_any_request_naming_the_setting(emulator, config, change, setting):
    config = {k: v for k, v in (config | change).items() if v is not None}
    result = run_tap(TapLaunchDarklyEvents, config)
    assert isinstance(result.error, ConfigValidationError)
    assert any(error.startswith(f"{setting}:") for error in result.error.errors)
    assert emulator.log.entries() == []


def test_the_cli_exits_non_zero_with_one_line_per_bad_setting(emulator, config, tmp_path):
    completed, _ = run_cli("tap-launchdarkly-events", config | {"page_size": 101}, tmp_path)
    assert completed.returncode == 1
    assert "page_size: 101 is greater than the maximum of 100" in completed.stderr
    assert emulator.log.entries() == []


def test_the_token_never_appears_in_any_output(emulator, config, tmp_path):
    token = emulator.app.register_token("api-" + "k3Y9" * 8)
    ok, _ = run_cli("tap-launchdarkly-events", config | {"api_token": token}, tmp_path)
    assert ok.returncode == 0
    wrong = "api-wrong-" + "Q7" * 12
    refused, _ = run_cli("tap-launchdarkly-events", config | {"api_token": wrong}, tmp_path)
    assert refused.returncode != 0
    assert "api_token" in refused.stderr
    for completed, secret in [(ok, token), (refused, wrong)]:
        assert secret not in completed.stdout
        assert secret not in completed.stderr
