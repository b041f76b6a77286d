"""The Singer messages of one run, with costs that grow with the work, not with its square.

The SDK writes a stream's SCHEMA every time the stream starts, which a child stream does once per
parent record, and the whole state every time a partition or window finishes, while the state
itself holds one bookmark per partition: for N partitions, N SCHEMA messages and N states of
size N. Target-duckdb flushes its batch on every SCHEMA, so the load becomes N tiny loads.

- :class:`RunMessageWriter` sends each stream's SCHEMA once, and again only if it changes.
- :class:`PacedStateWriter` writes a pending STATE once ``state_interval_seconds`` have passed
  since the last one and the output since then is at least OUTPUT_PER_STATE times the size of
  that last STATE; and always when the run ends, fails or is stopped. So STATE messages are at
  most a 64th of the output whatever the number of partitions (each state is larger, so they
  come less often), and a crash re-reads at most the window in progress plus the work since the
  last STATE: ``state_interval_seconds`` of it, or 64 times the state's size in records when
  that is more. (64 rather than fewer: with thousands of partitions each STATE is large, and
  every extra one shows in the STATE volume; see BENCHMARKS.md, "Scaling with partitions".)
"""

from __future__ import annotations

import sys
import time
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.helpers._state import StateWriter
from singer_sdk.helpers.types import TapState
from singer_sdk.singerlib import Message, SchemaMessage

#: Bytes of output between two STATE messages, per byte of the last STATE.
OUTPUT_PER_STATE = 64


class RunMessageWriter(MsgSpecWriter):
    """The SDK's msgspec writer (same messages, several times cheaper to encode than the
    stdlib one), sending each SCHEMA once and counting the bytes it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes_written = 0
        self._schemas: dict[str, dict[str, Any]] = {}

    def write_message(self, message: Message) -> None:
        """Write ``message`` as one line, unless it repeats the stream's current SCHEMA."""
        if isinstance(message, SchemaMessage):
            schema = message.to_dict()
            if self._schemas.get(message.stream) == schema:
                return
            self._schemas[message.stream] = schema
        line = self.format_message(message)
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        self.bytes_written += len(line)


class PacedStateWriter(StateWriter):
    """Writes the pending state once enough time and output have passed since the last STATE."""

    def __init__(
        self,
        message_writer: RunMessageWriter,
        interval_seconds: float,
        output_per_state: int = OUTPUT_PER_STATE,
    ) -> None:
        super().__init__(message_writer)
        self._output = message_writer
        self._interval = interval_seconds
        self._output_per_state = output_per_state
        self._pending: TapState | None = None
        self._written_at = (0, -float("inf"))  # output bytes and clock at the last STATE
        self._last_size = 0  # bytes of that STATE message

    def write_state(self, state: TapState) -> None:
        """Take the state the SDK wants written; write it now if it is due."""
        self._pending = state
        output, clock = self._written_at
        if (
            time.monotonic() - clock >= self._interval
            and self._output.bytes_written - output >= self._output_per_state * self._last_size
        ):
            self.flush()

    def flush(self) -> None:
        """Write the pending state, if any (the end of a run, or before it fails)."""
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        before = self._output.bytes_written
        super().write_state(state)  # the SDK's writer skips a state equal to the last one
        if self._output.bytes_written > before:
            self._last_size = self._output.bytes_written - before
            self._written_at = (self._output.bytes_written, time.monotonic())
