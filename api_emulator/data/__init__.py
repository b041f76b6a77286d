"""Deterministic seeded data sets, one module per vendor, scalable for benchmarks."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build a million events without the cyclic collector in the way, then hide them from it.

    Events hold no reference cycles (reference counting frees them), but each is several
    tracked containers: at 1M events the collector would add half the build time rescanning
    the growing heap, then over a second to every full collection while serving. Frozen, what
    is alive at the end (the events, and anything else) is never scanned again.
    """
    enabled = gc.isenabled()
    gc.collect()  # nothing already garbage gets frozen below
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
