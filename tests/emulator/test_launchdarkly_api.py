"""The LaunchDarkly emulator answers as launchdarkly.md documents, to any HTTP client."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.launchdarkly import (
    BETA_MESSAGE,
    DEFAULT_TOKEN,
    NO_ACCESS_TOKEN,
    PATH,
    LaunchDarklyApp,
    LaunchDarklyDataset,
)
from tests.official import run_python

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
HEADERS = {"Authorization": DEFAULT_TOKEN, "LD-API-Version": "beta"}
BASE = {"projectKey": "default", "environmentKey": "production"}


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    dataset = LaunchDarklyDataset.generate(seed=5, events=400, anchor=NOW, days=10)
    with EmulatorServer(LaunchDarklyApp(dataset)) as emulator:
        emulator.clock.set(NOW)
        yield emulator


def get(server: EmulatorServer, headers: dict | None = None, **params) -> requests.Response:
    return requests.get(
        server.url + PATH,
        params=BASE | params,
        headers=HEADERS if headers is None else headers,
        timeout=5,
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"LD-API-Version": "beta"}, 401),
        ({"Authorization": f"Bearer {DEFAULT_TOKEN}", "LD-API-Version": "beta"}, 401),
        ({"Authorization": NO_ACCESS_TOKEN, "LD-API-Version": "beta"}, 403),
    ],
)
def test_the_raw_token_is_required(server, headers, status):
    response = get(server, headers=headers)
    assert response.status_code == status
    assert set(response.json()) == {"code", "message"}


@pytest.mark.parametrize("version", [None, "20240415"])
def test_the_beta_header_is_required(server, version):
    headers = {"Authorization": DEFAULT_TOKEN} | ({"LD-API-Version": version} if version else {})
    response = get(server, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"message": BETA_MESSAGE}


def test_the_beta_header_given_twice_is_refused(server):
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=5)
    connection.putrequest("GET", f"{PATH}?projectKey=default&environmentKey=production")
    for name, value in [("Authorization", DEFAULT_TOKEN), *[("LD-API-Version", "beta")] * 2]:
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400
    assert "LD-API-Version" in json.loads(response.read())["message"]


def test_missing_keys_are_named_one_entry_each(server):
    response = requests.get(server.url + PATH, headers=HEADERS, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["errors"] == [
        {"attribute": "projectKey", "reason": "must be present"},
        {"attribute": "environmentKey", "reason": "must be present"},
    ]


@pytest.mark.parametrize(
    ("params", "attribute"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"impactSize": "huge"}, "impactSize"),
        ({"global": "maybe"}, "global"),
        ({"expand": "flags"}, "expand"),
    ],
)
def test_bad_parameters_are_refused_naming_the_attribute(server, params, attribute):
    response = get(server, **params)
    assert response.status_code == 400
    assert [e["attribute"] for e in response.json()["errors"]] == [attribute]


def test_an_unknown_project_is_not_found(server):
    assert get(server, projectKey="other").status_code == 404


def test_defaults_are_twenty_items_from_the_last_seven_days(server):
    body = get(server).json()
    assert len(body["items"]) == 20
    times = [item["eventTime"] for item in body["items"]]
    assert all(millis(NOW - timedelta(days=7)) <= t <= millis(NOW) for t in times)
    assert times == sorted(times, reverse=True)  # the emulator's convention: newest first


@pytest.mark.parametrize("newest_first", [True, False])
def test_after_cursors_walk_every_match_once_with_a_complete_next_link(server, newest_first):
    server.app.newest_first = newest_first
    params = {"from": millis(NOW - timedelta(days=5)), "to": millis(NOW), "limit": 7}
    seen, body = [], get(server, **params).json()
    while True:
        seen += [item["id"] for item in body["items"]]
        if "next" not in body["_links"]:
            break
        query = parse_qs(urlsplit(body["_links"]["next"]["href"]).query)
        assert {k: v[0] for k, v in query.items() if k != "after"} == {
            k: str(v) for k, v in (BASE | params).items()
        }
        body = get(server, **params, after=query["after"][0]).json()
    assert len(seen) == len(set(seen)) == body["totalCount"]
    expected = server.app.dataset.between(params["from"], params["to"])
    production = [e for e in expected if e.public.get("environmentKey") in ("production", None)]
    assert set(seen) == {e.public["id"] for e in production}


def test_before_returns_the_page_preceding_an_item(server):
    first = get(server, limit=5).json()["items"]
    second = get(server, limit=5, after=first[-1]["id"]).json()["items"]
    back = get(server, limit=5, before=second[0]["id"]).json()["items"]
    assert [i["id"] for i in back] == [i["id"] for i in first]


def test_from_and_to_are_inclusive(server):
    event = next(e for e in server.app.dataset.events if e.public.get("environmentKey"))
    at = event.public["eventTime"]
    body = get(server, environmentKey=event.public["environmentKey"], **{"from": at, "to": at})
    assert event.public["id"] in [item["id"] for item in body.json()["items"]]


def test_impact_waits_ten_minutes_then_shows_evaluations(server):
    event = server.app.dataset.add_event(NOW - timedelta(minutes=2), environment="staging")
    window = {"environmentKey": "staging", "from": event["eventTime"], "to": event["eventTime"]}
    (waiting,) = get(server, **window).json()["items"]
    assert waiting["impact"]["reason"] == "waiting"
    server.clock.set(NOW + timedelta(minutes=9))
    (settled,) = get(server, **window).json()["items"]
    assert settled["impact"]["reason"] == "evaluations"
    assert {"size", "percentage", "evaluationsSummary"} <= set(settled["impact"])


def test_filters_narrow_the_listing(server):
    wide = {"from": millis(NOW - timedelta(days=10)), "limit": 100}
    everything = get(server, **wide).json()["totalCount"]
    for params in [
        {"impactSize": "large"},
        {"hasExperiments": "true"},
        {"global": "exclude"},
        {"query": "search"},
        {"applicationKey": "ios-app"},
    ]:
        body = get(server, **wide, **params).json()
        assert 0 < body["totalCount"] < everything, params
    for item in get(server, **wide, query="search").json()["items"]:
        assert "search" in item["flagKey"]
    for item in get(server, **wide, impactSize="large").json()["items"]:
        assert item["impact"]["size"] == "large"
    expanded = get(server, **wide, expand="experiments").json()["items"]
    assert all("experiments" in item for item in expanded)
    assert all("experiments" not in item for item in get(server, **wide).json()["items"])


def test_rate_limit_headers_are_on_every_answer_and_429_has_the_documented_body(server):
    server.budget.configure(limit=2, window_seconds=10.0)
    answers = [get(server), get(server, limit=0), get(server)]
    assert [a.status_code for a in answers] == [200, 400, 429]
    for answer in answers:
        assert {
            "X-Ratelimit-Route-Remaining",
            "X-Ratelimit-Global-Remaining",
            "X-Ratelimit-Reset",
        } <= set(answer.headers)
    assert answers[0].headers["X-Ratelimit-Route-Remaining"] == "1"
    assert answers[2].json()["code"] == "rate_limited"
    assert "Retry-After" not in answers[2].headers
    assert int(answers[2].headers["X-Ratelimit-Reset"]) > millis(datetime.now(timezone.utc))


def test_an_ip_limit_fault_sends_retry_after(server):
    server.faults.arm("rate_limit", retry_after=3)
    response = get(server)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_a_stale_reset_lies_in_the_past(server):
    server.app.stale_reset = True
    response = get(server)
    assert int(response.headers["X-Ratelimit-Reset"]) < millis(datetime.now(timezone.utc))


def test_options_are_set_over_http(server):
    response = requests.put(
        f"{server.url}/_emulator/launchdarkly/options",
        json={"newest_first": False, "api_version": "20240415"},
        timeout=5,
    )
    assert response.json() == {
        "api_version": "20240415",
        "newest_first": False,
        "stale_reset": False,
        "engineering_insights": True,
        "route_limit": None,
        "route_window_seconds": 10.0,
    }
    assert get(server).status_code == 403


OFFICIAL_CHECK = """
import json, sys
import launchdarkly_api as ld

given = json.load(sys.stdin)
configuration = ld.Configuration(host=given["url"])
configuration.api_key["ApiKey"] = given["token"]
client = ld.ApiClient(configuration)
beta = ld.ApiClient(configuration)
beta.default_headers["LD-API-Version"] = "beta"  # the client pins 20240415 on every call
answers = {
    "projects": ld.ProjectsApi(client).get_projects(limit=100),
    "project": ld.ProjectsApi(client).get_project("mobile"),
    "environments": ld.EnvironmentsApi(client).get_environments_by_project("default", limit=100),
    "flags": ld.FeatureFlagsApi(client).get_feature_flags(
        "default", summary=True, limit=100, filter="filterEnv:staging"
    ),
    "segments": ld.SegmentsApi(client).get_segments("default", "production", limit=50),
    "metrics": ld.MetricsApi(client).get_metrics("mobile", limit=50),
    "members": ld.AccountMembersApi(client).get_members(limit=100),
    "teams": ld.TeamsApi(client).get_teams(limit=100),
    "audit_log": ld.AuditLogApi(client).get_audit_log_entries(limit=20),
    "flag_events": ld.InsightsFlagEventsBetaApi(beta).get_flag_events(
        "default", "production", limit=100
    ),
}
counts = {name: len(answer.items) for name, answer in answers.items() if name != "project"}
flag = answers["flags"].items[0]
counts["flag_environments"] = sorted(flag.environments)
counts["project"] = answers["project"].key
print(json.dumps(counts))
"""


def test_the_official_client_reads_every_route(server):
    counts = run_python(
        "launchdarkly-api", OFFICIAL_CHECK, {"url": server.url, "token": DEFAULT_TOKEN}
    )
    account = server.app.account
    assert counts == {
        "projects": 2,
        "project": "mobile",
        "environments": 3,
        "flags": len(account.flags["default"]),
        "flag_environments": ["staging"],
        "segments": len(account.segments["default", "production"]),
        "metrics": len(account.metrics["mobile"]),
        "members": len(account.members),
        "teams": len(account.teams),
        "audit_log": 20,
        "flag_events": counts["flag_events"],
    }
    assert counts["flag_events"] > 0


def listing(server: EmulatorServer, path: str, **params) -> requests.Response:
    headers = {"Authorization": DEFAULT_TOKEN}
    return requests.get(server.url + path, params=params, headers=headers, timeout=5)


def test_listings_page_by_offset_and_refuse_a_limit_above_their_maximum(server):
    first = listing(server, "/api/v2/members", limit=2).json()
    assert len(first["items"]) == 2
    assert first["totalCount"] == len(server.app.account.members)
    assert parse_qs(urlsplit(first["_links"]["next"]["href"]).query)["offset"] == ["2"]
    last = listing(server, "/api/v2/members", limit=2, offset=4).json()
    assert "next" not in last["_links"]
    refused = listing(server, "/api/v2/metrics/default", limit=51)
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"attribute": "limit", "reason": "must be between 1 and 50"}
    ]
    assert listing(server, "/api/v2/projects/nope/environments").status_code == 404


def test_flags_carry_their_environments_only_when_filtered_by_one(server):
    plain = listing(server, "/api/v2/flags/default").json()["items"]
    assert all("environments" not in flag for flag in plain)
    filtered = listing(server, "/api/v2/flags/default", filter="filterEnv:test").json()["items"]
    assert {tuple(flag["environments"]) for flag in filtered} == {("test",)}


def test_the_audit_log_lists_newest_first_strictly_between_after_and_before(server):
    entries = listing(server, "/api/v2/auditlog", limit=20).json()["items"]
    before, after = entries[2]["date"], entries[12]["date"]
    inside = listing(server, "/api/v2/auditlog", limit=20, before=before, after=after).json()
    dates = [entry["date"] for entry in inside["items"]]
    assert dates == sorted(dates, reverse=True)
    assert all(after < date < before for date in dates)
    assert listing(server, "/api/v2/auditlog", limit=21).status_code == 400


def test_a_route_budget_runs_out_on_its_own_route_only(server):
    server.app.set_options({"route_limit": 4})
    statuses = [listing(server, "/api/v2/members").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]  # members get half the budget
    teams = listing(server, "/api/v2/teams")
    assert teams.status_code == 200
    assert teams.headers["X-Ratelimit-Route-Remaining"] == "3"


def test_a_flag_removed_at_the_vendor_leaves_the_listing(server):
    key = server.app.account.flags["mobile"][0]["key"]
    removed = requests.delete(f"{server.url}/_emulator/launchdarkly/flags/mobile/{key}", timeout=5)
    assert removed.status_code == 204
    keys = [flag["key"] for flag in listing(server, "/api/v2/flags/mobile").json()["items"]]
    assert key not in keys


def test_every_flag_event_names_a_flag_environment_member_and_audit_entry_that_exist(server):
    account = server.app.account
    audit = {e["_id"] for e in account.audit_page(-1, millis(NOW) + 1, 10**9)}
    members = {member["_id"] for member in account.members}
    for key, project in account.projects.items():
        flags = {flag["key"] for flag in account.flags[key]}
        environments = {env["key"] for env in account.environments[key]}
        for event in project.events:
            shown = event.public
            assert shown["flagKey"] in flags
            assert shown.get("environmentKey", next(iter(environments))) in environments
            assert shown.get("member", {"id": next(iter(members))})["id"] in members
            assert shown["auditLogEntryId"] in audit or shown["eventTime"] > millis(NOW)
