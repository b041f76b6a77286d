"""The windowed stream base: every incremental time-window stream of every tap reads this way.

The base owns the loop: plan the next window, read it through the SDK's own request loop (which
sends, retries, paginates and counts), promote the bookmark, and log one line. A stream declares
only how its windows are planned (:meth:`WindowedStream.windows`: calendar units or sized by
count), how a window becomes request parameters (:meth:`WindowedStream.window_params`), and how
a page becomes records (:meth:`WindowedStream.window_records`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, overload

import requests
from typing_extensions import override

from tap_common.stream import TToken, VendorStream
from tap_common.timeutil import to_utc_iso
from tap_common.windows import Unit, Window, WindowOverfullError, Windows, resume_from

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_common.tap import VendorTap


class _ResumableProgressFilter(logging.Filter):
    """Drops the SDK's "progress is not resumable" warning for windowed streams.

    The SDK warns whenever an unsorted stream starts tracking progress; a windowed stream
    promotes its bookmark after every window read whole, so it is resumable at those points, and
    the warning, repeated per window, would mislead the reader.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Stream is assumed to be unsorted")


RESUMABLE_PROGRESS_FILTER = _ResumableProgressFilter()


class WindowedStream(VendorStream[TToken]):
    """An incremental stream read window by window, its bookmark promoted after each one."""

    # Records within a window come in the vendor's order, and a rerun re-reads a look-back: the
    # bookmark is the newest replication-key value of the windows read whole.
    is_sorted = False
    #: Whether a window can be cut after its first page (then it is held back until read whole,
    #: so nothing of a cut window is ever emitted twice).
    buffers_windows: ClassVar[bool] = False

    def __init__(self, tap: VendorTap, **kwargs: Any) -> None:
        super().__init__(tap, **kwargs)
        self._window: Window | None = None
        logging.getLogger("singer_sdk").addFilter(RESUMABLE_PROGRESS_FILTER)

    # -- what a stream declares ----------------------------------------------------------------

    def windows(self, context: Context) -> Windows:
        """The planner of this partition's windows, from its bookmark."""
        raise NotImplementedError

    def window_params(
        self, window: Window, context: Context, page: TToken | None
    ) -> dict[str, Any]:
        """The request's parameters (query for GET, JSON body otherwise) for a page."""
        raise NotImplementedError

    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The records of one page of ``window``."""
        raise NotImplementedError

    # -- for planning ----------------------------------------------------------------------------

    @overload
    def resume_start(
        self, context: Context, *, default: datetime, lookback: timedelta = ..., unit: None = ...
    ) -> datetime: ...
    @overload
    def resume_start(
        self, context: Context, *, lookback: timedelta = ..., unit: Unit | None = ...
    ) -> datetime | None: ...
    def resume_start(
        self,
        context: Context,
        *,
        default: datetime | None = None,
        lookback: timedelta = timedelta(0),
        unit: Unit | None = None,
    ) -> datetime | None:
        """Where this partition's read starts: :func:`resume_from` on its bookmark, else
        ``default``."""
        start = resume_from(
            self.get_context_state(context).get("replication_key_value"),
            start_date=self.config.get("start_date"),
            lookback=lookback,
            unit=unit,
        )
        return default if start is None else start

    # -- the loop --------------------------------------------------------------------------------

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every window from the bookmark on; a window found overfull is replaced by a cut one."""
        if not context:  # a partitioned stream with nothing configured: no partitions
            return
        windows = self.windows(context)
        while (window := windows.next()) is not None:
            self._window = window
            try:
                yield from self._read(context, window, windows)
            except WindowOverfullError:
                continue

    def _read(self, context: Context, window: Window, windows: Windows) -> Iterator[dict]:
        """One window's records, then its checkpoint and one line saying what was read.

        The line names the stream, partition and window, the records and the time taken: a
        person can follow a sync window by window (never record by record).
        """
        started, count = time.monotonic(), 0
        records = super().get_records(context)
        for record in list(records) if self.buffers_windows else records:
            count += 1
            yield record
        windows.held(count)
        self.finalize_state_progress_markers(self.get_context_state(context))
        self.logger.info(
            "%s [%s] %s to %s: %d records in %.2f s",
            self.name,
            ", ".join(f"{key}={value}" for key, value in context.items()),
            to_utc_iso(window.start),
            to_utc_iso(window.end),
            count,
            time.monotonic() - started,
        )

    # -- the SDK's hooks, fed the window being read ----------------------------------------------

    @override
    def get_url_params(self, context: Context | None, next_page_token: TToken | None) -> Any:
        """The window's parameters as the query of a GET."""
        if self.http_method != "GET":
            return {}
        return self.window_params(self._reading(), context or {}, next_page_token)

    @override
    def prepare_request_payload(
        self, context: Context | None, next_page_token: TToken | None
    ) -> dict | None:
        """The window's parameters as the JSON body of a POST."""
        if self.http_method == "GET":
            return None
        return self.window_params(self._reading(), context or {}, next_page_token)

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The page's records."""
        return self.window_records(self._reading(), response)

    def _reading(self) -> Window:
        assert self._window is not None, "a request outside the window loop"
        return self._window
