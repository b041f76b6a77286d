"""The Segment emulator's workspace routes: official-client reads, gated answers, budgets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api_emulator import EmulatorServer
from api_emulator.segment import DEFAULT_TOKEN, SegmentApp, SegmentDataset
from api_emulator.segment.workspace import FEATURES, ROUTE_LIMITS
from tests.official import run_node

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
RULES = "/tracking-plans/{trackingPlanId}/rules"

# Every workspace route through @segment/public-api-sdk-typescript, in one node process: each
# answer as the client deserialised it (its models keep only the fields they know).
OFFICIAL_READS = r"""
const sdk = require('@segment/public-api-sdk-typescript');
const { url, token, ids } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
function api(name) { const client = new sdk[name](url); client.accessToken = token; return client; }
const page = { count: 1000 };
const calls = {
  '/': () => api('WorkspacesApi').getWorkspace(),
  '/sources': () => api('SourcesApi').listSources(page),
  '/warehouses': () => api('WarehousesApi').listWarehouses(page),
  [`/warehouses/${ids.warehouse}/connected-sources`]: () =>
    api('WarehousesApi').listConnectedSourcesFromWarehouse(ids.warehouse, page),
  '/tracking-plans': () => api('TrackingPlansApi').listTrackingPlans(page),
  [`/tracking-plans/${ids.trackingPlan}/rules`]: () =>
    api('TrackingPlansApi').listRulesFromTrackingPlan(ids.trackingPlan, page),
  ...Object.fromEntries(['SOURCE', 'DESTINATION', 'INSERT_DESTINATION'].map((type) =>
    [`/functions?resourceType=${type}`, () => api('FunctionsApi').listFunctions(page, type)])),
  '/transformations': () => api('TransformationsApi').listTransformations(page),
  '/reverse-etl-models': () => api('ReverseETLApi').listReverseEtlModels(page),
  '/spaces': () => api('SpacesApi').listSpaces(page),
  '/labels': () => api('LabelsApi').listLabels(),
  '/users': () => api('IAMUsersApi').listUsers(page),
  '/groups': () => api('IAMGroupsApi').listUserGroups(page),
  [`/groups/${ids.group}/users`]: () => api('IAMGroupsApi').listUsersFromUserGroup(ids.group, page),
  '/roles': () => api('IAMRolesApi').listRoles(page),
  '/catalog/sources': () => api('CatalogApi').getSourcesCatalog(page),
  '/catalog/destinations': () => api('CatalogApi').getDestinationsCatalog(page),
  '/catalog/warehouses': () => api('CatalogApi').getWarehousesCatalog(page),
};
(async () => {
  const out = {};
  for (const [route, call] of Object.entries(calls)) out[route] = (await call()).body.data;
  console.log(JSON.stringify(out));
})().catch((error) => { console.error(error.body || error); process.exit(1); });
"""
# Fields the Python SDK's DestinationMetadataV1 has and the TypeScript SDK 47 lacks (the
# destinations' own catalog entries carry them, docs/api/segment.md §5.2).
NEWER_THAN_TS_SDK = ("multiInstanceSupportedVersion", "hidden")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(SegmentApp(SegmentDataset.generate(seed=5, destinations=7))) as emulator:
        yield emulator


def get(server: EmulatorServer, path: str, **params: Any) -> requests.Response:
    return requests.get(server.url + path, params=params, headers=AUTH, timeout=5)


def differences(raw: Any, seen: Any, path: str = "") -> list[str]:
    """Where the client's view of an answer differs from the answer (paths, '.'-joined)."""
    if isinstance(raw, dict) and isinstance(seen, dict):
        return [
            d
            for key in sorted(set(raw) | set(seen))
            for d in differences(
                raw.get(key, "<absent>"), seen.get(key, "<absent>"), f"{path}.{key}"
            )
        ]
    if isinstance(raw, list) and isinstance(seen, list) and len(raw) == len(seen):
        return [
            d
            for i, (a, b) in enumerate(zip(raw, seen, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if raw == seen else [path]


def test_the_official_client_reads_every_workspace_route_field_for_field(server):
    workspace = server.app.workspace
    ids = {
        "warehouse": workspace.warehouses[0]["id"],
        "trackingPlan": workspace.tracking_plans[0]["id"],
        "group": workspace.groups[0]["id"],
    }
    seen = run_node(OFFICIAL_READS, {"url": server.url, "token": DEFAULT_TOKEN, "ids": ids})
    assert len(seen) == 20
    for route, data in seen.items():
        path, _, query = route.partition("?")
        params = dict([query.split("=")]) if query else {}
        raw = get(server, path, **params).json()["data"]
        assert raw[next(iter(raw))], route  # a route with data: the check can fail
        unknown = [d for d in differences(raw, data) if not d.endswith(NEWER_THAN_TS_SDK)]
        assert unknown == [], route
    by_client = next(e for e in server.log.entries() if e.path == "/sources")
    assert by_client.query == {"pagination[count]": ["1000"]}  # the client's own spelling


@pytest.mark.parametrize("option", FEATURES)
def test_a_workspace_without_a_feature_refuses_its_routes_naming_it(server, option):
    setattr(server.app, option, False)
    paths = {
        "protocols_enabled": "/tracking-plans",
        "functions_enabled": "/functions?resourceType=SOURCE",
        "reverse_etl_enabled": "/reverse-etl-models",
        "spaces_enabled": "/spaces",
        "iam_enabled": "/users",
    }
    response = requests.get(server.url + paths[option], headers=AUTH, timeout=5)
    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert error["message"] == f"The {FEATURES[option]} feature is not enabled for this workspace"
    assert get(server, "/sources").status_code == 200  # the rest of the workspace still answers


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/functions", {}, 422, "resourceType"),
        ("/functions", {"resourceType": "WAREHOUSE"}, 422, "resourceType"),
        ("/sources", {"pagination.count": 1001}, 422, "pagination.count"),
        ("/catalog/destinations", {"pagination.cursor": "nope"}, 422, "pagination.cursor"),
        ("/warehouses/nope/connected-sources", {}, 404, None),
        ("/tracking-plans/nope/rules", {}, 404, None),
        ("/groups/nope/users", {}, 404, None),
    ],
)
def test_bad_requests_get_segments_error_envelope(server, path, params, status, field):
    response = get(server, path, **params)
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error.get("field") == field


def test_pages_of_a_workspace_list_chain_by_cursor(server):
    first = get(server, "/catalog/sources", **{"pagination.count": 2}).json()["data"]
    second = get(
        server,
        "/catalog/sources",
        **{"pagination.count": 2, "pagination.cursor": first["pagination"]["next"]},
    ).json()["data"]
    ids = [e["id"] for e in first["sourcesCatalog"] + second["sourcesCatalog"]]
    assert ids == [e["id"] for e in server.app.workspace.catalog_sources[:4]]


def test_a_route_with_a_lower_limit_spends_a_budget_of_its_own(server):
    assert ROUTE_LIMITS == {RULES: 200}  # SDK-PY docs/TrackingPlansApi.md
    requests.put(
        f"{server.url}/_emulator/segment/route-budgets",
        json={"route": RULES, "limit": 2, "window_seconds": 60},
        timeout=5,
    ).raise_for_status()
    plan = server.app.workspace.tracking_plans[0]["id"]
    statuses = [get(server, f"/tracking-plans/{plan}/rules").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = get(server, f"/tracking-plans/{plan}/rules")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["errors"][0]["message"] == "Too many requests"
    assert get(server, "/tracking-plans").status_code == 200  # other routes: the workspace's


def test_admin_route_deletes_a_workspace_record(server):
    source = server.app.workspace.sources[-1]["id"]
    url = f"{server.url}/_emulator/segment/workspace/sources/{source}"
    assert requests.delete(url, timeout=5).status_code == 204
    listed = get(server, "/sources").json()["data"]["sources"]
    assert source not in [s["id"] for s in listed]
    assert requests.delete(url, timeout=5).status_code == 404
