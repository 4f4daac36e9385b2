// The node agent's admin (15000), metrics (15020) and readiness (15021) servers over real
// HTTP on loopback, as an operator, Prometheus and the kubelet use them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import net from 'node:net';
import { pino } from 'pino';
import { isMeshError, ErrorCodes } from '../core/errors.js';
import { newAdminToken } from '../node-agent/admin-token.js';
import { startAgentServers, type AgentServers, type Readiness } from '../node-agent/admin.js';
import { accessLogSink } from '../node-agent/observe/access-log.js';
import { AgentMetrics } from '../node-agent/observe/metrics.js';
import { stateOf, workload } from '../node-agent/proxy/fixtures.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const TOKEN = newAdminToken();
const AUTH = { authorization: `Bearer ${TOKEN}` };

let readiness: Readiness = { ready: false, reason: 'no config from the controller yet' };
let dumpThrows = false;
const logger = pino({ level: 'info' }, { write: () => {} });
const metrics = new AgentMetrics({ enrolledPods: () => 1, controllerConnected: () => true, certificates: () => [], activeConnections: () => 0 });
const servers: AgentServers = await startAgentServers({
  admin: LOOPBACK,
  metrics: LOOPBACK,
  readiness: LOOPBACK,
  logger,
  registry: metrics.registry,
  adminToken: TOKEN,
  ready: () => readiness,
  configDump: () => {
    if (dumpThrows) throw new Error('state is being swapped');
    return { version: '7', workloads: [{ uid: 'uid-a', name: 'a' }] };
  },
});
after(() => servers.close());

const url = (server: 'admin' | 'metrics' | 'readiness', path: string) => `http://127.0.0.1:${servers[server]!.port}${path}`;

test('agent_admin_config_dump_is_json', async () => {
  const res = await fetch(url('admin', '/config_dump'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await res.json(), { version: '7', workloads: [{ uid: 'uid-a', name: 'a' }] });
});

test('agent_admin_log_level_change_is_applied_to_the_logger', async () => {
  const child = logger.child({ component: 'proxy' });
  let res = await fetch(url('admin', '/logging'));
  assert.deepEqual(await res.json(), { level: 'info' });
  res = await fetch(url('admin', '/logging?level=debug'), { method: 'POST', headers: AUTH });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { level: 'debug', previous: 'info' });
  assert.equal(logger.level, 'debug');
  assert.equal(child.level, 'debug', 'children follow');
  res = await fetch(url('admin', '/logging?level=warn'), { method: 'PUT', headers: AUTH });
  assert.equal(res.status, 200);
  assert.equal(logger.level, 'warn');
  await fetch(url('admin', '/logging?level=info'), { method: 'POST', headers: AUTH });
  assert.equal(logger.level, 'info');
});

test('agent_admin_log_level_change_without_token_is_refused_401', async () => {
  // What any host-network pod or process on the node (or a browser page it opens) can do:
  // the admin port is on the node's loopback, which they all share.
  for (const method of ['POST', 'PUT']) {
    const res = await fetch(url('admin', '/logging?level=trace'), { method });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(await res.text(), /needs "Authorization: Bearer <admin token>"/);
  }
  assert.equal(logger.level, 'info', 'the level did not change');
});

test('agent_admin_log_level_change_with_wrong_token_is_refused_403', async () => {
  for (const authorization of [`Bearer ${newAdminToken()}`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, 'Bearer ']) {
    const res = await fetch(url('admin', '/logging?level=trace'), { method: 'POST', headers: { authorization } });
    assert.equal(res.status, 403, authorization);
    await res.text();
  }
  assert.equal(logger.level, 'info', 'the level did not change');
});

test('agent_admin_reads_need_no_token_on_loopback', async () => {
  assert.equal((await fetch(url('admin', '/config_dump'))).status, 200);
  assert.equal((await fetch(url('admin', '/logging'))).status, 200);
});

test('agent_admin_without_a_configured_token_refuses_every_change', async (t) => {
  const s = await startAgentServers({ admin: LOOPBACK, logger, ready: () => readiness });
  t.after(() => s.close());
  const res = await fetch(`http://127.0.0.1:${s.admin!.port}/logging?level=trace`, { method: 'POST', headers: { authorization: 'Bearer anything' } });
  assert.equal(res.status, 403);
  assert.equal(logger.level, 'info');
});

test('agent_admin_bad_log_level_is_400_and_changes_nothing', async () => {
  const res = await fetch(url('admin', '/logging?level=verbose'), { method: 'POST', headers: AUTH });
  assert.equal(res.status, 400);
  const body = await res.text();
  assert.match(body, /unknown level "verbose"/);
  assert.match(body, /debug/, 'names the valid levels');
  assert.equal(logger.level, 'info');
  const none = await fetch(url('admin', '/logging'), { method: 'POST', headers: AUTH });
  assert.equal(none.status, 400);
  assert.match(await none.text(), /no level given/);
});

test('agent_readiness_flips_from_503_to_200', async () => {
  readiness = { ready: false, reason: 'no config from the controller yet' };
  let res = await fetch(url('readiness', '/healthz/ready'));
  assert.equal(res.status, 503);
  assert.match(await res.text(), /not ready: no config from the controller yet/);
  res = await fetch(url('admin', '/healthz/ready'));
  assert.equal(res.status, 503, 'admin answers the same');
  await res.text();
  readiness = { ready: true };
  res = await fetch(url('readiness', '/healthz/ready'));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ready\n');
});

test('agent_metrics_serves_tcp_metrics_after_a_record', async () => {
  const state = stateOf([workload('sleep')]);
  accessLogSink(logger, () => state, metrics)({
    direction: 'outbound',
    reporter: 'source',
    plan: 'passthrough',
    reason: 'unknown-destination',
    sourceWorkload: 'uid-sleep',
    sourceIdentity: 'spiffe://cluster.local/ns/default/sa/sleep',
    mtls: false,
    bytesSent: 5,
    bytesReceived: 9,
    startedAt: new Date(),
    durationMs: 1,
  });
  const res = await fetch(url('metrics', '/metrics'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), metrics.registry.contentType);
  const text = await res.text();
  assert.match(text, /^istio_tcp_connections_closed_total\{reporter="source",source_workload="sleep",.*\} 1$/m);
  assert.match(text, /^istio_tcp_received_bytes_total\{.*source_workload="sleep".*\} 5$/m);
  assert.match(text, /^ambient_agent_controller_connected 1$/m);
});

test('agent_servers_wrong_method_is_405_and_unknown_path_404', async () => {
  let res = await fetch(url('admin', '/config_dump'), { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
  await res.text();
  res = await fetch(url('metrics', '/metrics'), { method: 'POST' });
  assert.equal(res.status, 405);
  await res.text();
  res = await fetch(url('readiness', '/config_dump'));
  assert.equal(res.status, 404, 'readiness serves only /healthz/ready');
  await res.text();
  res = await fetch(url('metrics', '/healthz/ready'));
  assert.equal(res.status, 404);
  await res.text();
});

test('agent_admin_throwing_config_dump_is_500_and_server_keeps_serving', async () => {
  dumpThrows = true;
  let res = await fetch(url('admin', '/config_dump'));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /state is being swapped/);
  dumpThrows = false;
  res = await fetch(url('admin', '/config_dump'));
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { version: string }).version, '7');
});

test('agent_servers_port_in_use_is_a_listen_error', async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    await assert.rejects(
      startAgentServers({ readiness: LOOPBACK, admin: { host: '127.0.0.1', port }, logger, ready: () => readiness }),
      (err) => isMeshError(err, ErrorCodes.AGENT_LISTEN_FAILED) && /admin server: EADDRINUSE/.test(err.message),
    );
  } finally {
    busy.close();
  }
});

test('agent_admin_defaults_to_localhost', async () => {
  const s = await startAgentServers({ admin: { port: 0 }, logger, ready: () => readiness });
  try {
    assert.equal(s.admin!.address, '127.0.0.1');
    assert.equal(s.metrics, undefined, 'servers not asked for are not started');
  } finally {
    await s.close();
  }
});
