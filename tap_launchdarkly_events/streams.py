"""The streams of tap-launchdarkly-events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.deletes import FullTableStream
from tap_common.gated import GatedStream
from tap_common.payload import json_payload
from tap_common.redaction import fingerprint
from tap_common.timeutil import DEFAULT_HISTORY, as_count, from_epoch_ms, to_epoch_ms, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import CalendarWindows, CountSizedWindows, Window
from tap_launchdarkly_events import schemas
from tap_launchdarkly_events.client import (
    LaunchDarklyListStream,
    LaunchDarklyStream,
    NextLinkCursorPaginator,
)

# Less than this left before the server's now is left to the next run (and its look-back).
CATCH_UP = timedelta(minutes=1)
# Events per window unless `window_max_events` says otherwise: 100 pages of the largest size.
DEFAULT_WINDOW_EVENTS = 10_000
# Audit-log windows, a week unless `audit_log_window_hours` says otherwise: a crash re-reads one.
DEFAULT_AUDIT_WINDOW_HOURS = 168
# What the audit log answers per page at most (the official client: "between 1 and 20").
AUDIT_LOG_PAGE_SIZE = 20


class ProjectsStream(FullTableStream, LaunchDarklyListStream):
    """Every project the token can read (or only ``project_key``); full table.

    With ``project_key`` the one project is asked for: an unknown key fails with
    LaunchDarkly's own 404 before anything else is read.
    """

    name = "projects"
    narrowed_by = ("project_key",)
    primary_keys = ("key",)
    schema = schemas.PROJECT.to_dict()

    @property
    @override
    def path(self) -> str:  # type: ignore[override]
        """The listing, or the configured project."""
        key = self.config.get("project_key")
        return f"/api/v2/projects/{quote(key, safe='')}" if key else "/api/v2/projects"

    @property
    @override
    def records_jsonpath(self) -> str:  # type: ignore[override]
        """The listing's items, or the one project."""
        return "$" if self.config.get("project_key") else "$.items[*]"

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Environments, flags and metrics are per project."""
        return {"projectKey": record["key"]}


class ProjectChildStream(FullTableStream, LaunchDarklyListStream):
    """A listing per project, stamped with its project's key; full table."""

    parent_stream_type = ProjectsStream
    # One state for the stream (its present keys), not one per project.
    state_partitioning_keys: ClassVar[list[str]] = []

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The project's key: the record's key is unique only within its project."""
        assert context is not None
        row["projectKey"] = context["projectKey"]
        return super().post_process(row, context)


class EnvironmentsStream(ProjectChildStream):
    """Every environment of each project (or those in ``environment_keys``); full table.

    An environment carries its SDK key and mobile key: credentials to LaunchDarkly itself. They
    never leave the tap: a record holds their sha256 fingerprints instead.
    """

    name = "environments"
    narrowed_by = ("environment_keys",)
    path = "/api/v2/projects/{projectKey}/environments"
    primary_keys = ("projectKey", "key")
    schema = schemas.ENVIRONMENT.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The listing, narrowed to ``environment_keys`` when set."""
        wanted = self.config.get("environment_keys")
        for record in super().get_records(context):
            if not wanted or record["key"] in wanted:
                yield record

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The keys replaced by their fingerprints."""
        row["apiKeyFingerprint"] = fingerprint(row.pop("apiKey", None))
        row["mobileKeyFingerprint"] = fingerprint(row.pop("mobileKey", None))
        return super().post_process(row, context)

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Flag events and segments are per environment."""
        assert context is not None
        return {"projectKey": context["projectKey"], "environmentKey": record["key"]}


class EnvironmentChildStream(FullTableStream, LaunchDarklyListStream):
    """A listing per environment, stamped with its project's and environment's keys."""

    parent_stream_type = EnvironmentsStream
    state_partitioning_keys: ClassVar[list[str]] = []

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The project and environment: the record's key is unique only within them."""
        assert context is not None
        row["projectKey"], row["environmentKey"] = context["projectKey"], context["environmentKey"]
        return super().post_process(row, context)


class FlagsStream(EnvironmentChildStream):
    """Every flag of each environment read, with its state there (``on``, ``archived``,
    ``lastModified``, ``version``); full table, one row per (project, environment, flag).

    Since API version 20240415 the listing carries a flag's ``environments`` only when it is
    filtered by one (``filter=filterEnv:<key>``), so it is read per environment. The summary
    listing: targets and rules are left out (they can be large), everything the flag events
    refer to stays (docs/api/launchdarkly.md §10).
    """

    name = "flags"
    path = "/api/v2/flags/{projectKey}"
    primary_keys = ("projectKey", "environmentKey", "key")
    schema = schemas.FLAG.to_dict()

    @override
    def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:
        """The summary, filtered by the environment: its state is then in ``environments``."""
        return super().get_url_params(context, next_page_token) | {
            "summary": "true",
            "filter": f"filterEnv:{context['environmentKey']}",
        }


class MetricsStream(ProjectChildStream):
    """Every metric of each project; full table."""

    name = "metrics"
    path = "/api/v2/metrics/{projectKey}"
    primary_keys = ("projectKey", "key")
    schema = schemas.METRIC.to_dict()
    page_size = 50  # the official client: "Maximum limit is 50"


class SegmentsStream(EnvironmentChildStream):
    """Every segment of each environment; full table."""

    name = "segments"
    path = "/api/v2/segments/{projectKey}/{environmentKey}"
    primary_keys = ("projectKey", "environmentKey", "key")
    schema = schemas.SEGMENT.to_dict()
    page_size = 50  # UNVERIFIED (docs/api/launchdarkly.md §10)


class MembersStream(FullTableStream, LaunchDarklyListStream):
    """Every member of the account; full table."""

    name = "members"
    path = "/api/v2/members"
    primary_keys = ("_id",)
    schema = schemas.MEMBER.to_dict()


class TeamsStream(FullTableStream, LaunchDarklyListStream):
    """Every team of the account; full table."""

    name = "teams"
    path = "/api/v2/teams"
    primary_keys = ("key",)
    schema = schemas.TEAM.to_dict()


class AuditLogPaginator(NextLinkCursorPaginator):
    """Back in time through a window: the next page ends just after this page's oldest entry.

    ``before`` is exclusive; asking before the oldest date + 1 ms lists again the entries that
    share that millisecond, so none is lost at a page boundary (the window drops the ones it
    already emitted). A page whose entries all share one millisecond would name the same cursor
    twice: the paginator then fails rather than loop.
    """

    @override
    def extract_cursor(self, response: requests.Response) -> str | None:
        """One millisecond after the page's oldest entry, while the API says more follow."""
        if super().extract_cursor(response) is None:
            return None
        dates = [entry["date"] for entry in json_payload(response)["items"]]
        return str(min(dates) + 1) if dates else None


class AuditLogStream(WindowedStream[Any], LaunchDarklyListStream):
    """The account's audit log, incremental on each entry's ``date`` (kept as sent, and as
    ``dateTime`` in UTC, the replication key).

    Windows of ``audit_log_window_hours`` from the bookmark less ``lookback_minutes`` up to
    CATCH_UP before the server's now, each read newest first by ``before``/``after`` (both
    exclusive) and checkpointed when read whole: a crash re-reads at most one window. The
    state is per instance (the ``api_url`` host): a bookmark of the US instance never starts
    a read of the EU one. The audit log is on every instance (US, EU, federal).
    """

    name = "audit_log"
    path = "/api/v2/auditlog"
    primary_keys = ("_id",)
    replication_key = "dateTime"
    schema = schemas.AUDIT_LOG_ENTRY.to_dict()
    page_size = AUDIT_LOG_PAGE_SIZE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._emitted: tuple[Window | None, set[str]] = (None, set())

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One partition: the instance the token belongs to."""
        return [{"instance": urlparse(str(self.config["api_url"])).hostname}]

    @override
    def get_new_paginator(self) -> AuditLogPaginator:
        """Back in time through the window."""
        return AuditLogPaginator("before")

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """Fixed-length windows from the bookmark (less the look-back) to the server's now."""
        clock = self.runtime.server_clock
        start = self.resume_start(
            context,
            lookback=timedelta(minutes=self.config["lookback_minutes"]),
            default=clock.now() - DEFAULT_HISTORY,
        )
        end, step = clock.now() - CATCH_UP, timedelta(hours=self.config["audit_log_window_hours"])
        windows = []
        while start < end:
            windows.append(Window(start, min(start + step, end)))
            start += step
        return CalendarWindows(windows)

    @override
    def window_params(self, window: Window, context: Context, page: Any) -> dict[str, Any]:
        """``after`` the millisecond before the window, ``before`` its end (or the page's)."""
        return {
            "after": to_epoch_ms(window.start) - 1,
            "before": page or to_epoch_ms(window.end),
            "limit": self.page_size,
            "spec": self.config.get("audit_log_spec"),
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The page's entries not yet emitted in this window, with a UTC time."""
        if self._emitted[0] != window:
            self._emitted = (window, set())
        emitted = self._emitted[1]
        for entry in json_payload(response)["items"]:
            if entry["_id"] not in emitted:
                emitted.add(entry["_id"])
                entry["dateTime"] = to_utc_iso(from_epoch_ms(entry["date"]))
                yield entry


class FlagEventsStream(GatedStream, WindowedStream[Any], LaunchDarklyStream):
    """Flag events of each environment read (one partition per project and environment);
    incremental on event time.

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
    feature = "engineering insights (flag events)"
    path = "/api/v2/engineering-insights/flag-events"
    primary_keys = ("id",)
    replication_key = "eventDateTime"
    records_jsonpath = "$.items[*]"
    schema = schemas.FLAG_EVENT.to_dict()
    # One bookmark per (project, environment): the context each environment gives its children.
    parent_stream_type = EnvironmentsStream
    _sizer: CountSizedWindows  # the planner of the partition being read

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._with_global: set[str] = set()  # projects whose global events have a partition
        self._reads_global = False  # whether the partition being read takes them

    def _claims_global(self, context: Context) -> bool:
        """Global events belong to no environment: one partition of each project reads them,
        the first of ``environment_keys`` (as release 0.1.0 did), else the first listed."""
        project, configured = context["projectKey"], self.config.get("environment_keys")
        if configured:
            return bool(configured[0] == context["environmentKey"])
        if project in self._with_global:
            return False
        self._with_global.add(project)
        return True

    @override
    def feature_unavailable(self, response: requests.Response) -> bool:
        """A 403 or 404 that names engineering insights, or says the feature is not available
        (UNVERIFIED, docs/api/launchdarkly.md §6); a plain refusal stays an error."""
        text = response.text.lower()
        return response.status_code in (403, 404) and (
            "insights" in text or "not available" in text
        )

    @override
    def windows(self, context: Context) -> CountSizedWindows:
        """From the bookmark (less the look-back) to the server's now, cut by count."""
        clock = self.runtime.server_clock
        self._reads_global = self._claims_global(context)
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
        has_experiments = config.get("has_experiments")
        return {
            "projectKey": context["projectKey"],
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
            "global": "include" if config["include_global"] and self._reads_global else "exclude",
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
