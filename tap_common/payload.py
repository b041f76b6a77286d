"""Decode each response body once, however many hooks read it."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import requests

_decoded: WeakKeyDictionary[requests.Response, Any] = WeakKeyDictionary()


def json_payload(response: requests.Response) -> Any:
    """The decoded JSON body of ``response``; decoded on first use, then remembered.

    Raises ``ValueError`` (``requests`` raises a subclass) when the body is not JSON.
    """
    try:
        return _decoded[response]
    except KeyError:
        payload = _decoded[response] = response.json()
        return payload
