"""Rows deleted at the source, marked deleted in the warehouse (full-table streams).

A full-table stream is re-read whole on every run and upserted by primary key, so a row gone
from the vendor's listing would stay in the warehouse for ever. A :class:`FullTableStream`
remembers, in its own state (``present_keys``), the primary keys it emitted and does not know
to be deleted. When a run has read the stream completely, every remembered key it did not see
again is proven gone, and the stream emits, after the whole sync succeeded:

- one tombstone RECORD per gone key: the key fields and ``_sdc_deleted_at`` (the run's start,
  canonical UTC), no version. target-duckdb soft-deletes on it (its upsert sets the row's other
  columns to null) or, with ``hard_delete``, deletes the row; target-postgres (with its default
  ``add_record_metadata``) soft-deletes it the same way;
- then one ACTIVATE_VERSION with the run's version, which every live record of the run carries.
  target-postgres marks (soft) or deletes (``hard_delete``) every row of an older or no version:
  the tombstoned rows (no version) and any row the tap never remembered (loaded before). It is
  sent only after a complete read, never when the stream starts as the SDK would: a target that
  drops older versions on it would empty the table until the sync ends, and for good if it dies.

Tombstones come before the ACTIVATE_VERSION and in the same SCHEMA as the live records, so an
SDK target loads them with the live records in one batch before it applies the version (a new
SCHEMA would start a new sink, and the version could then be applied before the live records
of the old one are written).

A read proves nothing when it was narrowed or cut short: a filter setting (``narrowed_by``), a
parent that was narrowed, deselected or had records filtered out by a stream map, a partition
not read to its end, a feature the vendor reported as not enabled (the ``unproven_reason``
hook), ``_sdc_deleted_at`` deselected or mapped away, BATCH messages. Such a run marks
nothing and remembers what it saw on top of what it knew, so a row added under a filter is
checked by the next complete read. Live records always carry ``_sdc_deleted_at: null``, so a
row that comes back is live again. ``mark_deleted_rows: false`` turns all of it off.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import typing as th
from singer_sdk.mapper import RemoveRecordTransform, StreamMap
from singer_sdk.singerlib import Metadata, MetadataMapping, RecordMessage
from typing_extensions import override

from tap_common.gated import GatedStream
from tap_common.state import PRESENT_KEYS
from tap_common.stream import VendorStream
from tap_common.timeutil import to_utc_iso

if TYPE_CHECKING:
    from singer_sdk import Stream
    from singer_sdk.helpers.types import Context, Record

    from tap_common.tap import VendorTap

DELETED_AT = "_sdc_deleted_at"
SETTING = "mark_deleted_rows"
Key = tuple[Any, ...]


def mark_deleted_rows_setting(*streams: str) -> th.Property:
    """The switch, offered by every tap that has full-table streams (``streams``, by name)."""
    names = " and ".join(", ".join(streams).rsplit(", ", 1))
    return th.Property(
        SETTING,
        th.BooleanType,
        default=True,
        title="Mark deleted rows",
        description=f"Rows of {names} that a complete sync no longer finds at the vendor get "
        "`_sdc_deleted_at` set (a soft delete; removed where the target has `hard_delete`). "
        "A filtered, failed or interrupted sync marks nothing. false: rows stay as last seen.",
    )


def with_deleted_at(schema: dict[str, Any], primary_keys: Sequence[str]) -> dict[str, Any]:
    """``schema`` with a nullable ``_sdc_deleted_at`` date-time (null on live rows).

    A tombstone holds only the primary key: every other field becomes optional and nullable, or
    a target that validates records (the SDK's) would refuse it.
    """
    properties = dict(schema["properties"])
    required = schema.get("required", [])
    for name in required:
        if name not in primary_keys:
            properties[name] = _nullable(properties[name])
    properties[DELETED_AT] = {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "When a sync found the row gone from the vendor; null while it exists.",
    }
    kept = [name for name in required if name in primary_keys]
    return {**schema, "properties": properties, "required": kept}


def _nullable(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("type")
    if kind is None or kind == "null" or (isinstance(kind, list) and "null" in kind):
        return spec
    return spec | {"type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


class PresentKeys:
    """The keys a stream emitted and does not know deleted, as kept in its state.

    State: ``{"fields": [primary key names], "values": [[one key's values], ...]}``, sorted at
    the end of each run; keys new in a run are appended as they are seen, so a run that dies
    still remembers them (tap_common.state checks the shape before a sync).
    """

    def __init__(self, stream_state: dict[str, Any], fields: Sequence[str]) -> None:
        stored = stream_state.get(PRESENT_KEYS)
        if not stored or list(stored["fields"]) != list(fields):
            # None yet, or kept for another primary key: start again (nothing to tombstone).
            stored = stream_state[PRESENT_KEYS] = {"fields": list(fields), "values": []}
        self._values: list[list[Any]] = stored["values"]
        self.keys: set[Key] = {tuple(value) for value in self._values}

    def add(self, key: Key) -> None:
        """Remember ``key`` (already in the state, for a sync that dies before its end)."""
        if key not in self.keys:
            self.keys.add(key)
            self._values.append(list(key))

    def replace(self, keys: Iterable[Key]) -> None:
        """Remember exactly ``keys`` (after a complete read: what it saw)."""
        self.keys = set(keys)
        self._values[:] = [list(key) for key in self.keys]
        self.sort()

    def sort(self) -> None:
        """One order for the stored keys, whatever order they were seen in."""
        self._values.sort(key=_sort_key)


class FullTableStream(VendorStream[Any]):
    """A stream re-read whole on every run, whose rows deleted at the source are marked.

    Declares what narrows its read (``narrowed_by``), and for a vendor answer that leaves it
    incomplete, overrides ``unproven_reason``; the rest is here.
    """

    #: Settings that, when set, limit the read to part of the listing (and its children).
    narrowed_by: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every full-table stream declares the column, whatever the setting: the table keeps
        # one shape, and a tombstone can never reach a target that would drop its mark.
        super().__init_subclass__(**kwargs)
        schema, keys = cls.__dict__.get("schema"), getattr(cls, "primary_keys", ())
        if isinstance(schema, dict):
            keys = keys if isinstance(keys, (list, tuple)) else ()  # declared, not the property
            type.__setattr__(cls, "schema", with_deleted_at(schema, keys))

    def __init__(self, tap: VendorTap, **kwargs: Any) -> None:
        super().__init__(tap, **kwargs)
        self.marks_deletes = bool(self.config.get(SETTING, True))
        # The run's version (milliseconds: two runs within a second stay ordered) and the
        # instant tombstones carry: both the run's start.
        self.run_version: int = tap.initialized_at
        self.deleted_at = to_utc_iso(datetime.fromtimestamp(self.run_version / 1000, timezone.utc))
        if self.marks_deletes:
            self._stream_version = self.run_version  # the SDK puts it on every RECORD
        self._present: PresentKeys | None = None
        self._seen: set[Key] = set()
        self._reads = [0, 0]  # contexts started, read to their end
        self._children_filtered = False

    # -- what a stream may extend ----------------------------------------------------------

    def unproven_reason(self) -> str | None:
        """Why this run's read cannot prove a row gone, or None when it can."""
        if isinstance(self, GatedStream) and self.unavailable is not None:
            return f"{self.vendor} does not offer {self.feature} to this account"
        if self.get_batch_config(self.config):
            return "BATCH messages carry no tombstones"
        if not self.mask.get(("properties", DELETED_AT), True):
            return f"{DELETED_AT} is deselected"
        if any(DELETED_AT not in m.transformed_schema.get("properties", {}) for m in self._maps):
            return f"a stream map removes {DELETED_AT}"
        if narrowing := [name for name in self.narrowed_by if self.config.get(name)]:
            return f"{', '.join(narrowing)} narrows the read"
        started, finished = self._reads
        if finished < started:
            return "a partition was not read to its end"
        if self.parent_stream_type is not None:
            return self._parent_reason()
        return None

    # -- the SDK's hooks ----------------------------------------------------------------------

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """Never the SDK's ACTIVATE_VERSION at the start of the stream (see the module doc)."""
        return False

    @property
    @override
    def metadata(self) -> MetadataMapping:
        """``_sdc_deleted_at`` cannot be deselected (a tombstone without it would only null a
        row), like the primary key."""
        metadata = super().metadata
        entry = metadata.get(("properties", DELETED_AT))
        if entry is not None and entry.inclusion == Metadata.InclusionType.AVAILABLE:
            entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return metadata

    @override
    def _generate_record_messages(self, record: Record) -> Generator[RecordMessage, None, None]:
        # Live rows say so explicitly: one that was marked deleted and came back is live again.
        record.setdefault(DELETED_AT, None)
        yield from super()._generate_record_messages(record)

    @override
    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict, Any, None]:
        # The one place that sees every emitted record and knows whether a context's read
        # reached its end (an error, or an abort the SDK swallows for children, leaves it short).
        # A private SDK method (as is _generate_record_messages): tests/common/test_deletes.py
        # fails if a singer-sdk release changes what they do.
        self._reads[0] += 1
        filters_children = bool(self.child_streams)
        for record in super()._sync_records(context, write_messages=write_messages):
            if self.marks_deletes:
                self._remember(tuple(record[key] for key in self.primary_keys))
            if filters_children and not self.stream_maps[0].get_filter_result(record):
                self._children_filtered = True  # the SDK syncs no children of this record
            yield record
        self._reads[1] += 1

    # -- the end of the sync ---------------------------------------------------------------

    def mark_deleted_rows(self) -> None:
        """Tombstones and the run's version after a complete read; else only remember."""
        if not (self.marks_deletes and self.selected):
            return
        present = self._present_keys()
        if reason := self.unproven_reason():
            present.sort()
            self.logger.info("%s: no rows marked deleted this run (%s)", self.name, reason)
            return
        gone = sorted(present.keys - self._seen, key=_sort_key)
        for key in gone:
            self._write_tombstone(key)
        self._write_activate_version_message(self.run_version)
        present.replace(self._seen)
        self.logger.info(
            "%s: %d row(s) no longer at the source, marked deleted", self.name, len(gone)
        )

    def reason_for_children(self) -> str | None:
        """Why this run's read cannot prove a child row gone, or None when it can."""
        if not self.selected:
            return f"its parent {self.name} is deselected"
        if self._children_filtered:
            return f"a stream map filtered out records of its parent {self.name}"
        if reason := self.unproven_reason():
            return f"its parent {self.name}: {reason}"
        return None

    def _parent_reason(self) -> str | None:
        parent = next((s for s in self._tap.streams.values() if self in s.child_streams), None)
        if not isinstance(parent, FullTableStream):
            return "its parent stream does not report complete reads"
        return parent.reason_for_children()

    def _present_keys(self) -> PresentKeys:
        if self._present is None:
            self._present = PresentKeys(self.stream_state, self.primary_keys or ())
        return self._present

    def _remember(self, key: Key) -> None:
        self._seen.add(key)
        self._present_keys().add(key)

    def _write_tombstone(self, key: Key) -> None:
        tombstone = dict(zip(self.primary_keys or (), key, strict=True))
        tombstone[DELETED_AT] = self.deleted_at
        for message in super()._generate_record_messages(tombstone):
            # No version: target-postgres then deletes (hard_delete) or keeps marked the row
            # when the run's ACTIVATE_VERSION follows.
            message.version = None
            self._tap.write_message(message)

    @property
    def _maps(self) -> list[StreamMap]:
        """The stream maps whose output reaches the target."""
        return [m for m in self.stream_maps if not isinstance(m, RemoveRecordTransform)]


def mark_deleted_rows(streams: Iterable[Stream]) -> None:
    """At the end of a successful sync, every full-table stream settles its deletes."""
    for stream in streams:
        if isinstance(stream, FullTableStream):
            stream.mark_deleted_rows()


def _sort_key(key: Sequence[Any]) -> str:
    return json.dumps(list(key), default=str)
