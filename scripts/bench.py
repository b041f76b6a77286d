"""Benchmarks: requests against the fewest possible, throughput against a bare loop, memory.

Every figure is measured in the same run against the same local emulator, and reported as a
ratio to its baseline: requests / the fewest any correct client could make under the vendor's
limits; tap records/s / a bare `requests` + `json` loop's records/s on the same pages; peak RSS
at a large scale / at a small one; 429s and budget use under a vendor-like rate limit; time,
STATE and SCHEMA per doubling of the partitions a tap syncs.

    .venv/bin/python scripts/bench.py                  # full run, writes BENCHMARKS.md
    .venv/bin/python scripts/bench.py --quick          # smaller scales, prints only
    .venv/bin/python scripts/bench.py --only scaling   # one part (here: scaling), prints only
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
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
from dataclasses import dataclass, field
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
    tally: Callable[[str, dict], Any]  # (stream, record) -> what the minimum counts it under
    minimum: Callable[[Counter], dict[str, int]]  # tally of the records -> fewest requests
    largest: int = 1_000_000  # the largest scale the emulator can serve within the run time


def count_of(tally: Counter, stream: str) -> int:
    return sum(n for (name, _), n in tally.items() if name == stream)


def keys_of(tally: Counter, stream: str) -> Counter:
    return Counter({key: n for (name, key), n in tally.items() if name == stream})


def pages(count: int, size: int) -> int:
    """Requests to list ``count`` items at ``size`` a page (an empty list still costs one)."""
    return max(1, math.ceil(count / size))


def segment_minimum(tally: Counter) -> dict[str, int]:
    destinations = count_of(tally, "destinations")
    return {
        "destinations": pages(destinations, 1000),
        "destination_subscriptions": destinations,  # one listing per destination
        "delivery_metrics": count_of(tally, "delivery_metrics"),  # one per window
        # the workspace's configuration: a page of 1,000 per list, one listing per parent
        **{stream: pages(count_of(tally, stream), 1000) for stream in SEGMENT_WORKSPACE_LISTS},
        "workspace": 1,
        "labels": 1,  # one unpaged list
        "functions": 3,  # one listing per resource type (each under 1,000 here)
        "source_warehouse_connections": count_of(tally, "warehouses"),
        "tracking_plan_rules": count_of(tally, "tracking_plans"),
        "group_members": count_of(tally, "groups"),
        # usage, event volume, audit trail, delivery overview
        **{
            stream: sum(pages(n, 1000) for n in keys_of(tally, stream).values())  # per period
            for stream in SEGMENT_USAGE_STREAMS
        },
        "event_volume": pages(len(keys_of(tally, "event_volume")), 1000),  # one 30-day window
        "audit_events": pages(count_of(tally, "audit_events"), 1000),
        # three stages per partition, one 30-day DAY window each
        "delivery_overview": 3 * len(keys_of(tally, "delivery_overview")),
        "delivery_overview_sources": 3 * len(keys_of(tally, "delivery_overview_sources")),
    }


SEGMENT_WORKSPACE_LISTS = (
    "sources",
    "warehouses",
    "tracking_plans",
    "transformations",
    "reverse_etl_models",
    "spaces",
    "users",
    "groups",
    "roles",
    "catalog_sources",
    "catalog_destinations",
    "catalog_warehouses",
)


SEGMENT_USAGE_STREAMS = (
    "usage_api_calls_daily",
    "usage_api_calls_per_source_daily",
    "usage_mtu_daily",
    "usage_mtu_per_source_daily",
)


def segment_tally(stream: str, record: dict) -> Any:
    """Usage pages per period; event volume per group; delivery overview per partition."""
    if stream in SEGMENT_USAGE_STREAMS:
        return record["period"]
    if stream == "event_volume":
        return (record["sourceId"], record["eventName"], record["eventType"])
    if stream == "delivery_overview":
        return (record["sourceId"], record["destinationId"])
    return record["sourceId"] if stream == "delivery_overview_sources" else None


def launchdarkly_minimum(tally: Counter) -> dict[str, int]:
    per_environment = keys_of(tally, "flag_events")
    environments = {key for key in per_environment if key} or {"production"}
    first = sorted(environments)[0]
    counts = {env: per_environment[env] for env in environments}
    counts[first] += per_environment.get(None, 0)  # global events ride with one environment
    return {
        "flag_events": sum(pages(n, 100) for n in counts.values()),  # any from/to range
        "projects": 1,  # project_key: the one project
        "environments": pages(count_of(tally, "environments"), 100),
        # A flag's state is listed per environment (filterEnv), segments too: pages of each.
        "flags": sum(pages(n, 100) for n in keys_of(tally, "flags").values()),
        "segments": sum(pages(n, 50) for n in keys_of(tally, "segments").values()),
        "metrics": pages(count_of(tally, "metrics"), 50),
        "members": pages(count_of(tally, "members"), 100),
        "teams": pages(count_of(tally, "teams"), 100),
        "audit_log": pages(count_of(tally, "audit_log"), 20),  # whatever the windows
    }


def pm2_minimum(tally: Counter) -> dict[str, int]:
    names = {(bucket, name) for (_, bucket, name) in keys_of(tally, "event_keys")}
    per_name = keys_of(tally, "events")
    per_issue = keys_of(tally, "issue_occurrences")
    return {
        "auth": 1,
        "buckets": 1,
        "event_keys": count_of(tally, "buckets"),
        "events": sum(pages(per_name[name], 10_000) for name in names),  # the result window
        "event_histograms": count_of(tally, "event_keys"),
        "process_events": count_of(tally, "buckets"),  # `before` reaches the whole range
        "deployments": count_of(tally, "buckets"),
        "issue_apps": count_of(tally, "buckets"),
        "issues": count_of(tally, "issue_apps"),  # issues/list needs an app
        # Pages of 50 per issue with occurrences in the range (the emulator's page size).
        "issue_occurrences": sum(pages(n, 50) for n in per_issue.values()),
    }


def apivideo_minimum(tally: Counter) -> dict[str, int]:
    """One request per (dimension, breakdown or aggregation, metric, day), even for a day
    without rows; one per media played a day for its watch time; one per 100 media listed.

    Requests are told apart by path: media_watch_time's daily list of the media that played
    (``/data/buckets/play/media-id``) counts under metric_buckets, and metric_aggregates'
    ``watch-time/sum`` under media_watch_time, in the minimum as in the measure.
    """
    result = {"auth": 1}
    days = {key[2] for (stream, key) in tally if stream in APIVIDEO_DAILY}
    for stream in ("video_plays", "live_stream_plays", "metric_buckets", "metric_aggregates"):
        rows = keys_of(tally, stream)
        asked = {(dimension, metric) for dimension, metric, _ in rows}
        result[stream] = sum(
            pages(rows[(dimension, metric, day)], 100)
            for dimension, metric in asked
            for day in days
        )
    result["metric_timeseries"] = len(keys_of(tally, "metric_timeseries"))  # all days at once
    watched = keys_of(tally, "media_watch_time")  # day -> media played that day
    result["metric_buckets"] += sum(pages(watched[day], 100) for day in days)
    sums = sum(1 for key in keys_of(tally, "metric_aggregates") if key[:2] == ("sum", "watch-time"))
    result["metric_aggregates"] -= sums
    result["media_watch_time"] = sum(watched.values()) + sums
    for stream in ("videos", "live_streams"):
        result[stream] = pages(count_of(tally, stream), 100)
    return result


def pm2_tally(stream: str, record: dict) -> Any:
    if stream == "event_keys":  # one histogram per (app, name); events per (bucket, name)
        return (record["app_name"], record["bucket_id"], record["event_name"])
    if stream == "issue_occurrences":  # paged per issue
        return (record["bucket_id"], record["identifier"])
    return (record["bucket_id"], record["event_name"]) if stream == "events" else None


APIVIDEO_DAILY = ("video_plays", "live_stream_plays", "metric_buckets", "metric_aggregates")


def apivideo_tally(stream: str, record: dict) -> Any:
    """Plays, buckets and aggregates page per (dimension, breakdown or aggregation, metric,
    day); watch time per day; media lists per stream."""
    if stream == "metric_timeseries":
        return record["metric"]
    if stream == "media_watch_time":
        return record["date"]
    if stream in ("videos", "live_streams"):
        return None
    key = record.get("dimension") or record.get("breakdown") or record.get("aggregation")
    return (key, record.get("metric"), record["date"])


SCENARIOS = [
    Scenario(
        tap="tap-segment-config",
        entry="tap_segment_config.tap:TapSegmentConfig",
        app=lambda scale: segment.SegmentApp(
            # one request per record (a metrics window): kept to ~1/7 of the scale in records
            segment.SegmentDataset.generate(seed=3, destinations=max(1, scale // 100))
        ),
        settings=lambda e: {
            "api_url": e.url,
            "api_token": segment.DEFAULT_TOKEN,
            # delivery overview totals per stage: one row per partition and day
            "delivery_overview_group_by": [],
        },
        streams={
            "destinations": r"^/destinations$",
            "destination_subscriptions": r"/subscriptions$",
            "delivery_metrics": r"/delivery-metrics$",
            "workspace": r"^/$",
            "sources": r"^/sources$",
            "warehouses": r"^/warehouses$",
            "source_warehouse_connections": r"^/warehouses/[^/]+/connected-sources$",
            "tracking_plans": r"^/tracking-plans$",
            "tracking_plan_rules": r"^/tracking-plans/[^/]+/rules$",
            "functions": r"^/functions$",
            "transformations": r"^/transformations$",
            "reverse_etl_models": r"^/reverse-etl-models$",
            "spaces": r"^/spaces$",
            "labels": r"^/labels$",
            "users": r"^/users$",
            "groups": r"^/groups$",
            "group_members": r"^/groups/[^/]+/users$",
            "roles": r"^/roles$",
            "catalog_sources": r"^/catalog/sources$",
            "catalog_destinations": r"^/catalog/destinations$",
            "catalog_warehouses": r"^/catalog/warehouses$",
            # usage, event volume, audit trail, delivery overview
            "usage_api_calls_daily": r"^/usage/api-calls/daily$",
            "usage_api_calls_per_source_daily": r"^/usage/api-calls/sources/daily$",
            "usage_mtu_daily": r"^/usage/mtu/daily$",
            "usage_mtu_per_source_daily": r"^/usage/mtu/sources/daily$",
            "event_volume": r"^/events/volume$",
            "audit_events": r"^/audit-events$",
            "delivery_overview": (
                r"^/delivery-overview/(filtered-at-destination|successful-delivery|failed-delivery)$"
            ),
            "delivery_overview_sources": (
                r"^/delivery-overview/(successfully-received|failed-on-ingest|filtered-at-source)$"
            ),
        },
        items=lambda body: next(
            (v for v in body["data"].values() if isinstance(v, list)), [body["data"]]
        ),
        bare_auth=lambda e: {"Authorization": f"Bearer {segment.DEFAULT_TOKEN}"},
        tally=segment_tally,
        minimum=segment_minimum,
        # One delivery-metrics request per record: 1,000 destinations (~15k records, ~14k
        # requests) is as far as a run of minutes goes.
        largest=100_000,
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
        streams={
            "flag_events": r"flag-events$",
            "projects": r"^/api/v2/projects(/default)?$",
            "environments": r"/environments$",
            "flags": r"^/api/v2/flags/",
            "segments": r"^/api/v2/segments/",
            "metrics": r"^/api/v2/metrics/",
            "members": r"^/api/v2/members$",
            "teams": r"^/api/v2/teams$",
            "audit_log": r"^/api/v2/auditlog$",
        },
        items=lambda body: body.get("items", [body]),  # the one project is no listing
        bare_auth=lambda e: {"Authorization": launchdarkly.DEFAULT_TOKEN, "LD-API-Version": "beta"},
        tally=lambda stream, record: record.get("environmentKey"),
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
            "page_size": 10_000,  # the largest the API takes (pm2.md §4.1: the result window)
            "histogram_days": 1,
            "retention_days": 8,  # the start is 7 days back: no warning
        },
        streams={
            "auth": r"^/api/oauth/token$",
            "buckets": r"^/api/bucket$",
            "event_keys": r"eventsKeysByApp$",
            "events": r"/data/events$",
            "event_histograms": r"/data/events/stats$",
            "process_events": r"/data/processEvents$",
            "deployments": r"/data/processEvents/deployments$",
            "issue_apps": r"/data/issues/summary/apps$",
            "issues": r"/data/issues/list$",
            "issue_occurrences": r"/data/issues/occurrences/[^/]+$",
        },
        items=lambda body: body if isinstance(body, list) else [body],
        bare_auth=lambda e: {},
        tally=pm2_tally,
        minimum=pm2_minimum,
    ),
    Scenario(
        tap="tap-apivideo-analytics",
        entry="tap_apivideo_analytics.tap:TapApiVideoAnalytics",
        app=lambda scale: apivideo.ApiVideoApp(apivideo_dataset(scale)),
        settings=lambda e: {"api_url": e.url, "api_key": apivideo.DEFAULT_API_KEY},
        streams={
            "auth": r"^/auth/",
            "video_plays": r"^/analytics/videos/plays$",
            "live_stream_plays": r"^/analytics/live-streams/plays$",
            "metric_buckets": r"^/data/buckets/",
            "metric_timeseries": r"^/data/timeseries/",
            "media_watch_time": r"^/data/metrics/watch-time/sum$",
            "metric_aggregates": r"^/data/metrics/",
            "videos": r"^/videos$",
            "live_streams": r"^/live-streams$",
        },
        items=lambda body: body.get("data") if isinstance(body.get("data"), list) else [body],
        bare_auth=lambda e: {"Authorization": basic(apivideo.DEFAULT_API_KEY)},
        tally=apivideo_tally,
        minimum=apivideo_minimum,
    ),
]


def apivideo_dataset(scale: int) -> apivideo.ApiVideoDataset:
    """About ``scale`` records: ~29 x (140 + 2 x media played a day), see data/apivideo.py."""
    sessions = max(20, round((scale - 4_100) / 38.7))
    return apivideo.ApiVideoDataset.generate(
        seed=3,
        videos=sessions * 5 // 2,
        live_streams=sessions * 5 // 8,
        sessions_per_day=sessions,
        anchor=NOW,
    )


def basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass
class Output:
    """What a tap wrote, tallied line by line."""

    records: int = 0
    tally: Counter = field(default_factory=Counter)  # (stream, the scenario's key) -> records
    state: dict = field(default_factory=dict)  # the last STATE
    messages: Counter = field(default_factory=Counter)  # message type -> messages
    state_bytes: int = 0  # every STATE line, newline included
    streams: set[str] = field(default_factory=set)  # the streams a SCHEMA went out for


@dataclass
class Run:
    """One tap process: what it wrote (tallied), what it asked, how long, how much memory."""

    output: Output
    log: list[LoggedRequest]
    seconds: float
    peak_kib: int


@contextmanager
def emulator(scenario: Scenario, scale: int) -> Iterator[EmulatorServer]:
    with serving(scenario.app(scale)) as server:
        yield server


@contextmanager
def serving(app: VendorApp) -> Iterator[EmulatorServer]:
    server = EmulatorServer(app).start()
    try:
        yield server
    finally:
        server.stop()
        EmulatorServer.created.remove(server)  # let its dataset (up to ~1.5 GB) go


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
    output = read_output(scenario, out)
    out.unlink()  # STATE written after every partition reaches gigabytes
    return Run(output, server.log.entries(), seconds, int(peak.read_text()))


def read_output(scenario: Scenario, out: Path) -> Output:
    """Records, their tally, messages by type and the last state, read line by line (a
    million records, or a gigabyte of STATE, fit)."""
    output = Output()
    with out.open("rb") as lines:
        for line in lines:
            message = json.loads(line)
            kind = message["type"]
            output.messages[kind] += 1
            if kind == "RECORD":
                output.records += 1
                stream = message["stream"]
                output.tally[(stream, scenario.tally(stream, message["record"]))] += 1
            elif kind == "STATE":
                output.state = message["value"]
                output.state_bytes += len(line)
            elif kind == "SCHEMA":
                output.streams.add(message["stream"])
    return output


def bare_loop(
    scenario: Scenario, server: EmulatorServer, log: list[LoggedRequest]
) -> tuple[int, float]:
    """The bare loop in a child process, like the tap: it and the emulator each get a core."""
    context = multiprocessing.get_context("fork")  # the child only needs the scenario and URLs
    results, sender = context.Pipe(duplex=False)
    child = context.Process(target=lambda: sender.send(fetch_pages(scenario, server, log)))
    child.start()
    count, seconds = results.recv()
    child.join()
    return count, seconds


def fetch_pages(
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


@dataclass
class Measured:
    """Figures of one tap at one scale."""

    tap: str
    scale: int
    records: int
    requests: dict[str, int]
    minimum: dict[str, int]
    rerun_requests: int
    rerun_records: int
    rerun_partitions: int
    tap_rate: float
    bare_rate: float
    emulator_ms: float
    peak_mib: float


def measure(scenario: Scenario, scale: int, workdir: Path) -> Measured:
    with emulator(scenario, scale) as server:
        first = run_tap(scenario, server, workdir)
        bare_count, bare_seconds = bare_loop(scenario, server, first.log)
        state = first.output.state
        rerun = run_tap(scenario, server, workdir, state=state)
    served = [e.finished - e.started for e in first.log]
    return Measured(
        tap=scenario.tap,
        scale=scale,
        records=first.output.records,
        requests=per_stream(scenario, first.log),
        minimum=scenario.minimum(first.output.tally),
        rerun_requests=len(rerun.log),
        rerun_records=rerun.output.records,
        rerun_partitions=partitions(state),
        tap_rate=first.output.records / first.seconds,
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


@dataclass(frozen=True)
class Scaling:
    """One tap at growing numbers of partitions, the work of each partition held constant."""

    scenario: Scenario
    unit: str  # what one partition is
    sizes: tuple[int, ...]  # the dataset's knob (destinations, environments, buckets)
    quick_sizes: tuple[int, ...]
    app: Callable[[int], VendorApp]  # size -> app
    overrides: Callable[[VendorApp], dict[str, Any]]  # settings beyond the scenario's
    partitions: Callable[[VendorApp], int]


BY_TAP = {scenario.tap: scenario for scenario in SCENARIOS}
LD_EVENTS_PER_ENVIRONMENT = 2_000  # 20 pages of 100, one window
PM2_EVENTS_PER_BUCKET = 1_000  # ~150 a partition, one page


def pm2_partitions(app: pm2.Pm2App) -> int:
    """State partitions of events: (bucket, event name)."""
    return sum(len({e.document["name"] for e in bucket.events}) for bucket in app.dataset.buckets)


SCALINGS = [
    Scaling(
        scenario=BY_TAP["tap-segment-config"],
        unit="destinations (each a partition of destination_subscriptions and delivery_metrics)",
        sizes=(250, 1_000, 4_000),
        quick_sizes=(100, 400),
        app=lambda size: segment.SegmentApp(
            segment.SegmentDataset.generate(seed=3, destinations=size)
        ),
        # Closed DAY windows since a midnight 3 days back: 3 delivery-metrics requests each.
        overrides=lambda app: {
            "delivery_metrics_granularity": "DAY",
            "start_date": (NOW - timedelta(days=3)).date().isoformat(),
        },
        partitions=lambda app: len(app.dataset.destinations),
    ),
    Scaling(
        scenario=BY_TAP["tap-launchdarkly-events"],
        unit=f"environments in environment_keys, {LD_EVENTS_PER_ENVIRONMENT:,} events each",
        sizes=(3, 30),
        quick_sizes=(3, 12),
        app=lambda size: launchdarkly.LaunchDarklyApp(
            launchdarkly.LaunchDarklyDataset.generate(
                seed=3,
                events=LD_EVENTS_PER_ENVIRONMENT * size,
                anchor=NOW,
                days=6,
                future_days=0,
                environments=size,
            )
        ),
        overrides=lambda app: {
            "environment_keys": list(app.dataset.environments),
            "start_date": (NOW - timedelta(days=7)).isoformat(),
        },
        partitions=lambda app: len(app.dataset.environments),
    ),
    Scaling(
        scenario=BY_TAP["tap-pm2-events"],
        unit=f"buckets x event names, {PM2_EVENTS_PER_BUCKET:,} events a bucket",
        sizes=(2, 20),
        quick_sizes=(2, 8),
        app=lambda size: pm2.Pm2App(
            pm2.Pm2Dataset.generate(
                seed=3,
                events=PM2_EVENTS_PER_BUCKET,
                buckets=size,
                anchor=NOW,
                days=6,
                future_days=0,
            )
        ),
        overrides=lambda app: {},
        partitions=pm2_partitions,
    ),
]


@dataclass
class Scaled:
    """Figures of one tap at one number of partitions."""

    tap: str
    partitions: int
    records: int
    streams: int
    tap_seconds: float
    state_messages: int
    state_bytes: int
    schema_messages: int
    peak_mib: float
    meltano_seconds: float


def measure_scaled(scaling: Scaling, size: int, workdir: Path) -> Scaled:
    """The tap alone into a file, then `meltano run` into a throwaway warehouse and state."""
    scenario = scaling.scenario
    with serving(scaling.app(size)) as server:
        overrides = scaling.overrides(server.app)
        run = run_tap(scenario, server, workdir, overrides=overrides)
        meltano_seconds = meltano_run(scenario, scenario.settings(server) | overrides, workdir)
        partitions = scaling.partitions(server.app)
    output = run.output
    return Scaled(
        tap=scenario.tap,
        partitions=partitions,
        records=output.records,
        streams=len(output.streams),
        tap_seconds=run.seconds,
        state_messages=output.messages["STATE"],
        state_bytes=output.state_bytes,
        schema_messages=output.messages["SCHEMA"],
        peak_mib=run.peak_kib / 1024,
        meltano_seconds=meltano_seconds,
    )


def meltano_run(scenario: Scenario, settings: dict[str, Any], workdir: Path) -> float:
    """Seconds of `meltano run <tap> target-duckdb`, from an empty warehouse and state."""
    warehouse, database, log = (workdir / name for name in ("wh.duckdb", "meltano.db", "log"))
    warehouse.unlink(missing_ok=True)
    database.unlink(missing_ok=True)
    prefix = scenario.tap.upper().replace("-", "_")
    env = os.environ | {
        f"{prefix}_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in settings.items()
    }
    env |= {
        "TARGET_DUCKDB_FILEPATH": str(warehouse),
        "MELTANO_DATABASE_URI": f"sqlite:///{database}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_SYS_DIR_ROOT": str(meltano_dir(workdir)),
        "MELTANO_CLI_LOG_LEVEL": os.environ.get("MELTANO_CLI_LOG_LEVEL", "warning"),
    }
    command = [BIN / "meltano", "run", scenario.tap, "target-duckdb"]
    started = time.perf_counter()
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=sink, stderr=sink, check=False)
    if done.returncode:
        tail = log.read_text()[-3000:]
        sys.exit(f"meltano run {scenario.tap} failed (MELTANO_CLI_LOG_LEVEL=info: more):\n{tail}")
    return time.perf_counter() - started


def meltano_dir(workdir: Path) -> Path:
    """A `.meltano` of our own with the project's installed plugins: the catalog and config
    Meltano writes for a run (`.meltano/run`) are not shared with a test run meanwhile."""
    private = workdir / ".meltano"
    for kind in ("extractors", "loaders"):
        link = private / kind
        if not link.exists():
            private.mkdir(exist_ok=True)
            link.symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return private


def scale_all(quick: bool, workdir: Path) -> list[list[Scaled]]:
    """Every tap of SCALINGS at each of its sizes, smallest first."""
    results = []
    for scaling in SCALINGS:
        runs = []
        for size in scaling.quick_sizes if quick else scaling.sizes:
            print(f"{scaling.scenario.tap} scaling at {size} ...", file=sys.stderr, flush=True)
            runs.append(measure_scaled(scaling, size, workdir))
        results.append(runs)
    return results


def per_doubling(small: float, large: float, partitions: tuple[int, int]) -> float:
    """The factor a figure grows by each time the partitions double."""
    return (large / small) ** (1 / math.log2(partitions[1] / partitions[0]))


SCALED_FIGURES: dict[str, tuple[Callable[[Scaled], float], str, str]] = {
    # column -> (figure, its format, its goal per doubling)
    "tap s": (lambda s: s.tap_seconds, "{:.1f}", "<= 2.20"),
    "STATE messages": (lambda s: s.state_messages, "{:,}", "-"),
    "STATE kB": (lambda s: s.state_bytes / 1000, "{:,.0f}", "<= 2.20"),
    "SCHEMA messages": (lambda s: s.schema_messages, "{:,}", "= streams"),
    "peak RSS MiB": (lambda s: s.peak_mib, "{:.1f}", "-"),
    "meltano run s": (lambda s: s.meltano_seconds, "{:.1f}", "<= 2.20"),
}


def scaled_table(runs: list[Scaled]) -> list[str]:
    """One tap: a row per size, the growth per doubling between consecutive sizes, the goals."""
    columns = list(SCALED_FIGURES)
    lines = [
        f"| partitions | records | {' | '.join(columns)} |",
        "|---:|---:|" + "---:|" * len(columns),
    ]
    for run in runs:
        cells = [form.format(figure(run)) for figure, form, _ in SCALED_FIGURES.values()]
        lines.append(f"| {run.partitions:,} | {run.records:,} | {' | '.join(cells)} |")
    for small, large in itertools.pairwise(runs):
        pair = (small.partitions, large.partitions)
        cells = [
            f"{per_doubling(figure(small), figure(large), pair):.2f}x" if figure(small) else "-"
            for figure, _, _ in SCALED_FIGURES.values()
        ]
        lines.append(f"| per doubling, {pair[0]:,} -> {pair[1]:,} | | {' | '.join(cells)} |")
    goals = [goal for _, _, goal in SCALED_FIGURES.values()]
    goals[columns.index("SCHEMA messages")] = f"= {runs[0].streams} (streams)"
    lines.append(f"| goal | | {' | '.join(goals)} |")
    return lines


def scaling_section(scaled: list[list[Scaled]]) -> list[str]:
    """The scaling part of the report: what drives each figure, then a table per tap."""
    lines = [
        "## Scaling with partitions",
        "",
        "Cost should grow with the work, not with its square. Each tap syncs a growing number"
        " of partitions, each with the same work (so a cost that grows with the work doubles"
        " when they double): its time alone (a process writing Singer messages to a file),"
        " the STATE and SCHEMA messages it writes, its peak RSS, and `meltano run <tap>"
        " target-duckdb` end to end (an empty warehouse and Meltano state). Growth per"
        " doubling = (large / small) ** (1 / log2(partitions large / partitions small)); goals:"
        " time and STATE bytes <= 2.2x per doubling, one SCHEMA message per stream.",
        "",
        "STATE bytes are the STATE messages times their size: a tap that writes the whole state"
        " (every partition's bookmark) after each partition grows them with the square of the"
        " partitions, 4x per doubling. One SCHEMA per stream is the fewest; one per parent"
        " record of a child stream grows with the partitions, and each costs the loader more"
        " than a record: target-duckdb flushes the stream's pending rows into DuckDB (and"
        " passes a STATE on to Meltano) and checks its table, so `meltano run` follows the"
        " SCHEMA and STATE messages as well as the records. The tap's own time is its requests"
        " (Segment: a subscriptions listing and 3 windows a destination) plus writing its"
        " messages. A small run includes the tap's start (about a second) and Meltano's (a few"
        " seconds: a new system database, two plugin processes), which keep its ratios low.",
        "",
    ]
    for scaling, runs in zip(SCALINGS, scaled, strict=True):
        lines += [f"### {scaling.scenario.tap}: partitions are {scaling.unit}", ""]
        lines += [*scaled_table(runs), ""]
    return lines


def report(
    measured: list[Measured],
    steering: list[Steering],
    scaled: list[list[Scaled]],
    seconds: float,
    options: str,
) -> str:
    """BENCHMARKS.md: every figure with its baseline, the command and the machine."""
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`.venv/bin/python scripts/bench.py{options}`) on"
        f" {NOW:%Y-%m-%d}; do not edit by hand. Machine: {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Run time {seconds:.0f} s.",
    ]
    if measured:
        lines += measured_sections(measured)  # its first line ends the paragraph above
    sections = [steering_section(steering)] if steering else []
    sections += [scaling_section(scaled)] if scaled else []
    for section in sections:
        lines += ["", *section] if lines[-1] else section  # a blank line before a heading
    return "\n".join(lines)


def measured_sections(measured: list[Measured]) -> list[str]:
    """Requests, reruns, throughput and memory, from the same runs."""
    lines = [
        "Every figure is measured against the local API emulator in the same run, at about"
        " 10,000 and about 1,000,000 records per tap, except tap-segment-config: it makes one"
        " request per delivery-metrics record, so its large scale is 1,000 destinations (~15,000"
        " records, ~14,000 requests).",
        "",
        "## Requests against the fewest possible",
        "",
        "The fewest requests any correct client could make under the vendor's limits (largest"
        " page, widest legal window, one token exchange), from the data the sync returned;"
        " ratio = actual / minimum (goal 1.00). A rerun with no new data should cost at most one"
        " request per state partition (plus a token exchange).",
        "",
        "LaunchDarkly and PM2 windows are sized by count (`window_max_events`, 10,000): a range"
        " that fits one window costs the minimum. A larger backlog costs more: a first window"
        " over the whole range that must be cut (LaunchDarkly learns it from `totalCount` on the"
        " first page of 100; PM2 from its first page, here the whole result window of 10,000),"
        " windows planned at 90% of the cap so that ordinary ups and downs do not overflow, and"
        " PM2's start a day before its first event. Each window is a checkpoint: a crash"
        " re-reads at most one.",
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
        "Reruns re-read each partition's look-back (LaunchDarkly and PM2 30 minutes before the"
        " bookmark, api.video the last 2 complete days): one request per partition while that"
        " holds one page, more at a million records (the look-back records column).",
        "",
        "| tap | records | rerun requests | look-back records re-read | state partitions |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {m.tap} | {m.records} | {m.rerun_requests} | {m.rerun_records} |"
            f" {m.rerun_partitions} |"
            for m in measured
        ],
        "",
        "## Throughput against a bare loop",
        "",
        "Records/s of the tap (a process writing Singer messages to a file) and of a bare loop"
        " (`requests` + `json`, the same data pages from the same emulator, one RECORD line per"
        " item; a process of its own, as the tap is), and the emulator's own time per request."
        " Goal: ratio >= 0.5.",
        "",
        "At 10,000 records the tap's start (Python and the SDK, about a second) weighs on its"
        " rate. The bare loop does no per-record work; each tap record goes through the SDK's"
        " catalog selection (walking nested objects), root type conformance and a RECORD"
        " message (msgspec), a fixed cost per record that a page of 10,000 small PM2 events"
        " shows most.",
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
        "Peak RSS of the tap process at each scale; growth = large / small - 1 (goal <= 10%)."
        " What grows is bounded by a page or a window, not by the records: Segment holds one"
        " page of 1,000 destinations (~2.3 MB of JSON) while their child streams are read;"
        " PM2 buffers one window (at most `window_max_events` events, so that a cut never emits"
        " an event twice) plus a page of 10,000.",
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
    return [*lines, ""]


def steering_section(steering: list[Steering]) -> list[str]:
    return [
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


PARTS = ("measure", "steering", "scaling")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small scales; print only")
    parser.add_argument(
        "--only",
        choices=PARTS,
        help="one part: measure (requests, throughput, memory), steering (rate limits) or"
        " scaling (partitions); print only",
    )
    parser.add_argument(
        "--output", type=Path, help="write the report here (default: BENCHMARKS.md on a full run)"
    )
    args = parser.parse_args()
    parts = (args.only,) if args.only else PARTS
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        measured = measure_all(args.quick, Path(work)) if "measure" in parts else []
        steering = steer_all(args.quick, Path(work)) if "steering" in parts else []
        scaled = scale_all(args.quick, Path(work)) if "scaling" in parts else []
    options = " --quick" * args.quick + (f" --only {args.only}" if args.only else "")
    text = report(measured, steering, scaled, time.perf_counter() - started, options)
    print(text)
    full_run = not (args.quick or args.only)
    output = args.output or (ROOT / "BENCHMARKS.md" if full_run else None)
    if output:
        output.write_text(text)
    return 0


def measure_all(quick: bool, workdir: Path) -> list[Measured]:
    """Every tap at about 10,000 and 1,000,000 records (--quick: 1,000 and 5,000)."""
    scales = (1_000, 5_000) if quick else (10_000, 1_000_000)
    measured = []
    for scenario in SCENARIOS:
        for scale in sorted({min(scale, scenario.largest) for scale in scales}):
            print(f"{scenario.tap} at {scale} ...", file=sys.stderr, flush=True)
            measured.append(measure(scenario, scale, workdir))
    return measured


def steer_all(quick: bool, workdir: Path) -> list[Steering]:
    """Vendor-like budgets (LaunchDarkly per 10 s, the api.video sandbox 100/min); --quick
    shrinks the windows, not the limits."""
    ld, video = BY_TAP["tap-launchdarkly-events"], BY_TAP["tap-apivideo-analytics"]
    shrink = 10.0 if quick else 1.0
    ten_days = {"start_date": (NOW - timedelta(days=10)).isoformat()}  # ~460 requests
    return [
        steer(ld, 3_000, (20, 10.0 / shrink), workdir),
        steer(video, 2_000, (100, 60.0 / shrink), workdir, ten_days),
    ]


if __name__ == "__main__":
    sys.exit(main())
