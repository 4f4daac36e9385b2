// /debug/status tells who is connected from which node with which identity, and the CA's
// source: it is answered to the loopback only. The attack: a request from another address.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { ControllerMetrics, startMetricsServer } from './metrics.js';

/** This machine's first non-loopback IPv4 address: a source that is not the loopback. */
function otherAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

test('debug_status_is_refused_to_a_non_loopback_client_and_served_on_loopback', async (t) => {
  const address = otherAddress();
  if (!address) {
    if (process.env['CI'] === 'true') assert.fail('this test needs a non-loopback IPv4 address on the machine');
    t.skip('no non-loopback IPv4 address here');
    return;
  }
  const status = { version: '1', ready: true, resources: 0, clients: [] };
  const metrics = new ControllerMetrics({ status: () => status, problems: () => 0 });
  const server = await startMetricsServer({ metrics, ready: () => true, debugStatus: () => ({ secret: 'who is connected' }), host: '0.0.0.0', port: 0 });
  t.after(() => server.close());
  const get = (host: string, path: string) => fetch(`http://${host}:${server.port}${path}`, { signal: AbortSignal.timeout(5_000) });
  const remote = await get(address, '/debug/status');
  assert.equal(remote.status, 403);
  assert.doesNotMatch(await remote.text(), /who is connected/);
  assert.equal((await get(address, '/metrics')).status, 200, 'metrics stay open for scraping');
  assert.equal((await get(address, '/healthz/ready')).status, 200, 'and readiness for the kubelet');
  const local = await get('127.0.0.1', '/debug/status');
  assert.equal(local.status, 200);
  assert.deepEqual(await local.json(), { secret: 'who is connected' });
});

test('debug_config_is_refused_to_a_non_loopback_client_and_served_on_loopback', async (t) => {
  const address = otherAddress();
  if (!address) {
    if (process.env['CI'] === 'true') assert.fail('this test needs a non-loopback IPv4 address on the machine');
    t.skip('no non-loopback IPv4 address here');
    return;
  }
  const status = { version: '1', ready: true, resources: 0, clients: [] };
  const metrics = new ControllerMetrics({ status: () => status, problems: () => 0 });
  const config = { version: '7', trustDomain: 'cluster.local', rootNamespace: 'ambient-system', resources: [], policyStatuses: [], problems: [] };
  const server = await startMetricsServer({ metrics, ready: () => true, debugStatus: () => ({}), debugConfig: () => config, host: '0.0.0.0', port: 0 });
  t.after(() => server.close());
  const get = (host: string) => fetch(`http://${host}:${server.port}/debug/config`, { signal: AbortSignal.timeout(5_000) });
  const remote = await get(address);
  assert.equal(remote.status, 403);
  assert.match(await remote.text(), /^\/debug\/config is served only on the loopback/);
  const local = await get('127.0.0.1');
  assert.equal(local.status, 200);
  assert.equal(local.headers.get('content-type'), 'application/json');
  assert.deepEqual(await local.json(), config);
});
