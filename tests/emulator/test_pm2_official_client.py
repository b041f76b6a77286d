"""The official client, @pm2/js-api, reads every process-event and issue route of the emulator.

One Node.js process authenticates with the refresh token (standalone flow), resolves the
bucket's data node as the client does (GET /api/bucket/:id, then ``node.endpoints.web``) and
calls each route by its mapped name, the deleting ones last (this emulator is the suite's own:
tests/emulator/ is exempt from the read-only audit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from api_emulator import EmulatorServer
from api_emulator.pm2 import DEFAULT_CLIENT_ID, DEFAULT_REFRESH_TOKEN, Pm2App, Pm2Dataset
from tests.official import run_node

NOW = datetime(2026, 11, 20, 10, 37, 12, tzinfo=timezone.utc)

SCRIPT = r"""
const KM = require('@pm2/js-api')
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const km = new KM({services: {API: input.api, OAUTH: input.auth}})
km.use('standalone', {refresh_token: input.refresh_token, client_id: input.client_id})
const data = (answer) => answer.data
const refused = (promise) => promise.then(
  () => { throw new Error('accepted') },
  (error) => ({status: error.status, msg: error.data && error.data.msg}))

;(async () => {
  const b = input.bucket, app = input.app, out = {}
  out.processEvents = await km.data.processes.retrieveEvents(b, {before: input.before}).then(data)
  out.defaultHour = await km.data.processes.retrieveEvents(b, {app_name: app}).then(data)
  out.deployments = await km.data.processes.retrieveDeployments(b, {app_name: app}).then(data)
  out.issues = await km.data.issues.list(b, {app_name: app}).then(data)
  const identifier = out.issues[0].identifier
  out.occurrences = await km.data.issues.listOccurencesForIdentifier(b, identifier).then(data)
  out.occurrencesAfter = await km.data.issues
    .listOccurencesForIdentifier(b, identifier, 1, out.occurrences[0].at).then(data)
  out.summary = await km.data.issues.summary(b, 'apps').then(data)
  out.histogram = await km.data.issues
    .retrieveHistogram(b, {app_name: app, interval: 'day', start: input.start}).then(data)
  out.missingApp = await refused(km.data.issues.list(b, {}))
  out.badBefore = await refused(km.data.processes.retrieveEvents(b, {before: 'soon'}))
  out.deleted = await km.data.issues.delete(b, identifier).then(data)
  await km.data.exceptions.delete(b, {app_name: app})
  await km.data.exceptions.deleteAll(b)
  await km.data.issues.deleteAll(b)
  out.left = await km.data.issues.summary(b, 'apps').then(data)
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
})().catch((error) => {
  console.error(error && (error.stack || JSON.stringify(error.data)))
  process.exit(1)
})
"""


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    dataset = Pm2Dataset.generate(seed=5, events=50, anchor=NOW, days=5)
    with EmulatorServer(Pm2App(dataset)) as emulator:
        emulator.clock.set(NOW)
        yield emulator


def test_the_official_client_reads_every_route_and_the_deleting_ones_are_counted(server):
    bucket = server.app.dataset.buckets[0]
    now = int(NOW.timestamp() * 1000)
    app = next(d["app_name"] for d in bucket.incidents.deployments if d["at"] <= now)
    expected = bucket.incidents.visible_process_events(now, now - 7 * 86_400_000)
    open_issues = [i for i in bucket.incidents.issues.values() if i.app == app and i.visible(now)]
    out = run_node(
        SCRIPT,
        {
            "api": server.url,
            "auth": server.urls["auth"],
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID,
            "bucket": bucket.id,
            "app": app,
            "before": 7 * 1440,
            "start": "2026-11-15T00:00:00.000Z",
        },
    )
    assert [e["at"] for e in out["processEvents"]] == [e.at for e in reversed(expected)]
    assert all(e["at"] >= now - 3_600_000 for e in out["defaultHour"])  # before: 60 minutes
    assert out["deployments"]
    assert {d["app_name"] for d in out["deployments"]} == {app}
    assert {i["identifier"] for i in out["issues"]} == {i.identifier for i in open_issues}
    assert len(out["occurrences"]) == out["issues"][0]["occurrences"]
    assert out["occurrencesAfter"] == out["occurrences"][2:]  # after the first, from 1
    assert {"key": app, "count": len(open_issues)} in out["summary"]
    assert sum(len(h["histogram"]) for h in out["histogram"]) > 0
    assert out["missingApp"]["status"] == 400
    assert out["badBefore"] == {"status": 400, "msg": "invalid parameters: before must be a "
                                "number of minutes >= 1"}  # fmt: skip
    assert [d["identifier"] for d in out["deleted"]] == [out["issues"][0]["identifier"]]
    assert out["left"] == []
    assert sorted(server.app.deleting_calls) == [
        f"DELETE /api/bucket/{bucket.id}/data/issues",
        f"DELETE /api/bucket/{bucket.id}/data/issues/{out['issues'][0]['identifier']}",
        f"POST /api/bucket/{bucket.id}/data/exceptions/delete",
        f"POST /api/bucket/{bucket.id}/data/exceptions/delete_all",
    ]
    assert {e.host for e in server.log.entries() if "/data/" in e.path} == {"data"}
