// /debug/status tells who is connected from which node with which identity, and the CA's
// source: it is answered to the loopback only. The attack: a request from another address.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test, type TestContext } from 'node:test';
import { ControllerMetrics, startMetricsServer } from './metrics.js';

/** This machine's first non-loopback IPv4 address: a source that is not the loopback. */
function otherAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

/** A metrics server on 0.0.0.0 with these debug sources, and this machine's non-loopback
 * address to reach it from; undefined (the test skipped) where there is none, outside CI. */
async function exposedServer(t: TestContext, debug: Pick<Parameters<typeof startMetricsServer>[0], 'debugStatus' | 'debugConfig'>) {
  const address = otherAddress();
  if (!address) {
    if (process.env['CI'] === 'true') assert.fail('this test needs a non-loopback IPv4 address on the machine');
    t.skip('no non-loopback IPv4 address here');
    return undefined;
  }
  const status = { version: '1', ready: true, resources: 0, clients: [] };
  const metrics = new ControllerMetrics({ status: () => status, problems: () => 0 });
  const server = await startMetricsServer({ metrics, ready: () => true, ...debug, host: '0.0.0.0', port: 0 });
  t.after(() => server.close());
  return { address, get: (host: string, path: string) => fetch(`http://${host}:${server.port}${path}`, { signal: AbortSignal.timeout(5_000) }) };
}

test('debug_status_is_refused_to_a_non_loopback_client_and_served_on_loopback', async (t) => {
  const s = await exposedServer(t, { debugStatus: () => ({ secret: 'who is connected' }) });
  if (!s) return;
  const remote = await s.get(s.address, '/debug/status');
  assert.equal(remote.status, 403);
  assert.doesNotMatch(await remote.text(), /who is connected/);
  assert.equal((await s.get(s.address, '/metrics')).status, 200, 'metrics stay open for scraping');
  assert.equal((await s.get(s.address, '/healthz/ready')).status, 200, 'and readiness for the kubelet');
  const local = await s.get('127.0.0.1', '/debug/status');
  assert.equal(local.status, 200);
  assert.deepEqual(await local.json(), { secret: 'who is connected' });
});

test('debug_config_is_refused_to_a_non_loopback_client_and_served_on_loopback', async (t) => {
  const config = { version: '7', trustDomain: 'cluster.local', rootNamespace: 'ambient-system', resources: [], policyStatuses: [], problems: [] };
  const s = await exposedServer(t, { debugStatus: () => ({}), debugConfig: () => config });
  if (!s) return;
  const remote = await s.get(s.address, '/debug/config');
  assert.equal(remote.status, 403);
  assert.match(await remote.text(), /^\/debug\/config is served only on the loopback/);
  const local = await s.get('127.0.0.1', '/debug/config');
  assert.equal(local.status, 200);
  assert.equal(local.headers.get('content-type'), 'application/json');
  assert.deepEqual(await local.json(), config);
});
