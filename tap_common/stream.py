"""The HTTP stream every tap builds on: errors, retries, rate limits, redaction.

What it decides, once for all taps:
- 401 and 403 fail on the first answer with a hint naming the credential setting;
- 429, 5xx, timeouts and broken or truncated connections are retried, waiting as long as the
  vendor's own headers ask (``Retry-After``, reset dates, epoch milliseconds), else backing off
  exponentially; a vendor asking for an absurd wait fails the sync instead of hanging it;
- other 4xx fail at once with the vendor's own message;
- calls slow down before the vendor's budget runs out (see :class:`~tap_common.ratelimit.Throttle`);
- no secret reaches a log line or an error message.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlparse

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.jsonpath import extract_jsonpath
from typing_extensions import override

from tap_common.auth import RefreshingTokenAuth
from tap_common.errors import Answer, CredentialError, classify
from tap_common.payload import json_payload
from tap_common.state import IndexedStateManager
from tap_common.timeutil import to_utc_iso

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Auth, Context
    from singer_sdk.streams._state import StreamStateManager

    from tap_common.runtime import TapRuntime
    from tap_common.tap import VendorTap

TToken = TypeVar("TToken")

# Longest wait a vendor may ask for before we give up: a sync that would sleep longer is better
# failed with a clear message and rescheduled than left hanging.
MAX_VENDOR_WAIT_SECONDS = 900.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
TOKEN_REPLAY_WAIT_SECONDS = 0.01  # a renewed token needs no wait (0 would mean "no hint")


class ExpiredTokenError(RetriableAPIError):
    """A 401 on an expired access token: a new one is ready, replay the request."""


class VendorStream(RESTStream[TToken]):
    """Base for every stream of every tap in this repository."""

    #: Vendor name used in messages, e.g. "Segment".
    vendor: ClassVar[str]
    #: What to check when the API refuses the credential, e.g. "the `api_token` setting".
    credential_hint: ClassVar[str]
    # Records are decoded JSON, so nested values already have JSON types; conforming the root
    # (date-times, integers against the schema) is enough, and conforming every nested value
    # was the largest cost per record.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY
    #: (requests, per seconds) for an endpoint the vendor limits below its global budget; its
    #: calls are then also spaced to fit (tap_common.ratelimit.RouteBudget), keyed by ``path``.
    route_limit: ClassVar[tuple[int, float] | None] = None

    def __init__(self, tap: VendorTap, **kwargs: Any) -> None:
        super().__init__(tap, **kwargs)
        self.runtime: TapRuntime = tap.runtime

    @property
    @override
    def authenticator(self) -> Auth:
        """The run's one authenticator (VendorTap.build_authenticator)."""
        assert self.runtime.authenticator is not None
        return self.runtime.authenticator

    @property
    @override
    def state_manager(self) -> StreamStateManager:
        """The SDK's state manager, with partitions found by an index (IndexedStateManager)."""
        if self._state_manager is None:
            self._state_manager = IndexedStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=self.is_sorted,
                check_sorted=self.check_sorted,
            )
        return self._state_manager

    @property
    @override
    def url_base(self) -> str:
        """The API root from the ``api_url`` setting, so any tap can point at the emulator."""
        return str(self.config["api_url"]).rstrip("/")

    @property
    @override
    def timeout(self) -> int:
        """Seconds before a request is abandoned (and retried)."""
        return int(self.config.get("request_timeout", 300))

    @property
    def user_agent(self) -> str:
        """Identify the tap to the vendor, as API providers ask integrations to do."""
        return self.config.get("user_agent") or f"{self.tap_name} (singer-sdk)"

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        """JSON answers, and who is asking; a vendor adds its own (call super)."""
        return {"Accept": "application/json", "User-Agent": self.user_agent}

    @override
    def build_prepared_request(self, *args: Any, **kwargs: Any) -> requests.PreparedRequest:
        """The request without its credential: the SDK's ``_request`` adds it on every attempt,
        inside the retries, so a token exchange that fails (a 503) is retried like any call."""
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        return self.requests_session.prepare_request(request)

    # -- responses ---------------------------------------------------------------------------

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The records at ``records_jsonpath`` in the (once-decoded) JSON body."""
        yield from extract_jsonpath(self.records_jsonpath, json_payload(response))

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Put the replication key in the one canonical UTC form state comparisons need."""
        key = self.replication_key
        if key and row.get(key) is not None:
            row[key] = to_utc_iso(row[key])
        return row

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify the answer: fatal credential error, retriable, fatal, or good."""
        self.runtime.observe(response)
        answer = classify(response.status_code)
        if response.status_code == HTTPStatus.UNAUTHORIZED and self._replay_with_new_token(
            response
        ):
            msg = f"{self.vendor} access token expired at {self._endpoint(response)}; renewed"
            raise ExpiredTokenError(msg, response)
        if answer is Answer.CREDENTIAL:
            raise CredentialError(self.credential_error_message(response))
        if answer is Answer.RETRY:
            raise RetriableAPIError(self.response_error_message(response), response)
        if answer is Answer.FATAL:
            raise FatalAPIError(self.response_error_message(response))
        if isinstance(self.authenticator, RefreshingTokenAuth):
            self.authenticator.accepted(response.request)
        try:
            json_payload(response)
        except ValueError as exc:
            # A body cut short behind a proxy still says 200: fetch it again.
            msg = f"{self.vendor} API sent an unreadable body for {self._endpoint(response)}"
            raise RetriableAPIError(msg, response) from exc

    def _replay_with_new_token(self, response: requests.Response) -> bool:
        auth = self.authenticator
        return isinstance(auth, RefreshingTokenAuth) and auth.replay_after_unauthorized(
            response.request
        )

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Status, method, path and the vendor's own message; never a secret."""
        text = (
            f"{self.vendor} API answered {response.status_code} {response.reason} "
            f"to {self._endpoint(response)}: {self.vendor_error_detail(response)}"
        )
        return self.runtime.redact(text)

    def credential_error_message(self, response: requests.Response) -> str:
        """The error for a refused credential, with a hint on which setting to check."""
        return self.runtime.redact(
            f"{self.vendor} API refused the credential ({response.status_code}) "
            f"for {self._endpoint(response)}: {self.vendor_error_detail(response)}. "
            f"Check {self.credential_hint}."
        )

    def vendor_error_detail(self, response: requests.Response) -> str:
        """The vendor's explanation from an error body; override per vendor envelope."""
        return self.runtime.redact(response.text)[:500] or response.reason or ""

    @staticmethod
    def _endpoint(response: requests.Response) -> str:
        method = response.request.method if response.request is not None else "GET"
        return f"{method} {urlparse(response.url).path}"

    # -- retries -----------------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable) -> Callable:
        """The SDK's retry decorator around a call that first waits for the rate budget."""

        def throttled(*args: Any, **kwargs: Any) -> requests.Response:
            self.runtime.throttle.wait()
            if self.route_limit is not None:
                self.runtime.route_budget(self.path, *self.route_limit).wait()
            return func(*args, **kwargs)

        return super().request_decorator(throttled)

    @override
    def backoff_max_tries(self) -> int:
        """First try plus the configured number of retries."""
        return int(self.config.get("max_retries", 5)) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Wait what the vendor asks for; without a hint, back off exponentially."""
        exception = yield  # type: ignore[misc]
        attempt = 0
        while True:
            wait = self.vendor_wait(exception)
            if not wait:  # no hint, or a reset already past (LaunchDarkly sends those)
                wait = min(BACKOFF_BASE_SECONDS * 2**attempt, BACKOFF_CAP_SECONDS)
                wait *= 1 + random.random() / 10  # spread retries of parallel syncs apart
            attempt += 1
            exception = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        """No jitter on top: a vendor's ``Retry-After`` is already the exact wait."""
        return value

    def vendor_wait(self, exception: BaseException) -> float | None:
        """Seconds the vendor asked for in the failed response, if it said; capped."""
        if isinstance(exception, ExpiredTokenError):
            return TOKEN_REPLAY_WAIT_SECONDS
        response = getattr(exception, "response", None)
        if not isinstance(response, requests.Response):
            return None
        wait = self.requested_wait(response)
        if wait is not None and wait > MAX_VENDOR_WAIT_SECONDS:
            msg = self.runtime.redact(
                f"{self.vendor} API asked to wait {wait:.0f} s before retrying "
                f"{self._endpoint(response)}; giving up (limit {MAX_VENDOR_WAIT_SECONDS:.0f} s). "
                "Run the sync again later."
            )
            raise FatalAPIError(msg) from exception
        return wait

    def requested_wait(self, response: requests.Response) -> float | None:
        """The wait a failed response asks for, from the vendor's rate-limit headers."""
        return self.runtime.retry_after(response)

    @override
    def backoff_handler(self, details: Any) -> None:
        """One line per retry: what failed, how long we wait, which try this was."""
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        cause = (
            f"{response.status_code} {response.reason}"
            if isinstance(response, requests.Response)
            else type(exception).__name__
        )
        self.logger.warning(
            self.runtime.redact(
                f"Retrying {self.name} ({self.path}) after {cause}: waiting "
                f"{details.get('wait', 0):.1f} s (try {details.get('tries')} of "
                f"{self.backoff_max_tries()})"
            )
        )
