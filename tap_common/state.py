"""State and catalog files checked before a sync: a clear error, or a documented fallback.

- A ``--state`` or ``--catalog`` file that is not JSON stops the tap before any request, naming
  the option (not a JSON traceback).
- A bookmark whose value is not a date-time, or state that is not shaped like Singer state,
  stops the tap naming the stream and partition: resuming from it would be a guess.
- Bookmarks for streams this tap does not have (another tap's state file) are ignored with a
  warning naming them; a stream without a bookmark starts from ``start_date`` as on a first run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

import click

from tap_common.timeutil import parse_utc


class StateError(ValueError):
    """The state given to the tap cannot be resumed from."""


def checked_json_file(handle: IO[str] | None, option: str) -> IO[str] | None:
    """The file's text again, after checking it is JSON (click reports a bad one and exits 2)."""
    if handle is None:
        return None
    text = handle.read()
    try:
        json.loads(text)
    except ValueError as exc:
        msg = f"{getattr(handle, 'name', 'the file')} is not JSON ({exc})"
        raise click.BadParameter(msg, param_hint=f"'{option}'") from exc
    return io.StringIO(text)


def unknown_streams(state: Mapping[str, Any], streams: Mapping[str, str | None]) -> list[str]:
    """Check ``state`` against ``streams`` (name -> replication key); names it does not know.

    Raises StateError for state that is not Singer state or a bookmark that is not a date-time.
    """
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, Mapping):
        msg = "state: `bookmarks` must be an object of stream name -> bookmark"
        raise StateError(msg)
    for name, value, where in _bookmark_values(bookmarks):
        if name in streams and streams[name] and value is not None:
            try:
                parse_utc(value)
            except (TypeError, ValueError) as exc:
                msg = f"state: bookmark of {name}{where} is not a date-time: {value!r}"
                raise StateError(msg) from exc
    return sorted(name for name in bookmarks if name not in streams)


def _bookmark_values(bookmarks: Mapping[str, Any]) -> Iterator[tuple[str, Any, str]]:
    for name, stream_state in bookmarks.items():
        if not isinstance(stream_state, Mapping):
            msg = f"state: the bookmark of {name} must be an object"
            raise StateError(msg)
        yield name, stream_state.get("replication_key_value"), ""
        for partition in stream_state.get("partitions") or []:
            if not isinstance(partition, Mapping):
                msg = f"state: a partition of {name} must be an object"
                raise StateError(msg)
            context = partition.get("context") or {}
            where = " [" + ", ".join(f"{k}={v}" for k, v in context.items()) + "]"
            yield name, partition.get("replication_key_value"), where
