"""The base streams of tap-launchdarkly-events: auth, API versions, errors, rate limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath
from typing_extensions import override

from tap_common.pagination import UniqueCursorPaginator
from tap_common.payload import json_payload
from tap_common.ratelimit import RateLimitPolicy, ResetFormat, Throttle
from tap_common.stream import VendorStream

# The account's budget per ten seconds, shared by every route: the run's throttle. The reset is
# epoch milliseconds and is sometimes already past (then the stream backs off exponentially); an
# IP limit sends Retry-After (docs/api/launchdarkly.md §7).
LAUNCHDARKLY_RATE_LIMITS = RateLimitPolicy(
    remaining_headers=("X-Ratelimit-Global-Remaining",),
    reset_header="X-Ratelimit-Reset",
    reset_format=ResetFormat.EPOCH_MS,
)
# A route's own budget (tighter on some: the audit log, members): each stream reads one route
# and steers by its own throttle, so a route spent by one stream never surprises another.
ROUTE_RATE_LIMITS = RateLimitPolicy(
    remaining_headers=("X-Ratelimit-Route-Remaining",),
    reset_header="X-Ratelimit-Reset",
    reset_format=ResetFormat.EPOCH_MS,
)


class NextLinkCursorPaginator(UniqueCursorPaginator):
    """Only one parameter of ``_links.next.href`` (``after``, or ``offset`` of the listings);
    the stream re-sends its own parameters.

    Whether LaunchDarkly's next link repeats the caller's parameters is UNVERIFIED
    (docs/api/launchdarkly.md §5): a bare ``?after=`` link would silently move ``to`` to "now".
    """

    def __init__(self, parameter: str = "after") -> None:
        super().__init__("$._links.next.href")
        self._parameter = parameter

    @override
    def extract_cursor(self, response: requests.Response) -> str | None:
        """The parameter's value in the next link; None when there is no (or an empty) link."""
        href = next(extract_jsonpath(self._jsonpath, json_payload(response)), None)
        if not href:
            return None
        return parse_qs(urlparse(href).query).get(self._parameter, [None])[0]


class LaunchDarklyStream(VendorStream[Any]):
    """A LaunchDarkly REST endpoint: raw token, its ``LD-API-Version`` exactly once (``beta``
    for the beta routes, flag events)."""

    vendor = "LaunchDarkly"
    #: The API version asked for: ``beta`` routes refuse any other (docs/api/launchdarkly.md §2).
    api_version: ClassVar[str] = "beta"
    credential_hint = (
        "the `api_token` setting: a LaunchDarkly access token (personal or service) with read "
        "access, and `api_url` (the instance the token belongs to: https://app.launchdarkly.com, "
        "https://app.eu.launchdarkly.com or https://app.launchdarkly.us)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._route_throttle = Throttle(ROUTE_RATE_LIMITS)

    @override
    def request_decorator(self, func: Callable) -> Callable:
        """Every try waits for the route's budget too (the run's throttle waits for the
        account's)."""

        def steered(*args: Any, **kwargs: Any) -> requests.Response:
            self._route_throttle.wait()
            return func(*args, **kwargs)

        return super().request_decorator(steered)

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        """The beta route answers 403 without ``LD-API-Version: beta``; one value only."""
        return super().http_headers | {"LD-API-Version": self.api_version}

    @override
    def get_new_paginator(self) -> NextLinkCursorPaginator:
        """Follow ``_links.next`` until it is missing or empty."""
        return NextLinkCursorPaginator()

    @override
    def validate_response(self, response: requests.Response) -> None:
        """A refused API version is not a credential problem: say what it is."""
        self._route_throttle.observe(response.headers)
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


class LaunchDarklyListStream(LaunchDarklyStream):
    """A listing paged by ``limit``/``offset``, its largest page, ``_links.next`` to go on.

    The API version is pinned (docs/api/launchdarkly.md §10): a token otherwise answers in the
    version it was created with, and before 20240415 some listings were not paged.
    """

    api_version = "20240415"
    records_jsonpath = "$.items[*]"
    #: The largest ``limit`` the route takes.
    page_size: ClassVar[int] = 100

    @override
    def get_new_paginator(self) -> NextLinkCursorPaginator:
        """The ``offset`` of ``_links.next`` until there is none."""
        return NextLinkCursorPaginator("offset")

    @override
    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        """The largest page, from the offset the last page's next link names."""
        return {"limit": self.page_size, "offset": next_page_token}
