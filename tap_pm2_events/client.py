"""The base streams of tap-pm2-events: OAuth token, the bucket's data node, errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.auth import AccessToken, RefreshingTokenAuth
from tap_common.payload import json_payload
from tap_common.ratelimit import RateLimitPolicy
from tap_common.runtime import TapRuntime
from tap_common.stream import VendorStream
from tap_common.timeutil import parse_utc

# PM2 documents no rate limit (docs/api/pm2.md §5, UNVERIFIED): honour Retry-After if a 429
# ever comes.
PM2_RATE_LIMITS = RateLimitPolicy()
CREDENTIAL_HINT = (
    "the `refresh_token` setting (PM2.io dashboard → Settings → create a token), `client_id` "
    "and `auth_url`"
)


class Pm2TokenAuth(RefreshingTokenAuth):
    """The refresh token exchanged at ``{auth_url}/api/oauth/token`` for an access token."""

    vendor = "PM2"
    credential_hint = CREDENTIAL_HINT

    def __init__(self, config: Mapping[str, Any], runtime: TapRuntime, user_agent: str) -> None:
        super().__init__(runtime, timeout=config["request_timeout"], user_agent=user_agent)
        self.url = str(config["auth_url"]).rstrip("/") + "/api/oauth/token"
        self.client_id = str(config["client_id"])
        self.refresh_token = str(config["refresh_token"])

    @override
    def exchange(self, previous: AccessToken | None) -> AccessToken:
        """JSON body, as the current official client sends it (docs/api/pm2.md §3.2)."""
        body = self.post_json(
            self.url,
            {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "refresh_token": self.refresh_token,
            },
        )
        # The answer repeats the refresh token; should PM2 ever rotate it, keep the new one.
        self.refresh_token = body.get("refresh_token") or self.refresh_token
        expire_at = body.get("expire_at")
        return AccessToken(str(body["access_token"]), parse_utc(expire_at) if expire_at else None)


class Pm2Stream(VendorStream[Any]):
    """A PM2 Plus API route: Bearer access token, ``{"msg": ...}`` error bodies."""

    vendor = "PM2"
    credential_hint = CREDENTIAL_HINT

    @override
    def vendor_error_detail(self, response: requests.Response) -> str:
        """``msg`` of PM2's error body (UNVERIFIED shape: fall back to the text)."""
        try:
            return str(json_payload(response)["msg"])
        except (ValueError, KeyError, TypeError):
            return super().vendor_error_detail(response)


class BucketDataStream(Pm2Stream):
    """A route of one bucket's data node (``node.endpoints.web`` of the bucket)."""

    # The data routes take a JSON body (docs/api/pm2.md §4).
    payload_as_json = True

    @override
    def get_url(self, context: Context | None) -> str:
        """The data node's URL (from the bucket, in the context): bucket routes are not served
        by the main API host."""
        assert context is not None
        base = str(context["data_endpoint"]).rstrip("/")
        return base + self.path.format(bucket_id=context["bucket_id"])
