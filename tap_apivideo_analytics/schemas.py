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

METRIC_AGGREGATE = th.PropertiesList(
    DAY,
    th.Property("metric", th.StringType, required=True, description="e.g. play, watch-time, ccv."),
    th.Property(
        "aggregation",
        th.StringType,
        required=True,
        description="count, rate, average, sum or peak, as the metric allows.",
    ),
    th.Property(
        "metric_value",
        th.NumberType,
        required=True,
        description="The metric over the whole day (watch-time in seconds, impression-time in "
        "milliseconds, rate as plays / impressions).",
    ),
)

MEDIA_WATCH_TIME = th.PropertiesList(
    DAY,
    th.Property("media_id", th.StringType, required=True, description="A video or live stream."),
    th.Property("media_type", th.StringType, required=True, description="video or live-stream."),
    th.Property("plays", th.IntegerType, required=True, description="Plays that day."),
    th.Property(
        "watch_time_seconds",
        th.NumberType,
        required=True,
        description="Seconds watched that day, all plays together (watch-time sum).",
    ),
)

ASSET_URLS = "URLs without any private token (see docs/tap-apivideo-analytics.md)."


def _assets(*names: str) -> th.Property:
    return th.Property(
        "assets",
        th.ObjectType(*(th.Property(name, th.StringType) for name in names)),
        description=f"Player, embed, HLS and thumbnail {ASSET_URLS}",
    )


def _when(name: str, what: str) -> th.Property:
    return th.Property(name, th.DateTimeType, description=what)


VIDEO = th.PropertiesList(
    th.Property("videoId", th.StringType, required=True, description="The video's id (vi...)."),
    th.Property("title", th.StringType),
    th.Property("description", th.StringType),
    _when("createdAt", "When the video object was created."),
    _when("publishedAt", "When the video was published."),
    _when("updatedAt", "When the video object was last changed."),
    _when("discardedAt", "When the video was discarded (moved to the bin), if it was."),
    _when("deletesAt", "When a discarded video is deleted for good."),
    th.Property("discarded", th.BooleanType, description="In the bin (still restorable)."),
    th.Property("language", th.StringType, description="Spoken language, BCP 47."),
    th.Property("languageOrigin", th.StringType, description="api (set) or auto (detected)."),
    th.Property("tags", th.ArrayType(th.StringType)),
    th.Property(
        "metadata",
        th.ArrayType(
            th.ObjectType(th.Property("key", th.StringType), th.Property("value", th.StringType))
        ),
        description="The video's key/value pairs.",
    ),
    th.Property(
        "source",
        th.ObjectType(
            th.Property("uri", th.StringType),
            th.Property("type", th.StringType, description="upload or live."),
            th.Property(
                "liveStream",
                th.ObjectType(
                    th.Property("liveStreamId", th.StringType),
                    th.Property(
                        "links",
                        th.ArrayType(
                            th.ObjectType(
                                th.Property("rel", th.StringType), th.Property("uri", th.StringType)
                            )
                        ),
                    ),
                ),
                description="The live stream a recording comes from.",
            ),
        ),
    ),
    _assets("hls", "iframe", "player", "thumbnail", "mp4"),
    th.Property("playerId", th.StringType),
    th.Property(
        "public", th.BooleanType, description="false: a private video (its URLs need a token)."
    ),
    th.Property("panoramic", th.BooleanType),
    th.Property("mp4Support", th.BooleanType, description="Whether an MP4 can be downloaded."),
)

LIVE_STREAM = th.PropertiesList(
    th.Property(
        "liveStreamId", th.StringType, required=True, description="The live stream's id (li...)."
    ),
    th.Property("name", th.StringType),
    th.Property(
        "streamKeyFingerprint",
        th.StringType,
        description="sha256 of the stream key (the key itself, which lets anyone broadcast on "
        "the channel, is never emitted): the same key gives the same value, a new key another.",
    ),
    th.Property("public", th.BooleanType, description="false: a private live stream."),
    _assets("hls", "iframe", "player", "thumbnail"),
    th.Property("playerId", th.StringType),
    th.Property("broadcasting", th.BooleanType, description="Live at the time of the sync."),
    th.Property(
        "restreams",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType),
                th.Property("serverUrl", th.StringType),
                th.Property(
                    "streamKeyFingerprint",
                    th.StringType,
                    description="sha256 of the restream's stream key (never the key).",
                ),
            )
        ),
        description="Where the stream is also sent (YouTube, Facebook...).",
    ),
    _when("createdAt", "When the live stream was created."),
    _when("updatedAt", "When the live stream was last changed."),
)
