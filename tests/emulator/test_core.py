"""The emulator core: rate budget, faults, request log, admin routes, and the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.segment import DEFAULT_TOKEN, SegmentApp, SegmentDataset

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
BIN = Path(sys.executable).parent


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(SegmentApp(SegmentDataset.generate(seed=5, destinations=3))) as emulator:
        yield emulator


def listing(server: EmulatorServer, timeout: float = 5) -> requests.Response:
    return requests.get(
        f"{server.url}/destinations?pagination.count=2", headers=AUTH, timeout=timeout
    )


def test_a_spent_budget_answers_429_with_retry_after_until_the_window_resets(server):
    server.budget.configure(limit=2, window_seconds=1.0)
    assert [listing(server).status_code for _ in range(2)] == [200, 200]
    refused = listing(server)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["errors"][0]
    assert error["message"] == "Too many requests"
    assert 0 < error["data"]["msBeforeNext"] <= 1000
    time.sleep(1.0)  # the rate window is real time: this is the thing under test
    assert listing(server).status_code == 200


@pytest.mark.parametrize(("status"), [500, 502, 503])
def test_a_status_fault_fires_the_armed_number_of_times(server, status):
    server.faults.arm("status", path="/destinations", status=status, times=2)
    assert [listing(server).status_code for _ in range(3)] == [status, status, 200]
    assert [e.fault for e in server.log.entries()] == ["status", "status", None]


def test_a_rate_limit_fault_sends_the_vendors_429(server):
    server.faults.arm("rate_limit", retry_after=3)
    refused = listing(server)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert refused.json()["errors"][0]["data"]["msBeforeNext"] == 3000


def test_a_reset_fault_cuts_the_connection(server):
    server.faults.arm("reset")
    with pytest.raises(requests.ConnectionError):
        listing(server)
    assert server.log.entries()[0].status is None
    assert listing(server).status_code == 200


def test_a_truncate_fault_delivers_half_the_promised_body(server):
    server.faults.arm("truncate")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        listing(server)
    assert listing(server).status_code == 200


def test_a_slow_fault_outlasts_a_short_client_timeout(server):
    server.faults.arm("slow", delay=1.0)
    with pytest.raises(requests.Timeout):
        listing(server, timeout=0.3)


def test_faults_match_path_prefixes_only(server):
    server.faults.arm("status", path="/destinations/elsewhere", status=500)
    assert listing(server).status_code == 200


def test_the_log_keeps_method_path_query_and_status_but_no_header_values(server):
    listing(server)
    requests.get(f"{server.url}/destinations", headers={"Authorization": "Bearer wrong"}, timeout=5)
    first, second = server.log.entries()
    assert (first.method, first.path, first.query, first.status) == (
        "GET",
        "/destinations",
        {"pagination.count": ["2"]},
        200,
    )
    assert second.status == 401
    assert first.started <= first.finished <= second.started
    assert DEFAULT_TOKEN not in repr(server.log.entries())


def test_admin_routes_drive_clock_faults_budget_and_log(server):
    admin = f"{server.url}/_emulator"
    assert requests.get(f"{admin}/health", timeout=5).json() == {
        "status": "ok",
        "vendor": "segment",
        "urls": {"api": server.url},
    }
    now = requests.put(f"{admin}/clock", json={"now": "2026-11-20T10:00:00Z"}, timeout=5).json()
    assert now == {"now": "2026-11-20T10:00:00+00:00"}
    assert (
        requests.post(
            f"{admin}/faults", json={"kind": "status", "status": 503}, timeout=5
        ).status_code
        == 201
    )
    assert requests.post(f"{admin}/faults", json={"kind": "meteor"}, timeout=5).status_code == 400
    assert listing(server).status_code == 503
    requests.put(f"{admin}/budget", json={"limit": 1, "window_seconds": 60}, timeout=5)
    assert [listing(server).status_code for _ in range(2)] == [200, 429]
    logged = requests.get(f"{admin}/requests", timeout=5).json()
    assert [entry["status"] for entry in logged] == [503, 200, 429]
    requests.delete(f"{admin}/requests", timeout=5)
    assert requests.get(f"{admin}/requests", timeout=5).json() == []
    options = requests.put(
        f"{admin}/segment/options", json={"subscriptions_enabled": False}, timeout=5
    )
    assert options.json()["subscriptions_enabled"] is False
    assert server.app.subscriptions_enabled is False


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"subscriptions_enabled": False, "nope": 1}, "unknown option(s) nope"),
        ({"subscriptions_enabled": "no"}, 'subscriptions_enabled takes bool, not "no"'),
        ([False], "options are a JSON object"),
    ],
)
def test_options_are_checked_before_any_is_applied(server, options, error):
    answer = requests.put(f"{server.url}/_emulator/segment/options", json=options, timeout=5)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert server.app.subscriptions_enabled is True


def test_options_take_json_types_an_int_for_a_float_and_null_where_declared(server):
    server.app.options = {"ratio": float, "limit": int | None, "strict": bool}
    assert server.app.set_options({"ratio": 2, "limit": None, "strict": True}) == {
        "ratio": 2.0,
        "limit": None,
        "strict": True,
    }
    assert isinstance(server.app.ratio, float)
    for refused in ({"limit": True}, {"limit": 1.5}, {"strict": 1}, {"ratio": None}):
        with pytest.raises(ValueError, match="takes"):
            server.app.set_options(refused)


def test_routes_tolerate_a_trailing_slash(server):
    answer = requests.get(f"{server.url}/destinations/?pagination.count=2", headers=AUTH, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == listing(server).json()


def test_the_cli_serves_until_sigterm_and_exits_cleanly(tmp_path):
    url_file = tmp_path / "url"
    process = subprocess.Popen(
        [str(BIN / "api-emulator"), "serve", "segment", "--port", "0", "--url-file", str(url_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not url_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        url = url_file.read_text()
        response = requests.get(f"{url}/destinations", headers=AUTH, timeout=5)
        assert len(response.json()["data"]["destinations"]) == 8  # the default scale
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
