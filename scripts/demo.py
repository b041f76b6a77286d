"""`make demo`: the local emulator feeds a DuckDB warehouse through real `meltano run`, twice.

For each tap: start the API emulator on a free loopback port with seeded data, run
`meltano run <tap> target-duckdb` into output/warehouse.duckdb, print row counts per table and
the requests spent, run again to show that state makes the second run incremental (no
duplicate rows, few requests), and stop the emulator whatever happens.
"""

from __future__ import annotations

import importlib
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
    """One tap of the demo: its emulator vendor, settings, and where its tap class lives."""

    name: str
    vendor: str
    schema: str
    # setting name -> value; "{url}" is replaced by the emulator's main URL, "{auth}" (and any
    # other host name of the vendor) by that host's URL
    settings: dict[str, str]
    tap_class: str  # "module:Class"

    @property
    def tables(self) -> dict[str, tuple[str, ...]]:
        """Every stream (a warehouse table) and its primary key, from the tap's own streams."""
        module, _, name = self.tap_class.partition(":")
        tap_type = getattr(importlib.import_module(module), name)
        config = {key: value.format_map(_AnyUrl()) for key, value in self.settings.items()}
        tap = tap_type(config=config, parse_env_config=False, validate_config=False)
        return {stream.name: tuple(stream.primary_keys) for stream in tap.streams.values()}


class _AnyUrl(dict):
    """Fills "{url}"-style placeholders when only the streams are wanted (no request is sent)."""

    def __missing__(self, key: str) -> str:
        return "http://127.0.0.1"


DEMO_TAPS = (
    DemoTap(
        name="tap-segment-config",
        tap_class="tap_segment_config.tap:TapSegmentConfig",
        vendor="segment",
        schema="tap_segment_config",
        settings={"api_url": "{url}", "api_token": "segment-emulator-token"},
    ),
    DemoTap(
        name="tap-launchdarkly-events",
        tap_class="tap_launchdarkly_events.tap:TapLaunchDarklyEvents",
        vendor="launchdarkly",
        schema="tap_launchdarkly_events",
        settings={
            "api_url": "{url}",
            "api_token": "api-emulator-launchdarkly-token",
        },
    ),
    DemoTap(
        name="tap-pm2-events",
        tap_class="tap_pm2_events.tap:TapPm2Events",
        vendor="pm2",
        schema="tap_pm2_events",
        settings={
            "api_url": "{url}",
            "auth_url": "{auth}",
            "refresh_token": "pm2-emulator-refresh-token",
        },
    ),
    DemoTap(
        name="tap-apivideo-analytics",
        tap_class="tap_apivideo_analytics.tap:TapApiVideoAnalytics",
        vendor="apivideo",
        schema="tap_apivideo_analytics",
        settings={"api_url": "{url}", "api_key": "apivideo-emulator-key"},
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
