"""What only LaunchDarkly does: route budgets, stale resets, API versions, its token and project.

Faults, bad settings, refused credentials and secrets for every tap: tests/reliability/.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from singer_sdk.exceptions import FatalAPIError

from api_emulator.launchdarkly import AUDIT_PATH, NO_ACCESS_TOKEN
from tap_common.errors import CredentialError
from tap_launchdarkly_events.tap import TapLaunchDarklyEvents
from tests.harness import run_tap
from tests.launchdarkly.conftest import flag_event_requests, selecting
from tests.taps import LAUNCHDARKLY

STREAM = "flag_events"


def one_environment(config: dict) -> dict:
    """Budgets are about one listing, not volume: one window of several pages."""
    return config | {"environment_keys": ["staging"], "page_size": 5}


def ids(result) -> list[tuple]:
    return result.keys(STREAM, "id")


def test_the_route_budget_is_steered_by_its_headers_without_a_429(emulator, config):
    emulator.budget.configure(limit=4, window_seconds=1.0)
    config = one_environment(config)
    result = run_tap(TapLaunchDarklyEvents, config, catalog=selecting(config, STREAM))
    assert result.error is None
    statuses = [e.status for e in emulator.log.entries()]
    assert len(statuses) > 8  # needs more than two budget windows
    assert 429 not in statuses


def test_every_route_is_steered_by_its_own_budget_without_a_429(emulator, config):
    emulator.app.set_options({"route_limit": 6, "route_window_seconds": 1.0})
    everything = {k: v for k, v in config.items() if k not in ("project_key", "environment_keys")}
    start = (LAUNCHDARKLY.now - timedelta(days=2)).isoformat()
    result = run_tap(TapLaunchDarklyEvents, everything | {"start_date": start, "page_size": 10})
    assert result.error is None
    statuses = Counter(e.status for e in emulator.log.entries())
    audit = [e for e in emulator.log.entries() if e.path == AUDIT_PATH]
    assert len(audit) > 3  # more than the audit log's budget of three a second
    assert statuses[429] == 0


def test_a_429_with_a_reset_already_past_backs_off_and_recovers(emulator, config):
    emulator.app.stale_reset = True
    emulator.budget.configure(limit=3, window_seconds=1.0)
    config = one_environment(config) | {"max_retries": 6}
    result = run_tap(TapLaunchDarklyEvents, config, catalog=selecting(config, STREAM))
    assert result.error is None
    clean = run_tap(TapLaunchDarklyEvents, config, catalog=selecting(config, STREAM))
    assert sorted(ids(result)) == sorted(ids(clean))


@pytest.mark.parametrize(
    ("token", "status"),
    [(NO_ACCESS_TOKEN, 403), (f"Bearer {NO_ACCESS_TOKEN}", 401)],  # LaunchDarkly wants no prefix
)
def test_a_refused_token_fails_at_once_naming_the_setting(emulator, config, token, status):
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
    assert len(flag_event_requests(emulator)) == 1


def test_an_unknown_project_fails_with_the_vendor_message(emulator, config):
    result = run_tap(TapLaunchDarklyEvents, config | {"project_key": "nope"})
    assert isinstance(result.error, FatalAPIError)
    assert "404" in str(result.error)
    assert "Invalid resource identifier" in str(result.error)
    # Asked for once, and nothing of the project read after.
    refused = [e.path for e in emulator.log.entries() if e.status == 404]
    assert refused == ["/api/v2/projects/nope"]
    assert flag_event_requests(emulator) == []
