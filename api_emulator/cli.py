"""`api-emulator serve <vendor>`: the emulator as a process, for the demo and for manual use."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from api_emulator.apivideo import ApiVideoApp, ApiVideoDataset
from api_emulator.core import EmulatorServer, VendorApp
from api_emulator.launchdarkly import LaunchDarklyApp, LaunchDarklyDataset
from api_emulator.pm2 import Pm2App, Pm2Dataset
from api_emulator.segment import SegmentApp, SegmentDataset


def _segment(seed: int, scale: int) -> VendorApp:
    return SegmentApp(SegmentDataset.generate(seed=seed, destinations=scale))


def _launchdarkly(seed: int, scale: int) -> VendorApp:
    return LaunchDarklyApp(LaunchDarklyDataset.generate(seed=seed, events=scale * 25))


def _apivideo(seed: int, scale: int) -> VendorApp:
    return ApiVideoApp(ApiVideoDataset.generate(seed=seed, videos=scale * 5))


def _pm2(seed: int, scale: int) -> VendorApp:
    return Pm2App(Pm2Dataset.generate(seed=seed, events=scale * 50))


#: Vendor name -> factory(seed, scale). A new vendor module registers itself here.
VENDORS: dict[str, Callable[[int, int], VendorApp]] = {
    "segment": _segment,
    "launchdarkly": _launchdarkly,
    "pm2": _pm2,
    "apivideo": _apivideo,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="api-emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve one vendor's API until SIGINT/SIGTERM")
    serve.add_argument("vendor", choices=sorted(VENDORS))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--scale", type=int, default=8, help="size of the seeded data set")
    serve.add_argument("--rate-limit", type=int, help="requests allowed per window")
    serve.add_argument("--rate-window", type=float, help="seconds per window (vendor default)")
    serve.add_argument("--url-file", type=Path, help="write the base URL here once serving")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM, then shut down cleanly."""
    args = _parser().parse_args(argv)
    server = EmulatorServer(
        VENDORS[args.vendor](args.seed, args.scale), args.host, args.port, verbose=args.verbose
    )
    server.budget.configure(args.rate_limit, args.rate_window or server.app.rate_window_seconds)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server.start()
    try:
        if args.url_file:
            _write_atomically(args.url_file, server.url)
        print(f"{args.vendor} emulator serving at {server.url}", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
