"""The Segment emulator answers as segment.md documents, to any HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.segment import DEFAULT_TOKEN, NO_ACCESS_TOKEN, SegmentApp, SegmentDataset

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(SegmentApp(SegmentDataset.generate(seed=5, destinations=7))) as emulator:
        emulator.clock.set(NOW)
        yield emulator


def get(
    server: EmulatorServer, path: str, headers: dict | None = None, **params
) -> requests.Response:
    return requests.get(
        server.url + path, params=params, headers=AUTH if headers is None else headers, timeout=5
    )


def errors(response: requests.Response) -> list[dict]:
    body = response.json()
    assert set(body) == {"errors"}
    return body["errors"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": DEFAULT_TOKEN}, 401),
        ({"Authorization": f"Bearer {NO_ACCESS_TOKEN}"}, 403),
    ],
)
def test_auth_refusals_use_the_errors_envelope(server, headers, status):
    response = get(server, "/destinations", headers=headers)
    assert response.status_code == status
    assert errors(response)[0]["type"] in {"unauthorized", "forbidden"}


def test_success_bodies_are_data_envelopes_with_rate_limit_headers(server):
    response = get(server, "/destinations")
    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert int(response.headers["X-RateLimit-Remaining"]) > 0
    assert int(response.headers["X-RateLimit-Consumed"]) == 1
    assert parsedate_to_datetime(response.headers["X-RateLimit-Reset"]).tzinfo is not None
    assert parsedate_to_datetime(response.headers["Date"]) == NOW.replace(second=12)


@pytest.mark.parametrize("name", ["pagination.count", "pagination[count]"])
def test_cursor_pages_cover_every_destination_once(server, name):
    seen, cursor, pages = [], None, 0
    while True:
        params = {name: 3} | ({"pagination.cursor": cursor} if cursor else {})
        data = get(server, "/destinations", **params).json()["data"]
        seen += [d["id"] for d in data["destinations"]]
        pages += 1
        cursor = data["pagination"]["next"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(d["id"] for d in server.app.dataset.destinations)
    assert len(seen) == len(set(seen))


def test_default_page_is_200_and_the_first_page_has_no_previous(server):
    data = get(server, "/destinations").json()["data"]
    assert len(data["destinations"]) == 7
    assert data["pagination"]["previous"] is None
    assert data["pagination"]["next"] is None
    assert data["pagination"]["totalEntries"] == 7


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"pagination.count": 0}, "pagination.count", "greater than or equal to 1"),
        ({"pagination.count": 1001}, "pagination.count", "less than or equal to 1000"),
        ({"pagination.count": "x"}, "pagination.count", "must be a number"),
        ({"pagination.cursor": "%%%"}, "pagination.cursor", "invalid"),
    ],
)
def test_bad_pagination_is_a_422_naming_the_field(server, params, field, message):
    response = get(server, "/destinations", **params)
    assert response.status_code == 422
    assert errors(response)[0]["field"] == field
    assert message in errors(response)[0]["message"]


def test_unknown_destination_and_route_are_404s(server):
    assert get(server, "/destinations/nope").status_code == 404
    assert errors(get(server, "/destinations/nope"))[0]["message"] == "Destination not found"
    assert get(server, "/nothing-here").status_code == 404
    assert requests.post(server.url + "/destinations", headers=AUTH, timeout=5).status_code == 405


def test_subscriptions_follow_the_workspace_feature_switch(server):
    destination = next(
        d for d in server.app.dataset.destinations if server.app.dataset.subscriptions_for(d["id"])
    )
    path = f"/destinations/{destination['id']}/subscriptions"
    listed = get(server, path).json()["data"]["subscriptions"]
    assert [s["id"] for s in listed] == sorted(
        s["id"] for s in server.app.dataset.subscriptions_for(destination["id"])
    )
    one = get(server, f"{path}/{listed[0]['id']}").json()["data"]["subscription"]
    assert one == listed[0]
    server.app.subscriptions_enabled = False
    refused = get(server, path)
    assert refused.status_code == 403
    assert "Alpha feature" in errors(refused)[0]["message"]


def metrics(server, destination, **params) -> requests.Response:
    params = {"sourceId": destination["sourceId"]} | params
    return get(server, f"/destinations/{destination['id']}/delivery-metrics", **params)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("granularity", "widest", "oldest"),
    [
        ("MINUTE", timedelta(hours=4), timedelta(hours=48)),
        ("HOUR", timedelta(days=7), timedelta(days=7)),
        ("DAY", timedelta(days=14), timedelta(days=14)),
    ],
)
def test_delivery_metrics_enforce_each_granularity_limit(server, granularity, widest, oldest):
    destination = server.app.dataset.destinations[0]
    start = NOW - oldest + timedelta(minutes=1)
    ok = metrics(
        server,
        destination,
        granularity=granularity,
        startTime=iso(start),
        endTime=iso(start + widest),
    )
    assert ok.status_code == 200
    too_wide = metrics(
        server,
        destination,
        granularity=granularity,
        startTime=iso(start),
        endTime=iso(start + widest + timedelta(minutes=1)),
    )
    assert too_wide.status_code == 422
    assert errors(too_wide)[0]["field"] == "endTime"
    too_old = metrics(
        server,
        destination,
        granularity=granularity,
        startTime=iso(NOW - oldest - timedelta(minutes=1)),
        endTime=iso(NOW),
    )
    assert too_old.status_code == 422
    assert errors(too_old)[0]["field"] == "startTime"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sourceId": ""}, "sourceId"),
        ({"sourceId": "other"}, "sourceId"),
        ({"granularity": "WEEK"}, "granularity"),
        ({"startTime": "yesterday"}, "startTime"),
        ({"granularity": "DAY"}, "startTime"),
    ],  # the DAY default start (30 days) breaks the limit
)
def test_delivery_metrics_validation(server, params, field):
    response = metrics(server, server.app.dataset.destinations[0], **params)
    assert response.status_code == 422
    assert errors(response)[0]["field"] == field


def test_delivery_metrics_sum_over_half_open_windows(server):
    destination = next(d for d in server.app.dataset.destinations if d["enabled"])
    day = datetime(2026, 11, 18, tzinfo=timezone.utc)

    def totals(start: datetime, end: datetime) -> dict[str, int]:
        body = metrics(
            server, destination, granularity="HOUR", startTime=iso(start), endTime=iso(end)
        ).json()["data"]["deliveryMetricsSummary"]
        assert body["sourceId"] == destination["sourceId"]
        assert body["destinationMetadataId"] == destination["metadata"]["id"]
        return {m["metricName"]: m["total"] for m in body["metrics"]}

    first, second = (
        totals(day, day + timedelta(hours=3)),
        totals(day + timedelta(hours=3), day + timedelta(hours=5)),
    )
    whole = totals(day, day + timedelta(hours=5))
    assert {k: first[k] + second[k] for k in whole} == whole
    assert whole == server.app.dataset.expected_metrics(
        destination["id"], day, day + timedelta(hours=5), NOW
    )
    assert whole["successes"] > 0
    assert first != second  # different windows, different numbers


def test_the_future_has_no_events(server):
    destination = next(d for d in server.app.dataset.destinations if d["enabled"])
    hour = NOW.replace(minute=0, second=0)
    body = metrics(
        server,
        destination,
        granularity="MINUTE",
        startTime=iso(hour),
        endTime=iso(hour + timedelta(hours=1)),
    ).json()
    totals = {
        m["metricName"]: m["total"] for m in body["data"]["deliveryMetricsSummary"]["metrics"]
    }
    assert totals == server.app.dataset.expected_metrics(destination["id"], hour, NOW, NOW)
    server.clock.advance(timedelta(minutes=30))
    later = metrics(
        server,
        destination,
        granularity="MINUTE",
        startTime=iso(hour),
        endTime=iso(hour + timedelta(hours=1)),
    ).json()
    assert later != body  # the half hour that passed brought events


# -- usage, event volume, audit trail, delivery overview (docs/api/segment.md §11-§15) ---------

PAGE = {"pagination.count": 10}


def overview_params(server, **params) -> dict:
    destination = server.app.dataset.destinations[0]
    return {
        "sourceId": destination["sourceId"],
        "destinationConfigId": destination["id"],
        "granularity": "day",
        "startTime": iso(NOW - timedelta(days=3)),
        "endTime": iso(NOW - timedelta(days=1)),
        **PAGE,
    } | params


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/usage/api-calls/daily", {}, "period"),
        ("/usage/mtu/daily", {"period": "2026-11-15"}, "period"),
        ("/usage/mtu/sources/daily", {"period": "November"}, "period"),
        ("/events/volume", {"granularity": "WEEK"}, "granularity"),
        ("/audit-events", {}, "pagination.count"),
    ],
)
def test_new_routes_refuse_bad_parameters_with_a_422_naming_the_field(server, path, params, field):
    response = get(server, path, **params)
    assert response.status_code == 422
    assert errors(response)[0]["field"] == field


@pytest.mark.parametrize(
    ("stage", "changes", "field"),
    [
        ("failed-delivery", {"destinationConfigId": None}, "destinationConfigId"),
        ("successful-delivery", {"pagination.count": None}, "pagination.count"),
        ("filtered-at-destination", {"granularity": "DAY"}, "granularity"),
        ("successfully-received", {"groupBy": "discardReason"}, "groupBy"),
        (
            "failed-delivery",
            {
                "granularity": "minute",
                "startTime": iso(NOW - timedelta(hours=9)),
                "endTime": iso(NOW - timedelta(hours=1)),
            },
            "endTime",
        ),  # 8 hours > 4 hours
        (
            "failed-on-ingest",
            {"granularity": "minute", "endTime": iso(NOW - timedelta(days=2))},
            "startTime",
        ),  # older than 48 hours
        ("successful-delivery", {"startTime": iso(NOW - timedelta(days=31))}, "startTime"),
    ],
)
def test_delivery_overview_validates_each_stage_and_granularity_limit(
    server, stage, changes, field
):
    params = {k: v for k, v in (overview_params(server) | changes).items() if v is not None}
    response = get(server, f"/delivery-overview/{stage}", **params)
    assert response.status_code == 422
    assert errors(response)[0]["field"] == field


def test_event_volume_has_its_own_budget_of_60_requests_a_minute(server):
    params = {"granularity": "DAY", "startTime": iso(NOW - timedelta(days=1)), "endTime": iso(NOW)}
    statuses = [get(server, "/events/volume", **params).status_code for _ in range(61)]
    assert statuses == [200] * 60 + [429]
    refused = get(server, "/events/volume", **params)
    assert int(refused.headers["Retry-After"]) >= 1
    assert get(server, "/destinations").status_code == 200  # the rest of the API is not limited


def test_the_audit_trail_follows_the_workspace_entitlement(server):
    assert get(server, "/audit-events", **PAGE).status_code == 200
    server.app.set_options({"audit_trail_enabled": False})
    response = get(server, "/audit-events", **PAGE)
    assert response.status_code == 403
    assert "Audit Trail" in errors(response)[0]["message"]
