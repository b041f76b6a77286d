"""The base stream of tap-apivideo-analytics: auth, page numbers, api.video's errors and limits."""

from __future__ import annotations

from http import HTTPStatus

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_apivideo_analytics.auth import CREDENTIAL_HINT, ApiVideoTokenAuth
from tap_common.payload import json_payload
from tap_common.ratelimit import RateLimitPolicy, ResetFormat, parse_wait
from tap_common.stream import VendorStream

# Every analytics answer carries X-RateLimit-Remaining and X-RateLimit-Retry-After, the seconds
# until the per-minute window resets (docs/api/apivideo.md §6): the throttle steers on both.
# A 429 asks for a wait in X-RateLimit-Retry-After; a standard Retry-After is not documented
# (UNVERIFIED), so it is honoured too, after the vendor's own header (requested_wait).
APIVIDEO_RATE_LIMITS = RateLimitPolicy(
    remaining_headers=("X-RateLimit-Remaining",),
    reset_header="X-RateLimit-Retry-After",
    reset_format=ResetFormat.DELAY_SECONDS,
)
RETRY_AFTER_HEADER = "X-RateLimit-Retry-After"
# A cheap, unpaginated call whose answer tells the server's clock (see learn_server_time).
CLOCK_PROBE_PATH = "/data/metrics/play/count"


class AnalyticsDisabledError(FatalAPIError):
    """The project of the API key has analytics disabled: no retry or new token can help."""


class PagesTotalPaginator(BaseAPIPaginator[int]):
    """``currentPage`` from 1 while it is below ``pagination.pagesTotal``.

    The next request is built from our own parameters: whether the ``links`` URIs repeat every
    parameter (``from``, ``to``, ``filter``) is UNVERIFIED (docs/api/apivideo.md §4).
    """

    def __init__(self) -> None:
        super().__init__(1)

    @override
    def get_next(self, response: requests.Response) -> int | None:
        """The next page number, or None on the last page."""
        pages = _pages_total(response)
        return self.current_value + 1 if pages and self.current_value < pages else None

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """An empty page before ``pagesTotal`` is not the end."""
        pages = _pages_total(response)
        return pages is not None and self.current_value < pages


def _pages_total(response: requests.Response) -> int | None:
    pagination = json_payload(response).get("pagination") or {}
    try:
        return int(pagination["pagesTotal"])
    except (KeyError, TypeError, ValueError):
        return None


class ApiVideoStream(VendorStream[int]):
    """An api.video analytics endpoint: Basic or Bearer auth, flat problem-style errors."""

    vendor = "api.video"
    credential_hint = CREDENTIAL_HINT

    @override
    def get_new_paginator(self) -> PagesTotalPaginator:
        """Page numbers up to ``pagesTotal``."""
        return PagesTotalPaginator()

    def learn_server_time(self) -> None:
        """Get one answer from the server before planning day windows on its clock.

        "Today" and the 30-day horizon are the server's: a window planned on a skewed local
        clock could ask for a day the API refuses, or miss one. In bearer mode the token
        exchange answers first anyway; in Basic mode one cheap call does it.
        """
        if self.runtime.server_clock.known:
            return
        auth = self.authenticator
        if isinstance(auth, ApiVideoTokenAuth):
            self.request_decorator(auth.current)()
        else:
            probe = self.build_prepared_request(
                method="GET", url=self.url_base + CLOCK_PROBE_PATH, headers=self.http_headers
            )
            self.request_decorator(self._request)(probe, None)

    @override
    def validate_response(self, response: requests.Response) -> None:
        """A 403 for disabled analytics is a project setting, not a bad key: say so."""
        if response.status_code == HTTPStatus.FORBIDDEN and "disabled-analytics" in response.text:
            self.runtime.observe(response)
            msg = self.runtime.redact(
                f"api.video refused analytics ({response.status_code}) for "
                f"{self._endpoint(response)}: {self.vendor_error_detail(response)}. Analytics "
                "are disabled for the project of this `api_key`: enable them in the api.video "
                "dashboard, or use the key of another project."
            )
            raise AnalyticsDisabledError(msg)
        super().validate_response(response)

    @override
    def vendor_error_detail(self, response: requests.Response) -> str:
        """``title``, ``detail`` and the parameter at fault (``name``) of api.video's body."""
        try:
            body = json_payload(response)
            parts = [str(body["title"]), body.get("detail")]
            if body.get("name"):
                parts.append(f"(parameter {body['name']})")
            return " ".join(part for part in parts if part)
        except (ValueError, KeyError, TypeError, AttributeError):
            return super().vendor_error_detail(response)

    @override
    def requested_wait(self, response: requests.Response) -> float | None:
        """On a 429, api.video's ``X-RateLimit-Retry-After``; else ``Retry-After``, if sent.

        On other answers ``X-RateLimit-Retry-After`` only says when the budget refills, which
        is no reason to hold back the retry of a 5xx.
        """
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            wait = parse_wait(
                response.headers.get(RETRY_AFTER_HEADER), ResetFormat.DELAY_SECONDS, 0.0
            )
            if wait is not None:
                return wait
        return super().requested_wait(response)
