"""The next-link paginator: only the ``after`` cursor, never a loop, empty pages go on."""

from __future__ import annotations

import pytest

from tap_common.pagination import RepeatedCursorError
from tap_launchdarkly_events.client import NextLinkCursorPaginator
from tests.common.test_pagination import response, walk


def next_link(after: str | None) -> dict:
    href = "/api/v2/flag-events?projectKey=p&limit=5" + (f"&after={after}" if after else "")
    return {"items": [], "_links": {"next": {"href": href}}}


def test_only_the_after_cursor_is_taken_from_the_next_link():
    paginator = NextLinkCursorPaginator()
    assert walk(paginator, [next_link("id-1"), next_link("id-2")]) == ["id-1", "id-2"]
    assert paginator.get_next(response({"items": [], "_links": {}})) is None
    assert paginator.get_next(response(next_link(None))) is None


def test_a_next_link_pointing_back_is_refused():
    paginator = NextLinkCursorPaginator()
    walk(paginator, [next_link("id-1"), next_link("id-2")])
    with pytest.raises(RepeatedCursorError):
        paginator.advance(response(next_link("id-1")))


def test_an_empty_page_with_a_next_link_does_not_end_the_listing():
    paginator = NextLinkCursorPaginator()
    assert paginator.continue_if_empty(response(next_link("id-9")))
    assert not paginator.continue_if_empty(response({"items": [], "_links": {}}))
