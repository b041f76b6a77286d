"""A sync killed with SIGKILL at a random request, then run again, loses and duplicates nothing.

Each trial: a clean in-process sync gives the expected rows per table (by primary key) and the
number of requests a sync makes; then `meltano run <tap> target-duckdb` is stopped dead while the
emulator holds request N (N drawn from a seeded generator), and run again to completion. The
warehouse must hold exactly the expected rows, each once. The same is done for a standalone
`tap | target-jsonl` pipe resumed from the last STATE the tap wrote.

Trials per tap: RELIABILITY_KILL_TRIALS (default 5, so 20+ across the taps in CI); raise it
for a longer soak, e.g. `RELIABILITY_KILL_TRIALS=50 pytest tests/reliability -k kill`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO

import pytest

from api_emulator import EmulatorServer
from tests.harness import BIN, record_output, run_tap
from tests.meltano import PLUGINS, ROOT, meltano_env, warehouse_counts
from tests.reliability.cases import CASES, TapCase

TRIALS = int(os.environ.get("RELIABILITY_KILL_TRIALS", "5"))
HOLD_SECONDS = 120.0  # the held request outlives the kill by far
DEADLINE_SECONDS = 120.0
pytestmark = pytest.mark.meltano


def baseline(case: TapCase, emulator: EmulatorServer) -> tuple[dict[str, set[tuple]], int]:
    """Primary keys per table of a clean sync, and how many requests it took."""
    result = run_tap(case.tap_class, case.settings(emulator))
    assert result.error is None
    keys = {table: set(result.keys(table, *columns)) for table, columns in case.keys.items()}
    requests = len(emulator.log.entries())
    emulator.log.clear()
    return keys, requests


def hold_request(emulator: EmulatorServer, number: int) -> None:
    """Make the emulator sit on the ``number``-th request from now (1-based)."""
    emulator.faults.arm("slow", delay=HOLD_SECONDS, after=number - 1, times=1)


def wait_until_held(emulator: EmulatorServer, process: subprocess.Popen) -> None:
    """Return once the held request has arrived (the fault is spent)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while emulator.faults.armed():
        assert process.poll() is None, "the sync ended before reaching the held request"
        assert time.monotonic() < deadline, "the held request never came"
        time.sleep(0.02)


def tap_pids(tap: str, root: int) -> list[int]:
    """Processes below ``root`` running the tap's executable."""
    parents: dict[int, int] = {}
    commands: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def below(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False

    return [
        pid
        for pid, command in commands.items()
        if below(pid) and any(part.endswith(f"/bin/{tap}") for part in command)
    ]


def kill_tap(tap: str, root: int) -> None:
    pids = tap_pids(tap, root)
    assert pids, f"no {tap} process below {root}"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)


def warehouse_keys(case: TapCase, path: Path) -> dict[str, tuple[int, int]]:
    return warehouse_counts(path, case.schema, case.keys)


TRIAL_IDS = [(case, trial) for case in CASES for trial in range(TRIALS)]


@pytest.mark.parametrize(("case", "trial"), TRIAL_IDS, ids=[f"{c}-{t}" for c, t in TRIAL_IDS])
def test_meltano_run_killed_at_a_random_request_resumes_exactly(case, trial, tmp_path):
    emulator = case.start_emulator()
    try:
        expected, requests = baseline(case, emulator)
        kill_at = random.Random(f"{case.tap}:{trial}").randint(1, requests - 1)
        env = meltano_env(case.tap, case.settings(emulator), tmp_path)
        command = [str(BIN / "meltano"), "run", case.tap, "target-duckdb"]

        hold_request(emulator, kill_at)
        with (tmp_path / "killed-run.log").open("w") as log:
            killed = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
            )
        wait_until_held(emulator, killed)
        kill_tap(case.tap, killed.pid)
        killed.communicate(timeout=DEADLINE_SECONDS)
        record_output((tmp_path / "killed-run.log").read_text())  # for the secret scan
        assert killed.returncode != 0, "a killed tap must fail the run"
        emulator.faults.clear()

        rerun = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        record_output(rerun.stdout, rerun.stderr)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        counts = warehouse_keys(case, tmp_path / "warehouse.duckdb")
        assert counts == {table: (len(keys), len(keys)) for table, keys in expected.items()}, (
            f"killed at request {kill_at} of {requests}"
        )
    finally:
        emulator.stop()


def relay(source: IO[bytes], sink: IO[bytes], states: list[dict]) -> None:
    """Copy the tap's lines to the target as they come, keeping each STATE."""
    for line in source:
        sink.write(line)
        sink.flush()
        message = json.loads(line)
        if message["type"] == "STATE":
            states.append(message["value"])
    sink.close()


def pipe_until_killed(
    case: TapCase,
    command: list[str],
    target_config: Path,
    emulator: EmulatorServer,
    kill_at: int | None,
) -> dict | None:
    """``tap ... | target-jsonl``, killing the tap at request ``kill_at``; the tap's last STATE."""
    target = subprocess.Popen(
        [
            str(PLUGINS / "target-jsonl" / "venv" / "bin" / "target-jsonl"),
            "--config",
            str(target_config),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if kill_at is not None:
        hold_request(emulator, kill_at)
    tap = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert tap.stdout is not None
    assert target.stdin is not None
    states: list[dict] = []
    relaying = threading.Thread(target=relay, args=(tap.stdout, target.stdin, states))
    relaying.start()
    if kill_at is not None:
        wait_until_held(emulator, tap)
        tap.kill()
    relaying.join(timeout=DEADLINE_SECONDS)
    assert target.wait(timeout=DEADLINE_SECONDS) == 0
    assert (tap.wait(timeout=DEADLINE_SECONDS) != 0) == (kill_at is not None)
    return states[-1] if states else None


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_killed_pipe_into_target_jsonl_resumes_from_the_taps_last_state(case, tmp_path):
    emulator = case.start_emulator()
    try:
        expected, requests = baseline(case, emulator)
        kill_at = random.Random(f"jsonl:{case.tap}").randint(requests // 2, requests - 1)
        config = tmp_path / "tap.json"
        config.write_text(json.dumps(case.settings(emulator)))
        out = tmp_path / "jsonl"
        target_config = tmp_path / "target.json"
        target_config.write_text(
            json.dumps({"destination_path": str(out), "do_timestamp_file": False})
        )
        command = [str(BIN / case.tap), "--config", str(config)]

        state = pipe_until_killed(case, command, target_config, emulator, kill_at)
        emulator.faults.clear()
        if state is not None:  # the user keeps the tap's STATE lines (docs/guarantees.md)
            (tmp_path / "state.json").write_text(json.dumps(state))
            command += ["--state", str(tmp_path / "state.json")]
        pipe_until_killed(case, command, target_config, emulator, None)

        for table, columns in case.keys.items():
            lines = [json.loads(line) for line in (out / f"{table}.jsonl").read_text().splitlines()]
            keys = Counter(tuple(record[c] for c in columns) for record in lines)
            assert set(keys) == expected[table], f"{table}: killed at {kill_at} of {requests}"
    finally:
        emulator.stop()
