"""The run's message writer: each SCHEMA once, STATE paced by time and output, always flushed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

from singer_sdk.singerlib import RecordMessage, SchemaMessage

from tap_common.messages import OUTPUT_PER_STATE, PacedStateWriter, RunMessageWriter


@contextmanager
def captured() -> Iterator[io.TextIOWrapper]:
    """A stdout whose bytes the test can read (the msgspec writer writes to ``.buffer``)."""
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        yield buffer


def lines(stdout: io.TextIOWrapper) -> list[dict]:
    stdout.flush()
    return [json.loads(line) for line in stdout.buffer.getvalue().decode().splitlines()]


def schema(stream: str, *fields: str) -> SchemaMessage:
    properties = {name: {"type": ["string"]} for name in fields}
    return SchemaMessage(stream, {"type": "object", "properties": properties}, ["id"])


def records(writer: RunMessageWriter, count: int) -> None:
    for number in range(count):
        writer.write_message(RecordMessage("s", {"id": str(number), "pad": "x" * 100}))


def test_a_schema_goes_out_once_per_stream_and_again_only_when_it_changes():
    with captured() as stdout:
        writer = RunMessageWriter()
        for _ in range(3):  # a child stream starts once per parent record
            writer.write_message(schema("child", "id"))
            writer.write_message(schema("other", "id"))
        writer.write_message(schema("child", "id", "name"))  # it really changed
        sent = [(m["stream"], sorted(m["schema"]["properties"])) for m in lines(stdout)]
        assert sent == [("child", ["id"]), ("other", ["id"]), ("child", ["id", "name"])]
        assert writer.bytes_written == len(stdout.buffer.getvalue())


def test_a_state_waits_until_the_output_since_the_last_outweighs_it():
    with captured() as stdout:
        writer = RunMessageWriter()
        states = PacedStateWriter(writer, interval_seconds=0, output_per_state=OUTPUT_PER_STATE)
        states.write_state({"bookmarks": {"s": {"n": 1}}})  # the first: at once
        states.write_state({"bookmarks": {"s": {"n": 2}}})  # nothing written since: held back
        assert [
            m["value"]["bookmarks"]["s"]["n"] for m in lines(stdout) if m["type"] == "STATE"
        ] == [1]
        last_size = writer.bytes_written
        records(writer, 1)
        states.write_state({"bookmarks": {"s": {"n": 3}}})
        assert sum(m["type"] == "STATE" for m in lines(stdout)) == 1  # one record is not enough
        records(writer, OUTPUT_PER_STATE * last_size // 100)
        states.write_state({"bookmarks": {"s": {"n": 4}}})
        assert [
            m["value"]["bookmarks"]["s"]["n"] for m in lines(stdout) if m["type"] == "STATE"
        ] == [
            1,
            4,
        ]


def test_a_state_waits_for_its_interval_and_the_end_flushes_it():
    with captured() as stdout:
        writer = RunMessageWriter()
        states = PacedStateWriter(writer, interval_seconds=3600)
        states.write_state({"bookmarks": {"s": {"n": 1}}})
        records(writer, 1000)
        states.write_state({"bookmarks": {"s": {"n": 2}}})  # output enough, but too soon
        assert sum(m["type"] == "STATE" for m in lines(stdout)) == 1
        states.flush()  # the run ends (or fails): the pending state goes out
        states.flush()  # nothing pending any more
        assert [
            m["value"]["bookmarks"]["s"]["n"] for m in lines(stdout) if m["type"] == "STATE"
        ] == [
            1,
            2,
        ]


def test_an_unchanged_state_is_not_written_again():
    with captured() as stdout:
        writer = RunMessageWriter()
        states = PacedStateWriter(writer, interval_seconds=0, output_per_state=OUTPUT_PER_STATE)
        state = {"bookmarks": {"s": {"n": 1}}}
        states.write_state(state)
        records(writer, 100)
        states.write_state(state)
        states.flush()
        assert sum(m["type"] == "STATE" for m in lines(stdout)) == 1
