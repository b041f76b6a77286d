"""The streams of tap-segment-config."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_common.deletes import FullTableStream
from tap_common.gated import GatedStream
from tap_common.pagination import WindowPaginator
from tap_common.payload import json_payload
from tap_common.redaction import fingerprint
from tap_common.timeutil import EPOCH, iso_ms, parse_utc, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import (
    HORIZON_MARGIN,
    CalendarWindows,
    Unit,
    Window,
    WindowRules,
    ceil_to,
    floor_to,
    plan_windows,
)
from tap_segment_config import schemas
from tap_segment_config.client import SegmentListStream, SegmentStream, learn_server_time

# How far back Segment keeps delivery metrics per granularity (docs/api/segment.md §6). A
# request may span at most 4 hours (MINUTE), 7 days (HOUR) or 14 days (DAY): one unit always fits.
GRANULARITY_RULES: dict[str, WindowRules] = {
    "MINUTE": WindowRules("minute", oldest=timedelta(hours=48)),
    "HOUR": WindowRules("hour", oldest=timedelta(days=7)),
    "DAY": WindowRules("day", oldest=timedelta(days=14)),
}


class DestinationsStream(FullTableStream, SegmentListStream):
    """Every destination of the workspace (or those in ``destination_ids``); full table."""

    name = "destinations"
    narrowed_by = ("destination_ids",)
    path = "/destinations"
    primary_keys = ("id",)
    records_jsonpath = "$.data.destinations[*]"
    schema = schemas.DESTINATION.to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The listing, narrowed to ``destination_ids`` when set; unknown ids are reported."""
        wanted = set(self.config.get("destination_ids") or ())
        found: set[str] = set()
        for record in super().get_records(context):
            if not wanted or record["id"] in wanted:
                found.add(record["id"])
                yield record
        if missing := sorted(wanted - found):
            self.logger.warning(
                "destination_ids: not found in this workspace, skipped: %s", ", ".join(missing)
            )

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        """Children are per destination, its source, and the configured granularity."""
        return {
            "destinationId": record["id"],
            "sourceId": record["sourceId"],
            "granularity": self.config["delivery_metrics_granularity"],
        }


class DestinationSubscriptionsStream(GatedStream, FullTableStream, SegmentListStream):
    """The action subscriptions of each destination (an Alpha feature of Segment); full table.

    A workspace without the Destination Subscriptions feature answers every call with an error
    (its exact status and body are UNVERIFIED, docs/api/segment.md §8): we recognise it by its
    message and skip the stream (tap_common.gated).
    """

    name = "destination_subscriptions"
    feature = "Destination Subscriptions"
    path = "/destinations/{destinationId}/subscriptions"
    primary_keys = ("id",)
    records_jsonpath = "$.data.subscriptions[*]"
    schema = schemas.SUBSCRIPTION.to_dict()
    parent_stream_type = DestinationsStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @override
    def feature_unavailable(self, response: requests.Response) -> bool:
        """Segment names the feature (or its Alpha status) in the refusal."""
        text = response.text.lower()
        return response.status_code in (403, 404, 422) and (
            "feature" in text and ("subscription" in text or "alpha" in text)
        )


class DeliveryMetricsStream(WindowedStream[Window], SegmentStream):
    """Delivery-metrics summary per destination and closed time window; incremental.

    One request per window of one granularity unit (a minute, an hour or a day), so each record
    is one bucket of a time series. The bookmark is the start of the last window synced, per
    (destination, source, granularity); the next run starts one unit later, so no window is
    fetched twice or skipped. Windows never reach back beyond what Segment allows for the
    granularity (older starts are clamped, with a warning) and never include one still open.
    A partition's whole range is read as one window whose pages are its units (one request and
    one record each), so the log says one line per destination.
    """

    name = "delivery_metrics"
    path = "/destinations/{destinationId}/delivery-metrics"
    primary_keys = ("destinationId", "sourceId", "granularity", "windowStart")
    replication_key = "windowStart"
    is_sorted = True  # units in time order, no look-back
    schema = schemas.DELIVERY_METRICS.to_dict()
    parent_stream_type = DestinationsStream

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._units: tuple[Window, ...] = ()

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """The closed units after the bookmark (or ``start_date``), as one window."""
        rules = GRANULARITY_RULES[context["granularity"]]
        start = self.resume_start(context, unit=rules.unit)
        plan = plan_windows(rules, start, self.runtime.server_clock.now())
        if plan.clamped_from is not None and plan.windows:
            self.logger.warning(
                "start_date %s is older than Segment keeps %s delivery metrics for destination %s;"
                " starting at %s",
                to_utc_iso(plan.clamped_from),
                context["granularity"],
                context["destinationId"],
                to_utc_iso(plan.windows[0].start),
            )
        self._units = plan.windows
        if not plan.windows:
            return CalendarWindows([])
        return CalendarWindows([Window(plan.windows[0].start, plan.windows[-1].end)])

    @override
    def get_new_paginator(self) -> WindowPaginator:
        """Walk the units of the partition's window."""
        return WindowPaginator(self._units)

    @override
    def window_params(
        self, window: Window, context: Context, page: Window | None
    ) -> dict[str, Any]:
        """``sourceId`` (required) and an explicit unit: the API's defaults break its limits."""
        assert page is not None
        return {
            "sourceId": context["sourceId"],
            "granularity": context["granularity"],
            "startTime": iso_ms(page.start),
            "endTime": iso_ms(page.end),
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The summary, stamped with the unit the request asked for (the body has none)."""
        summary = json_payload(response)["data"]["deliveryMetricsSummary"]
        asked = parse_qs(urlparse(response.url).query)
        yield {
            "sourceId": summary.get("sourceId"),
            "granularity": asked["granularity"][0],
            "windowStart": to_utc_iso(asked["startTime"][0]),
            "windowEnd": to_utc_iso(asked["endTime"][0]),
            "destinationMetadataId": summary.get("destinationMetadataId"),
            "metrics": summary.get("metrics", []),
        }


# -- the workspace's configuration (docs/api/segment.md §11) ----------------------------------
# Full-table lists read at the largest page (1000, §4.1); a deselected stream costs nothing.

# Settings Segment keeps secret: its catalog marks them ``type: password``; names like these
# hold credentials in the settings of sources and warehouses alike (§11.2).
SECRET_SETTING = re.compile(
    r"password|secret|token|credential|private_?key|api_?key|access_?key", re.IGNORECASE
)
MASKED = "••••••••"


def masked_settings(settings: Any, secret_names: set[str]) -> Any:
    """``settings`` with the value of every secret-looking key replaced by the mask, at any
    depth (a credential never leaves the tap, even one the API forgot to mask)."""
    if isinstance(settings, dict):
        return {
            key: MASKED
            if key in secret_names or SECRET_SETTING.search(key)
            else masked_settings(value, secret_names)
            for key, value in settings.items()
        }
    if isinstance(settings, list):
        return [masked_settings(value, secret_names) for value in settings]
    return settings


class WorkspaceListStream(FullTableStream, SegmentListStream):
    """A full-table Segment list; its date-time fields in the canonical UTC form."""

    date_time_fields: ClassVar[tuple[str, ...]] = ()

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Every date-time field in one UTC form (Segment sends ``...000Z``)."""
        for name in self.date_time_fields:
            if row.get(name) is not None:
                row[name] = to_utc_iso(row[name])
        return super().post_process(row, context)


class SegmentFeatureStream(GatedStream):
    """An endpoint only some workspaces have (a plan or an add-on); the first base of a stream.

    Segment's answer for a workspace without the feature is UNVERIFIED (§11.3): we take a
    403/404/422 whose message says the feature is not enabled or not available.
    """

    @override
    def feature_unavailable(self, response: requests.Response) -> bool:
        """The refusal names a feature that is not enabled (or available) here."""
        text = response.text.lower()
        return response.status_code in (403, 404, 422) and (
            "feature" in text and ("not enabled" in text or "not available" in text)
        )


def _secret_options(metadata: dict[str, Any] | None) -> set[str]:
    options = (metadata or {}).get("options") or []
    return {o["name"] for o in options if o.get("type") == "password" and o.get("name")}


class WorkspaceStream(FullTableStream, SegmentStream):
    """The workspace the token belongs to: one record."""

    name = "workspace"
    path = "/"
    primary_keys = ("id",)
    records_jsonpath = "$.data.workspace"
    schema = schemas.WORKSPACE.to_dict()


class SourcesStream(WorkspaceListStream):
    """Every source; write keys as fingerprints (or in the clear with ``emit_write_keys``)."""

    name = "sources"
    path = "/sources"
    primary_keys = ("id",)
    records_jsonpath = "$.data.sources[*]"
    schema = schemas.SOURCE.to_dict()

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Write keys and secret settings never leave the tap (unless opted in, for keys)."""
        if not self.config.get("emit_write_keys"):
            row["writeKeys"] = [fingerprint(key) for key in row.get("writeKeys") or []]
        if "settings" in row:
            row["settings"] = masked_settings(row["settings"], _secret_options(row.get("metadata")))
        return super().post_process(row, context)


class WarehousesStream(WorkspaceListStream):
    """Every warehouse; secret settings masked."""

    name = "warehouses"
    path = "/warehouses"
    primary_keys = ("id",)
    records_jsonpath = "$.data.warehouses[*]"
    schema = schemas.WAREHOUSE.to_dict()

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Passwords, keys and credentials in the settings stay masked."""
        if "settings" in row:
            row["settings"] = masked_settings(row["settings"], _secret_options(row.get("metadata")))
        return super().post_process(row, context)

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        return {"warehouseId": record["id"]}


class SourceWarehouseConnectionsStream(WorkspaceListStream):
    """Which source loads into which warehouse: one record per pair.

    Read per warehouse (its connected sources), not per source: the same pairs, in one request
    per warehouse rather than one per source (a workspace has a few warehouses and can have
    thousands of sources).
    """

    name = "source_warehouse_connections"
    path = "/warehouses/{warehouseId}/connected-sources"
    primary_keys = ("warehouseId", "sourceId")
    records_jsonpath = "$.data.sources[*]"
    schema = schemas.SOURCE_WAREHOUSE_CONNECTION.to_dict()
    parent_stream_type = WarehousesStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The pair only: the source itself (and its write keys) is the sources stream's."""
        assert context is not None
        return {"warehouseId": context["warehouseId"], "sourceId": row["id"]}


class TrackingPlansStream(SegmentFeatureStream, WorkspaceListStream):
    """Protocols tracking plans of every type."""

    name = "tracking_plans"
    feature = "Protocols"
    path = "/tracking-plans"
    primary_keys = ("id",)
    records_jsonpath = "$.data.trackingPlans[*]"
    schema = schemas.TRACKING_PLAN.to_dict()
    date_time_fields = ("createdAt", "updatedAt")

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        return {"trackingPlanId": record["id"]}


class TrackingPlanRulesStream(SegmentFeatureStream, WorkspaceListStream):
    """The rules of each tracking plan; one per type, event and version.

    A rule has no id, and a rule of no event (COMMON, IDENTIFY...) no ``key``: its key is
    ``ruleId`` = type, event (when it has one) and version, e.g. ``TRACK/Signed Up/2``. (An empty
    string would not do: CSV-loading targets such as target-duckdb read it as null.) Segment's
    ``version`` is emitted as ``ruleVersion``: target-postgres cannot apply an ACTIVATE_VERSION
    to a table with a column named ``version`` (its bind parameter has that name).
    """

    name = "tracking_plan_rules"
    feature = "Protocols"
    path = "/tracking-plans/{trackingPlanId}/rules"
    primary_keys = ("trackingPlanId", "ruleId")
    records_jsonpath = "$.data.rules[*]"
    schema = schemas.TRACKING_PLAN_RULE.to_dict()
    date_time_fields = ("createdAt", "updatedAt", "deprecatedAt")
    route_limit = (200, 60.0)  # 200 requests per minute (docs/api/segment.md §11.4)
    parent_stream_type = TrackingPlansStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Stamped with its plan and its ``ruleId``."""
        assert context is not None
        version = row.pop("version")
        parts = (row["type"], row.get("key"), version)
        rule_id = "/".join(str(part) for part in parts if part is not None)
        row = {"trackingPlanId": context["trackingPlanId"], "ruleId": rule_id, **row}
        row["ruleVersion"] = version
        return super().post_process(row, context)


class FunctionsStream(SegmentFeatureStream, WorkspaceListStream):
    """Functions of every resource type (source, destination, insert destination)."""

    name = "functions"
    feature = "Functions"
    path = "/functions"
    primary_keys = ("id",)
    records_jsonpath = "$.data.functions[*]"
    schema = schemas.FUNCTION.to_dict()
    date_time_fields = ("createdAt",)
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        """One listing per type: the API takes exactly one (SDK-TS listFunctions)."""
        return [{"resourceType": kind} for kind in ("SOURCE", "DESTINATION", "INSERT_DESTINATION")]

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        assert context is not None
        return {**super().get_url_params(context, next_page_token), **context}


class TransformationsStream(SegmentFeatureStream, WorkspaceListStream):
    """Protocols transformations."""

    name = "transformations"
    feature = "Protocols"
    path = "/transformations"
    primary_keys = ("id",)
    records_jsonpath = "$.data.transformations[*]"
    schema = schemas.TRANSFORMATION.to_dict()


class ReverseEtlModelsStream(SegmentFeatureStream, WorkspaceListStream):
    """Reverse ETL models."""

    name = "reverse_etl_models"
    feature = "Reverse ETL"
    path = "/reverse-etl-models"
    primary_keys = ("id",)
    records_jsonpath = "$.data.models[*]"
    schema = schemas.REVERSE_ETL_MODEL.to_dict()


class SpacesStream(SegmentFeatureStream, WorkspaceListStream):
    """Engage spaces."""

    name = "spaces"
    feature = "Engage spaces"
    path = "/spaces"
    primary_keys = ("id",)
    records_jsonpath = "$.data.spaces[*]"
    schema = schemas.SPACE.to_dict()


class LabelsStream(FullTableStream, SegmentStream):
    """Every label (one unpaged list)."""

    name = "labels"
    path = "/labels"
    primary_keys = ("key", "value")
    records_jsonpath = "$.data.labels[*]"
    schema = schemas.LABEL.to_dict()


class UsersStream(SegmentFeatureStream, WorkspaceListStream):
    """Users with access to the workspace, with their permissions."""

    name = "users"
    feature = "Access Management"
    path = "/users"
    primary_keys = ("id",)
    records_jsonpath = "$.data.users[*]"
    schema = schemas.USER.to_dict()


class UserGroupsStream(SegmentFeatureStream, WorkspaceListStream):
    """User groups, with their permissions."""

    name = "groups"
    feature = "Access Management"
    path = "/groups"
    primary_keys = ("id",)
    records_jsonpath = "$.data.userGroups[*]"
    schema = schemas.USER_GROUP.to_dict()

    @override
    def get_child_context(self, record: dict, context: Context | None) -> dict[str, Any]:
        return {"userGroupId": record["id"]}


class UserGroupMembersStream(SegmentFeatureStream, WorkspaceListStream):
    """Who is in which group: one record per (group, user)."""

    name = "group_members"
    feature = "Access Management"
    path = "/groups/{userGroupId}/users"
    primary_keys = ("userGroupId", "userId")
    records_jsonpath = "$.data.users[*]"
    schema = schemas.USER_GROUP_MEMBER.to_dict()
    parent_stream_type = UserGroupsStream
    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The pair only: the user's name and email are the users stream's."""
        assert context is not None
        return {"userGroupId": context["userGroupId"], "userId": row["id"]}


class RolesStream(SegmentFeatureStream, WorkspaceListStream):
    """The roles permissions grant."""

    name = "roles"
    feature = "Access Management"
    path = "/roles"
    primary_keys = ("id",)
    records_jsonpath = "$.data.roles[*]"
    schema = schemas.ROLE.to_dict()


class CatalogSourcesStream(WorkspaceListStream):
    """Segment's catalog of source types."""

    name = "catalog_sources"
    path = "/catalog/sources"
    primary_keys = ("id",)
    records_jsonpath = "$.data.sourcesCatalog[*]"
    schema = schemas.CATALOG_SOURCE.to_dict()


class CatalogDestinationsStream(WorkspaceListStream):
    """Segment's catalog of destination types."""

    name = "catalog_destinations"
    path = "/catalog/destinations"
    primary_keys = ("id",)
    records_jsonpath = "$.data.destinationsCatalog[*]"
    schema = schemas.CATALOG_DESTINATION.to_dict()


class CatalogWarehousesStream(WorkspaceListStream):
    """Segment's catalog of warehouse types."""

    name = "catalog_warehouses"
    path = "/catalog/warehouses"
    primary_keys = ("id",)
    records_jsonpath = "$.data.warehousesCatalog[*]"
    schema = schemas.CATALOG_WAREHOUSE.to_dict()


WORKSPACE_STREAM_TYPES: tuple[type[SegmentStream], ...] = (
    WorkspaceStream,
    SourcesStream,
    WarehousesStream,
    SourceWarehouseConnectionsStream,
    TrackingPlansStream,
    TrackingPlanRulesStream,
    FunctionsStream,
    TransformationsStream,
    ReverseEtlModelsStream,
    SpacesStream,
    LabelsStream,
    UsersStream,
    UserGroupsStream,
    UserGroupMembersStream,
    RolesStream,
    CatalogSourcesStream,
    CatalogDestinationsStream,
    CatalogWarehousesStream,
)


# -- Usage, event volume, audit trail and delivery overview (docs/api/segment.md §12-§16) ------

#: The one context of a workspace-wide series (the API token's workspace). Its streams keep
#: their bookmark at the stream's level (``state_partitioning_keys = []``), so the SDK adds no
#: context column to their records.
WORKSPACE: list[dict[str, Any]] = [{"workspace": "token"}]
#: Marks a dimension not grouped by in a key column (key columns cannot be null).
ALL = "*"
DAY = timedelta(days=1)
# Granularity -> (widest range, oldest start) of Delivery Overview (docs/api/segment.md §15);
# event volume is held to the same (UNVERIFIED, §13).
BUCKET_LIMITS: dict[str, tuple[Unit, timedelta, timedelta]] = {
    "MINUTE": ("minute", timedelta(hours=4), timedelta(hours=48)),
    "HOUR": ("hour", timedelta(days=14), timedelta(days=30)),
    "DAY": ("day", timedelta(days=30), timedelta(days=30)),
}
# Segment recommends querying event volume a minute behind the clock (docs/api/segment.md §13).
LAG = timedelta(minutes=1)
# Audit events are re-read this far behind the bookmark, for events recorded late.
AUDIT_LOOKBACK = timedelta(hours=1)


def month_of(moment: datetime) -> datetime:
    """The first instant of ``moment``'s UTC month."""
    return floor_to(moment, "day").replace(day=1)


def next_month(month: datetime) -> datetime:
    """The first instant of the month after ``month`` (a month start)."""
    return (month + timedelta(days=32)).replace(day=1)


class UsageStream(WindowedStream[str], SegmentListStream):
    """A daily usage series, read one monthly ``period`` per window.

    Segment serves each day's value cumulated since the period's start, the running day
    included. A window is the days of one month from the bookmark on, up to the last day that
    has ended; the period is read whole (the day before the first one emitted gives its own
    count). ``<count>Cumulative`` keeps the value as served; ``<count>`` is the day's own
    (cumulative minus the day before's, the first day of a period as served): only those add up.
    """

    primary_keys: tuple[str, ...] = ("timestamp",)
    replication_key = "timestamp"
    #: The counts of a snapshot (its bigint strings).
    counts: tuple[str, ...] = ("apiCalls",)
    #: Where the page's snapshots are.
    snapshots: str = "dailyWorkspaceAPICallsUsage"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._served: dict[tuple[str | None, datetime], dict[str, int]] = {}

    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return WORKSPACE

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """Per month from the bookmark's next day (or ``start_date``, else last month's start)
        to the server's today (exclusive); the current month again each run."""
        now = self.runtime.server_clock.now()
        learn_server_time(
            self,
            self.path,
            {"period": month_of(now - DAY).date().isoformat(), "pagination.count": 1},
        )
        today = floor_to(self.runtime.server_clock.now(), "day")
        start = self.resume_start(context, unit="day") or month_of(month_of(today) - DAY)
        windows = []
        month = month_of(start)
        while month < today:
            windows.append(Window(max(start, month), min(next_month(month), today)))
            month = next_month(month)
        self._served = {}
        return CalendarWindows(windows)

    @override
    def window_params(self, window: Window, context: Context, page: str | None) -> dict[str, Any]:
        """The period (the month's first day) and the page."""
        return {
            "period": month_of(window.start).date().isoformat(),
            "pagination.count": self.config["page_size"],
            "pagination.cursor": page,
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """The window's days; each with its cumulative counts and its own."""
        period = month_of(window.start)
        for snapshot in json_payload(response)["data"][self.snapshots]:
            day = parse_utc(snapshot["timestamp"])
            source = snapshot.get("sourceId")
            served = {name: int(snapshot[name]) for name in self.counts}
            self._served[source, day] = served
            if not window.start <= day < window.end:
                continue  # before the bookmark (read for the next day's count), or not ended
            before = {} if day == period else self._served.get((source, day - DAY))
            if before is None:
                msg = f"{self.name}: Segment served {to_utc_iso(day)} before the day preceding it"
                raise RuntimeError(msg)
            record = {key: value for key, value in snapshot.items() if key not in self.counts}
            record["timestamp"] = to_utc_iso(day)
            record["period"] = to_utc_iso(period)
            for name, value in served.items():
                record[f"{name}Cumulative"] = value
                record[name] = value - before.get(name, 0)
            yield record


class UsageApiCallsDailyStream(UsageStream):
    """Workspace API calls per day (cumulative within the month, and the day's own)."""

    name = "usage_api_calls_daily"
    path = "/usage/api-calls/daily"
    schema = schemas.USAGE_API_CALLS.to_dict()


class UsageApiCallsPerSourceDailyStream(UsageStream):
    """API calls per source and day."""

    name = "usage_api_calls_per_source_daily"
    path = "/usage/api-calls/sources/daily"
    primary_keys = ("sourceId", "timestamp")
    snapshots = "dailyPerSourceAPICallsUsage"
    schema = schemas.USAGE_API_CALLS_PER_SOURCE.to_dict()


class UsageMtuDailyStream(UsageStream):
    """Workspace monthly tracked users per day, by kind of user."""

    name = "usage_mtu_daily"
    path = "/usage/mtu/daily"
    counts = schemas.MTU_COUNTS
    snapshots = "dailyWorkspaceMTUUsage"
    schema = schemas.USAGE_MTU.to_dict()


class UsageMtuPerSourceDailyStream(UsageStream):
    """Monthly tracked users per source and day."""

    name = "usage_mtu_per_source_daily"
    path = "/usage/mtu/sources/daily"
    primary_keys = ("sourceId", "timestamp")
    counts = schemas.MTU_COUNTS
    snapshots = "dailyPerSourceMTUUsage"
    schema = schemas.USAGE_MTU_PER_SOURCE.to_dict()


def bucket_windows(
    stream: WindowedStream[Any], context: Context, granularity: str, end: datetime
) -> CalendarWindows:
    """The widest legal windows from the last bucket read (re-read: it may have been open) to
    ``end``; a start beyond the granularity's horizon is moved up, with a warning."""
    unit, widest, oldest = BUCKET_LIMITS[granularity]
    now = stream.runtime.server_clock.now()
    horizon = ceil_to(now - oldest + HORIZON_MARGIN, unit)
    resumed = stream.resume_start(context)
    start = horizon if resumed is None else floor_to(resumed, unit)
    if start < horizon:
        stream.logger.warning(
            "%s: %s is older than Segment keeps %s buckets; starting at %s",
            stream.name,
            to_utc_iso(start),
            granularity,
            to_utc_iso(horizon),
        )
        start = horizon
    windows = []
    while start < end:
        windows.append(Window(start, min(start + widest, end)))
        start = windows[-1].end
    return CalendarWindows(windows)


def dimension(entry: dict[str, Any], name: str) -> str:
    """A group's value of a dimension, or ALL when not grouped by it."""
    value = entry.get(name)
    return ALL if value is None else str(value)


class EventVolumeStream(WindowedStream[str], SegmentListStream):
    """Events per bucket of the configured granularity, per source, event name and type.

    Windows are the widest the granularity allows, each response holding every bucket of it.
    The bookmark is the last bucket read, still open then: the next run starts with it again,
    and its row is replaced (upserted) with the final count.
    """

    name = "event_volume"
    path = "/events/volume"
    route_limit = (60, 60.0)  # 60 requests per minute of its own (docs/api/segment.md §13)
    primary_keys = ("granularity", "time", "sourceId", "eventName", "eventType")
    replication_key = "time"
    schema = schemas.EVENT_VOLUME.to_dict()

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"granularity": self.config["event_volume_granularity"]}]

    @override
    def windows(self, context: Context) -> CalendarWindows:
        """From the last bucket read to a minute ago, in the widest legal windows."""
        yesterday = floor_to(self.runtime.server_clock.now(), "day") - DAY
        learn_server_time(
            self,
            self.path,
            {
                "granularity": "DAY",
                "startTime": iso_ms(yesterday - DAY),
                "endTime": iso_ms(yesterday),
            },
        )
        end = self.runtime.server_clock.now() - LAG
        return bucket_windows(self, context, context["granularity"], end)

    @override
    def window_params(self, window: Window, context: Context, page: str | None) -> dict[str, Any]:
        return {
            "granularity": context["granularity"],
            "startTime": iso_ms(window.start),
            "endTime": iso_ms(window.end),
            "groupBy": ",".join(self.config["event_volume_group_by"]) or None,
            "pagination.count": self.config["page_size"],
            "pagination.cursor": page,
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """One row per group and bucket."""
        granularity = parse_qs(urlparse(response.url).query)["granularity"][0]
        for entry in json_payload(response)["data"]["result"]:
            source = entry.get("source") or {}
            for point in entry.get("series", []):
                yield {
                    "granularity": granularity,
                    "time": to_utc_iso(point["time"]),
                    "sourceId": source.get("id") or ALL,
                    "sourceName": source.get("name"),
                    "sourceSlug": source.get("slug"),
                    "eventName": dimension(entry, "eventName"),
                    "eventType": dimension(entry, "eventType"),
                    "count": point["count"],
                }


class AuditEventsStream(GatedStream, WindowedStream[str], SegmentListStream):
    """The workspace's Audit Trail; incremental on ``timestamp`` with a look-back.

    One window from an hour before the bookmark to now, paged newest first; the bookmark moves
    once the window is read whole. Events of the look-back come again and upsert by ``id``.
    Without the Audit Trail entitlement the stream is skipped with one warning.
    """

    name = "audit_events"
    feature = "the Audit Trail"
    path = "/audit-events"
    primary_keys = ("id",)
    replication_key = "timestamp"
    records_jsonpath = "$.data.events[*]"
    schema = schemas.AUDIT_EVENT.to_dict()

    state_partitioning_keys: list[str] = []  # noqa: RUF012 (the SDK declares it a list)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return WORKSPACE

    @override
    def feature_unavailable(self, response: requests.Response) -> bool:
        """Segment names the Audit Trail in the refusal (docs/api/segment.md §14)."""
        return response.status_code in (403, 404, 422) and "audit trail" in response.text.lower()

    @override
    def windows(self, context: Context) -> CalendarWindows:
        start = self.resume_start(context, lookback=AUDIT_LOOKBACK)
        return CalendarWindows([Window(start or EPOCH, self.runtime.server_clock.now())])

    @override
    def window_params(self, window: Window, context: Context, page: str | None) -> dict[str, Any]:
        """Events from the window's start (all of them on a first sync); the API's end."""
        return {
            "startTime": iso_ms(window.start) if window.start > EPOCH else None,
            "pagination.count": self.config["page_size"],
            "pagination.cursor": page,
        }

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        for event in json_payload(response)["data"]["events"]:
            yield {**event, "timestamp": to_utc_iso(event["timestamp"])}


class StagePaginator(BaseAPIPaginator[tuple[int, str | None]]):
    """The pages of each Delivery Overview stage in turn: (stage index, cursor)."""

    def __init__(self, stages: int) -> None:
        super().__init__((0, None))
        self._stages = stages

    @override
    def get_next(self, response: requests.Response) -> tuple[int, str | None] | None:
        stage, _ = self.current_value
        cursor = (json_payload(response)["data"].get("pagination") or {}).get("next")
        if cursor:
            return stage, cursor
        return (stage + 1, None) if stage + 1 < self._stages else None


class DeliveryOverviewStream(WindowedStream[tuple[int, str | None]], SegmentStream):
    """Delivery Overview counts per bucket of a destination's pipeline stages.

    Every window is read for each stage (pages of a window run through the stages), so the
    bookmark, per (source, destination), moves only once all stages of a window are read. The
    last bucket read (open then) is read again next run and upserts.
    """

    name = "delivery_overview"
    path = "/delivery-overview/{stage}"
    stages: tuple[str, ...] = ("filtered-at-destination", "successful-delivery", "failed-delivery")
    primary_keys: tuple[str, ...] = (
        "sourceId",
        "destinationId",
        "stage",
        "granularity",
        "time",
        *schemas.OVERVIEW_DIMENSIONS,
    )
    replication_key = "time"
    schema = schemas.DELIVERY_OVERVIEW.to_dict()
    parent_stream_type = DestinationsStream
    state_partitioning_keys: list[str] = ["sourceId", "destinationId"]  # noqa: RUF012
    #: Whether the stages are a destination's (else the source's own).
    per_destination: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages = StagePaginator(len(self.stages))

    @override
    def windows(self, context: Context) -> CalendarWindows:
        end = self.runtime.server_clock.now()
        return bucket_windows(self, context, self.config["delivery_overview_granularity"], end)

    @override
    def get_new_paginator(self) -> StagePaginator:
        self._pages = StagePaginator(len(self.stages))
        return self._pages

    @override
    def get_url(self, context: Context | None) -> str:
        """The stage being read."""
        return f"{self.url_base}/delivery-overview/{self.stages[self._pages.current_value[0]]}"

    def group_by(self, stage: str) -> list[str]:
        """The configured dimensions the stage can be grouped by."""
        wanted = self.config["delivery_overview_group_by"]
        return [d for d in wanted if stage != "successfully-received" or d != "discardReason"]

    @override
    def window_params(
        self, window: Window, context: Context, page: tuple[int, str | None] | None
    ) -> dict[str, Any]:
        stage, cursor = page or (0, None)
        params = {
            "sourceId": context["sourceId"],
            "granularity": self.config["delivery_overview_granularity"].lower(),
            "startTime": iso_ms(window.start),
            "endTime": iso_ms(window.end),
            "groupBy": ",".join(self.group_by(self.stages[stage])) or None,
            "pagination.count": self.config["page_size"],
            "pagination.cursor": cursor,
        }
        if self.per_destination:
            params["destinationConfigId"] = context["destinationId"]
        return params

    @override
    def window_records(self, window: Window, response: requests.Response) -> Iterable[dict]:
        """One row per group and bucket."""
        asked = parse_qs(urlparse(response.url).query)
        stage = urlparse(response.url).path.rsplit("/", 1)[-1]
        for entry in json_payload(response)["data"]["dataset"]:
            for point in entry.get("series", []):
                owner = {"sourceId": asked["sourceId"][0]}
                if self.per_destination:
                    owner["destinationId"] = asked["destinationConfigId"][0]
                yield {
                    **owner,
                    "stage": stage,
                    "granularity": asked["granularity"][0].upper(),
                    "time": to_utc_iso(point["time"]),
                    **{d: dimension(entry, d) for d in schemas.OVERVIEW_DIMENSIONS},
                    "count": point["count"],
                    "retryCount": point.get("retryCount"),
                }


class DeliveryOverviewSourcesStream(DeliveryOverviewStream):
    """Delivery Overview counts per bucket of a source's stages (before any destination).

    Partitioned per source: a source with several destinations is read once per run.
    """

    name = "delivery_overview_sources"
    stages = ("successfully-received", "failed-on-ingest", "filtered-at-source")
    primary_keys = ("sourceId", "stage", "granularity", "time", *schemas.OVERVIEW_DIMENSIONS)
    schema = schemas.DELIVERY_OVERVIEW_SOURCES.to_dict()
    state_partitioning_keys: list[str] = ["sourceId"]  # noqa: RUF012
    per_destination = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sources_read: set[str] = set()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Each source once, whichever of its destinations comes first."""
        if context is None or context["sourceId"] in self._sources_read:
            return
        self._sources_read.add(context["sourceId"])
        yield from super().get_records(context)
