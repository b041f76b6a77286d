"""Faults survived, a refused refresh token fails at once, bad settings, secrets never shown."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_common.stream import CredentialError
from tap_pm2_events.tap import TapPm2Events
from tests.harness import duplicates, run_cli, run_tap
from tests.pm2.conftest import event_keys

EVENTS = "/data/events"


def narrow(emulator, config: dict) -> dict:
    """One bucket, two event names: faults are about the routes, not volume."""
    return config | {
        "bucket_ids": [emulator.app.dataset.buckets[1].id],
        "event_names": ["job:done", "user:login"],
    }


def data_path(emulator) -> str:
    return f"/api/bucket/{emulator.app.dataset.buckets[1].id}/data/events"


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
    config = narrow(emulator, config)
    clean = run_tap(TapPm2Events, config)
    clean_calls = len(emulator.log.entries())
    emulator.log.clear()

    emulator.faults.arm(kind, path=data_path(emulator), after=1, **options)
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    assert sorted(event_keys(result.records("events"))) == sorted(
        event_keys(clean.records("events"))
    )
    assert duplicates([(k,) for k in event_keys(result.records("events"))]) == []
    assert len(emulator.log.entries()) == clean_calls + options["times"]


def test_a_database_error_body_is_what_pm2_sends(emulator, config):
    # after=1: the path is a prefix of eventsKeysByApp's, which comes first
    emulator.faults.arm("status", path=data_path(emulator), status=500, times=10, after=1)
    result = run_tap(TapPm2Events, narrow(emulator, config) | {"max_retries": 1})
    assert result.error is not None
    assert "database error" in str(result.error)
    assert f"POST {data_path(emulator)}" in str(result.error)
    assert "500" in str(result.error)


def test_a_429_is_retried_no_sooner_than_retry_after(emulator, config):
    emulator.faults.arm("rate_limit", path=data_path(emulator), retry_after=2, times=1, after=1)
    result = run_tap(TapPm2Events, narrow(emulator, config))
    assert result.error is None
    refused, retried = [e for e in emulator.log.entries() if e.path == data_path(emulator)][:2]
    assert refused.status == 429
    assert retried.started - refused.finished >= 2.0


def test_a_wrong_refresh_token_fails_with_one_request(emulator, config):
    result = run_tap(TapPm2Events, config | {"refresh_token": "not-a-valid-refresh-token"})
    assert isinstance(result.error, CredentialError)
    message = str(result.error)
    assert "403" in message
    assert "Invalid refresh token" in message
    assert "`refresh_token`" in message
    assert "not-a-valid-refresh-token" not in message
    assert [(e.host, e.path) for e in emulator.log.entries()] == [("auth", "/api/oauth/token")]


def test_a_token_refused_right_after_renewal_stops_the_sync(emulator, config):
    emulator.app.token_max_uses = 0  # every access token is dead on arrival
    result = run_tap(TapPm2Events, config)
    assert isinstance(result.error, CredentialError)
    assert "401" in str(result.error)
    hosts = [e.host for e in emulator.log.entries()]
    assert hosts == ["auth", "api", "auth", "api"]  # exchange, 401, renew once, 401: stop


def test_a_bucket_the_user_cannot_read_fails_naming_the_credential(emulator, config):
    readable = {emulator.app.dataset.buckets[0].id}
    token = emulator.app.register_refresh_token("pm2-limited-" + "r7" * 10, readable)
    denied = emulator.app.dataset.buckets[1].id
    result = run_tap(TapPm2Events, config | {"refresh_token": token, "bucket_ids": [denied]})
    assert result.error is not None
    assert "bucket_ids" in str(result.error)


BAD_SETTINGS = [
    ({"refresh_token": None}, "refresh_token"),
    ({"refresh_token": ""}, "refresh_token"),
    ({"page_size": 0}, "page_size"),
    ({"page_size": 10_001}, "page_size"),
    ({"window_max_events": 10_001}, "window_max_events"),
    ({"bucket_ids": ["not-a-bucket"]}, "bucket_ids.0"),
    ({"bucket_ids": "a4c123b1612dd272d1371c17"}, "bucket_ids"),
    ({"histogram_interval": "week"}, "histogram_interval"),
    ({"histogram_days": 0}, "histogram_days"),
    ({"histogram_days": 31}, "histogram_days"),
    ({"lookback_minutes": -1}, "lookback_minutes"),
    ({"start_date": "2026-02-30"}, "start_date"),
    ({"start_date": "2999-01-01T00:00:00Z"}, "start_date"),
    ({"auth_url": "id.keymetrics.io"}, "auth_url"),
    ({"app_names": [""]}, "app_names.0"),
]


@pytest.mark.parametrize(("change", "setting"), BAD_SETTINGS)
def test_bad_settings_fail_before_any_request_naming_the_setting(emulator, config, change, setting):
    config = {k: v for k, v in (config | change).items() if v is not None}
    result = run_tap(TapPm2Events, config)
    assert isinstance(result.error, ConfigValidationError)
    assert any(error.startswith(f"{setting}:") for error in result.error.errors)
    assert emulator.log.entries() == []


def test_no_token_ever_appears_in_any_output(emulator, config, tmp_path):
    refresh = emulator.app.register_refresh_token("pm2-refresh-" + "Zq8" * 8)
    emulator.app.token_max_uses = 5  # several access tokens issued, some expired mid-sync
    ok, _ = run_cli("tap-pm2-events", config | {"refresh_token": refresh}, tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    wrong = "pm2-wrong-" + "Kx4" * 8
    refused, _ = run_cli("tap-pm2-events", config | {"refresh_token": wrong}, tmp_path)
    assert refused.returncode != 0
    assert "refresh_token" in refused.stderr
    secrets = [refresh, wrong, *emulator.app.issued]
    assert len(emulator.app.issued) > 2
    for completed in (ok, refused):
        for secret in secrets:
            assert secret not in completed.stdout
            assert secret not in completed.stderr
