"""The base stream of tap-launchdarkly-events: auth, the beta header, errors, rate limits."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath
from typing_extensions import override

from tap_common.pagination import UniqueCursorPaginator
from tap_common.payload import json_payload
from tap_common.ratelimit import RateLimitPolicy, ResetFormat
from tap_common.stream import VendorStream

# Route and account budgets per ten seconds; the reset is epoch milliseconds and is sometimes
# already past (then the stream backs off exponentially); an IP limit sends Retry-After
# (docs/api/launchdarkly.md §7).
LAUNCHDARKLY_RATE_LIMITS = RateLimitPolicy(
    remaining_headers=("X-Ratelimit-Route-Remaining", "X-Ratelimit-Global-Remaining"),
    reset_header="X-Ratelimit-Reset",
    reset_format=ResetFormat.EPOCH_MS,
)


class NextLinkCursorPaginator(UniqueCursorPaginator):
    """Only the ``after`` cursor of ``_links.next.href``; the stream re-sends its own parameters.

    Whether LaunchDarkly's next link repeats the caller's parameters is UNVERIFIED
    (docs/api/launchdarkly.md §5): a bare ``?after=`` link would silently move ``to`` to "now".
    """

    def __init__(self) -> None:
        super().__init__("$._links.next.href")

    @override
    def extract_cursor(self, response: requests.Response) -> str | None:
        """The ``after`` value of the next link; None when there is no (or an empty) link."""
        href = next(extract_jsonpath(self._jsonpath, json_payload(response)), None)
        if not href:
            return None
        return parse_qs(urlparse(href).query).get("after", [None])[0]


class LaunchDarklyStream(VendorStream[Any]):
    """A LaunchDarkly REST endpoint in beta: raw token, ``LD-API-Version: beta`` exactly once."""

    vendor = "LaunchDarkly"
    credential_hint = (
        "the `api_token` setting: a LaunchDarkly access token (personal or service) with read "
        "access to the project, and `api_url` (https://app.launchdarkly.com: flag events are "
        "not served on the EU instance or in federal environments)"
    )

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        """The beta route answers 403 without ``LD-API-Version: beta``; one value only."""
        return super().http_headers | {"LD-API-Version": "beta"}

    @override
    def get_new_paginator(self) -> NextLinkCursorPaginator:
        """Follow ``_links.next`` until it is missing or empty."""
        return NextLinkCursorPaginator()

    @override
    def validate_response(self, response: requests.Response) -> None:
        """A refused API version is not a credential problem: say what it is."""
        if response.status_code == 403 and "LD-API-Version" in response.text:
            msg = self.runtime.redact(
                f"LaunchDarkly refused the API version for {self._endpoint(response)}: "
                f"{self.vendor_error_detail(response)}"
            )
            raise FatalAPIError(msg)
        super().validate_response(response)

    @override
    def vendor_error_detail(self, response: requests.Response) -> str:
        """``message`` of LaunchDarkly's error body, with each ``errors[]`` attribute."""
        try:
            body = json_payload(response)
            details = [f"{e['attribute']}: {e['reason']}" for e in body.get("errors", [])]
            return "; ".join([str(body["message"]), *details])
        except (ValueError, KeyError, TypeError, AttributeError):
            return super().vendor_error_detail(response)
