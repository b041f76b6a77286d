"""Segment's official TypeScript client reads every usage, event volume, audit trail and
delivery overview answer of the emulator (one node process for all routes)."""

from __future__ import annotations

from api_emulator.data import segment_usage as usage
from api_emulator.segment import DEFAULT_TOKEN
from tests.official import run_node

SCRIPT = r"""
const sdk = require('@segment/public-api-sdk-typescript');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
function client(Api) {
  const api = new Api(input.url);
  api.accessToken = input.token;
  return api;
}
const page = { count: 2 };
(async () => {
  const out = {};
  const calls = client(sdk.APICallsApi), mtu = client(sdk.MonthlyTrackedUsersApi);
  let b = (await calls.getDailyWorkspaceAPICallsUsage('2026-11-01', page)).body;
  out.apiCalls = [b.data.dailyWorkspaceAPICallsUsage[0] instanceof sdk.APICallSnapshotV1,
                  b.data.dailyWorkspaceAPICallsUsage[0].apiCalls, b.data.pagination.totalEntries];
  b = (await calls.getDailyPerSourceAPICallsUsage('2026-11-01', page)).body;
  out.apiCallsPerSource = b.data.dailyPerSourceAPICallsUsage[0].sourceId;
  b = (await mtu.getDailyWorkspaceMTUUsage('2026-11-01', page)).body;
  out.mtu = [b.data.dailyWorkspaceMTUUsage[0] instanceof sdk.MtuSnapshotV1,
             b.data.dailyWorkspaceMTUUsage[0].periodStart];
  b = (await mtu.getDailyPerSourceMTUUsage('2026-11-01', page)).body;
  out.mtuPerSource = b.data.dailyPerSourceMTUUsage[0].identified;
  const events = client(sdk.EventsApi);
  b = (await events.getEventsVolumeFromWorkspace('DAY', input.start, input.end,
        ['source', 'eventType'], undefined, undefined, undefined, undefined, { count: 100 })).body;
  out.volume = [b.data.result.length, b.data.result[0].source instanceof sdk.EventSourceV1,
                b.data.result[0].series.length, b.data.query.granularity];
  b = (await client(sdk.AuditTrailApi).listAuditEvents(page)).body;
  out.audit = [b.data.events.length, b.data.events[0] instanceof sdk.AuditEventV1,
               b.data.pagination.next !== undefined];
  const overview = client(sdk.DeliveryOverviewApi);
  const d = input.destination, s = input.source, g = ['eventType', 'discardReason'];
  const results = [
    await overview.getIngressSuccessMetricsFromDeliveryOverview(s, input.start, input.end, 'day',
      { count: 50 }, ['eventType']),
    await overview.getIngressFailedMetricsFromDeliveryOverview(s, input.start, input.end, 'day',
      { count: 50 }, g),
    await overview.getFilteredAtSourceMetricsFromDeliveryOverview(s, input.start, input.end, 'day',
      { count: 50 }, g),
    await overview.getFilteredAtDestinationMetricsFromDeliveryOverview(s, d, input.start,
      input.end, 'day', { count: 50 }, g),
    await overview.getEgressSuccessMetricsFromDeliveryOverview(s, d, input.start, input.end,
      'day', { count: 50 }, g),
    await overview.getEgressFailedMetricsFromDeliveryOverview(s, d, input.start, input.end,
      'day', { count: 50 }, g),
  ];
  out.overview = results.map(r => [r.body.data.total, r.body.data.dataset.length,
    r.body.data.dataset[0] instanceof sdk.DeliveryOverviewMetricsDataset]);
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e && e.body ? JSON.stringify(e.body) : e); process.exit(1); });
"""


def test_the_official_client_reads_every_new_route(emulator):
    dataset = emulator.app.dataset
    destination = dataset.destinations[0]
    payload = {
        "url": emulator.url,
        "token": DEFAULT_TOKEN,
        "start": "2026-11-18T00:00:00.000Z",
        "end": "2026-11-20T00:00:00.000Z",
        "source": destination["sourceId"],
        "destination": destination["id"],
    }
    out = run_node(SCRIPT, payload)
    sources = usage.source_ids(dataset)
    assert out["apiCalls"][0] is True
    assert out["apiCalls"][2] == 20  # Nov 1 to 20: the running day served too
    assert out["apiCallsPerSource"] in sources
    assert out["mtu"] == [True, 1793491200]  # 2026-11-01 in Unix seconds
    assert int(out["mtuPerSource"]) > 0
    assert out["volume"] == [len(sources) * 3, True, 2, "DAY"]
    assert out["audit"] == [2, True, True]
    # groups: event types (x discard reasons: two for failed deliveries)
    assert [row[1:] for row in out["overview"]] == [[3, True]] * 5 + [[6, True]]
    received, *_ = out["overview"]
    assert received[0] > 0
