"""Short-lived access tokens: exchanged once, refreshed before expiry and once after a 401.

A vendor's tap subclasses :class:`RefreshingTokenAuth` and implements :meth:`exchange` (how a
long-lived credential becomes an access token). One instance serves every stream of a run, so
the credential is exchanged once, not once per stream. The SDK calls the instance before every
attempt of every request (retries included), so a replay carries the newest token.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
from requests.auth import AuthBase
from singer_sdk.exceptions import RetriableAPIError

from tap_common.errors import Answer, CredentialError, classify
from tap_common.payload import json_payload

if TYPE_CHECKING:
    from tap_common.runtime import TapRuntime

# Refresh this long before the vendor's expiry, so a request in flight never carries a token
# that dies on the way (clocks compared on the server's time, from its Date header).
REFRESH_MARGIN = timedelta(minutes=1)


class TokenExchangeError(CredentialError):
    """The vendor refused to issue an access token: the long-lived credential is wrong."""


@dataclass
class AccessToken:
    """An access token, when it stops working (None: not said), and what we know of it."""

    value: str
    expires_at: datetime | None = None
    issued_at: datetime | None = None  # server time when received (set by the authenticator)
    after_unauthorized: bool = False  # issued because the previous one got a 401
    accepted: bool = False  # a request carrying it has succeeded


class RefreshingTokenAuth(AuthBase, ABC):
    """``Authorization: Bearer <token>``, with the token kept fresh."""

    #: Vendor name and the settings to check when the exchange is refused.
    vendor: str
    credential_hint: str

    def __init__(self, runtime: TapRuntime, *, timeout: float, user_agent: str) -> None:
        self.runtime = runtime
        self.timeout = timeout
        self.user_agent = user_agent
        self.session = requests.Session()
        self.exchanges = 0
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    @abstractmethod
    def exchange(self, previous: AccessToken | None) -> AccessToken:
        """A new access token from the vendor (``previous``: the one being replaced)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Put the current token on the request, refreshing it first if it is about to expire."""
        request.headers["Authorization"] = f"Bearer {self.current()}"
        return request

    def current(self) -> str:
        """The access token to send now."""
        with self._lock:
            token = self._token
            if token is None or self._expiring(token):
                token = self._renew(token, after_unauthorized=False)
            return token.value

    def accepted(self, request: requests.PreparedRequest) -> None:
        """A request succeeded: its token works (so a later 401 means it has expired)."""
        with self._lock:
            if self._token is not None and self._used(request) == self._token.value:
                self._token.accepted = True

    def replay_after_unauthorized(self, request: requests.PreparedRequest) -> bool:
        """After a 401: whether to replay ``request`` with a new token (at most once in a row).

        A token that has worked and now gets a 401 has expired: renew it and replay. A token
        issued because of a 401 that is refused before it ever worked means the credential
        itself is not accepted: stop.
        """
        with self._lock:
            token = self._token
            if token is None or self._used(request) != token.value:
                return True  # a newer token exists already: replay with it
            if token.after_unauthorized and not token.accepted:
                return False
            self._renew(token, after_unauthorized=True)
            return True

    # -- for subclasses ----------------------------------------------------------------------

    def post_json(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a token request; classify the answer like any API call (never echo secrets)."""
        self.exchanges += 1
        try:
            response = self.session.post(
                url,
                json=body,
                timeout=self.timeout,
                headers={"Accept": "application/json", "User-Agent": self.user_agent},
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            msg = f"{self.vendor} token exchange failed ({type(exc).__name__}) at {_path(url)}"
            raise RetriableAPIError(msg) from exc
        self.runtime.observe(response)
        status = response.status_code
        answer = classify(status)
        if answer is Answer.RETRY:
            msg = f"{self.vendor} token exchange answered {status} at {_path(url)}"
            raise RetriableAPIError(msg, response)
        if answer is not Answer.OK:
            detail = self.runtime.redact(response.text)[:300]  # masked whole, then cut
            msg = (
                f"{self.vendor} refused to issue an access token ({status}) at {_path(url)}: "
                f"{detail}. Check {self.credential_hint}."
            )
            raise TokenExchangeError(msg)
        try:
            body = json_payload(response)
        except ValueError as exc:
            msg = f"{self.vendor} token exchange sent an unreadable body at {_path(url)}"
            raise RetriableAPIError(msg, response) from exc
        self._keep_secret(body)
        return body

    # -- internals ---------------------------------------------------------------------------

    def _renew(self, previous: AccessToken | None, *, after_unauthorized: bool) -> AccessToken:
        token = self.exchange(previous)
        token.issued_at = self.runtime.server_clock.now()
        token.after_unauthorized = after_unauthorized
        self.runtime.redact.add(token.value)
        self._token = token
        return token

    def _keep_secret(self, body: dict[str, Any]) -> None:
        """Every token-looking value of an exchange answer joins the redaction list."""
        for name, value in body.items():
            if "token" in name.lower() and isinstance(value, str) and value:
                self.runtime.redact.add(value)

    def _expiring(self, token: AccessToken) -> bool:
        if token.expires_at is None:
            return False
        margin = REFRESH_MARGIN
        if token.issued_at is not None:  # a short-lived token is renewed at half its life
            margin = min(margin, (token.expires_at - token.issued_at) / 2)
        return self.runtime.server_clock.now() >= token.expires_at - margin

    @staticmethod
    def _used(request: requests.PreparedRequest) -> str:
        header = request.headers.get("Authorization") or ""
        return header.removeprefix("Bearer ")


def _path(url: str) -> str:
    return urlparse(url).path or "/"
