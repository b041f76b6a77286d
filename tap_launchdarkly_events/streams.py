"""The streams of tap-launchdarkly-events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.payload import json_payload
from tap_common.timeutil import DEFAULT_HISTORY, as_count, from_epoch_ms, to_epoch_ms, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import CountSizedWindows, Window
from tap_launchdarkly_events import schemas
from tap_launchdarkly_events.client import LaunchDarklyStream

# Less than this left before the server's now is left to the next run (and its look-back).
CATCH_UP = timedelta(minutes=1)
# Events per window unless `window_max_events` says otherwise: 100 pages of the largest size.
DEFAULT_WINDOW_EVENTS = 10_000


class FlagEventsStream(WindowedStream[Any], LaunchDarklyStream):
    """Flag events of the project, one partition per environment; incremental on event time.

    Each run re-reads ``lookback_minutes`` before the bookmark, so an event whose impact was
    still ``waiting`` is read again once LaunchDarkly has computed it; the primary key upserts
    it (at-least-once delivery). Events are not assumed to come in any order: the bookmark is the
    newest event time seen, promoted after every completed window.

    Windows are sized by count, not by calendar: the first one asks for everything up to now,
    and LaunchDarkly's ``totalCount`` on its first page says whether it holds more than
    ``window_max_events``; if so it is cut (before any of it is emitted) and later windows are
    sized from the density seen. Windows are planned on the server's clock (known once it has
    answered, and moving on during a long sync); less than CATCH_UP before its now is left to
    the next run.
    """

    name = "flag_events"
    path = "/api/v2/engineering-insights/flag-events"
    primary_keys = ("id",)
    replication_key = "eventDateTime"
    records_jsonpath = "$.items[*]"
    schema = schemas.FLAG_EVENT.to_dict()
    _sizer: CountSizedWindows  # the planner of the partition being read

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One partition per configured environment."""
        return [{"environmentKey": key} for key in self.config["environment_keys"]]

    @override
    def windows(self, context: Context) -> CountSizedWindows:
        """From the bookmark (less the look-back) to the server's now, cut by count."""
        clock = self.runtime.server_clock
        start = self.resume_start(
            context,
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            default=clock.now() - DEFAULT_HISTORY,
        )
        self._sizer = CountSizedWindows(
            self.config["window_max_events"], start, clock.now, catch_up=CATCH_UP
        )
        return self._sizer

    @override
    def window_params(self, window: Window, context: Context, page: Any) -> dict[str, Any]:
        """The full parameter set on every page; only the cursor comes from the API."""
        config = self.config
        first_environment = context["environmentKey"] == config["environment_keys"][0]
        has_experiments = config.get("has_experiments")
        return {
            "projectKey": config["project_key"],
            "environmentKey": context["environmentKey"],
            "from": to_epoch_ms(window.start),
            # Sent inclusive of the window's end; events at that instant are left to the next
            # window (see window_records), which is exact whether `to` is inclusive or not.
            "to": to_epoch_ms(window.end),
            "limit": config["page_size"],
            "after": page,
            "applicationKey": ",".join(config.get("application_keys") or []) or None,
            "query": config.get("query"),
            "impactSize": config.get("impact_size"),
            "hasExperiments": None if has_experiments is None else str(has_experiments).lower(),
            # Global events belong to no environment: read them once, with the first one.
            "global": "include" if config["include_global"] and first_environment else "exclude",
            "expand": "experiments" if config["expand_experiments"] else None,
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The page's events inside ``[start, end)``, with a UTC time; a window whose first page
        counts more than a window may hold is cut before any of it is emitted."""
        body = json_payload(response)
        # totalCount on every page is UNVERIFIED (docs/api/launchdarkly.md §5): only a count counts.
        self._sizer.total(as_count(body.get("totalCount")))
        first, end = to_epoch_ms(window.start), to_epoch_ms(window.end)
        for event in body["items"]:
            if first <= event["eventTime"] < end:
                event["eventDateTime"] = to_utc_iso(from_epoch_ms(event["eventTime"]))
                # A global event has no environment: say so, or the SDK would stamp the
                # partition's environmentKey on it.
                event.setdefault("environmentKey", None)
                yield event
