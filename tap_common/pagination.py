"""Paginators shared by the taps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.pagination import BaseAPIPaginator, JSONPathPaginator

from tap_common.payload import json_payload
from tap_common.windows import Window


class RepeatedCursorError(RuntimeError):
    """The API handed back a cursor it had already given: following it would loop forever."""


class UniqueCursorPaginator(JSONPathPaginator):
    """A cursor that must never repeat within one listing.

    The SDK only notices a cursor repeated on two consecutive pages; a cycle A -> B -> A would
    loop until the process is killed. Any repeat is an error here. The cursor is read from the
    body at ``jsonpath``; subclasses read it elsewhere by overriding :meth:`extract_cursor`.
    """

    def __init__(self, jsonpath: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(jsonpath, *args, **kwargs)
        self._seen: set[str] = set()

    def extract_cursor(self, response: requests.Response) -> str | None:
        """The next page's cursor in ``response``; None (or empty) on the last page."""
        return next(extract_jsonpath(self._jsonpath, json_payload(response)), None)

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page with no records is not the end while the API still gives a cursor."""
        return bool(self.extract_cursor(response))

    def get_next(self, response: requests.Response) -> str | None:
        """The next cursor, or None on the last page (absent, null and empty alike)."""
        cursor = self.extract_cursor(response)
        if not cursor:
            return None
        if cursor in self._seen:
            msg = f"the API returned cursor {cursor!r} twice in one listing ({response.url})"
            raise RepeatedCursorError(msg)
        self._seen.add(cursor)
        return cursor


class WindowPaginator(BaseAPIPaginator[Window]):
    """Walks a planned sequence of time windows, one request per window.

    The SDK's request loop then does the sending, retrying and counting for windowed endpoints
    exactly as for paged ones; the window being fetched is the page token.
    """

    def __init__(self, windows: Sequence[Window]) -> None:
        super().__init__(windows[0])
        self._following = iter(windows[1:])

    def get_next(self, response: requests.Response) -> Window | None:
        """The next window, or None after the last."""
        return next(self._following, None)
