"""Cursor paginators: a cursor seen twice in one listing is an error, never a loop."""

from __future__ import annotations

import json

import pytest
import requests

from tap_common.pagination import RepeatedCursorError, UniqueCursorPaginator


def response(body: dict) -> requests.Response:
    answer = requests.Response()
    answer.status_code = 200
    answer._content = json.dumps(body).encode()
    answer.url = "https://api.example/list"
    return answer


def walk(paginator, bodies: list[dict]) -> list:
    tokens = []
    for body in bodies:
        paginator.advance(response(body))
        tokens.append(paginator.current_value)
    return tokens


def test_a_body_cursor_is_followed_until_null_or_empty():
    paginator = UniqueCursorPaginator("$.pagination.next")
    pages = [{"pagination": {"next": "b"}}, {"pagination": {"next": "c"}}, {"pagination": {}}]
    assert walk(paginator, pages[:2]) == ["b", "c"]
    assert paginator.get_next(response({"pagination": {"next": ""}})) is None
    assert paginator.get_next(response(pages[2])) is None


def test_a_cycle_of_cursors_is_refused():
    paginator = UniqueCursorPaginator("$.pagination.next")
    walk(paginator, [{"pagination": {"next": "a"}}, {"pagination": {"next": "b"}}])
    with pytest.raises(RepeatedCursorError, match="'a' twice"):
        paginator.advance(response({"pagination": {"next": "a"}}))
