"""Streams an account may lack: the vendor's "not available here" answer skips the stream.

Plans, add-ons and instances gate endpoints (Segment's Engage spaces and Protocols, LaunchDarkly's
engineering insights outside the US instance, ...). Such an answer is a 4xx like any refusal, so
each stream says how to recognise it (``feature_unavailable``, from the vendor's error body).
Then the stream warns once, reads nothing more in this run, and the sync goes on; a full-table
stream marks nothing deleted (``unproven_reason``). Any other 4xx stays an error, and a refused
credential still fails the run.

``GatedStream`` must come first among a stream's bases: its skip then wraps the window loop
(no bookmark moves for a window the vendor refused) and every partition of the stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import requests
from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.errors import Answer, classify
from tap_common.stream import VendorStream


class FeatureUnavailableError(FatalAPIError):
    """The vendor answered that this account, plan or instance does not offer the endpoint."""


class GatedStream(VendorStream[Any]):
    """A stream whose endpoint some accounts lack (see the module doc)."""

    #: What the account lacks, for the warning, e.g. "Engage spaces".
    feature: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The vendor's answer once it said the feature is not available, else None.
        self.unavailable: str | None = None

    def feature_unavailable(self, response: requests.Response) -> bool:
        """Whether this 4xx answer says the account lacks the feature (not a bad credential)."""
        raise NotImplementedError

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The records, or none at all from the first "not available" answer on."""
        if self.unavailable is not None:
            return
        try:
            yield from super().get_records(context)
        except FeatureUnavailableError as exc:
            self.unavailable = str(exc)
            self.logger.warning("Skipping %s: %s", self.name, exc)

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Tell "not available for this account" apart from every other refusal."""
        refused = classify(response.status_code) in (Answer.CREDENTIAL, Answer.FATAL)
        if refused and self.feature_unavailable(response):
            self.runtime.observe(response)  # its budget headers count like any answer's
            detail = self.vendor_error_detail(response)
            raise FeatureUnavailableError(
                f"{self.vendor} does not offer {self.feature} to this account "
                f"({response.status_code}: {detail}); the rest of the sync goes on"
            )
        super().validate_response(response)
