"""Record schemas of tap-pm2-events (docs/api/pm2.md §2 and §4; event payloads are free-form)."""

from singer_sdk import typing as th

FREE_FORM = th.ObjectType(additional_properties=True)

BUCKET = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="Bucket id (24 hex)."),
    th.Property("name", th.StringType),
    th.Property("public_id", th.StringType),
    th.Property("data_endpoint", th.StringType, description="The bucket's data node."),
    th.Property("realtime_endpoint", th.StringType),
    th.Property("created_at", th.StringType, description="As PM2 sends it."),
)

EVENT_KEY = th.PropertiesList(
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("app_name", th.StringType, required=True),
    th.Property("event_name", th.StringType, required=True),
    th.Property("count", th.IntegerType, description="As eventsKeysByApp reports it, if it does."),
)

EVENT = th.PropertiesList(
    th.Property(
        "event_id",
        th.StringType,
        required=True,
        description="The vendor's id, else a content hash (docs/tap-pm2-events.md).",
    ),
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("event_name", th.StringType, required=True),
    th.Property("at", th.DateTimeType, required=True, description="Event time, UTC."),
    th.Property("at_epoch_ms", th.IntegerType, description="Event time as sent, if epoch ms."),
    th.Property("app_name", th.StringType),
    th.Property("server_name", th.StringType),
    th.Property("name", th.StringType),
    th.Property("data", FREE_FORM, description="The payload given to io.emit, as an object."),
    th.Property(
        "process",
        th.ObjectType(
            th.Property("pm_id", th.IntegerType),
            th.Property("name", th.StringType),
            th.Property("rev", th.StringType),
            th.Property("server", th.StringType),
            additional_properties=True,
        ),
    ),
)

EVENT_HISTOGRAM = th.PropertiesList(
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("app_name", th.StringType, required=True),
    th.Property("event_name", th.StringType, required=True),
    th.Property("interval", th.StringType, required=True, description="minute, hour or day."),
    th.Property("bucket_start", th.DateTimeType, required=True, description="UTC."),
    th.Property("count", th.IntegerType, required=True),
)

# Process events, deployments and issues: shapes UNVERIFIED (docs/api/pm2.md §4.5-§4.8). The
# columns are what the tap finds (under either of the names it looks for); ``raw`` keeps the
# vendor's document as sent, unknown fields included.
RAW = th.Property("raw", FREE_FORM, description="The document as the API sent it.")

PROCESS_EVENT = th.PropertiesList(
    th.Property(
        "process_event_id",
        th.StringType,
        required=True,
        description="The vendor's id, else a content hash (docs/tap-pm2-events.md).",
    ),
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("at", th.DateTimeType, required=True, description="Event time, UTC."),
    th.Property("event", th.StringType, description="restart, exit, online, stop, ..."),
    th.Property("manually", th.BooleanType, description="Asked for (not a crash), if said."),
    th.Property("app_name", th.StringType),
    th.Property("server_name", th.StringType),
    th.Property("pm_id", th.IntegerType),
    th.Property("revision", th.StringType, description="The process's code revision, if any."),
    RAW,
)

DEPLOYMENT = th.PropertiesList(
    th.Property(
        "deployment_id",
        th.StringType,
        required=True,
        description="The vendor's id, else a content hash (docs/tap-pm2-events.md).",
    ),
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("at", th.DateTimeType, required=True, description="Deployment time, UTC."),
    th.Property("app_name", th.StringType),
    th.Property("server_name", th.StringType),
    th.Property("revision", th.StringType),
    th.Property("previous_revision", th.StringType),
    th.Property("branch", th.StringType),
    th.Property("comment", th.StringType),
    RAW,
)

ISSUE_APP = th.PropertiesList(
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("app_name", th.StringType, required=True),
    th.Property("open_issues", th.IntegerType, description="As issues/summary/apps counts."),
)

ISSUE = th.PropertiesList(
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("identifier", th.StringType, required=True, description="The group's id."),
    th.Property("app_name", th.StringType),
    th.Property("server_name", th.StringType, description="Of the last occurrence, if said."),
    th.Property("type", th.StringType, description="The exception's class (TypeError, ...)."),
    th.Property("message", th.StringType),
    th.Property("initiator", th.StringType, description="node, golang, browser, ..."),
    th.Property("source", th.StringType),
    th.Property("first_seen", th.DateTimeType, description="UTC."),
    th.Property("last_seen", th.DateTimeType, description="UTC."),
    th.Property("occurrences", th.IntegerType, description="Occurrences so far."),
    RAW,
)

ISSUE_OCCURRENCE = th.PropertiesList(
    th.Property(
        "occurrence_id",
        th.StringType,
        required=True,
        description="The vendor's id, else a content hash (docs/tap-pm2-events.md).",
    ),
    th.Property("bucket_id", th.StringType, required=True),
    th.Property("identifier", th.StringType, required=True, description="Its issue."),
    th.Property("at", th.DateTimeType, required=True, description="When it was thrown, UTC."),
    th.Property("type", th.StringType),
    th.Property("message", th.StringType),
    th.Property("stack", th.StringType),
    th.Property("app_name", th.StringType),
    th.Property("server_name", th.StringType),
    th.Property("pm_id", th.IntegerType),
    RAW,
)
