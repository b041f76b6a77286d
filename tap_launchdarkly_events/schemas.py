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

# -- the account's resources (docs/api/launchdarkly.md §10) ----------------------------------

OBJECT = th.ObjectType(additional_properties=True)
TAGS = th.ArrayType(th.StringType)


def _millis(name: str, what: str) -> th.Property:
    return th.Property(name, th.IntegerType, description=f"{what}, Unix time in milliseconds.")


PROJECT = th.PropertiesList(
    th.Property("key", th.StringType, required=True),
    th.Property("_id", th.StringType),
    th.Property("name", th.StringType),
    th.Property("tags", TAGS),
    th.Property("includeInSnippetByDefault", th.BooleanType),
    th.Property("defaultClientSideAvailability", OBJECT),
    th.Property("_links", LINKS),
)

ENVIRONMENT = th.PropertiesList(
    th.Property("projectKey", th.StringType, required=True),
    th.Property("key", th.StringType, required=True),
    th.Property("_id", th.StringType),
    th.Property("name", th.StringType),
    th.Property(
        "apiKeyFingerprint",
        th.StringType,
        description="sha256 of the SDK key: the key itself never leaves the tap.",
    ),
    th.Property(
        "mobileKeyFingerprint",
        th.StringType,
        description="sha256 of the mobile key: the key itself never leaves the tap.",
    ),
    th.Property("color", th.StringType),
    th.Property("defaultTtl", th.IntegerType),
    th.Property("secureMode", th.BooleanType),
    th.Property("defaultTrackEvents", th.BooleanType),
    th.Property("requireComments", th.BooleanType),
    th.Property("confirmChanges", th.BooleanType),
    th.Property("critical", th.BooleanType),
    th.Property("tags", TAGS),
    th.Property("_links", LINKS),
)

FLAG_ENVIRONMENT = th.ObjectType(
    th.Property("on", th.BooleanType),
    th.Property("archived", th.BooleanType),
    th.Property("lastModified", th.IntegerType),
    th.Property("version", th.IntegerType),
    th.Property("salt", th.StringType),
    th.Property("sel", th.StringType),
    th.Property("trackEvents", th.BooleanType),
    th.Property("trackEventsFallthrough", th.BooleanType),
    th.Property("_environmentName", th.StringType),
    th.Property("_site", LINKS),
    th.Property("_summary", OBJECT),
    additional_properties=True,
)

FLAG = th.PropertiesList(
    th.Property("projectKey", th.StringType, required=True),
    th.Property("environmentKey", th.StringType, required=True),
    th.Property("key", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("kind", th.StringType),
    th.Property("description", th.StringType),
    th.Property("_version", th.IntegerType),
    _millis("creationDate", "Created"),
    th.Property("temporary", th.BooleanType),
    th.Property("archived", th.BooleanType),
    th.Property("deprecated", th.BooleanType),
    th.Property("tags", TAGS),
    th.Property("variations", th.ArrayType(OBJECT)),
    th.Property("defaults", OBJECT),
    th.Property("customProperties", OBJECT),
    th.Property("experiments", OBJECT),
    th.Property("maintainerId", th.StringType),
    th.Property("_links", LINKS),
    th.Property(
        "environments",
        th.ObjectType(additional_properties=FLAG_ENVIRONMENT),
        description="The environment's key -> the flag's state there: on, archived, "
        "lastModified, version.",
    ),
)

SEGMENT = th.PropertiesList(
    th.Property("projectKey", th.StringType, required=True),
    th.Property("environmentKey", th.StringType, required=True),
    th.Property("key", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("tags", TAGS),
    _millis("creationDate", "Created"),
    _millis("lastModifiedDate", "Last changed"),
    th.Property("version", th.IntegerType),
    th.Property("generation", th.IntegerType),
    th.Property("deleted", th.BooleanType),
    th.Property("unbounded", th.BooleanType),
    th.Property("rules", th.ArrayType(OBJECT)),
    th.Property("_links", LINKS),
)

METRIC = th.PropertiesList(
    th.Property("projectKey", th.StringType, required=True),
    th.Property("key", th.StringType, required=True),
    th.Property("_id", th.StringType),
    th.Property("_versionId", th.StringType),
    th.Property("name", th.StringType),
    th.Property("kind", th.StringType),
    th.Property("eventKey", th.StringType),
    th.Property("isNumeric", th.BooleanType),
    th.Property("tags", TAGS),
    _millis("_creationDate", "Created"),
    th.Property("dataSource", OBJECT),
    th.Property("_links", LINKS),
)

MEMBER = th.PropertiesList(
    th.Property("_id", th.StringType, required=True),
    th.Property("email", th.StringType),
    th.Property("firstName", th.StringType),
    th.Property("lastName", th.StringType),
    th.Property("role", th.StringType),
    th.Property("customRoles", TAGS),
    th.Property("mfa", th.StringType),
    th.Property("_pendingInvite", th.BooleanType),
    th.Property("_verified", th.BooleanType),
    _millis("_lastSeen", "Last seen"),
    _millis("creationDate", "Created"),
    th.Property("_links", LINKS),
)

TEAM = th.PropertiesList(
    th.Property("key", th.StringType, required=True),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    _millis("_creationDate", "Created"),
    _millis("_lastModified", "Last changed"),
    th.Property("_version", th.IntegerType),
    th.Property("_idpSynced", th.BooleanType),
    th.Property("_links", LINKS),
)

AUDIT_LOG_ENTRY = th.PropertiesList(
    th.Property("_id", th.StringType, required=True),
    th.Property("_accountId", th.StringType),
    th.Property("date", th.IntegerType, description="Unix time in milliseconds, as sent."),
    th.Property("dateTime", th.DateTimeType, required=True, description="date in UTC."),
    th.Property("kind", th.StringType, description="The resource kind, e.g. flag."),
    th.Property("name", th.StringType),
    th.Property("description", th.StringType),
    th.Property("shortDescription", th.StringType),
    th.Property("comment", th.StringType),
    th.Property("titleVerb", th.StringType),
    th.Property("title", th.StringType),
    th.Property(
        "accesses",
        th.ArrayType(
            th.ObjectType(
                th.Property("action", th.StringType), th.Property("resource", th.StringType)
            )
        ),
    ),
    th.Property("member", OBJECT),
    th.Property("token", OBJECT),
    th.Property("app", OBJECT),
    th.Property("subject", OBJECT),
    th.Property("target", OBJECT),
    th.Property("parent", OBJECT),
    th.Property("_links", LINKS),
    th.Property("instance", th.StringType, description="The API host it was read from."),
)
