"""The PM2 emulator answers as pm2.md describes, on three hosts, to any HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.pm2 import DEFAULT_CLIENT_ID, DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
GRANT = {
    "grant_type": "refresh_token",
    "client_id": DEFAULT_CLIENT_ID,
    "refresh_token": DEFAULT_REFRESH_TOKEN,
}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    dataset = Pm2Dataset.generate(seed=5, events=300, anchor=NOW, days=5)
    with EmulatorServer(Pm2App(dataset)) as emulator:
        emulator.clock.set(NOW)
        yield emulator


def token(server: EmulatorServer) -> str:
    answer = requests.post(f"{server.urls['auth']}/api/oauth/token", json=GRANT, timeout=5)
    return answer.json()["access_token"]


def bearer(server: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(server)}"}


def data(server: EmulatorServer, route: str, headers: dict, method: str = "POST", **body):
    bucket = server.app.dataset.buckets[0].id
    url = f"{server.urls['data']}/api/bucket/{bucket}/data/{route}"
    return requests.request(method, url, json=body or None, headers=headers, timeout=5)


def test_three_hosts_on_three_ports(server):
    assert set(server.urls) == {"api", "auth", "data"}
    assert len(set(server.urls.values())) == 3


@pytest.mark.parametrize("encoding", ["json", "data"])
def test_the_refresh_token_is_exchanged_from_json_or_form(server, encoding):
    answer = requests.post(f"{server.urls['auth']}/api/oauth/token", **{encoding: GRANT}, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "refresh_token", "expire_at", "token_type"}
    assert body["refresh_token"] == DEFAULT_REFRESH_TOKEN
    assert body["expire_at"] == "2026-11-20T11:37:12.000Z"


def test_token_errors(server):
    url = f"{server.urls['auth']}/api/oauth/token"
    wrong = requests.post(url, json=GRANT | {"refresh_token": "nope"}, timeout=5)
    assert (wrong.status_code, wrong.json()) == (
        403,
        {"error": "invalid_grant", "error_description": "Invalid refresh token"},
    )
    missing = requests.post(url, json={"grant_type": "refresh_token"}, timeout=5)
    assert missing.status_code == 400
    assert "client_id" in missing.json()["error_description"]
    assert requests.post(url, json=GRANT | {"grant_type": "password"}, timeout=5).status_code == 400


def test_buckets_announce_the_data_node_and_need_a_token(server):
    assert requests.get(f"{server.url}/api/bucket", timeout=5).status_code == 401
    buckets = requests.get(f"{server.url}/api/bucket", headers=bearer(server), timeout=5).json()
    assert {b["node"]["endpoints"]["web"] for b in buckets} == {server.urls["data"]}
    one = requests.get(
        f"{server.url}/api/bucket/{buckets[0]['_id']}", headers=bearer(server), timeout=5
    )
    assert one.json()["_id"] == buckets[0]["_id"]


def test_the_bucket_list_answers_with_a_trailing_slash_as_the_official_client_asks(server):
    # @pm2/js-api's bucket.retrieveAll is GET /api/bucket/ (its src/api_mappings.json)
    answer = requests.get(f"{server.url}/api/bucket/", headers=bearer(server), timeout=5)
    assert answer.status_code == 200
    assert [b["_id"] for b in answer.json()] == [b.id for b in server.app.dataset.buckets]


def test_the_data_node_serves_its_bucket_as_the_official_client_sends_it_there(server):
    # @pm2/js-api sends every URL holding a bucket id to node.endpoints.web, the bucket's too
    bucket = server.app.dataset.buckets[0].id
    headers = bearer(server)
    main = requests.get(f"{server.url}/api/bucket/{bucket}", headers=headers, timeout=5)
    node = requests.get(f"{server.urls['data']}/api/bucket/{bucket}", headers=headers, timeout=5)
    assert node.status_code == 200
    assert node.json() == main.json()
    assert node.json()["node"]["endpoints"]["web"] == server.urls["data"]


def test_data_routes_are_served_by_the_data_node_only(server):
    headers = bearer(server)
    bucket = server.app.dataset.buckets[0].id
    on_main = requests.post(
        f"{server.url}/api/bucket/{bucket}/data/events",
        json={"event_name": "user:login"},
        headers=headers,
        timeout=5,
    )
    assert on_main.status_code == 404
    assert data(server, "events", headers, event_name="user:login").status_code == 200
    for route in ("processEvents", "processEvents/deployments", "issues/list"):
        url = f"{server.url}/api/bucket/{bucket}/data/{route}"
        body = {"app_name": "api"}
        assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 404
        assert data(server, route, headers, **body).status_code == 200


def test_events_page_by_offset_with_a_short_last_page(server):
    headers = bearer(server)
    everything = data(server, "events", headers, event_name="job:done", limit=1000).json()
    assert len(everything) < 1000
    pages, offset = [], 0
    while True:
        page = data(server, "events", headers, event_name="job:done", limit=9, offset=offset)
        pages += page.json()
        if len(page.json()) < 9:
            break
        offset += 9
    assert pages == everything
    times = [event["at"] for event in everything]
    assert times == sorted(times, reverse=True)
    assert {event["name"] for event in everything} == {"job:done"}


def test_events_filters_and_inclusive_bounds(server):
    headers = bearer(server)
    everything = data(server, "events", headers, event_name="user:login", limit=1000).json()
    at = everything[3]["at"]
    exact = data(server, "events", headers, event_name="user:login", start=at, end=at).json()
    assert everything[3] in exact
    iso = datetime.fromtimestamp(at / 1000, timezone.utc).isoformat().replace("+00:00", "Z")
    assert (
        everything[3]
        in data(server, "events", headers, event_name="user:login", start=iso, end=iso).json()
    )
    web = data(server, "events", headers, event_name="user:login", app_name="web", limit=1000)
    assert {e["process"]["name"] for e in web.json()} == {"web"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event_name": ""},
        {"event_name": "x", "limit": 0},
        {"event_name": "x", "offset": -1},
        {"event_name": "x", "start": "yesterday"},
        {"event_name": "x", "offset": 9950, "limit": 100},
    ],
)
def test_invalid_event_queries_are_refused(server, body):
    answer = (
        data(server, "events", bearer(server), **body)
        if body
        else data(server, "events", bearer(server))
    )
    assert answer.status_code == 400
    assert answer.json()["msg"].startswith("invalid parameters")


def test_histogram_points_end_with_the_partial_bucket(server):
    headers = bearer(server)
    points = data(server, "events/stats", headers, event_name="job:done", interval="hour", days=1)
    body = points.json()
    assert len(body) == 25
    starts = [x for x, _ in body]
    assert starts == sorted(starts)
    assert starts[-1] == int(NOW.replace(minute=0, second=0).timestamp() * 1000)
    total = sum(y for _, y in body)
    listed = data(
        server,
        "events",
        headers,
        event_name="job:done",
        limit=1000,
        start=starts[0],
        end=int(NOW.timestamp() * 1000),
    ).json()
    assert total == len(listed)
    assert data(server, "events/stats", headers, event_name="job:done").status_code == 200
    bad = data(server, "events/stats", headers, event_name="job:done", interval="week")
    assert bad.status_code == 400


def test_event_keys_by_app(server):
    body = data(server, "eventsKeysByApp", bearer(server), method="GET").json()
    assert {entry["app_name"] for entry in body} == set(server.app.dataset.buckets[0].apps)
    assert all({"name", "count"} == set(e) for entry in body for e in entry["events"])


def test_late_events_appear_only_once_arrived(server):
    bucket = server.app.dataset.buckets[0]
    event = server.app.dataset.add_event(
        bucket, NOW - timedelta(minutes=1), app="api", name="late:one", late_minutes=10
    )
    headers = bearer(server)
    assert data(server, "events", headers, event_name="late:one").json() == []
    server.clock.set(NOW + timedelta(minutes=10))
    assert data(server, "events", headers, event_name="late:one").json() == [event]


def test_access_tokens_expire_by_time_and_by_uses(server):
    headers = bearer(server)
    server.clock.set(NOW + timedelta(hours=1))
    assert data(server, "events", headers, event_name="x").status_code == 401
    server.app.token_max_uses = 1
    headers = bearer(server)
    assert data(server, "events", headers, event_name="x").status_code == 200
    assert data(server, "events", headers, event_name="x").status_code == 401


def test_delete_all_deletes_and_is_logged(server):
    headers = bearer(server)
    assert data(server, "events/delete_all", headers, method="DELETE").status_code == 200
    assert data(server, "events", headers, event_name="job:done").json() == []
    assert [e.method for e in server.log.entries() if e.path.endswith("delete_all")] == ["DELETE"]


def test_options_over_http(server):
    answer = requests.put(
        f"{server.url}/_emulator/pm2/options",
        json={"token_lifetime_seconds": 5, "newest_first": False},
        timeout=5,
    )
    assert answer.json() == {
        "token_lifetime_seconds": 5.0,
        "token_max_uses": None,
        "newest_first": False,
        "retention_days": 7.0,
    }
    health = requests.get(f"{server.urls['data']}/_emulator/health", timeout=5).json()
    assert health["urls"] == server.urls


def test_every_uncaught_exception_exits_and_restarts_its_process(server):
    for bucket in server.app.dataset.buckets:
        events = {
            (e.at, e.document["event"], e.document["server_name"], e.document["process"]["pm_id"])
            for e in bucket.incidents.process_events
        }
        crashes = [
            o.document
            for issue in bucket.incidents.issues.values()
            for o in issue.occurrences
            if o.document["uncaught"]
        ]
        assert crashes
        for crash in crashes:
            process = crash["process"]
            for event, delay in (("exit", 2), ("restart", 1000)):
                assert (crash["at"] + delay, event, process["server"], process["pm_id"]) in events


def test_process_events_are_the_last_before_minutes_newest_first(server):
    headers = bearer(server)
    now = int(NOW.timestamp() * 1000)
    hour = data(server, "processEvents", headers).json()  # before: 60 by default
    week = data(server, "processEvents", headers, before="10080").json()
    assert {e["at"] for e in hour} <= {e["at"] for e in week}
    assert all(now - 60 * 60_000 <= e["at"] <= now for e in hour)
    assert [e["at"] for e in week] == sorted((e["at"] for e in week), reverse=True)
    assert all(e["at"] >= now - 7 * 86_400_000 for e in week)  # retention_days: 7
    api = data(server, "processEvents", headers, before=10080, app_name="api").json()
    assert api
    assert {e["app_name"] for e in api} == {"api"}
    deployments = data(server, "processEvents/deployments", headers, app_name="web").json()
    assert deployments
    assert {d["app_name"] for d in deployments} == {"web"}


@pytest.mark.parametrize(
    ("route", "method", "body"),
    [
        ("processEvents", "POST", {"before": "soon"}),
        ("processEvents", "POST", {"before": 0}),
        ("issues/list", "POST", {"server_name": "api-01"}),
        ("issues/summary/planets", "GET", None),
        ("issues/occurrences/nope", "GET", None),
    ],
)
def test_invalid_incident_queries_are_refused(server, route, method, body):
    answer = data(server, route, bearer(server), method=method, **(body or {}))
    assert answer.status_code in (400, 404)
    assert answer.json()["msg"]


def test_occurrences_page_after_search_after_from_an_offset(server):
    headers = bearer(server)
    bucket = server.app.dataset.buckets[0]
    issue = max(bucket.incidents.issues.values(), key=lambda i: len(i.occurrences))
    url = f"{server.urls['data']}/api/bucket/{bucket.id}/data/issues/occurrences/{issue.identifier}"
    every = requests.get(url, headers=headers, timeout=5).json()
    times = [o["at"] for o in every]
    assert times == sorted(times)
    assert len(every) == len(issue.visible(int(NOW.timestamp() * 1000)))
    after = requests.get(url, params={"search_after": times[1], "from": 1}, headers=headers,
                         timeout=5).json()  # fmt: skip
    assert after == every[3:]
    too_far = requests.get(url, params={"from": 9_990}, headers=headers, timeout=5)
    assert too_far.status_code == 400


def test_deleting_routes_delete_and_are_counted(server):
    headers = bearer(server)
    bucket = server.app.dataset.buckets[0]
    app = bucket.apps[0]
    first = next(i for i in bucket.incidents.issues.values() if i.app == app)
    assert data(server, f"issues/{first.identifier}", headers, method="DELETE").status_code == 200
    assert first.identifier not in bucket.incidents.issues
    assert data(server, "exceptions/delete", headers, app_name=app).status_code == 200
    assert all(i.app != app for i in bucket.incidents.issues.values())
    assert data(server, "exceptions/delete_all", headers).status_code == 200
    assert data(server, "issues", headers, method="DELETE").status_code == 200
    assert bucket.incidents.issues == {}
    assert sum(server.app.deleting_calls.values()) == 4
