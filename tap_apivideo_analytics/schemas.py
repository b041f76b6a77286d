"""Record schemas: one row per (UTC day, breakdown, value), with the day on every row.

``date`` is the start of the UTC day (or, for ``emittedAt`` values, the day holding the hourly
bucket) in the canonical UTC form of every replication key. Values are open strings, not enums:
api.video's lists of countries, devices, systems and browsers are examples, not closed sets.
"""

from singer_sdk import typing as th

DAY = th.Property(
    "date", th.DateTimeType, required=True, description="Start of the UTC day (00:00:00+00:00)."
)


def plays_schema(id_field: str, noun: str) -> th.PropertiesList:
    """Plays per day and dimension value, for videos or live streams."""
    return th.PropertiesList(
        DAY,
        th.Property(
            "dimension",
            th.StringType,
            required=True,
            description="What `value` is: emittedAt, the id, country, deviceType, "
            "operatingSystem or browser.",
        ),
        th.Property(
            "value",
            th.StringType,
            required=True,
            description=f"The dimension value: a {noun} id, an hourly bucket start "
            "(ISO-8601 UTC, for emittedAt), a country name, a device type, an OS or a browser; "
            "(none) when api.video sends an empty value.",
        ),
        th.Property("plays", th.IntegerType, required=True, description="Plays that day."),
        th.Property(
            id_field,
            th.StringType,
            required=True,
            description=f"The {noun} the figures are filtered to; * for the whole project.",
        ),
    )


VIDEO_PLAYS = plays_schema("video_id", "video")
LIVE_STREAM_PLAYS = plays_schema("live_stream_id", "live stream")

METRIC_BUCKET = th.PropertiesList(
    DAY,
    th.Property("metric", th.StringType, required=True, description="e.g. play, start, view."),
    th.Property(
        "breakdown", th.StringType, required=True, description="e.g. country, media-id, browser."
    ),
    th.Property(
        "dimension_value",
        th.StringType,
        required=True,
        description="The breakdown's value (ISO alpha-2 for country); (none) when api.video "
        "sends an empty value (e.g. events without a referrer).",
    ),
    th.Property(
        "metric_value", th.NumberType, required=True, description="The metric for that day."
    ),
)

METRIC_TIMESERIES = th.PropertiesList(
    DAY,
    th.Property("metric", th.StringType, required=True, description="e.g. play, start, view."),
    th.Property("interval", th.StringType, required=True, description="Always day."),
    th.Property(
        "metric_value", th.NumberType, required=True, description="The metric for that day."
    ),
)
