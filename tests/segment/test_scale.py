"""Many destinations: one SCHEMA per stream, and STATE that stays a small part of the output."""

from __future__ import annotations

import json
from collections import Counter

from tap_common.messages import OUTPUT_PER_STATE
from tap_segment_config.tap import TapSegmentConfig
from tests.harness import run_tap
from tests.segment.selection import DESTINATION_STREAMS, selecting
from tests.taps import SEGMENT


def test_many_destinations_cost_one_schema_per_stream_and_few_states():
    with SEGMENT.emulator(seed=11, destinations=150) as emulator:
        config = SEGMENT.config(emulator, delivery_metrics_granularity="DAY")
        result = run_tap(TapSegmentConfig, config, catalog=selecting(config, *DESTINATION_STREAMS))
    assert result.error is None
    schemas = Counter(m["stream"] for m in result.messages if m["type"] == "SCHEMA")
    assert schemas == dict.fromkeys(DESTINATION_STREAMS, 1)
    assert len(result.records("delivery_metrics")) == 150 * 13  # every destination, every day
    lines = result.stdout.splitlines()
    states = [len(line) for line in lines if json.loads(line)["type"] == "STATE"]
    output = sum(len(line) for line in lines)
    # Each STATE but the last two came after OUTPUT_PER_STATE times its size of other output,
    # whatever the time (the SDK would write one per destination: 150 growing states).
    assert sum(states) <= output / OUTPUT_PER_STATE + 2 * max(states)
    assert len(states) < 150 / 4
    assert len(result.state["bookmarks"]["delivery_metrics"]["partitions"]) == 150
