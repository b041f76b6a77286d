"""The streams of tap-launchdarkly-events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import requests
from singer_sdk.helpers.types import Context

from tap_common.payload import json_payload
from tap_common.timeutil import from_epoch_ms, to_utc_iso
from tap_common.windows import CountSizedWindows, Window, resume_from
from tap_launchdarkly_events import schemas
from tap_launchdarkly_events.client import LaunchDarklyStream

# What LaunchDarkly itself reads when `from` is omitted (launchdarkly.md §2.2).
DEFAULT_HISTORY = timedelta(days=7)
# Less than this left before the server's now is left to the next run (and its look-back).
CATCH_UP = timedelta(minutes=1)
# Events per window unless `window_max_events` says otherwise: 100 pages of the largest size.
DEFAULT_WINDOW_EVENTS = 10_000


class WindowOverfullError(Exception):
    """The window's first page counts more events than a window may hold: cut it first."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


class FlagEventsStream(LaunchDarklyStream):
    """Flag events of the project, one partition per environment; incremental on event time.

    Each run re-reads ``lookback_minutes`` before the bookmark, so an event whose impact was
    still ``waiting`` is read again once LaunchDarkly has computed it; the primary key upserts
    it (at-least-once delivery). Events are not assumed to come in any order: the bookmark is the
    newest event time seen, promoted after every completed window.

    Windows are sized by count, not by calendar: the first one asks for everything up to now,
    and LaunchDarkly's ``totalCount`` on its first page says whether it holds more than
    ``window_max_events``; if so it is cut (before any of it is emitted) and later windows are
    sized from the density seen. A backlog costs about the fewest requests possible, and a
    crash re-reads at most one window.
    """

    name = "flag_events"
    path = "/api/v2/engineering-insights/flag-events"
    primary_keys = ("id",)
    replication_key = "eventDateTime"
    is_sorted = False
    checkpoints_each_window = True
    records_jsonpath = "$.items[*]"
    schema = schemas.FLAG_EVENT.to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._window: Window | None = None
        self._total: int | None = None  # totalCount of the window, from its first page
        self._windows = CountSizedWindows(DEFAULT_WINDOW_EVENTS)

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """One partition per configured environment."""
        return [{"environmentKey": key} for key in self.config["environment_keys"]]

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every event of the environment, window by window, checkpointing after each.

        Windows are planned one at a time on the server's clock (known once it has answered,
        and moving on during a long sync); less than CATCH_UP before its now is left to the next
        run.
        """
        assert context is not None
        self._windows = windows = CountSizedWindows(self.config["window_max_events"])
        start, clock = self._start(self.get_context_state(context)), self.runtime.server_clock
        while window := windows.next(start, clock.now()):
            self._window, self._total = window, None
            try:
                # After the window: the newest event time becomes the bookmark, STATE goes out.
                yield from self.read_window(context, window, super().get_records(context))
            except WindowOverfullError as overfull:
                windows.cut(window, overfull.total)
                continue
            windows.held(window, self._total or 0)
            start = window.end
            if clock.now() - start < CATCH_UP:
                return

    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """The full parameter set on every page; only the cursor comes from the API."""
        assert context is not None
        assert self._window is not None
        config = self.config
        first_environment = context["environmentKey"] == config["environment_keys"][0]
        has_experiments = config.get("has_experiments")
        return {
            "projectKey": config["project_key"],
            "environmentKey": context["environmentKey"],
            "from": _millis(self._window.start),
            # Sent inclusive of the window's end; events at that instant are left to the next
            # window (see parse_response), which is exact whether `to` is inclusive or not.
            "to": _millis(self._window.end),
            "limit": config["page_size"],
            "after": next_page_token,
            "applicationKey": ",".join(config.get("application_keys") or []) or None,
            "query": config.get("query"),
            "impactSize": config.get("impact_size"),
            "hasExperiments": None if has_experiments is None else str(has_experiments).lower(),
            # Global events belong to no environment: read them once, with the first one.
            "global": "include" if config["include_global"] and first_environment else "exclude",
            "expand": "experiments" if config["expand_experiments"] else None,
        }

    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The page's events inside the current window ``[start, end)``, with a UTC time."""
        assert self._window is not None
        body = json_payload(response)
        if self._total is None:  # the window's first page: cut it if it holds too many
            self._total = _count(body.get("totalCount"))
            if self._total is not None and self._windows.overfull(self._window, self._total):
                raise WindowOverfullError(self._total)
        first, end = _millis(self._window.start), _millis(self._window.end)
        for event in body["items"]:
            if first <= event["eventTime"] < end:
                event["eventDateTime"] = to_utc_iso(from_epoch_ms(event["eventTime"]))
                # A global event has no environment: say so, or the SDK would stamp the
                # partition's environmentKey on it.
                event.setdefault("environmentKey", None)
                yield event

    def _start(self, state: dict[str, Any]) -> datetime:
        return resume_from(
            state.get("replication_key_value"),
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            start_date=self.config.get("start_date"),
            default=self.runtime.server_clock.now() - DEFAULT_HISTORY,
        )


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _count(value: Any) -> int | None:
    """``totalCount`` when it is a count (its presence on every page is UNVERIFIED)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
