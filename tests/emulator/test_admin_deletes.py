"""Admin routes that delete vendor data between two syncs: what a sync then no longer finds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.pm2 import DEFAULT_CLIENT_ID, DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset
from api_emulator.segment import DEFAULT_TOKEN, SegmentApp, SegmentDataset

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)
SEGMENT_AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture
def segment() -> Iterator[EmulatorServer]:
    with EmulatorServer(SegmentApp(SegmentDataset.generate(seed=5, destinations=7))) as server:
        yield server


@pytest.fixture
def pm2() -> Iterator[EmulatorServer]:
    dataset = Pm2Dataset.generate(seed=5, events=200, anchor=NOW, days=5)
    with EmulatorServer(Pm2App(dataset)) as server:
        server.clock.set(NOW)
        yield server


def listed(server: EmulatorServer, path: str, name: str) -> list[str]:
    body = requests.get(server.url + path, headers=SEGMENT_AUTH, timeout=5).json()
    return [item["id"] for item in body["data"][name]]


def test_a_deleted_destination_is_listed_no_more_nor_its_subscriptions(segment):
    dataset = segment.app.dataset
    victim = next(d for d in dataset.destinations if dataset.subscriptions_for(d["id"]))
    admin = f"{segment.url}/_emulator/segment/destinations/{victim['id']}"
    assert requests.delete(admin, timeout=5).status_code == 204
    assert victim["id"] not in listed(segment, "/destinations", "destinations")
    answer = requests.get(
        f"{segment.url}/destinations/{victim['id']}/subscriptions", headers=SEGMENT_AUTH, timeout=5
    )
    assert answer.status_code == 404
    assert requests.delete(admin, timeout=5).status_code == 404  # already gone
    assert all(not e.path.startswith("/_emulator/") for e in segment.log.entries())

    dataset.restore_destination(victim)  # what tests use to bring a row back
    assert victim["id"] in listed(segment, "/destinations", "destinations")


def test_a_deleted_subscription_leaves_its_destination_and_siblings(segment):
    dataset = segment.app.dataset
    owner = next(d for d in dataset.destinations if len(dataset.subscriptions_for(d["id"])) > 1)
    victim, *siblings = dataset.subscriptions_for(owner["id"])
    admin = f"{segment.url}/_emulator/segment/subscriptions/{victim['id']}"
    assert requests.delete(admin, timeout=5).status_code == 204
    path = f"/destinations/{owner['id']}/subscriptions"
    assert listed(segment, path, "subscriptions") == sorted(s["id"] for s in siblings)
    assert requests.delete(admin, timeout=5).status_code == 404


def pm2_token(server: EmulatorServer) -> dict[str, str]:
    grant = {
        "grant_type": "refresh_token",
        "client_id": DEFAULT_CLIENT_ID,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
    }
    answer = requests.post(f"{server.urls['auth']}/api/oauth/token", json=grant, timeout=5)
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def event_keys(server: EmulatorServer, bucket: str, headers: dict) -> set[tuple[str, str]]:
    url = f"{server.urls['data']}/api/bucket/{bucket}/data/eventsKeysByApp"
    body = requests.get(url, headers=headers, timeout=5).json()
    return {(entry["app_name"], e["name"]) for entry in body for e in entry["events"]}


def test_a_deleted_bucket_and_event_key_are_listed_no_more(pm2):
    headers = pm2_token(pm2)
    first, second = (b.id for b in pm2.app.dataset.buckets)
    keys = event_keys(pm2, first, headers)
    app, name = sorted(keys)[0]
    admin = f"{pm2.url}/_emulator/pm2/event-keys"
    body = {"bucket_id": first, "app_name": app, "event_name": name}
    assert requests.delete(admin, json=body, timeout=5).status_code == 204
    assert event_keys(pm2, first, headers) == keys - {(app, name)}
    assert requests.delete(admin, json=body, timeout=5).status_code == 404

    assert (
        requests.delete(f"{pm2.url}/_emulator/pm2/buckets/{second}", timeout=5).status_code == 204
    )
    buckets = requests.get(f"{pm2.url}/api/bucket", headers=headers, timeout=5).json()
    assert [b["_id"] for b in buckets] == [first]
    assert (
        requests.delete(f"{pm2.url}/_emulator/pm2/buckets/{second}", timeout=5).status_code == 404
    )
