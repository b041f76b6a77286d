"""What only PM2 does: its error bodies, its auth host, buckets a token may not read.

Faults, bad settings, refused credentials and secrets for every tap: tests/reliability/.
"""

from __future__ import annotations

import pytest

from tap_common.errors import CredentialError
from tap_pm2_events.tap import TapPm2Events
from tests.harness import run_tap


def narrow(emulator, config: dict) -> dict:
    """One bucket, two event names: faults are about the routes, not volume."""
    return config | {
        "bucket_ids": [emulator.app.dataset.buckets[1].id],
        "event_names": ["job:done", "user:login"],
    }


def data_path(emulator) -> str:
    return f"/api/bucket/{emulator.app.dataset.buckets[1].id}/data/events"


def test_a_database_error_body_is_what_pm2_sends(emulator, config):
    # after=1: the path is a prefix of eventsKeysByApp's, which comes first
    emulator.faults.arm("status", path=data_path(emulator), status=500, times=10, after=1)
    result = run_tap(TapPm2Events, narrow(emulator, config) | {"max_retries": 1})
    assert result.error is not None
    assert "database error" in str(result.error)
    assert f"POST {data_path(emulator)}" in str(result.error)
    assert "500" in str(result.error)


def test_a_wrong_refresh_token_is_refused_by_the_auth_host_in_pm2s_words(emulator, config):
    result = run_tap(TapPm2Events, config | {"refresh_token": "not-a-valid-refresh-token"})
    assert isinstance(result.error, CredentialError)
    assert "Invalid refresh token" in str(result.error)
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


INCIDENT_ROUTES = [
    "processEvents",
    "processEvents/deployments",
    "issues/summary/apps",
    "issues/list",
    "issues/occurrences/",
]
INCIDENT_TABLES = {
    "process_events": ("process_event_id",),
    "deployments": ("deployment_id",),
    "issue_apps": ("bucket_id", "app_name"),
    "issues": ("bucket_id", "identifier"),
    "issue_occurrences": ("occurrence_id",),
}


@pytest.mark.parametrize("route", INCIDENT_ROUTES)
def test_a_database_error_on_an_incident_route_is_retried_to_the_same_records(
    emulator, config, route
):
    bucket = emulator.app.dataset.buckets[0]
    config = config | {"bucket_ids": [bucket.id], "event_names": ["job:done"]}

    def keys(result) -> dict[str, list]:
        return {t: sorted(result.keys(t, *k)) for t, k in INCIDENT_TABLES.items()}

    clean = run_tap(TapPm2Events, config)
    clean_requests = len(emulator.log.entries())
    emulator.log.clear()
    path = f"/api/bucket/{bucket.id}/data/{route}"
    emulator.faults.arm("status", path=path, status=500, times=1)
    result = run_tap(TapPm2Events, config)
    assert result.error is None
    assert keys(result) == keys(clean)
    entries = emulator.log.entries()
    assert len(entries) == clean_requests + 1
    (faulted,) = [e for e in entries if e.fault]
    retry = entries[entries.index(faulted) + 1]
    assert (retry.path, retry.status) == (faulted.path, 200)
