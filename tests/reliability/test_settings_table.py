"""Invalid settings, table-driven for every tap: exit != 0 before any request, one line each.

Each line names the setting and what is allowed. (Each tap's own tests hold its longer table;
this one runs the real command line, as a scheduler would.)
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import run_cli
from tests.reliability.cases import CASES, TapCase

COMMON: list[tuple[dict[str, Any], str, str]] = [
    ({"page_size": "many"}, "page_size", "is not of type 'integer'"),
    ({"page_size": 0}, "page_size", "is less than the minimum of 1"),
    ({"start_date": "31/01/2026"}, "start_date", "is not an ISO-8601 date-time"),
    ({"start_date": "2999-01-01T00:00:00Z"}, "start_date", "lies in the future"),
    ({"request_timeout": -1}, "request_timeout", "is less than the minimum of 1"),
    ({"api_url": "api.example.com"}, "api_url", "is not an http(s) URL"),
]
SPECIFIC: dict[str, list[tuple[dict[str, Any], str, str]]] = {
    "tap-segment-config": [
        ({"api_token": None}, "api_token", "this setting is required"),
        ({"page_size": 1001}, "page_size", "is greater than the maximum of 1000"),
        ({"delivery_metrics_granularity": "WEEK"}, "delivery_metrics_granularity", "is not one of"),
    ],
    "tap-launchdarkly-events": [
        ({"project_key": None}, "project_key", "this setting is required"),
        ({"environment_keys": []}, "environment_keys", "at least one"),
        ({"page_size": 101}, "page_size", "is greater than the maximum of 100"),
        ({"window_max_events": 9}, "window_max_events", "is less than the minimum of 10"),
        ({"impact_size": "huge"}, "impact_size", "is not one of"),
    ],
    "tap-pm2-events": [
        ({"refresh_token": None}, "refresh_token", "this setting is required"),
        ({"page_size": 10_001}, "page_size", "is greater than the maximum of 10000"),
        ({"window_max_events": 10_001}, "window_max_events", "maximum of 10000"),
        ({"histogram_interval": "week"}, "histogram_interval", "is not one of"),
        ({"bucket_ids": ["abc"]}, "bucket_ids.0", "does not match"),
    ],
    "tap-apivideo-analytics": [
        ({"api_key": None}, "api_key", "this setting is required"),
        ({"page_size": 101}, "page_size", "is greater than the maximum of 100"),
        ({"auth_mode": "digest"}, "auth_mode", "is not one of"),
        ({"dimensions": []}, "dimensions", "at least one"),
        ({"dimensions": ["planet"]}, "dimensions", "unknown 'planet'"),
    ],
}
ROWS = [
    (case, change, setting, allowed)
    for case in CASES
    for change, setting, allowed in COMMON + SPECIFIC[case.tap]
]


@pytest.mark.parametrize(
    ("case", "change", "setting", "allowed"),
    ROWS,
    ids=[f"{case}-{setting}-{index}" for index, (case, _, setting, _) in enumerate(ROWS)],
)
def test_an_invalid_setting_stops_the_cli_before_any_request(
    case: TapCase, change, setting, allowed, tmp_path
):
    emulator = case.start_emulator()
    try:
        config = {k: v for k, v in (case.settings(emulator) | change).items() if v is not None}
        completed, _ = run_cli(case.tap, config, tmp_path, timeout=60)
        assert completed.returncode != 0
        lines = [line for line in completed.stderr.splitlines() if f"| {setting}: " in line]
        assert len(lines) == 1, completed.stderr[-2000:]
        assert allowed in lines[0]
        assert "Traceback" not in completed.stderr
        assert emulator.log.entries() == []
    finally:
        emulator.stop()
