"""Record schemas, field for field as Segment's Public API models define them.

See docs/api/segment.md §5.

Free-form maps (destination ``settings``, subscription ``settings``, preset ``fields``) are
objects with any keys. Values Segment types as "any" (``defaultValue``, ``choices``) are left
untyped: they can be a scalar or a deep mapping.
"""

from singer_sdk import typing as th

ANY = th.CustomType({})
FREE_FORM = th.ObjectType(additional_properties=True)
STRINGS = th.ArrayType(th.StringType)

ACTION_FIELD = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("sortOrder", th.NumberType),
    th.Property("fieldKey", th.StringType),
    th.Property("label", th.StringType),
    th.Property("type", th.StringType),
    th.Property("description", th.StringType),
    th.Property("placeholder", th.StringType),
    th.Property("defaultValue", ANY),
    th.Property("required", th.BooleanType),
    th.Property("multiple", th.BooleanType),
    th.Property("choices", ANY),
    th.Property("dynamic", th.BooleanType),
    th.Property("allowNull", th.BooleanType),
    th.Property("hidden", th.BooleanType),
)

DESTINATION_METADATA = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("slug", th.StringType),
    th.Property(
        "logos",
        th.ObjectType(
            th.Property("default", th.StringType),
            th.Property("mark", th.StringType),
            th.Property("alt", th.StringType),
        ),
    ),
    th.Property(
        "options",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType),
                th.Property("type", th.StringType),
                th.Property("required", th.BooleanType),
                th.Property("description", th.StringType),
                th.Property("defaultValue", ANY),
                th.Property("label", th.StringType),
            )
        ),
    ),
    th.Property("status", th.StringType),
    th.Property("previousNames", STRINGS),
    th.Property("categories", STRINGS),
    th.Property("website", th.StringType),
    th.Property(
        "components",
        th.ArrayType(
            th.ObjectType(
                th.Property("type", th.StringType),
                th.Property("code", th.StringType),
                th.Property("owner", th.StringType),
            )
        ),
    ),
    th.Property(
        "supportedFeatures",
        th.ObjectType(
            th.Property("cloudModeInstances", th.StringType),
            th.Property("deviceModeInstances", th.StringType),
            th.Property("replay", th.BooleanType),
            th.Property("browserUnbundling", th.BooleanType),
            th.Property("browserUnbundlingPublic", th.BooleanType),
        ),
    ),
    th.Property(
        "supportedMethods",
        th.ObjectType(
            *(
                th.Property(name, th.BooleanType)
                for name in ("pageview", "identify", "alias", "track", "group")
            ),
        ),
    ),
    th.Property(
        "supportedPlatforms",
        th.ObjectType(
            *(
                th.Property(name, th.BooleanType)
                for name in (
                    "browser",
                    "server",
                    "mobile",
                    "warehouse",
                    "cloudAppObject",
                    "linkedAudiences",
                )
            ),
        ),
    ),
    th.Property(
        "actions",
        th.ArrayType(
            th.ObjectType(
                th.Property("id", th.StringType),
                th.Property("slug", th.StringType),
                th.Property("name", th.StringType),
                th.Property("description", th.StringType),
                th.Property("platform", th.StringType),
                th.Property("hidden", th.BooleanType),
                th.Property("defaultTrigger", th.StringType),
                th.Property("fields", th.ArrayType(ACTION_FIELD)),
            )
        ),
    ),
    th.Property(
        "presets",
        th.ArrayType(
            th.ObjectType(
                th.Property("actionId", th.StringType),
                th.Property("name", th.StringType),
                th.Property("trigger", th.StringType),
                th.Property("fields", FREE_FORM),
            )
        ),
    ),
    th.Property(
        "contacts",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType),
                th.Property("email", th.StringType),
                th.Property("role", th.StringType),
                th.Property("isPrimary", th.BooleanType),
            )
        ),
    ),
    th.Property("partnerOwned", th.BooleanType),
    th.Property("supportedRegions", STRINGS),
    th.Property("regionEndpoints", STRINGS),
    th.Property("multiInstanceSupportedVersion", th.StringType),
)

DESTINATION = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Destination instance id."),
    th.Property("name", th.StringType, description="Display name (optional in Segment)."),
    th.Property("enabled", th.BooleanType, description="Whether it receives data."),
    th.Property("sourceId", th.StringType, description="The source connected to it."),
    th.Property("settings", FREE_FORM, description="Settings; Segment masks secret values."),
    th.Property("metadata", DESTINATION_METADATA, description="The catalog entry it is of."),
)

SUBSCRIPTION = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("destinationId", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("actionId", th.StringType),
    th.Property("actionSlug", th.StringType),
    th.Property("enabled", th.BooleanType),
    th.Property("settings", FREE_FORM, description="Field mappings of the action."),
    th.Property("trigger", th.StringType, description='FQL condition, e.g. type = "track".'),
    th.Property("modelId", th.StringType, description="Reverse ETL model, when part of one."),
    th.Property(
        "reverseETLSchedule",
        th.ObjectType(
            th.Property("strategy", th.StringType),
            th.Property("config", FREE_FORM),
        ),
    ),
)

DELIVERY_METRICS = th.PropertiesList(
    th.Property("destinationId", th.StringType, required=True),
    th.Property("sourceId", th.StringType, required=True),
    th.Property(
        "granularity", th.StringType, required=True, allowed_values=["MINUTE", "HOUR", "DAY"]
    ),
    th.Property("windowStart", th.DateTimeType, required=True, description="Inclusive, UTC."),
    th.Property("windowEnd", th.DateTimeType, required=True, description="Exclusive, UTC."),
    th.Property("destinationMetadataId", th.StringType, description="Catalog id of its type."),
    th.Property(
        "metrics",
        th.ArrayType(
            th.ObjectType(
                th.Property("metricName", th.StringType),
                th.Property("total", th.NumberType),
                th.Property(
                    "breakdown",
                    th.ArrayType(
                        th.ObjectType(
                            th.Property("metricName", th.StringType),
                            th.Property("value", th.NumberType),
                        )
                    ),
                ),
            )
        ),
        description="Totals over the window; metric names are Segment's (not a fixed list).",
    ),
)

# -- the workspace's configuration (docs/api/segment.md §11) ----------------------------------

LOGOS = th.ObjectType(
    th.Property("default", th.StringType),
    th.Property("mark", th.StringType),
    th.Property("alt", th.StringType),
)
INTEGRATION_OPTIONS = th.ArrayType(
    th.ObjectType(
        th.Property("name", th.StringType),
        th.Property("type", th.StringType),
        th.Property("required", th.BooleanType),
        th.Property("description", th.StringType),
        th.Property("defaultValue", ANY),
        th.Property("label", th.StringType),
    )
)
LABEL_PROPERTIES = (
    th.Property("key", th.StringType, required=True),
    th.Property("value", th.StringType, required=True),
    th.Property("description", th.StringType),
)
LABELS = th.ArrayType(th.ObjectType(*LABEL_PROPERTIES))
SOURCE_METADATA_PROPERTIES = (
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("slug", th.StringType),
    th.Property("description", th.StringType),
    th.Property("logos", LOGOS),
    th.Property("options", INTEGRATION_OPTIONS),
    th.Property("categories", STRINGS),
    th.Property("isCloudEventSource", th.BooleanType),
)
WAREHOUSE_METADATA_PROPERTIES = (
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("slug", th.StringType),
    th.Property("description", th.StringType),
    th.Property("logos", LOGOS),
    th.Property("options", INTEGRATION_OPTIONS),
)
PERMISSIONS = th.ArrayType(
    th.ObjectType(
        th.Property("roleName", th.StringType),
        th.Property("roleId", th.StringType),
        th.Property(
            "resources",
            th.ArrayType(
                th.ObjectType(
                    th.Property("id", th.StringType),
                    th.Property("type", th.StringType),
                    th.Property("labels", LABELS),
                )
            ),
        ),
        th.Property("labels", LABELS),
    )
)

WORKSPACE = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("slug", th.StringType),
    th.Property("name", th.StringType),
)
SOURCE = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("slug", th.StringType),
    th.Property("name", th.StringType),
    th.Property("metadata", th.ObjectType(*SOURCE_METADATA_PROPERTIES)),
    th.Property("workspaceId", th.StringType),
    th.Property("enabled", th.BooleanType),
    th.Property(
        "writeKeys",
        STRINGS,
        description="sha256 fingerprints of the write keys (the keys with `emit_write_keys`).",
    ),
    th.Property("settings", FREE_FORM, description="Settings; secret values masked."),
    th.Property("labels", LABELS),
)
WAREHOUSE = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("metadata", th.ObjectType(*WAREHOUSE_METADATA_PROPERTIES)),
    th.Property("workspaceId", th.StringType),
    th.Property("enabled", th.BooleanType),
    th.Property("settings", FREE_FORM, description="Settings; secret values masked."),
)
SOURCE_WAREHOUSE_CONNECTION = th.PropertiesList(
    th.Property("warehouseId", th.StringType, required=True),
    th.Property("sourceId", th.StringType, required=True),
)
TRACKING_PLAN = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("slug", th.StringType),
    th.Property("description", th.StringType),
    th.Property("type", th.StringType),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
)
TRACKING_PLAN_RULE = th.PropertiesList(
    th.Property("trackingPlanId", th.StringType, required=True),
    th.Property(
        "ruleId",
        th.StringType,
        required=True,
        description="type/key/version, e.g. TRACK/Order Completed/2 (COMMON/1: no key).",
    ),
    th.Property("type", th.StringType),
    th.Property("key", th.StringType, description="The event, for TRACK rules."),
    th.Property("ruleVersion", th.IntegerType, description="Segment's `version` of the rule."),
    th.Property(
        "jsonSchema", FREE_FORM, description="The rule's JSON Schema, as Segment keeps it."
    ),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
    th.Property("deprecatedAt", th.DateTimeType),
)
FUNCTION = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("resourceType", th.StringType),
    th.Property("createdAt", th.DateTimeType),
    th.Property("createdBy", th.StringType),
    th.Property("displayName", th.StringType),
    th.Property("description", th.StringType),
    th.Property("logoUrl", th.StringType),
    th.Property("catalogId", th.StringType),
)
TRANSFORMATION = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("sourceId", th.StringType),
    th.Property("destinationMetadataId", th.StringType),
    th.Property("enabled", th.BooleanType),
    th.Property("if", th.StringType),
    th.Property("newEventName", th.StringType),
    th.Property(
        "propertyRenames",
        th.ArrayType(
            th.ObjectType(
                th.Property("oldName", th.StringType), th.Property("newName", th.StringType)
            )
        ),
    ),
    th.Property(
        "propertyValueTransformations",
        th.ArrayType(
            th.ObjectType(
                th.Property("propertyPaths", STRINGS), th.Property("propertyValue", th.StringType)
            )
        ),
    ),
    th.Property(
        "fqlDefinedProperties",
        th.ArrayType(
            th.ObjectType(
                th.Property("fql", th.StringType), th.Property("propertyName", th.StringType)
            )
        ),
    ),
    th.Property("allowProperties", STRINGS),
    th.Property(
        "hashPropertiesConfiguration",
        th.ObjectType(
            th.Property("algorithm", th.StringType),
            th.Property("key", th.StringType),
            th.Property("encoding", th.StringType),
            th.Property("paths", STRINGS),
        ),
    ),
)
REVERSE_ETL_MODEL = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("sourceId", th.StringType),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("enabled", th.BooleanType),
    th.Property("scheduleStrategy", th.StringType),
    th.Property("scheduleConfig", FREE_FORM),
    th.Property("query", th.StringType),
    th.Property("queryIdentifierColumn", th.StringType),
)
SPACE = WORKSPACE
LABEL = th.PropertiesList(*LABEL_PROPERTIES)
ROLE = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
)
USER = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("email", th.StringType),
    th.Property("permissions", PERMISSIONS),
)
USER_GROUP = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("memberCount", th.IntegerType),
    th.Property("permissions", PERMISSIONS),
)
USER_GROUP_MEMBER = th.PropertiesList(
    th.Property("userGroupId", th.StringType, required=True),
    th.Property("userId", th.StringType, required=True),
)
CATALOG_SOURCE = th.PropertiesList(*SOURCE_METADATA_PROPERTIES)
CATALOG_WAREHOUSE = th.PropertiesList(*WAREHOUSE_METADATA_PROPERTIES)
# The catalog entry destinations embed as their ``metadata``, as a record of its own.
CATALOG_DESTINATION = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    *(prop for name, prop in DESTINATION_METADATA.wrapped.items() if name != "id"),
)


# -- Usage, event volume, audit trail and delivery overview (docs/api/segment.md §12-§16) ------

#: The kinds of monthly tracked users a snapshot counts (MtuSnapshotV1).
MTU_COUNTS = ("anonymous", "anonymousIdentified", "identified", "neverIdentified")
#: Delivery Overview's group-by dimensions; ``*`` in a row where it was not grouped by.
OVERVIEW_DIMENSIONS = ("eventName", "eventType", "discardReason", "appVersion")


def _counted(name: str, what: str) -> list[th.Property]:
    return [
        th.Property(
            f"{name}Cumulative",
            th.IntegerType,
            description=f"{what} since the period's start, as Segment serves it: do not sum.",
        ),
        th.Property(name, th.IntegerType, description=f"{what} of this day alone: sums."),
    ]


def _usage(*properties: th.Property, per_source: bool) -> th.PropertiesList:
    return th.PropertiesList(
        *([th.Property("sourceId", th.StringType, required=True)] if per_source else []),
        th.Property("timestamp", th.DateTimeType, required=True, description="The day (UTC)."),
        th.Property("period", th.DateTimeType, description="The usage month it belongs to."),
        *properties,
    )


def _mtu(*, per_source: bool) -> th.PropertiesList:
    return _usage(
        th.Property("periodStart", th.IntegerType, description="Usage period start (Unix s)."),
        th.Property("periodEnd", th.IntegerType, description="Usage period end (Unix s)."),
        *(p for kind in MTU_COUNTS for p in _counted(kind, f"{kind} users")),
        per_source=per_source,
    )


USAGE_API_CALLS = _usage(*_counted("apiCalls", "API calls"), per_source=False)
USAGE_API_CALLS_PER_SOURCE = _usage(*_counted("apiCalls", "API calls"), per_source=True)
USAGE_MTU = _mtu(per_source=False)
USAGE_MTU_PER_SOURCE = _mtu(per_source=True)

EVENT_VOLUME = th.PropertiesList(
    th.Property("granularity", th.StringType, required=True),
    th.Property("time", th.DateTimeType, required=True, description="The bucket's start."),
    th.Property("sourceId", th.StringType, required=True, description="`*`: not grouped."),
    th.Property("sourceName", th.StringType),
    th.Property("sourceSlug", th.StringType),
    th.Property("eventName", th.StringType, required=True, description="`*`: not grouped."),
    th.Property("eventType", th.StringType, required=True, description="`*`: not grouped."),
    th.Property("count", th.IntegerType, description="Events in the bucket."),
)

AUDIT_EVENT = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("timestamp", th.DateTimeType, required=True),
    th.Property("type", th.StringType, description='What happened, e.g. "Source Created".'),
    th.Property("actor", th.StringType),
    th.Property("actorEmail", th.StringType),
    th.Property("resourceId", th.StringType),
    th.Property("resourceType", th.StringType),
    th.Property("resourceName", th.StringType),
)


def _overview(*, per_destination: bool) -> th.PropertiesList:
    return th.PropertiesList(
        th.Property("sourceId", th.StringType, required=True),
        *([th.Property("destinationId", th.StringType, required=True)] if per_destination else []),
        th.Property("stage", th.StringType, required=True, description="The pipeline stage."),
        th.Property("granularity", th.StringType, required=True),
        th.Property("time", th.DateTimeType, required=True, description="The bucket's start."),
        *(
            th.Property(name, th.StringType, required=True, description="`*`: not grouped.")
            for name in OVERVIEW_DIMENSIONS
        ),
        th.Property("count", th.IntegerType, description="Events in the bucket."),
        th.Property(
            "retryCount", th.IntegerType, description="Retries, where Segment counts them."
        ),
    )


DELIVERY_OVERVIEW = _overview(per_destination=True)
DELIVERY_OVERVIEW_SOURCES = _overview(per_destination=False)
