"""The published artefact works on its own: the wheel, in a new Meltano project, outside the repo.

Once per session: `python -m build` makes the sdist and the wheel from this checkout (the wheel
is built from the sdist, so both are proved). Once per module: `meltano init` makes a project in
a temporary folder; every tap is added as a user adds it,
`meltano add --plugin-type extractor <tap> --from-ref plugins/extractors/<tap>.yml`, its
`pip_url` then pointed at the wheel (the one edit the README asks for); target-jsonl is added
from this repository's declaration of it; `meltano install`. Per tap: an emulator, its URL and
credential through `meltano config set`, `meltano run <tap> target-jsonl`, and the JSONL rows
counted against the emulator's data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from api_emulator import EmulatorServer
from api_emulator.apivideo import BREAKDOWNS
from tests.harness import BIN, record_output
from tests.taps import (
    APIVIDEO,
    APIVIDEO_TODAY,
    LAUNCHDARKLY,
    LAUNCHDARKLY_ENVIRONMENTS,
    LAUNCHDARKLY_START,
    PM2,
    PM2_START,
    SEGMENT,
    TapSetup,
)

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "plugins" / "extractors"
TAPS = (SEGMENT, LAUNCHDARKLY, PM2, APIVIDEO)
pytestmark = pytest.mark.meltano


def clean_env() -> dict[str, str]:
    """This process's environment without anything that configures Meltano, a tap or a target."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MELTANO_", "TAP_", "TARGET_"))
    }
    return env | {"MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run a command; it must succeed. Its output goes through the suite's secret scan."""
    completed = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )
    record_output(completed.stdout, completed.stderr)
    assert completed.returncode == 0, (command, completed.stdout[-2000:], completed.stderr[-3000:])
    return completed


def meltano(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "meltano"), *args], cwd=project)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel (and sdist) `python -m build` makes from this checkout."""
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=ROOT)
    (built,) = dist.glob("telemetry_taps-*-py3-none-any.whl")
    (sdist,) = dist.glob("telemetry_taps-*.tar.gz")
    version = re.search(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert version
    assert built.name == f"telemetry_taps-{version[1]}-py3-none-any.whl"  # CHANGELOG's release
    with tarfile.open(sdist) as archive:
        shipped = {name.split("/", 1)[-1] for name in archive.getnames()}
    expected = {"CHANGELOG.md", "README.md", "docs/guarantees.md", "pyproject.toml"}
    expected |= {f"plugins/extractors/{path.name}" for path in DEFINITIONS.glob("*.yml")}
    assert expected <= shipped
    assert not [name for name in shipped if name.startswith("tests/")]
    return built


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A new Meltano project with the four taps from their definitions, installed from the wheel."""
    parent = tmp_path_factory.mktemp("elsewhere")
    meltano(parent, "init", "data-team", "--no-usage-stats")
    project = parent / "data-team"
    for tap in TAPS:
        definition = DEFINITIONS / f"{tap.name}.yml"
        meltano(project, "add", "--plugin-type", "extractor", tap.name, "--from-ref",
                str(definition), "--no-install")  # fmt: skip
    # target-jsonl, from this repository's own declaration (Meltano Hub is not reachable here).
    (loader,) = [
        p
        for p in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
        if p["name"] == "target-jsonl"
    ]
    loader_file = parent / "target-jsonl.yml"
    loader_file.write_text(yaml.safe_dump({k: v for k, v in loader.items() if k != "config"}))
    meltano(project, "add", "--plugin-type", "loader", "target-jsonl", "--from-ref",
            str(loader_file), "--no-install")  # fmt: skip
    # The one edit the README asks for: where the package comes from.
    config = yaml.safe_load((project / "meltano.yml").read_text())
    extractors = config["plugins"]["extractors"]
    assert [p["name"] for p in extractors] == [tap.name for tap in TAPS]
    assert {p["pip_url"] for p in extractors} == {"telemetry-taps"}  # as the definitions say
    for extractor in extractors:
        extractor["pip_url"] = str(wheel)
    assert "utilities" not in config["plugins"]
    (project / "meltano.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    meltano(project, "install")
    meltano(project, "config", "set", "target-jsonl", "destination_path", "output")
    meltano(project, "config", "set", "target-jsonl", "do_timestamp_file", "false")
    return project


def configure(project: Path, tap: TapSetup, settings: dict[str, object]) -> None:
    """`meltano config set <tap> <name> <value>` for each setting (secrets go to .env)."""
    for name, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        meltano(project, "config", "set", tap.name, name, text)


def rows(project: Path, tap: TapSetup) -> dict[str, tuple[int, int]]:
    """Rows and distinct primary keys per stream in the JSONL files of ``tap``."""
    counts = {}
    for stream, keys in tap.keys.items():
        path = project / "output" / f"{stream}.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        counts[stream] = (len(records), len({tuple(r[k] for k in keys) for r in records}))
    return counts


def days(first: datetime, end: datetime) -> list[datetime]:
    return [first + timedelta(days=n) for n in range((end - first).days)]


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def segment() -> Iterator[EmulatorServer]:
    with SEGMENT.emulator(seed=3, destinations=6) as server:
        yield server


DESTINATION_STREAMS = ("destinations", "destination_subscriptions", "delivery_metrics")


def test_tap_segment_config_from_the_wheel(project, segment):
    # the time series in few rows: delivery overview totals per stage, event volume per source
    small = {"delivery_overview_group_by": [], "event_volume_group_by": ["source"]}
    configure(project, SEGMENT, SEGMENT.config(segment, **small))
    meltano(project, "run", SEGMENT.name, "target-jsonl")
    dataset = segment.app.dataset
    destinations = len(dataset.destinations)
    subscriptions = sum(len(dataset.subscriptions_for(d["id"])) for d in dataset.destinations)
    loaded = rows(project, SEGMENT)
    assert {stream: loaded[stream] for stream in DESTINATION_STREAMS} == {
        "destinations": (destinations, destinations),
        "destination_subscriptions": (subscriptions, subscriptions),
        "delivery_metrics": (destinations * 13, destinations * 13),  # closed days in 14 kept
    }
    assert {stream: n for stream, (n, keys) in loaded.items() if n != keys or not n} == {}


@pytest.fixture
def launchdarkly() -> Iterator[EmulatorServer]:
    with LAUNCHDARKLY.emulator(seed=9, events=400, days=10) as server:
        yield server


def test_tap_launchdarkly_events_from_the_wheel(project, launchdarkly):
    start, now = LAUNCHDARKLY_START, LAUNCHDARKLY.now
    settings = LAUNCHDARKLY.config(
        launchdarkly,
        environment_keys=LAUNCHDARKLY_ENVIRONMENTS,
        start_date=start.isoformat(),
    )
    configure(project, LAUNCHDARKLY, settings)
    meltano(project, "run", LAUNCHDARKLY.name, "target-jsonl")
    events = len({e.public["id"] for e in launchdarkly.app.dataset.between(ms(start), ms(now) - 1)})
    assert events > 0
    counts = rows(project, LAUNCHDARKLY)
    assert counts.pop("flag_events") == (events, events)
    assert all(n == distinct > 0 for n, distinct in counts.values()), counts  # the account


@pytest.fixture
def pm2() -> Iterator[EmulatorServer]:
    with PM2.emulator(seed=9, events=300) as server:
        yield server


def test_tap_pm2_events_from_the_wheel(project, pm2):
    settings = PM2.config(pm2, start_date=PM2_START.isoformat(), histogram_days=1)
    configure(project, PM2, settings)
    meltano(project, "run", PM2.name, "target-jsonl")
    buckets = pm2.app.dataset.buckets
    now = ms(pm2.clock.now())
    events = sum(len(b.visible(now, ms(PM2_START), ms(PM2.now) - 1)) for b in buckets)
    found = rows(project, PM2)
    assert found["buckets"] == (len(buckets), len(buckets))
    assert found["events"] == (events, events)
    assert all(count == distinct > 0 for count, distinct in found.values())


@pytest.fixture
def apivideo() -> Iterator[EmulatorServer]:
    with APIVIDEO.emulator(seed=9, videos=30) as server:
        yield server


def test_tap_apivideo_analytics_from_the_wheel(project, apivideo):
    start = APIVIDEO_TODAY - timedelta(days=6)
    settings = APIVIDEO.config(
        apivideo,
        start_date=start.isoformat(),
        dimensions=["country"],
        metrics=["play"],
        breakdowns=["country"],
        aggregates=["watch-time/sum"],
    )
    configure(project, APIVIDEO, settings)
    meltano(project, "run", APIVIDEO.name, "target-jsonl")
    dataset, read = apivideo.app.dataset, days(start, APIVIDEO_TODAY)
    plays = {
        media: sum(len(dataset.plays(media, "country", d, d + timedelta(days=1))) for d in read)
        for media in ("video", "live-stream")
    }
    buckets = sum(
        len(
            Counter(
                BREAKDOWNS["country"](s)
                for s in dataset.between(d, d + timedelta(days=1))
                if s.played
            )
        )
        for d in read
    )
    watched = sum(
        len({s.media_id for s in dataset.between(d, d + timedelta(days=1)) if s.played})
        for d in read
    )
    assert rows(project, APIVIDEO) == {
        "video_plays": (plays["video"], plays["video"]),
        "live_stream_plays": (plays["live-stream"], plays["live-stream"]),
        "metric_buckets": (buckets, buckets),
        "metric_timeseries": (len(read), len(read)),
        "metric_aggregates": (len(read), len(read)),
        "media_watch_time": (watched, watched),
        "videos": (len(dataset.videos), len(dataset.videos)),
        "live_streams": (len(dataset.live_streams), len(dataset.live_streams)),
    }
