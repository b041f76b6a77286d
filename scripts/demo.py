"""`make demo`: the local emulator feeds a DuckDB warehouse through real `meltano run`, twice.

For each tap: start the API emulator on a free loopback port with seeded data, run
`meltano run <tap> target-duckdb` into output/warehouse.duckdb, print row counts per table and
the requests spent, run again to show that state makes the second run incremental (no
duplicate rows, few requests), and stop the emulator whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "output"
STARTUP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class DemoTap:
    """One tap of the demo: its emulator vendor, settings, and warehouse tables with keys."""

    name: str
    vendor: str
    schema: str
    # setting name -> value; "{url}" is replaced by the emulator's main URL, "{auth}" (and any
    # other host name of the vendor) by that host's URL
    settings: dict[str, str]
    tables: dict[str, tuple[str, ...]]


DEMO_TAPS = (
    DemoTap(
        name="tap-segment-config",
        vendor="segment",
        schema="tap_segment_config",
        settings={"api_url": "{url}", "api_token": "segment-emulator-token"},
        tables={
            "destinations": ("id",),
            "destination_subscriptions": ("id",),
            "delivery_metrics": ("destinationId", "sourceId", "granularity", "windowStart"),
            "workspace": ("id",),
            "sources": ("id",),
            "warehouses": ("id",),
            "source_warehouse_connections": ("warehouseId", "sourceId"),
            "tracking_plans": ("id",),
            "tracking_plan_rules": ("trackingPlanId", "ruleId"),
            "functions": ("id",),
            "transformations": ("id",),
            "reverse_etl_models": ("id",),
            "spaces": ("id",),
            "labels": ("key", "value"),
            "users": ("id",),
            "groups": ("id",),
            "group_members": ("userGroupId", "userId"),
            "roles": ("id",),
            "catalog_sources": ("id",),
            "catalog_destinations": ("id",),
            "catalog_warehouses": ("id",),
            "usage_api_calls_daily": ("timestamp",),
            "usage_api_calls_per_source_daily": ("sourceId", "timestamp"),
            "usage_mtu_daily": ("timestamp",),
            "usage_mtu_per_source_daily": ("sourceId", "timestamp"),
            "event_volume": ("granularity", "time", "sourceId", "eventName", "eventType"),
            "audit_events": ("id",),
            "delivery_overview": (
                *("sourceId", "destinationId", "stage", "granularity", "time"),
                *("eventName", "eventType", "discardReason", "appVersion"),
            ),
            "delivery_overview_sources": (
                *("sourceId", "stage", "granularity", "time"),
                *("eventName", "eventType", "discardReason", "appVersion"),
            ),
        },
    ),
    DemoTap(
        name="tap-launchdarkly-events",
        vendor="launchdarkly",
        schema="tap_launchdarkly_events",
        settings={
            "api_url": "{url}",
            "api_token": "api-emulator-launchdarkly-token",
        },
        tables={
            "projects": ("key",),
            "environments": ("projectKey", "key"),
            "flags": ("projectKey", "environmentKey", "key"),
            "segments": ("projectKey", "environmentKey", "key"),
            "metrics": ("projectKey", "key"),
            "members": ("_id",),
            "teams": ("key",),
            "audit_log": ("_id",),
            "flag_events": ("id",),
        },
    ),
    DemoTap(
        name="tap-pm2-events",
        vendor="pm2",
        schema="tap_pm2_events",
        settings={
            "api_url": "{url}",
            "auth_url": "{auth}",
            "refresh_token": "pm2-emulator-refresh-token",
        },
        tables={
            "buckets": ("id",),
            "event_keys": ("bucket_id", "app_name", "event_name"),
            "events": ("event_id",),
            "event_histograms": ("bucket_id", "app_name", "event_name", "interval", "bucket_start"),
            "process_events": ("process_event_id",),
            "deployments": ("deployment_id",),
            "issue_apps": ("bucket_id", "app_name"),
            "issues": ("bucket_id", "identifier"),
            "issue_occurrences": ("occurrence_id",),
        },
    ),
    DemoTap(
        name="tap-apivideo-analytics",
        vendor="apivideo",
        schema="tap_apivideo_analytics",
        settings={"api_url": "{url}", "api_key": "apivideo-emulator-key"},
        tables={
            "video_plays": ("date", "dimension", "value", "video_id"),
            "live_stream_plays": ("date", "dimension", "value", "live_stream_id"),
            "metric_buckets": ("date", "metric", "breakdown", "dimension_value"),
            "metric_timeseries": ("date", "metric"),
            "metric_aggregates": ("date", "metric", "aggregation"),
            "media_watch_time": ("date", "media_id"),
            "videos": ("videoId",),
            "live_streams": ("liveStreamId",),
        },
    ),
)


@contextmanager
def emulator(vendor: str, workdir: Path) -> Iterator[dict[str, str]]:
    """Serve ``vendor`` from the emulator's CLI; yield its URLs by host; always stop it."""
    url_file = workdir / f"{vendor}.url"
    url_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [BIN / "api-emulator", "serve", vendor, "--port", "0", "--url-file", url_file],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = _wait_for_url(process, url_file)
        health = requests.get(f"{url}/_emulator/health", timeout=10).json()
        yield {"url": url, **health["urls"]}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_url(process: subprocess.Popen, url_file: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if url_file.exists():
            return url_file.read_text().strip()
        if process.poll() is not None:
            raise SystemExit(f"the emulator exited with code {process.returncode}")
        time.sleep(0.05)
    raise SystemExit("the emulator did not start in time")


def request_count(url: str) -> int:
    """Vendor requests the emulator has answered so far."""
    response = requests.get(f"{url}/_emulator/requests", timeout=10)
    response.raise_for_status()
    return len(response.json())


def meltano_run(tap: DemoTap, urls: dict[str, str]) -> None:
    """`meltano run <tap> target-duckdb`, with the tap pointed at the emulator."""
    env = dict(os.environ)
    prefix = tap.name.upper().replace("-", "_")
    for setting, value in tap.settings.items():
        env[f"{prefix}_{setting.upper()}"] = value.format(**urls)
    env["MELTANO_DATABASE_URI"] = f"sqlite:///{OUTPUT / 'demo-meltano.db'}"
    command = [BIN / "meltano", "--log-level=warning", "run", tap.name, "target-duckdb"]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def table_counts(tap: DemoTap) -> dict[str, tuple[int, int]]:
    """Rows and distinct primary keys per table."""
    with duckdb.connect(str(OUTPUT / "warehouse.duckdb"), read_only=True) as connection:
        counts = {}
        for table, keys in tap.tables.items():
            columns = ", ".join(f'"{key.lower()}"' for key in keys)
            rows, distinct = connection.execute(
                f"select count(*), count(distinct ({columns})) from {tap.schema}.{table}"  # noqa: S608
            ).fetchone()
            counts[table] = (rows, distinct)
        return counts


def report(label: str, counts: dict[str, tuple[int, int]], requests: int) -> None:
    """Print one run's figures."""
    print(f"  {label}: {requests} requests")
    for table, (rows, distinct) in counts.items():
        flag = "" if rows == distinct else f"  <-- {rows - distinct} DUPLICATES"
        print(f"    {table:<34} {rows:>7} rows{flag}")


def demo(tap: DemoTap) -> bool:
    """Two runs of one tap; True when both loaded rows and the second added no duplicate."""
    print(f"\n== {tap.name} -> target-duckdb ({OUTPUT / 'warehouse.duckdb'})")
    with emulator(tap.vendor, OUTPUT) as urls:
        meltano_run(tap, urls)
        first_requests = request_count(urls["url"])
        first = table_counts(tap)
        report("first run (full history)", first, first_requests)
        meltano_run(tap, urls)
        second = table_counts(tap)
        report("second run (from state)", second, request_count(urls["url"]) - first_requests)
    loaded = all(rows > 0 for rows, _ in first.values())
    no_duplicates = all(rows == distinct for rows, distinct in second.values())
    return loaded and no_duplicates


def main() -> int:
    """Run the demo from a clean warehouse and state."""
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir()
    results = [demo(tap) for tap in DEMO_TAPS]
    print("\nDemo", "succeeded." if all(results) else "FAILED: see the figures above.")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
