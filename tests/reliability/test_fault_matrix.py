"""Every tap against every fault: the exact records, the wait the vendor asked, the requests.

A transient fault is armed on a request in the middle of a sync (the third to the tap's busiest
path); the sync must end with exactly the records of a clean sync (by primary key, none twice),
having made exactly one request more. A fault that outlasts the retries must end the sync
non-zero, naming the endpoint and the last status, with state that a rerun resumes from
without losing a record.
"""

from __future__ import annotations

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
}
TIMEOUTS = {"request_timeout": 2, "max_retries": 3}


def applies(case: TapCase, fault: str) -> bool:
    """Empty pages only exist mid-list for cursor paging; tokens only where a vendor issues them."""
    if fault == "empty-page":
        return case.cursor_paged
    if fault == "expired-token":
        return case.issues_tokens
    return True


MATRIX = [(case, fault) for case in CASES for fault in FAULTS if applies(case, fault)]


def key_sets(case: TapCase, result) -> dict[str, list[tuple]]:
    return {table: result.keys(table, *columns) for table, columns in case.keys.items()}


@pytest.mark.parametrize(("case", "fault"), MATRIX, ids=[f"{c}-{f}" for c, f in MATRIX])
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
        if kind == "empty_page":  # the tap went on to the same place, under a new cursor
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
        config = case.settings(emulator) | {"request_timeout": 2, "max_retries": 1}
        clean = key_sets(case, run_tap(case.tap_class, config))
        emulator.log.clear()

        emulator.faults.arm("status", path=case.fault_path, status=503, after=4, times=100)
        failed, partial = run_cli(case.tap, config, tmp_path)
        assert failed.returncode != 0
        last = emulator.log.entries()[-1]
        assert last.status == 503
        assert "503" in failed.stderr
        assert last.path in failed.stderr
        emulator.faults.clear()

        resumed, rest = run_cli(case.tap, config, tmp_path, state=partial.state)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        for table, columns in case.keys.items():
            got = set(partial.keys(table, *columns)) | set(rest.keys(table, *columns))
            assert got == set(clean[table]), table
    finally:
        emulator.stop()
