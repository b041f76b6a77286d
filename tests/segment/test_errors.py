"""Faults survived, credentials refused at once, bad settings named, secrets never shown."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from api_emulator.segment import NO_ACCESS_TOKEN
from tap_common.stream import CredentialError
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import duplicates, run_cli, run_tap

LISTING = "/destinations"


def listing_calls(emulator) -> list:
    return [e for e in emulator.log.entries() if e.path == LISTING]


def one_destination(emulator, config) -> dict:
    """Narrow the sync to one destination: faults are about the listing, not volume."""
    return config | {"destination_ids": [emulator.app.dataset.destinations[0]["id"]]}


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
    config = one_destination(emulator, config)
    clean = run_tap(TapSegmentConfig, config)
    clean_calls = len(emulator.log.entries())
    emulator.log.clear()

    emulator.faults.arm(kind, path=LISTING, **options)
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None
    for stream, key in [("destinations", ("id",)), ("delivery_metrics", ("windowStart",))]:
        assert result.keys(stream, *key) == clean.keys(stream, *key)
        assert duplicates(result.keys(stream, *key)) == []
    assert len(emulator.log.entries()) == clean_calls + options["times"]
    attempts = listing_calls(emulator)
    assert len(attempts) == 1 + options["times"]
    assert attempts[-1].status == 200


def test_a_429_is_retried_no_sooner_than_retry_after(emulator, config):
    config = one_destination(emulator, config)
    emulator.faults.arm("rate_limit", path=LISTING, retry_after=2, times=1)
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None
    refused, retried = listing_calls(emulator)
    assert refused.status == 429
    assert retried.started - refused.finished >= 2.0


def test_a_fault_that_outlasts_the_retries_fails_naming_endpoint_and_status(emulator, config):
    config = one_destination(emulator, config) | {"max_retries": 2}
    emulator.faults.arm("status", path=LISTING, status=503, times=10)
    result = run_tap(TapSegmentConfig, config)
    assert result.error is not None
    assert "503" in str(result.error)
    assert "GET /destinations" in str(result.error)
    assert len(listing_calls(emulator)) == 3


@pytest.mark.parametrize(("token", "status"), [("wrong-token", 401), (NO_ACCESS_TOKEN, 403)])
def test_a_refused_credential_fails_at_once_naming_the_setting(emulator, config, token, status):
    result = run_tap(TapSegmentConfig, config | {"api_token": token})
    assert isinstance(result.error, CredentialError)
    assert f"({status})" in str(result.error)
    assert "`api_token`" in str(result.error)
    assert len(emulator.log.entries()) == 1


BAD_SETTINGS = [
    ({"api_token": None}, "api_token"),
    ({"api_token": ""}, "api_token"),
    ({"delivery_metrics_granularity": "WEEK"}, "delivery_metrics_granularity"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 5000}, "page_size"),
    ({"page_size": "many"}, "page_size"),
    ({"start_date": "last tuesday"}, "start_date"),
    ({"start_date": "2999-01-01T00:00:00Z"}, "start_date"),
    ({"destination_ids": "abc"}, "destination_ids"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"api_url": "ftp://api.segmentapis.com"}, "api_url"),
]


@pytest.mark.parametrize(("change", "setting"), BAD_SETTINGS)
def test_bad_settings_fail_before_any_request_naming_the_setting(emulator, config, change, setting):
    config = {k: v for k, v in (config | change).items() if v is not None}
    result = run_tap(TapSegmentConfig, config)
    assert isinstance(result.error, ConfigValidationError)
    assert any(error.startswith(f"{setting}:") for error in result.error.errors)
    assert emulator.log.entries() == []


def test_a_secret_of_the_wrong_type_is_named_but_not_shown(emulator, config):
    result = run_tap(TapSegmentConfig, config | {"api_token": 987654321})
    assert isinstance(result.error, ConfigValidationError)
    assert result.error.errors == [
        "api_token: invalid value (not shown: it is secret); expected ['string']"
    ]


def test_the_cli_exits_non_zero_with_one_line_per_bad_setting(emulator, config, tmp_path):
    completed, _ = run_cli("tap-segment-config", config | {"page_size": 0}, tmp_path)
    assert completed.returncode == 1
    assert "page_size: 0 is less than the minimum of 1" in completed.stderr
    assert emulator.log.entries() == []


def test_the_token_never_appears_in_any_output(emulator, config, tmp_path):
    token = emulator.app.register_token("tok-" + "x7Q9" * 6)
    ok, _ = run_cli("tap-segment-config", config | {"api_token": token}, tmp_path)
    assert ok.returncode == 0
    wrong = "tok-wrong-" + "Z3" * 10
    refused, _ = run_cli("tap-segment-config", config | {"api_token": wrong}, tmp_path)
    assert refused.returncode != 0
    assert "api_token" in refused.stderr
    for completed, secret in [(ok, token), (refused, wrong)]:
        assert secret not in completed.stdout
        assert secret not in completed.stderr


def test_the_throttle_keeps_within_the_rate_budget(emulator, config):
    config = one_destination(emulator, config)
    emulator.budget.configure(limit=4, window_seconds=1.0)
    result = run_tap(TapSegmentConfig, config)
    assert result.error is None
    statuses = [e.status for e in emulator.log.entries()]
    assert len(statuses) == 15  # listing, subscriptions, 13 daily windows
    assert 429 not in statuses
