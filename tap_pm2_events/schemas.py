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
