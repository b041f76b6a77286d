"""Errors the taps raise beyond the SDK's own, and the one rule that sorts HTTP answers."""

from __future__ import annotations

from enum import Enum
from http import HTTPStatus

from singer_sdk.exceptions import FatalAPIError


class CredentialError(FatalAPIError):
    """The API refused the credential (401/403, a refused token exchange): retrying can't help."""


class Answer(Enum):
    """What an HTTP status means for the request that got it."""

    OK = "ok"
    RETRY = "retry"  # 429, 5xx: the same request may succeed later
    CREDENTIAL = "credential"  # 401, 403: the credential is refused
    FATAL = "fatal"  # any other 4xx: the request itself is wrong


def classify(status: int) -> Answer:
    """The one rule for stream requests and token exchanges alike."""
    if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Answer.RETRY
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return Answer.CREDENTIAL
    if status >= HTTPStatus.BAD_REQUEST:
        return Answer.FATAL
    return Answer.OK
