"""tap_common.auth: an access token renewed before it expires, replayed once after a 401.

A tiny vendor on loopback issues the tokens and dates every answer by its own clock, which the
tests move; the requests are handled as VendorStream handles them (observe, accept, replay).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tap_common.auth import AccessToken, RefreshingTokenAuth
from tap_common.errors import CredentialError
from tap_common.ratelimit import RateLimitPolicy
from tap_common.redaction import Redactor
from tap_common.runtime import TapRuntime

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
CREDENTIAL = "key-" + "Hq5" * 8
HINT = "the `api_key` setting"


class TokenVendor(ThreadingHTTPServer):
    """``POST /token``: the credential for a token; ``GET /data``: 200 with a live token, or 401."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.now = NOW  # the vendor's clock, in the Date header of every answer
        self.lifetime = 3600  # seconds a token lives
        self.refusal: int | None = None  # the status answering every exchange, if set
        self.issued: dict[str, datetime] = {}  # access token -> when it expires
        self.refresh_tokens: list[str] = []
        self.revoked: set[str] = set()
        self.accepts_tokens = True  # False: every token is refused (the account may not read)
        self.seen: list[str] = []  # the token each GET /data carried

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def exchange(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.refusal or body.get("credential") != CREDENTIAL:
            # Some vendors echo what they were sent, and what they issued before.
            return self.refusal or 401, {"refused": body, "issued": list(self.issued)}
        access = f"access-{len(self.issued) + 1}-Tq7Tq7Tq7"
        refresh = f"refresh-{len(self.issued) + 1}-Wm3Wm3Wm3"
        self.issued[access] = self.now + timedelta(seconds=self.lifetime)
        self.refresh_tokens.append(refresh)
        # "jwt": a name that does not say "token", so only the authenticator knows it is secret
        return 200, {"jwt": access, "refresh_token": refresh, "expires_in": self.lifetime}

    def data(self, authorization: str) -> tuple[int, dict[str, Any]]:
        token = authorization.removeprefix("Bearer ")
        self.seen.append(token)
        live = token in self.issued and token not in self.revoked and self.now < self.issued[token]
        return (200, {"data": []}) if live and self.accepts_tokens else (401, {"message": "No"})


class _Handler(BaseHTTPRequestHandler):
    server: TokenVendor

    def do_POST(self) -> None:
        self._answer(*self.server.exchange(json.loads(self.rfile.read(self._length()))))

    def do_GET(self) -> None:
        self._answer(*self.server.data(self.headers.get("Authorization", "")))

    def _length(self) -> int:
        return int(self.headers.get("Content-Length", 0))

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(self.server.now.timestamp(), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ExampleAuth(RefreshingTokenAuth):
    """A vendor's subclass: the credential (and the refresh token held) for an access token."""

    vendor = "Example"
    credential_hint = HINT

    def __init__(self, runtime: TapRuntime, url: str) -> None:
        super().__init__(runtime, timeout=5, user_agent="tests")
        self.url = url
        self.refresh_token: str | None = None

    def exchange(self, previous: AccessToken | None) -> AccessToken:
        body = self.post_json(
            f"{self.url}/token", {"credential": CREDENTIAL, "refresh_token": self.refresh_token}
        )
        self.refresh_token = body["refresh_token"]
        expires_at = self.runtime.server_clock.now() + timedelta(seconds=body["expires_in"])
        return AccessToken(body["jwt"], expires_at)


@pytest.fixture
def vendor() -> Iterator[TokenVendor]:
    server = TokenVendor()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def auth(vendor: TokenVendor) -> ExampleAuth:
    runtime = TapRuntime(policy=RateLimitPolicy(), redact=Redactor([CREDENTIAL]))
    return ExampleAuth(runtime, vendor.url)


def get(auth: ExampleAuth) -> requests.Response:
    """GET /data as a stream does: learn the server's clock, and that a token works."""
    response = requests.get(f"{auth.url}/data", auth=auth, timeout=5)
    auth.runtime.observe(response)
    if response.ok:
        auth.accepted(response.request)
    return response


@pytest.mark.parametrize(
    ("lifetime", "kept_at", "renewed_at"),
    [
        (3600, timedelta(minutes=58), timedelta(minutes=59, seconds=30)),  # a minute before
        (40, timedelta(seconds=19), timedelta(seconds=21)),  # a short token: at half its life
    ],
    ids=["long-lived", "short-lived"],
)
def test_one_token_serves_every_request_until_it_is_about_to_expire(
    vendor, auth, lifetime, kept_at, renewed_at
):
    vendor.lifetime = lifetime
    statuses = [get(auth).status_code]
    vendor.now = NOW + kept_at
    statuses += [get(auth).status_code, get(auth).status_code]  # the 2nd knows the vendor's time
    vendor.now = NOW + renewed_at
    statuses += [get(auth).status_code, get(auth).status_code]
    first, second = vendor.issued
    assert vendor.seen == [first, first, first, first, second]
    assert statuses == [200] * 5  # renewed before it expired, not after a 401


def test_a_401_on_a_token_that_worked_renews_it_once_for_every_request_refused(vendor, auth):
    assert get(auth).status_code == 200
    vendor.revoked.add(next(iter(vendor.issued)))  # expired early, as tokens do
    refused = [get(auth), get(auth)]  # two requests in flight with the old token
    assert [r.status_code for r in refused] == [401, 401]
    assert all(auth.replay_after_unauthorized(r.request) for r in refused)
    assert [get(auth).status_code, get(auth).status_code] == [200, 200]
    first, second = vendor.issued  # one renewal for both
    assert vendor.seen == [first, first, first, second, second]


def test_a_401_on_a_token_renewed_after_a_401_stops_the_replays(vendor, auth):
    vendor.accepts_tokens = False
    refused = get(auth)
    assert refused.status_code == 401
    assert auth.replay_after_unauthorized(refused.request)  # maybe expired: renew and replay
    refused_again = get(auth)
    assert refused_again.status_code == 401
    assert not auth.replay_after_unauthorized(refused_again.request)
    assert len(vendor.issued) == 2


@pytest.mark.parametrize("status", [400, 401, 403])
def test_a_refused_exchange_is_a_credential_error_with_the_hint_and_no_secret(vendor, auth, status):
    assert get(auth).status_code == 200  # a token and a refresh token issued: secrets too
    vendor.refusal = status
    vendor.revoked.update(vendor.issued)
    refused = get(auth)
    with pytest.raises(CredentialError) as failed:
        auth.replay_after_unauthorized(refused.request)
    message = str(failed.value)
    assert f"Example refused to issue an access token ({status}) at /token" in message
    assert message.endswith(f"Check {HINT}.")
    secrets = [CREDENTIAL, *vendor.issued, *vendor.refresh_tokens]
    assert [secret for secret in secrets if secret in message] == []
    assert "****" in message  # the vendor's words are there, masked
