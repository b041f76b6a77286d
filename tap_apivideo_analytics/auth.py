"""api.video's disposable bearer token: ``POST /auth/api-key``, renewed by ``POST /auth/refresh``.

Each refresh hands back a new refresh token and retires the old one (docs/api/apivideo.md
§2.2), so the newest one is kept for the next renewal. A refused refresh (the token was
rotated by someone else, or has aged out) falls back to exchanging the API key again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from tap_common.auth import AccessToken, RefreshingTokenAuth, TokenExchangeError

if TYPE_CHECKING:
    from tap_common.tap import TapRuntime

CREDENTIAL_HINT = (
    "the `api_key` setting: the API key of the api.video project (sandbox and production keys "
    "differ), and `api_url` (https://ws.api.video or https://sandbox.api.video)"
)


class ApiVideoTokenAuth(RefreshingTokenAuth):
    """``Authorization: Bearer <access_token>`` from api.video's token endpoints."""

    vendor = "api.video"
    credential_hint = CREDENTIAL_HINT

    def __init__(
        self, runtime: TapRuntime, *, api_url: str, api_key: str, timeout: float, user_agent: str
    ) -> None:
        super().__init__(runtime, timeout=timeout, user_agent=user_agent)
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self._refresh_token: str | None = None

    def exchange(self, previous: AccessToken | None) -> AccessToken:
        """Refresh when a refresh token is held; otherwise (or if refused) use the API key."""
        body = None
        if previous is not None and self._refresh_token:
            try:
                body = self.post_json(
                    f"{self.api_url}/auth/refresh", {"refreshToken": self._refresh_token}
                )
            except TokenExchangeError:
                body = None
        if body is None:
            body = self.post_json(f"{self.api_url}/auth/api-key", {"apiKey": self._api_key})
        self._refresh_token = body.get("refresh_token")
        expires_in = body.get("expires_in")
        expires_at = (
            self.runtime.server_clock.now() + timedelta(seconds=float(expires_in))
            if expires_in is not None
            else None
        )
        return AccessToken(str(body["access_token"]), expires_at)
