"""Every tap against every fault: the exact records, the wait the vendor asked, the requests.

A transient fault is armed on a request in the middle of a sync (the third to the tap's busiest
path), or on the first token exchange; the sync must end with exactly the records of a clean
sync (by primary key, none twice), having made exactly one request more. A fault that outlasts
the retries must end the sync non-zero after exactly 1 + max_retries attempts of one request,
naming its method, path and status, with state that a rerun resumes from without losing a
record.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.harness import duplicates, run_cli, run_tap
from tests.reliability.cases import CASES, TapCase

FAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "500": ("status", {"status": 500}),
    "502": ("status", {"status": 502}),
    "503": ("status", {"status": 503}),
    "429": ("rate_limit", {"retry_after": 2}),  # in each vendor's own header (see its app)
    "slower-than-timeout": ("slow", {"delay": 3.0}),
    "reset-connection": ("reset", {}),
    "truncated-json": ("truncate", {}),
    "empty-page": ("empty_page", {}),
    "expired-token": ("expired_token", {}),
    "token-exchange-503": ("status", {"status": 503}),
}
TOKEN_FAULTS = ("expired-token", "token-exchange-503")
TIMEOUTS = {"request_timeout": 2, "max_retries": 3}


def applies(case: TapCase, fault: str) -> bool:
    """Empty pages only exist mid-list for cursor paging; tokens only where a vendor issues them."""
    if fault == "empty-page":
        return case.cursor_paged
    if fault in TOKEN_FAULTS:
        return case.token_path is not None
    return True


MATRIX = [
    pytest.param(case, fault, id=f"{case}-{fault}")
    for case in CASES
    for fault in FAULTS
    if applies(case, fault)
]


def key_sets(case: TapCase, result) -> dict[str, list[tuple]]:
    return {table: result.keys(table, *columns) for table, columns in case.keys.items()}


def sorted_keys(case: TapCase, result) -> dict[str, list[tuple]]:
    return {table: sorted(keys) for table, keys in key_sets(case, result).items()}


@pytest.mark.parametrize(("case", "fault"), MATRIX)
def test_a_transient_fault_mid_sync_loses_and_duplicates_nothing(case, fault):
    emulator = case.start_emulator()
    try:
        config = case.settings(emulator) | TIMEOUTS
        clean = key_sets(case, run_tap(case.tap_class, config))
        clean_requests = len(emulator.log.entries())
        emulator.log.clear()

        kind, options = FAULTS[fault]
        if kind == "expired_token":
            emulator.app.token_max_uses = clean_requests // 3  # dies a few times in the sync
        elif fault == "token-exchange-503":
            emulator.faults.arm(kind, path=case.token_path, after=0, times=1, **options)
        else:
            after = case.empty_page_after if kind == "empty_page" else 2
            emulator.faults.arm(kind, path=case.fault_path, after=after, times=1, **options)
        result = run_tap(case.tap_class, config)

        assert result.error is None, str(result.error)
        keys = key_sets(case, result)
        for table in case.keys:
            assert sorted(keys[table]) == sorted(clean[table]), table
            assert duplicates(keys[table]) == [] or duplicates(clean[table]), table
        entries = emulator.log.entries()
        if kind == "expired_token":
            expired = [e for e in entries if e.status == 401]
            assert expired
            assert len(entries) > clean_requests  # each 401 costs a renewal and a replay
            return
        assert len(entries) == clean_requests + 1  # the retry, or the page after the empty one
        (faulted,) = [e for e in entries if e.fault == kind]
        if kind == "empty_page" or fault == "token-exchange-503":  # the same place again
            following = entries[entries.index(faulted) + 1]
            assert (following.path, following.status) == (faulted.path, 200)
        if kind == "rate_limit":
            later = [e for e in entries if e.started > faulted.finished]
            assert later[0].started - faulted.finished >= options["retry_after"]
    finally:
        emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_fault_past_the_retries_fails_clearly_and_the_rerun_resumes(case, tmp_path):
    emulator = case.start_emulator()
    try:
        config = case.settings(emulator) | {"request_timeout": 2, "max_retries": 2}
        clean = key_sets(case, run_tap(case.tap_class, config))
        emulator.log.clear()

        emulator.faults.arm("status", path=case.fault_path, status=503, after=4, times=100)
        failed, partial = run_cli(case.tap, config, tmp_path)
        assert failed.returncode != 0
        attempts = [(e.method, e.path, e.status) for e in emulator.log.entries() if e.fault]
        assert len(attempts) == 1 + config["max_retries"]
        assert len(set(attempts)) == 1  # the same request each time
        method, path, status = attempts[0]
        assert status == 503
        assert emulator.log.entries()[-1].fault  # nothing after the last attempt
        assert "503" in failed.stderr
        assert f"{method} {path}" in failed.stderr
        emulator.faults.clear()

        resumed, rest = run_cli(case.tap, config, tmp_path, state=partial.state)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        for table, columns in case.keys.items():
            got = set(partial.keys(table, *columns)) | set(rest.keys(table, *columns))
            assert got == set(clean[table]), table
    finally:
        emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_transient_fault_on_any_stream_s_route_is_retried_to_the_same_records(case):
    """The matrix above faults the busiest path; this faults each stream's own route once."""
    emulator = case.start_emulator()
    try:
        config = case.settings(emulator) | TIMEOUTS
        clean = sorted_keys(case, run_tap(case.tap_class, config))
        clean_log = [entry.path for entry in emulator.log.entries()]
        for stream, pattern in case.endpoints.items():
            target = next(p for p in clean_log if re.search(pattern, p))
            earlier = sum(p.startswith(target) for p in clean_log[: clean_log.index(target)])
            emulator.log.clear()
            emulator.faults.arm("status", path=target, after=earlier, times=1, status=503)
            result = run_tap(case.tap_class, config)

            assert result.error is None, f"{stream}: {result.error}"
            assert sorted_keys(case, result) == clean, stream
            entries = emulator.log.entries()
            (faulted,) = [e for e in entries if e.fault]
            assert re.search(pattern, faulted.path), stream
            assert len(entries) == len(clean_log) + 1, stream  # exactly the one retry
    finally:
        emulator.stop()
