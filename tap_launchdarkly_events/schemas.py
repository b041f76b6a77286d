"""The flag-event record schema, field for field as docs/api/launchdarkly.md §3 describes it.

Variation values are left untyped (a flag can serve booleans, strings, numbers or JSON);
``eventType``, ``impact.reason`` and ``actions`` are open strings, not enums.
"""

from singer_sdk import typing as th

ANY = th.CustomType({})
LINKS = th.ObjectType(additional_properties=True)

FLAG_EVENT = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Flag event id (a UUID)."),
    th.Property("projectId", th.StringType),
    th.Property("projectKey", th.StringType),
    th.Property("environmentId", th.StringType),
    th.Property("environmentKey", th.StringType, description="Null on global events."),
    th.Property("flagKey", th.StringType),
    th.Property("eventType", th.StringType, description="e.g. enabled_targeting."),
    th.Property("eventTime", th.IntegerType, description="Unix time in milliseconds, as sent."),
    th.Property("eventDateTime", th.DateTimeType, required=True, description="eventTime in UTC."),
    th.Property("description", th.StringType),
    th.Property("auditLogEntryId", th.StringType),
    th.Property(
        "member",
        th.ObjectType(
            th.Property("id", th.StringType),
            th.Property("email", th.StringType),
            th.Property("firstName", th.StringType),
            th.Property("lastName", th.StringType),
        ),
    ),
    th.Property("actions", th.ArrayType(th.StringType)),
    th.Property(
        "impact",
        th.ObjectType(
            th.Property("size", th.StringType, description="none, small, medium or large."),
            th.Property("percentage", th.NumberType),
            th.Property("reason", th.StringType, description="evaluations, global or waiting."),
            th.Property(
                "evaluationsSummary",
                th.ObjectType(
                    th.Property(
                        "variations",
                        th.ArrayType(
                            th.ObjectType(
                                th.Property("value", ANY),
                                th.Property("before", th.IntegerType),
                                th.Property("after", th.IntegerType),
                            )
                        ),
                    )
                ),
            ),
        ),
        description="Evaluations ten minutes before and after; 'waiting' until known.",
    ),
    th.Property(
        "experiments",
        th.ObjectType(
            th.Property("totalCount", th.IntegerType),
            th.Property(
                "items",
                th.ArrayType(
                    th.ObjectType(
                        th.Property("key", th.StringType),
                        th.Property("name", th.StringType),
                        th.Property(
                            "iteration",
                            th.ObjectType(
                                th.Property("id", th.StringType),
                                th.Property("status", th.StringType),
                                th.Property("startedAt", th.IntegerType),
                                th.Property("endedAt", th.IntegerType),
                                th.Property("_links", LINKS),
                            ),
                        ),
                        th.Property("_links", LINKS),
                    )
                ),
            ),
        ),
        description="Only with expand_experiments.",
    ),
)
