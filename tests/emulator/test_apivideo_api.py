"""The api.video emulator answers as apivideo.md and apivideo-data.md document, to any client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.apivideo import (
    DEFAULT_API_KEY,
    NO_ANALYTICS_KEY,
    SANDBOX_READS_PER_MINUTE,
    ApiVideoApp,
    ApiVideoDataset,
    aggregate,
)
from tap_apivideo_analytics.tap import AGGREGATES
from tests.official import run_python

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
BASIC = (DEFAULT_API_KEY, "")
VIDEOS = "/analytics/videos/plays"
LIVE = "/analytics/live-streams/plays"
DAY = {"from": "2026-11-18", "to": "2026-11-19"}
DOCS = "https://docs.api.video/reference/"
RATE_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Retry-After"}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    dataset = ApiVideoDataset.generate(seed=5, videos=40, anchor=NOW)
    with EmulatorServer(ApiVideoApp(dataset)) as emulator:
        emulator.clock.set(NOW)
        yield emulator


def get(server: EmulatorServer, path: str, auth=BASIC, **params) -> requests.Response:
    return requests.get(server.url + path, params=params, auth=auth, timeout=5)


def post(server: EmulatorServer, path: str, body: dict) -> requests.Response:
    return requests.post(server.url + path, json=body, timeout=5)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def tokens(server: EmulatorServer) -> dict:
    response = post(server, "/auth/api-key", {"apiKey": DEFAULT_API_KEY})
    assert response.status_code == 200
    return response.json()


def get_bearer(server: EmulatorServer, token: str, path: str = VIDEOS) -> requests.Response:
    params = DAY | {"dimension": "country"}
    return requests.get(server.url + path, params=params, headers=bearer(token), timeout=5)


# -- authentication -------------------------------------------------------------------------


def test_basic_auth_takes_the_key_as_username_with_an_empty_password(server):
    assert get(server, VIDEOS, **DAY, dimension="country").status_code == 200


@pytest.mark.parametrize(
    ("auth", "headers", "slug"),
    [
        (None, {}, "authentication-missing-authorization-header"),
        (("wrong", ""), {}, "authentication-invalid-api-key"),
        (None, bearer("not-a-token"), "authentication-invalid-authorization-header-value"),
    ],
)
def test_a_refused_credential_is_a_401_problem(server, auth, headers, slug):
    response = requests.get(
        server.url + VIDEOS,
        params=DAY | {"dimension": "country"},
        auth=auth,
        headers=headers,
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["type"] == DOCS + slug
    assert response.json()["status"] == 401


def test_the_api_key_is_exchanged_for_a_bearer_token_pair(server):
    pair = tokens(server)
    assert set(pair) == {"token_type", "expires_in", "access_token", "refresh_token"}
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 3600
    assert get_bearer(server, pair["access_token"]).status_code == 200


def test_a_wrong_key_gets_the_documented_400(server):
    response = post(server, "/auth/api-key", {"apiKey": "nope"})
    assert response.status_code == 400
    assert response.json() == {
        "type": DOCS + "authentication-invalid-user-credentials",
        "title": "The user credentials were incorrect.",
        "name": "",
        "status": 400,
    }


def test_a_refresh_rotates_both_tokens_and_retires_the_old_refresh_token(server):
    old = tokens(server)
    new = post(server, "/auth/refresh", {"refreshToken": old["refresh_token"]}).json()
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]
    assert get_bearer(server, new["access_token"]).status_code == 200
    again = post(server, "/auth/refresh", {"refreshToken": old["refresh_token"]})
    assert again.status_code == 400
    assert again.json()["title"] == "The user credentials were incorrect."


def test_a_token_expires_after_its_lifetime_on_the_emulator_clock(server):
    server.app.token_lifetime = 600
    pair = tokens(server)
    assert pair["expires_in"] == 600
    server.clock.advance(timedelta(seconds=599))
    assert get_bearer(server, pair["access_token"]).status_code == 200
    server.clock.advance(timedelta(seconds=1))
    assert get_bearer(server, pair["access_token"]).status_code == 401


def test_token_max_uses_expires_a_token_after_that_many_calls(server):
    options = {"token_max_uses": 2, "token_lifetime": 60}
    answer = requests.put(server.url + "/_emulator/apivideo/options", json=options, timeout=5)
    assert answer.json()["token_max_uses"] == 2
    token = tokens(server)["access_token"]
    statuses = [get_bearer(server, token).status_code for _ in range(3)]
    assert statuses == [200, 200, 401]


# -- plays endpoints ------------------------------------------------------------------------

PLAYS_ERRORS = [
    ({"to": "2026-11-19", "dimension": "country"}, "from", "invalid-attribute", "of type string"),
    (
        {"from": "18/11/2026", "dimension": "country"},
        "from",
        "request-invalid-query-parameter",
        "YYYY-MM-DD",
    ),
    (
        {"from": "2026-10-20", "dimension": "country"},
        "from",
        "request-invalid-query-parameter",
        "within the last 30 days",
    ),
    (
        {"from": "2026-11-18", "to": "2026-11-18", "dimension": "country"},
        "to",
        "request-invalid-query-parameter",
        "after from",
    ),
    (
        {"from": "2026-11-18", "to": "2026-11-23", "dimension": "country"},
        "to",
        "request-invalid-query-parameter",
        "within the last 30 days",
    ),
    (DAY, "dimension", "invalid-attribute", "This value must be of type string."),
    (
        DAY | {"dimension": "liveStreamId"},
        "dimension",
        "request-invalid-query-parameter",
        "following values: emittedAt,videoId,country,deviceType,operatingSystem,browser",
    ),
    (
        DAY | {"dimension": "country", "filter": "vi123"},
        "filter",
        "request-invalid-query-parameter",
        "structure(s): videoId:{videoId}",
    ),
    (
        DAY | {"dimension": "country", "filter": "videoId:viNOPE"},
        "filter",
        "request-invalid-query-parameter",
        "This value must refer to an existing video",
    ),
    (
        DAY | {"dimension": "country", "currentPage": "0"},
        "currentPage",
        "request-invalid-query-parameter",
        "greater than or equal to 1",
    ),
    (
        DAY | {"dimension": "country", "pageSize": "0"},
        "pageSize",
        "request-invalid-query-parameter",
        "between 1 and 100",
    ),
    (
        DAY | {"dimension": "country", "pageSize": "101"},
        "pageSize",
        "request-invalid-query-parameter",
        "between 1 and 100",
    ),
]


@pytest.mark.parametrize(("params", "name", "slug", "detail"), PLAYS_ERRORS)
def test_every_plays_rule_rejects_with_a_400_naming_the_parameter(
    server, params, name, slug, detail
):
    response = get(server, VIDEOS, **params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "name"}
    assert (body["type"], body["name"], body["status"]) == (DOCS + slug, name, 400)
    assert detail in body["detail"]
    assert set(response.headers) >= RATE_HEADERS


def test_live_streams_have_their_own_dimension_and_filter(server):
    live_id = server.app.dataset.live_streams[0]
    response = get(server, LIVE, **DAY, dimension="liveStreamId", filter=f"liveStreamId:{live_id}")
    assert response.status_code == 200
    assert {row["value"] for row in response.json()["data"]} <= {live_id}
    refused = get(server, LIVE, **DAY, dimension="country", filter=f"videoId:{live_id}")
    assert "liveStreamId:{liveStreamId}" in refused.json()["detail"]


def test_from_may_reach_back_thirty_days_and_to_defaults_to_today_excluded(server):
    assert get(server, VIDEOS, **{"from": "2026-10-21"}, dimension="country").status_code == 200
    rows = get(server, VIDEOS, **{"from": "2026-11-19"}, dimension="emittedAt").json()["data"]
    assert {row["value"][:10] for row in rows} == {"2026-11-19"}  # nothing of today


@pytest.mark.parametrize(("end", "hourly"), [("2026-11-17", True), ("2026-11-18", False)])
def test_emitted_at_is_hourly_up_to_two_days_and_daily_beyond(server, end, hourly):
    params = {"from": "2026-11-15", "to": end, "dimension": "emittedAt", "pageSize": 100}
    values = [row["value"] for row in get(server, VIDEOS, **params).json()["data"]]
    assert values == sorted(values)
    assert all(v.endswith(":00:00.000Z") for v in values)
    assert any(not v.endswith("T00:00:00.000Z") for v in values) is hourly
    total = sum(row["plays"] for row in get(server, VIDEOS, **params).json()["data"])
    counts = server.app.dataset.plays(
        "video",
        "country",
        datetime(2026, 11, 15, tzinfo=timezone.utc),
        datetime.fromisoformat(end).replace(tzinfo=timezone.utc),
    )
    assert total == sum(counts.values())


def test_pages_are_self_consistent_and_cover_every_row_once(server):
    params = DAY | {"dimension": "videoId", "pageSize": 7}
    first = get(server, VIDEOS, **params).json()
    pagination = first["pagination"]
    pages = [
        get(server, VIDEOS, **params, currentPage=n).json()
        for n in range(1, 1 + pagination["pagesTotal"])
    ]
    rows = [row for page in pages for row in page["data"]]
    assert len(rows) == len({row["value"] for row in rows}) == pagination["itemsTotal"]
    assert [row["plays"] for row in rows] == sorted((row["plays"] for row in rows), reverse=True)
    for number, page in enumerate(pages, start=1):
        meta = page["pagination"]
        assert meta["currentPage"] == number
        assert meta["currentPageItems"] == len(page["data"])
        rels = {link["rel"]: link["uri"] for link in meta["links"]}
        assert ("next" in rels) is (number < meta["pagesTotal"])
        assert ("previous" in rels) is (number > 1)
        assert rels["self"].startswith(VIDEOS + "?from=2026-11-18&to=2026-11-19&dimension=videoId")
        assert f"currentPage={meta['pagesTotal']}&pageSize=7" in rels["last"]
    beyond = get(server, VIDEOS, **params, currentPage=pagination["pagesTotal"] + 1).json()
    assert beyond["data"] == []


def test_an_empty_range_has_no_pages(server):
    server.app.dataset = ApiVideoDataset.generate(seed=1, anchor=NOW, sessions_per_day=0)
    body = get(server, VIDEOS, **DAY, dimension="browser").json()
    assert body["data"] == []
    assert body["pagination"]["pagesTotal"] == 0
    assert [link["rel"] for link in body["pagination"]["links"]] == ["self"]


def test_late_plays_show_up_for_a_past_day(server):
    video = server.app.dataset.videos[3]

    def plays() -> int:
        rows = get(server, VIDEOS, **DAY, dimension="videoId", pageSize=100).json()["data"]
        return {row["value"]: row["plays"] for row in rows}.get(video, 0)

    before = plays()
    server.app.dataset.add_late_plays(datetime(2026, 11, 18, tzinfo=timezone.utc), 5, video)
    assert plays() == before + 5


# -- headers, limits, switches --------------------------------------------------------------


def test_rate_limit_headers_are_on_every_analytics_answer(server):
    answers = [
        get(server, VIDEOS, **DAY, dimension="country"),
        get(server, VIDEOS, **DAY),
        get(server, "/analytics/unknown"),
        get(server, VIDEOS, auth=(NO_ANALYTICS_KEY, ""), **DAY, dimension="country"),
        get(server, "/data/metrics/play/count"),
    ]
    assert [a.status_code for a in answers] == [200, 400, 404, 403, 200]
    for answer in answers:
        assert set(answer.headers) >= RATE_HEADERS
        assert "Retry-After" not in answer.headers


def test_the_sandbox_budget_runs_out_with_the_documented_429(server):
    server.budget.configure(limit=SANDBOX_READS_PER_MINUTE, window_seconds=60)
    answers = [get(server, VIDEOS, **DAY, dimension="country") for _ in range(101)]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["99", "98", "97"]
    assert answers[0].headers["X-RateLimit-Limit"] == "100"
    assert [a.status_code for a in answers[:100]] == [200] * 100
    refused = answers[100]
    assert refused.status_code == 429
    assert refused.json() == {
        "type": DOCS + "too-many-requests",
        "title": "Too many requests.",
        "status": 429,
    }
    assert 1 <= int(refused.headers["X-RateLimit-Retry-After"]) <= 60


def test_analytics_can_be_disabled_through_the_admin_route(server):
    url = server.url + "/_emulator/apivideo/options"
    assert requests.put(url, json={"analytics_enabled": False}, timeout=5).status_code == 200
    for path in (VIDEOS, "/data/metrics/play/count"):
        response = get(server, path, **DAY, dimension="country")
        assert response.status_code == 403
        assert response.json() == {
            "type": DOCS + "authorization-disabled-analytics",
            "title": "You cannot get analytics from this project.",
            "status": 403,
        }


def test_unknown_paths_and_methods_get_api_video_bodies(server):
    missing = get(server, "/analytics/nope")
    assert missing.json() == {
        "type": DOCS + "unrecognized-request-url",
        "title": "Unrecognized request URL.",
        "status": 404,
    }
    wrong = requests.post(server.url + VIDEOS, auth=BASIC, timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["title"] == "Method is not allowed for this route."


# -- /data endpoints ------------------------------------------------------------------------

WINDOW = {"from": "2026-11-18T00:00:00+00:00", "to": "2026-11-19T00:00:00+00:00"}


def test_the_three_data_endpoints_agree_on_one_day(server):
    total = get(server, "/data/metrics/play/count", **WINDOW).json()
    assert total["context"] == {"metric": "play", "aggregation": "count", "timeframe": WINDOW}
    by_country = get(server, "/data/buckets/play/country", **WINDOW, pageSize=100).json()["data"]
    series = get(server, "/data/timeseries/play", **WINDOW).json()
    assert sum(row["metricValue"] for row in by_country) == total["data"] > 0
    assert series["context"]["interval"] == "hour"  # a one-day window
    assert sum(row["metricValue"] for row in series["data"]) == total["data"]
    assert all(len(row["dimensionValue"]) == 2 for row in by_country)  # ISO alpha-2


def test_timeframes_come_back_in_utc_whole_seconds(server):
    params = {"from": "2026-11-18T02:00:00.250+02:00", "to": "2026-11-19T00:00:00Z"}
    timeframe = get(server, "/data/metrics/watch-time/average", **params).json()["context"][
        "timeframe"
    ]
    assert timeframe == {"from": "2026-11-18T00:00:00+00:00", "to": "2026-11-19T00:00:00+00:00"}


def test_daily_timeseries_have_one_row_per_day_with_data(server):
    params = {
        "from": "2026-11-10T00:00:00+00:00",
        "to": "2026-11-20T00:00:00+00:00",
        "interval": "day",
    }
    rows = get(server, "/data/timeseries/impression", **params).json()["data"]
    assert [row["emittedAt"][:10] for row in rows] == [f"2026-11-{d}" for d in range(10, 20)]
    assert all(row["emittedAt"].endswith("T00:00:00+00:00") for row in rows)


def test_view_is_named_after_its_default_duration(server):
    context = get(server, "/data/buckets/view/browser", **WINDOW).json()["context"]
    assert context["metric"] == "view-5"


DATA_ERRORS = [
    ("/data/metrics/start/average", {}, "aggregation", "following values: count"),
    ("/data/metrics/nope/count", {}, "metric", "following values"),
    ("/data/buckets/play-total/country", {}, "breakdown", "following values: media-id"),
    ("/data/buckets/play/city", {}, "breakdown", "following values"),
    (
        "/data/timeseries/play",
        {"interval": "week"},
        "interval",
        'Use one of "minute", "hour", "day".',
    ),
    ("/data/timeseries/play", {"interval": "minute"}, "interval", "timeframe over 60 minutes"),
    (
        "/data/buckets/play/country",
        {"from:2024-05-20T09:15:05+02:00": ""},
        "from:2024-05-20T09:15:05+02:00",
        "not expected",
    ),
    (
        "/data/buckets/play/country",
        {"from": "2026-10-01T00:00:00+00:00"},
        "from",
        "within the last 30 days",
    ),
    ("/data/buckets/play/country", {"from": "2026-11-18"}, "from", "ATOM"),
    ("/data/buckets/play/country", {"from": "2026-11-18T00:00:00 02:00"}, "from", "ATOM"),
    ("/data/buckets/play/country", {"sortBy": "plays"}, "sortBy", "following values"),
    ("/data/buckets/play/country", {"pageSize": "500"}, "pageSize", "between 1 and 100"),
]


@pytest.mark.parametrize(("path", "params", "name", "detail"), DATA_ERRORS)
def test_every_data_rule_rejects_with_a_400_naming_the_parameter(
    server, path, params, name, detail
):
    response = get(server, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["name"] == name
    assert detail in body["detail"]
    assert body["status"] == 400


def test_play_total_ignores_the_window_and_counts_all_time(server):
    video = server.app.dataset.videos[0]
    rows = get(server, "/data/buckets/play-total/media-id", **WINDOW, pageSize=100).json()["data"]
    everything = sum(
        1 for s in server.app.dataset.sessions if s.played and s.media_id == video and s.at < NOW
    )
    assert {row["dimensionValue"]: row["metricValue"] for row in rows}[video] == everything


# -- media lists and the official clients --------------------------------------------------

OFFICIAL_1_4 = """
import datetime, json, sys
import apivideo
from apivideo.api.analytics_api import AnalyticsApi
from apivideo.api.live_streams_api import LiveStreamsApi
from apivideo.api.videos_api import VideosApi
from apivideo.model.filter_by2 import FilterBy2

given = json.load(sys.stdin)
day = datetime.datetime.fromisoformat(given["day"])
window = {"_from": day, "to": day + datetime.timedelta(days=1)}
out = {"videos": [], "live_streams": [], "aggregates": {}}
client = apivideo.AuthenticatedApiClient(given["api_key"])
client.configuration.host = given["url"]
client.connect()  # the API key -> token exchange
if True:
    videos, lives, analytics = VideosApi(client), LiveStreamsApi(client), AnalyticsApi(client)
    page = 1
    while True:
        answer = videos.list(sort_by="createdAt", sort_order="asc", page_size=7, current_page=page)
        out["videos"] += [(v.video_id, v.public, v.updated_at.isoformat()) for v in answer.data]
        if page >= answer.pagination.pages_total:
            break
        page += 1
    answer = lives.list(sort_by="updatedAt", sort_order="desc", page_size=100)
    out["live_streams"] = [(s.live_stream_id, len(s.restreams)) for s in answer.data]
    for pair in given["pairs"]:
        metric, aggregation = pair.split("/")
        if aggregation == "peak":  # the model's context.aggregation enum lacks peak: raw JSON
            raw = analytics.get_aggregated_metrics(
                metric, aggregation, _preload_content=False, **window
            )
            out["aggregates"][pair] = json.loads(raw.data)["data"]
            continue
        answer = analytics.get_aggregated_metrics(metric, aggregation, **window)
        out["aggregates"][pair] = answer.data
    media = FilterBy2(media_id=[given["media_id"]])
    out["watch_time"] = analytics.get_aggregated_metrics(
        "watch-time", "sum", filter_by=media, **window
    ).data
    buckets = analytics.get_metrics_breakdown("play", "media-id", page_size=100, **window)
    out["played"] = {row.dimension_value: row.metric_value for row in buckets.data}
    series = analytics.get_metrics_over_time("play", interval="day", **window)
    out["series"] = [row.metric_value for row in series.data]
print(json.dumps(out))
"""

OFFICIAL_1_3 = """
import datetime, json, sys
import apivideo
from apivideo.api.analytics_api import AnalyticsApi

given = json.load(sys.stdin)
day = datetime.date.fromisoformat(given["day"])
client = apivideo.AuthenticatedApiClient(given["api_key"])
client.configuration.host = given["url"]
client.connect()  # the API key -> token exchange
if True:
    analytics = AnalyticsApi(client)
    videos = analytics.get_videos_plays(
        day, "videoId", to=day + datetime.timedelta(days=1), page_size=100
    )
    lives = analytics.get_live_streams_plays(
        day, "liveStreamId", to=day + datetime.timedelta(days=1), page_size=100
    )
print(json.dumps({
    "videos": {row.value: row.plays for row in videos.data},
    "live_streams": {row.value: row.plays for row in lives.data},
}))
"""


def test_the_official_1_4_client_reads_media_lists_aggregates_and_watch_time(server):
    dataset = server.app.dataset
    day = datetime(2026, 11, 18, tzinfo=timezone.utc)
    sessions = dataset.between(day, day + timedelta(days=1))
    media_id = next(s.media_id for s in sessions if s.played)
    payload = {
        "url": server.url,
        "api_key": DEFAULT_API_KEY,
        "day": day.isoformat(),
        "media_id": media_id,
        "pairs": list(AGGREGATES),
    }
    out = run_python("api-video-1.4", OFFICIAL_1_4, payload)

    videos = dataset.catalogue.videos.values()
    created = sorted(videos, key=lambda v: (v["createdAt"], v["videoId"]))
    assert [v[0] for v in out["videos"]] == [v["videoId"] for v in created]  # every page, in order
    assert {v[0]: v[1] for v in out["videos"]} == {v["videoId"]: v["public"] for v in created}
    lives = sorted(
        dataset.catalogue.live_streams.values(), key=lambda s: s["updatedAt"], reverse=True
    )
    assert [s[0] for s in out["live_streams"]] == [s["liveStreamId"] for s in lives]
    for pair in AGGREGATES:
        metric, aggregation = pair.split("/")
        assert out["aggregates"][pair] == aggregate(metric, aggregation, sessions, NOW)
    assert out["watch_time"] == sum(s.watch_seconds for s in sessions if s.media_id == media_id)
    assert out["played"] == Counter(s.media_id for s in sessions if s.played)
    assert out["series"] == [sum(1 for s in sessions if s.played)]


def test_the_official_1_3_client_reads_the_plays_of_media_that_all_exist(server):
    dataset = server.app.dataset
    payload = {"url": server.url, "api_key": DEFAULT_API_KEY, "day": "2026-11-18"}
    out = run_python("api-video-1.3", OFFICIAL_1_3, payload)
    day = datetime(2026, 11, 18, tzinfo=timezone.utc)
    for media_type, plays in (("video", out["videos"]), ("live-stream", out["live_streams"])):
        dimension = "videoId" if media_type == "video" else "liveStreamId"
        assert plays == dataset.plays(media_type, dimension, day, day + timedelta(days=1))
    # Every media with plays is a video or live stream of the project, and some are private.
    assert set(out["videos"]) <= set(dataset.catalogue.videos)
    assert set(out["live_streams"]) <= set(dataset.catalogue.live_streams)
    assert not all(v["public"] for v in dataset.catalogue.videos.values())


def test_media_lists_validate_sorting_and_paging_as_documented(server):
    answers = [
        get(server, "/videos", sortBy="duration"),
        get(server, "/live-streams", sortOrder="up"),
        get(server, "/videos", pageSize=101),
        get(server, "/videos", auth=("wrong-key", "")),
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 401]
    assert answers[0].json()["name"] == "sortBy"
    assert answers[2].json()["name"] == "pageSize"
    default = get(server, "/videos").json()["pagination"]
    assert (default["pageSize"], default["itemsTotal"]) == (25, 40)
