"""The base stream of tap-segment-config: Segment's auth, envelopes, cursors and rate limits."""

from __future__ import annotations

from typing import Any

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.pagination import UniqueCursorPaginator
from tap_common.payload import json_payload
from tap_common.ratelimit import RateLimitPolicy, ResetFormat
from tap_common.stream import VendorStream

# Segment sends X-RateLimit-* on every success and Retry-After (whole seconds) on a 429
# (docs/api/segment.md §7); the reset is an RFC 5322 date.
SEGMENT_RATE_LIMITS = RateLimitPolicy(
    remaining_headers=("X-RateLimit-Remaining",),
    reset_header="X-RateLimit-Reset",
    reset_format=ResetFormat.HTTP_DATE,
)


class SegmentStream(VendorStream[Any]):
    """A Segment Public API endpoint: Bearer token, ``{"data": ...}`` / ``{"errors": [...]}``."""

    vendor = "Segment"
    credential_hint = (
        "the `api_token` setting: a Segment Public API token (not a legacy Config API token) "
        "with access to this workspace, and `api_url` (US or EU workspace)"
    )

    @override
    def vendor_error_detail(self, response: requests.Response) -> str:
        """The messages (and fields) of Segment's ``{"errors": [...]}`` envelope."""
        try:
            errors = json_payload(response)["errors"]
            return "; ".join(_describe_error(error) for error in errors)
        except (ValueError, KeyError, TypeError):
            return super().vendor_error_detail(response)

    @override
    def requested_wait(self, response: requests.Response) -> float | None:
        """``Retry-After`` first; else the 429 body's ``msBeforeNext``; else the reset date."""
        wait = super().requested_wait(response)
        if wait is not None:
            return wait
        try:
            return float(json_payload(response)["errors"][0]["data"]["msBeforeNext"]) / 1000
        except (ValueError, KeyError, IndexError, TypeError):
            return None


class SegmentListStream(SegmentStream):
    """A cursor-paged Segment list: ``pagination.count`` / ``pagination.cursor``."""

    @override
    def get_new_paginator(self) -> UniqueCursorPaginator:
        """Follow ``data.pagination.next`` until it is absent or null."""
        return UniqueCursorPaginator("$.data.pagination.next")

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """The largest configured page, and the cursor Segment handed back."""
        return {"pagination.count": self.config["page_size"], "pagination.cursor": next_page_token}


def _describe_error(error: dict[str, Any]) -> str:
    message = str(error.get("message") or error.get("type") or "error")
    return f"{message} (field {error['field']})" if error.get("field") else message


def learn_server_time(stream: SegmentStream, path: str, params: dict[str, Any]) -> None:
    """Get one answer from the server before planning on its clock (unless one came already).

    "Today", open buckets and the granularity horizons are the server's: windows planned on a
    skewed local clock could ask for a range Segment refuses, or emit a day still running. A
    stream that runs first probes with a small request of its own endpoint.
    """
    if stream.runtime.server_clock.known:
        return
    probe = stream.build_prepared_request(
        method="GET", url=stream.url_base + path, params=params, headers=stream.http_headers
    )
    stream.request_decorator(stream._request)(probe, None)
