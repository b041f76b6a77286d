"""The streams of tap-segment-config."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import requests
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_common.deletes import FullTableStream
from tap_common.gated import GatedStream
from tap_common.pagination import WindowPaginator
from tap_common.payload import json_payload
from tap_common.redaction import fingerprint
from tap_common.timeutil import iso_ms, to_utc_iso
from tap_common.windowed import WindowedStream
from tap_common.windows import CalendarWindows, Window, WindowRules, plan_windows
from tap_segment_config import schemas
from tap_segment_config.client import SegmentListStream, SegmentStream

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
