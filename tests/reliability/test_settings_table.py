"""Invalid settings, table-driven for every tap: exit 1 before any request, one line each.

Each line names the setting and what is allowed; a secret's value is never shown. The real
command line runs, as a scheduler would.
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
        ({"page_size": 1001}, "page_size", "is greater than the maximum of 1000"),
        ({"delivery_metrics_granularity": "WEEK"}, "delivery_metrics_granularity", "is not one of"),
        ({"destination_ids": "abc"}, "destination_ids", "is not of type 'array'"),
    ],
    "tap-launchdarkly-events": [
        ({"project_key": ""}, "project_key", "should be non-empty"),
        ({"audit_log_window_hours": 0}, "audit_log_window_hours", "less than the minimum of 1"),
        ({"environment_keys": []}, "environment_keys", "at least one"),
        ({"environment_keys": "production"}, "environment_keys", "is not of type 'array'"),
        ({"page_size": 101}, "page_size", "is greater than the maximum of 100"),
        ({"window_max_events": 9}, "window_max_events", "is less than the minimum of 10"),
        ({"impact_size": "huge"}, "impact_size", "is not one of"),
        ({"lookback_minutes": -5}, "lookback_minutes", "is less than the minimum of 0"),
        ({"has_experiments": "sometimes"}, "has_experiments", "is not of type 'boolean'"),
        ({"start_date": "2026-13-45"}, "start_date", "is not an ISO-8601 date-time"),
    ],
    "tap-pm2-events": [
        ({"page_size": 10_001}, "page_size", "is greater than the maximum of 10000"),
        ({"window_max_events": 10_001}, "window_max_events", "maximum of 10000"),
        ({"histogram_interval": "week"}, "histogram_interval", "is not one of"),
        ({"histogram_days": 0}, "histogram_days", "is less than the minimum of 1"),
        ({"histogram_days": 31}, "histogram_days", "is greater than the maximum of 30"),
        ({"lookback_minutes": -1}, "lookback_minutes", "is less than the minimum of 0"),
        ({"bucket_ids": ["abc"]}, "bucket_ids.0", "does not match"),
        ({"bucket_ids": "a4c123b1612dd272d1371c17"}, "bucket_ids", "is not of type 'array'"),
        ({"app_names": [""]}, "app_names.0", "should be non-empty"),
        ({"start_date": "2026-02-30"}, "start_date", "is not an ISO-8601 date-time"),
        ({"auth_url": "id.keymetrics.io"}, "auth_url", "is not an http(s) URL"),
    ],
    "tap-apivideo-analytics": [
        ({"page_size": 101}, "page_size", "is greater than the maximum of 100"),
        ({"auth_mode": "oauth"}, "auth_mode", "is not one of ['bearer', 'basic']"),
        ({"dimensions": []}, "dimensions", "at least one"),
        ({"dimensions": ["planet"]}, "dimensions", "unknown 'planet'"),
        ({"dimensions": ["country", "country"]}, "dimensions", "listed more than once: country"),
        ({"metrics": ["play-total"]}, "metrics", "unknown 'play-total'"),
        ({"breakdowns": ["region"]}, "breakdowns", "unknown 'region'"),
        ({"video_ids": "vi123"}, "video_ids", "is not of type 'array'"),
        ({"lookback_days": -1}, "lookback_days", "is less than the minimum of 0"),
        ({"lookback_days": 30}, "lookback_days", "is greater than the maximum of 29"),
    ],
}
SECRET_SHOWN_AS = "invalid value (not shown: it is secret); expected ['string']"


def credential_rows(case: TapCase) -> list[tuple[dict[str, Any], str, str]]:
    """The credential missing, empty, or of the wrong type (its value must not be shown)."""
    name = case.setup.credential
    return [
        ({name: None}, name, "this setting is required"),
        ({name: ""}, name, SECRET_SHOWN_AS),
        ({name: 987654321}, name, SECRET_SHOWN_AS),
    ]


ROWS = [
    (case, change, setting, allowed)
    for case in CASES
    for change, setting, allowed in COMMON + credential_rows(case) + SPECIFIC[case.tap]
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
        assert completed.returncode == 1
        lines = [line for line in completed.stderr.splitlines() if f"| {setting}: " in line]
        assert len(lines) == 1, completed.stderr[-2000:]
        assert allowed in lines[0]
        if setting == case.setup.credential and change[setting]:
            assert str(change[setting]) not in completed.stderr + completed.stdout
        assert "Traceback" not in completed.stderr
        assert emulator.log.entries() == []
    finally:
        emulator.stop()
