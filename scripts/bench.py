"""Benchmarks: requests against the fewest possible, throughput against a bare loop, memory.

Every figure is measured in the same run against the same local emulator, and reported as a
ratio to its baseline: requests / the fewest any correct client could make under the vendor's
limits; tap records/s / a bare `requests` + `json` loop's records/s on the same pages; peak RSS
at a large scale / at a small one; 429s and budget use under a vendor-like rate limit.

    .venv/bin/python scripts/bench.py            # full run, writes BENCHMARKS.md
    .venv/bin/python scripts/bench.py --quick    # smaller scales, prints only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api_emulator import (  # noqa: E402
    EmulatorServer,
    apivideo,
    launchdarkly,
    pm2,
    segment,
)
from api_emulator.core import LoggedRequest, VendorApp  # noqa: E402

BIN = Path(sys.executable).parent
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# Runs a tap's CLI in this interpreter and writes its peak RSS (KiB) to argv[1] at exit. Read
# from /proc (VmHWM): getrusage's ru_maxrss carries the parent's peak over fork and exec.
MEASURED = (
    "import atexit, importlib, re, sys\n"
    "out, target = sys.argv[1], sys.argv[2]\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    open(out, 'w').write(re.search(r'VmHWM:\\s+(\\d+)', status).group(1))\n"
    "atexit.register(peak)\n"
    "module, name = target.split(':')\n"
    "sys.argv = [name] + sys.argv[3:]\n"
    "getattr(importlib.import_module(module), name).cli()\n"
)


@dataclass(frozen=True)
class Scenario:
    """One tap: its emulator at a scale, its settings, and how to read its responses."""

    tap: str
    entry: str  # module:Class of the tap
    app: Callable[[int], VendorApp]  # scale -> app
    settings: Callable[[EmulatorServer], dict[str, Any]]
    streams: dict[str, str]  # stream -> regex of its paths
    items: Callable[[Any], list]  # a data response body -> its records
    bare_auth: Callable[[EmulatorServer], dict[str, str]]
    minimum: Callable[[list[dict]], dict[str, int]]  # the tap's records -> fewest requests


def records_of(messages: list[dict], stream: str) -> list[dict]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def pages(count: int, size: int) -> int:
    """Requests to list ``count`` items at ``size`` a page (an empty list still costs one)."""
    return max(1, math.ceil(count / size))


def segment_minimum(messages: list[dict]) -> dict[str, int]:
    destinations = records_of(messages, "destinations")
    return {
        "destinations": pages(len(destinations), 1000),
        "destination_subscriptions": len(destinations),  # one listing per destination
        "delivery_metrics": len(records_of(messages, "delivery_metrics")),  # one per window
    }


def launchdarkly_minimum(messages: list[dict]) -> dict[str, int]:
    per_environment = Counter(r.get("environmentKey") for r in records_of(messages, "flag_events"))
    environments = {key for key in per_environment if key} or {"production"}
    first = sorted(environments)[0]
    counts = {env: per_environment[env] for env in environments}
    counts[first] += per_environment.get(None, 0)  # global events ride with one environment
    return {"flag_events": sum(pages(n, 100) for n in counts.values())}  # any from/to range


def pm2_minimum(messages: list[dict]) -> dict[str, int]:
    keys = records_of(messages, "event_keys")
    names = {(k["bucket_id"], k["event_name"]) for k in keys}
    per_name = Counter((e["bucket_id"], e["event_name"]) for e in records_of(messages, "events"))
    return {
        "auth": 1,
        "buckets": 1,
        "event_keys": len(records_of(messages, "buckets")),
        "events": sum(pages(per_name[name], 10_000) for name in names),  # the result window
        "event_histograms": len(keys),
    }


def apivideo_minimum(messages: list[dict]) -> dict[str, int]:
    result = {"auth": 1}
    for stream, key in (("video_plays", "dimension"), ("live_stream_plays", "dimension"),
                        ("metric_buckets", "breakdown")):  # fmt: skip
        per_day = Counter(
            (r[key], r.get("metric"), r["date"]) for r in records_of(messages, stream)
        )
        result[stream] = sum(pages(n, 100) for n in per_day.values())
    metrics = {r["metric"] for r in records_of(messages, "metric_timeseries")}
    result["metric_timeseries"] = len(metrics)  # every day in one request
    return result


SCENARIOS = [
    Scenario(
        tap="tap-segment-config",
        entry="tap_segment_config.tap:TapSegmentConfig",
        app=lambda scale: segment.SegmentApp(
            # one request per record (a metrics window): kept to ~1/7 of the scale in records
            segment.SegmentDataset.generate(seed=3, destinations=max(1, scale // 100))
        ),
        settings=lambda e: {"api_url": e.url, "api_token": segment.DEFAULT_TOKEN},
        streams={
            "destinations": r"^/destinations$",
            "destination_subscriptions": r"/subscriptions$",
            "delivery_metrics": r"/delivery-metrics$",
        },
        items=lambda body: next(
            (v for v in body["data"].values() if isinstance(v, list)), [body["data"]]
        ),
        bare_auth=lambda e: {"Authorization": f"Bearer {segment.DEFAULT_TOKEN}"},
        minimum=segment_minimum,
    ),
    Scenario(
        tap="tap-launchdarkly-events",
        entry="tap_launchdarkly_events.tap:TapLaunchDarklyEvents",
        app=lambda scale: launchdarkly.LaunchDarklyApp(
            launchdarkly.LaunchDarklyDataset.generate(
                seed=3, events=scale, anchor=NOW, days=29, future_days=0
            )
        ),
        settings=lambda e: {
            "api_url": e.url,
            "api_token": launchdarkly.DEFAULT_TOKEN,
            "project_key": "default",
            "environment_keys": ["production", "staging", "test"],
            "start_date": (NOW - timedelta(days=30)).isoformat(),
        },
        streams={"flag_events": r"flag-events$"},
        items=lambda body: body["items"],
        bare_auth=lambda e: {"Authorization": launchdarkly.DEFAULT_TOKEN, "LD-API-Version": "beta"},
        minimum=launchdarkly_minimum,
    ),
    Scenario(
        tap="tap-pm2-events",
        entry="tap_pm2_events.tap:TapPm2Events",
        app=lambda scale: pm2.Pm2App(
            pm2.Pm2Dataset.generate(seed=3, events=scale // 2, anchor=NOW, days=6, future_days=0)
        ),
        settings=lambda e: {
            "api_url": e.url,
            "auth_url": e.urls["auth"],
            "refresh_token": pm2.DEFAULT_REFRESH_TOKEN,
            "start_date": (NOW - timedelta(days=7)).isoformat(),
            "page_size": 1000,
            "histogram_days": 1,
        },
        streams={
            "auth": r"^/api/oauth/token$",
            "buckets": r"^/api/bucket$",
            "event_keys": r"eventsKeysByApp$",
            "events": r"/data/events$",
            "event_histograms": r"/data/events/stats$",
        },
        items=lambda body: body if isinstance(body, list) else [body],
        bare_auth=lambda e: {},
        minimum=pm2_minimum,
    ),
    Scenario(
        tap="tap-apivideo-analytics",
        entry="tap_apivideo_analytics.tap:TapApiVideoAnalytics",
        app=lambda scale: apivideo.ApiVideoApp(
            apivideo.ApiVideoDataset.generate(seed=3, videos=max(4, scale // 500), anchor=NOW)
        ),
        settings=lambda e: {"api_url": e.url, "api_key": apivideo.DEFAULT_API_KEY},
        streams={
            "auth": r"^/auth/",
            "video_plays": r"^/analytics/videos/plays$",
            "live_stream_plays": r"^/analytics/live-streams/plays$",
            "metric_buckets": r"^/data/buckets/",
            "metric_timeseries": r"^/data/timeseries/",
        },
        items=lambda body: body.get("data") if isinstance(body.get("data"), list) else [body],
        bare_auth=lambda e: {"Authorization": basic(apivideo.DEFAULT_API_KEY)},
        minimum=apivideo_minimum,
    ),
]


def basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass
class Run:
    """One tap process: what it wrote, what it asked, how long, how much memory."""

    messages: list[dict]
    log: list[LoggedRequest]
    seconds: float
    peak_kib: int

    @property
    def records(self) -> int:
        return sum(1 for m in self.messages if m["type"] == "RECORD")


@contextmanager
def emulator(scenario: Scenario, scale: int) -> Iterator[EmulatorServer]:
    server = EmulatorServer(scenario.app(scale)).start()
    try:
        yield server
    finally:
        server.stop()


def run_tap(
    scenario: Scenario,
    server: EmulatorServer,
    workdir: Path,
    state: dict | None = None,
    overrides: dict[str, Any] | None = None,
) -> Run:
    """The tap as a process writing Singer messages to a file."""
    config, out, peak = workdir / "config.json", workdir / "out.jsonl", workdir / "peak"
    config.write_text(json.dumps(scenario.settings(server) | (overrides or {})))
    command = [sys.executable, "-c", MEASURED, str(peak), scenario.entry, "--config", str(config)]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / "state.json")]
    server.log.clear()
    started = time.perf_counter()
    with out.open("w") as sink:
        subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - started
    messages = [json.loads(line) for line in out.read_text().splitlines()]
    return Run(messages, server.log.entries(), seconds, int(peak.read_text()))


def bare_loop(
    scenario: Scenario, server: EmulatorServer, log: list[LoggedRequest]
) -> tuple[int, float]:
    """The same data pages fetched with requests + json, written as RECORD lines."""
    session = requests.Session()
    session.headers.update(scenario.bare_auth(server))
    if scenario.tap == "tap-pm2-events":
        token = session.post(
            f"{server.urls['auth']}/api/oauth/token",
            json={"grant_type": "refresh_token", "client_id": pm2.DEFAULT_CLIENT_ID,
                  "refresh_token": pm2.DEFAULT_REFRESH_TOKEN},
        ).json()["access_token"]  # fmt: skip
        session.headers["Authorization"] = f"Bearer {token}"
    data = [e for e in log if e.status == 200 and not re.search(r"^/(auth|api/oauth)/", e.path)]
    count, started = 0, time.perf_counter()
    with tempfile.TemporaryFile("w") as sink:
        for entry in data:
            url = server.urls[entry.host] + entry.path
            query = {k: v[0] for k, v in entry.query.items()}
            body = (
                session.get(url, params=query)
                if entry.method == "GET"
                else session.post(url, json=entry.body)
            ).json()
            for item in scenario.items(body):
                sink.write(json.dumps({"type": "RECORD", "stream": "s", "record": item}) + "\n")
                count += 1
    return count, time.perf_counter() - started


def per_stream(scenario: Scenario, log: list[LoggedRequest]) -> dict[str, int]:
    counts = Counter()
    for entry in log:
        stream = next((s for s, rx in scenario.streams.items() if re.search(rx, entry.path)), "?")
        counts[stream] += 1
    return dict(counts)


def partitions(state: dict) -> int:
    """State partitions (or whole streams) a rerun resumes."""
    return sum(len(s.get("partitions") or [None]) for s in state.get("bookmarks", {}).values())


def last_state(messages: list[dict]) -> dict:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1] if states else {}


@dataclass
class Measured:
    """Figures of one tap at one scale."""

    tap: str
    scale: int
    records: int
    requests: dict[str, int]
    minimum: dict[str, int]
    rerun_requests: int
    rerun_partitions: int
    tap_rate: float
    bare_rate: float
    emulator_ms: float
    peak_mib: float


def measure(scenario: Scenario, scale: int, workdir: Path) -> Measured:
    with emulator(scenario, scale) as server:
        first = run_tap(scenario, server, workdir)
        bare_count, bare_seconds = bare_loop(scenario, server, first.log)
        state = last_state(first.messages)
        rerun = run_tap(scenario, server, workdir, state=state)
    served = [e.finished - e.started for e in first.log]
    return Measured(
        tap=scenario.tap,
        scale=scale,
        records=first.records,
        requests=per_stream(scenario, first.log),
        minimum=scenario.minimum(first.messages),
        rerun_requests=len(rerun.log),
        rerun_partitions=partitions(state),
        tap_rate=first.records / first.seconds,
        bare_rate=bare_count / bare_seconds,
        emulator_ms=1000 * sum(served) / max(1, len(served)),
        peak_mib=first.peak_kib / 1024,
    )


@dataclass
class Steering:
    tap: str
    limit: int
    window: float
    requests: int
    rejected: int
    utilisation: float


def steer(
    scenario: Scenario,
    scale: int,
    budget: tuple[int, float],
    workdir: Path,
    overrides: dict[str, Any] | None = None,
) -> Steering:
    """A sync needing several rate windows, under a vendor-like budget."""
    limit, window = budget
    with emulator(scenario, scale) as server:
        server.budget.configure(limit, window)
        run = run_tap(scenario, server, workdir, overrides=overrides)
    log = [e for e in run.log if e.status is not None]
    span = max(e.finished for e in log) - min(e.started for e in log)
    accepted = len([e for e in log if e.status != 429])
    # The quickest any client could be: `limit` calls at the start of each window it needs.
    ideal = (math.ceil(accepted / limit) - 1) * window
    utilisation = min(1.0, ideal / span) if span > 0 else 1.0
    return Steering(scenario.tap, limit, window, len(log), len(log) - accepted, utilisation)


def report(measured: list[Measured], steering: list[Steering], seconds: float, quick: bool) -> str:
    """BENCHMARKS.md: every figure with its baseline, the command and the machine."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`.venv/bin/python scripts/bench.py"
        + (" --quick" if quick else "")
        + f"`) on {NOW:%Y-%m-%d}; do not edit by hand. Machine: {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Run time {seconds:.0f} s.",
        "Every figure is measured against the local API emulator in the same run.",
        "",
        "## Requests against the fewest possible",
        "",
        "The fewest requests any correct client could make under the vendor's limits (largest"
        " page, widest legal window, one token exchange), from the data the sync returned;"
        " ratio = actual / minimum (goal 1.00). A rerun with no new data should cost at most one"
        " request per state partition (plus a token exchange).",
        "",
        "| tap | records | stream | requests | minimum | ratio |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for m in measured:
        for stream in sorted(set(m.requests) | set(m.minimum)):
            actual, least = m.requests.get(stream, 0), m.minimum.get(stream, 0)
            ratio = f"{actual / least:.2f}" if least else "-"
            lines.append(f"| {m.tap} | {m.records} | {stream} | {actual} | {least} | {ratio} |")
    lines += [
        "",
        "| tap | records | rerun requests | state partitions |",
        "|---|---:|---:|---:|",
        *[
            f"| {m.tap} | {m.records} | {m.rerun_requests} | {m.rerun_partitions} |"
            for m in measured
        ],
        "",
        "## Throughput against a bare loop",
        "",
        "Records/s of the tap (a process writing Singer messages to a file) and of a bare loop"
        " (`requests` + `json`, the same data pages from the same emulator, one RECORD line per"
        " item), and the emulator's own time per request. Goal: ratio >= 0.5.",
        "",
        "| tap | records | tap rec/s | bare rec/s | ratio | emulator ms/request |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {m.tap} | {m.records} | {m.tap_rate:.0f} | {m.bare_rate:.0f} |"
            f" {m.tap_rate / m.bare_rate:.2f} | {m.emulator_ms:.2f} |"
            for m in measured
        ],
        "",
        "## Memory",
        "",
        "Peak RSS of the tap process at each scale; growth = large / small - 1 (goal <= 10%).",
        "",
        "| tap | records | peak RSS MiB | growth |",
        "|---|---:|---:|---:|",
    ]
    by_tap: dict[str, list[Measured]] = {}
    for m in measured:
        by_tap.setdefault(m.tap, []).append(m)
    for runs in by_tap.values():
        small = min(runs, key=lambda r: r.records)
        for run in sorted(runs, key=lambda r: r.records):
            growth = run.peak_mib / small.peak_mib - 1
            lines.append(f"| {run.tap} | {run.records} | {run.peak_mib:.1f} | {growth:+.1%} |")
    lines += [
        "",
        "## Rate-limit steering",
        "",
        "A sync needing several rate windows under the emulator's budget. Utilisation: the"
        " time the quickest possible client would take (`limit` calls at the start of each"
        " window it needs) / the time the tap took (goal >= 90%); 429s goal 0 where the vendor"
        " sends remaining/reset headers.",
        "",
        "| tap | limit | window s | requests | 429s | utilisation |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {s.tap} | {s.limit} | {s.window:g} | {s.requests} | {s.rejected} |"
            f" {s.utilisation:.0%} |"
            for s in steering
        ],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scales; print only")
    args = parser.parse_args()
    scales = (1_000, 5_000) if args.quick else (10_000, 100_000)
    started = time.perf_counter()
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory() as work:
        for scenario in SCENARIOS:
            for scale in scales:
                print(f"{scenario.tap} at {scale} ...", file=sys.stderr, flush=True)
                measured.append(measure(scenario, scale, Path(work)))
        ld, video = SCENARIOS[1], SCENARIOS[3]
        # Vendor-like budgets (LaunchDarkly per 10 s, the api.video sandbox 100/min); --quick
        # shrinks the windows, not the limits.
        shrink = 10.0 if args.quick else 1.0
        ten_days = {"start_date": (NOW - timedelta(days=10)).isoformat()}  # ~200 requests
        steering = [
            steer(ld, 3_000, (20, 10.0 / shrink), Path(work)),
            steer(video, 2_000, (100, 60.0 / shrink), Path(work), ten_days),
        ]
    text = report(measured, steering, time.perf_counter() - started, args.quick)
    print(text)
    if not args.quick:
        (ROOT / "BENCHMARKS.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
