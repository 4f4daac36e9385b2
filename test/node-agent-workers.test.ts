// Namespaced tier (DESIGN.md section 6): the node agent's data-path workers (node-agent/
// workers/). Two pod network namespaces with the real capture rules, joined by a veth pair;
// pod "a" (10.97.0.1) holds the clients, pod "b" (10.97.0.2) runs a TCP echo app on 8080.
// Both pods are served by a pool of two worker threads, each with its own SO_REUSEPORT
// listeners in each pod, real TLS from our own CA, and the main thread's sinks (metrics,
// access log) fed from the workers' reports, as the agent wires them.
import assert from 'node:assert/strict';
import type net from 'node:net';
import test, { type TestContext } from 'node:test';
import type { Policy, Resource, Workload } from '../core/config/model.js';
import { HboneServerMetrics } from '../core/hbone/metrics.js';
import { AGENT_SOCKET_MARK } from '../core/ports.js';
import { connectInNetns } from '../core/syscalls.js';
import { accessLogSink } from '../node-agent/observe/access-log.js';
import { ObservedEdges } from '../node-agent/observe/edges.js';
import { AgentMetrics } from '../node-agent/observe/metrics.js';
import { policy, resources, workload } from '../node-agent/proxy/fixtures.js';
import type { ConnectionRecord } from '../node-agent/proxy/record.js';
import { AgentState } from '../node-agent/state/store.js';
import { workerEventsSink } from '../node-agent/workers/events-sink.js';
import { WorkerPool } from '../node-agent/workers/pool.js';
import type { WorkerStats } from '../node-agent/workers/protocol.js';
import { silentLogger } from '../core/log.js';
import { capturedPodPair, requireRoot, type PodPair } from './support/netns.js';
import { issue, newCa } from './support/pki.js';

const MARK = AGENT_SOCKET_MARK;
const TD = 'cluster.local';
const IP_A = '10.97.0.1';
const IP_B = '10.97.0.2';
const APP_PORT = 8080;
const WAIT_MS = 10_000;
const TEST_TIMEOUT_MS = 120_000;

async function waitFor<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms = WAIT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `payload` and waits for its echo; resolves with what came back, or the error. */
function echo(s: net.Socket, payload: string): Promise<string> {
  if (s.destroyed || s.readableEnded) return Promise.resolve('ended (before the write)');
  return new Promise((resolve) => {
    let got = '';
    const done = (v: string) => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      s.off('end', onClose);
      resolve(v);
    };
    const timer = setTimeout(() => done(`timeout (got ${JSON.stringify(got)})`), WAIT_MS);
    const onData = (c: Buffer) => {
      got += c.toString();
      if (got.length >= payload.length) done(got);
    };
    const onClose = () => done(`ended (got ${JSON.stringify(got)})`);
    s.on('data', onData);
    // A peer that went away (its FIN, or a reset) ends the wait at once.
    s.once('close', onClose);
    s.once('end', onClose);
    s.on('error', () => {});
    s.write(payload);
  });
}

interface Fixture {
  pair: PodPair;
  pool: WorkerPool;
  metrics: AgentMetrics;
  records: ConnectionRecord[];
  store: AgentState;
  wa: Workload;
  wb: Workload;
  /** Applies a change on the main thread and forwards it, as the agent does. */
  change(version: string, upserts: Resource[], removes?: Resource[]): void;
}

async function setUp(t: TestContext, tag: string): Promise<Fixture> {
  const pair = await capturedPodPair(t, tag, { ipA: IP_A, ipB: IP_B, appPort: APP_PORT, mark: MARK });
  const ca = await newCa(TD);
  const credsA = await issue(ca, 'a', 'app');
  const credsB = await issue(ca, 'b', 'app');
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A] });
  const wb = workload('app', { uid: 'uid-b', namespace: 'b', ips: [IP_B] });
  const store = new AgentState('node-1');
  store.apply({ version: 'v1', upserts: resources([wa, wb]), removes: [] });

  const metrics = new AgentMetrics({ enrolledPods: () => 2, controllerConnected: () => true, certificates: () => [], activeConnections: () => 0 });
  const records: ConnectionRecord[] = [];
  const access = accessLogSink(silentLogger, () => store.snapshot(), metrics);
  const pool = new WorkerPool({
    count: 2,
    node: 'node-1',
    trustDomain: TD,
    mark: MARK,
    config: () => ({ resources: store.held(), version: store.version() }),
    roots: () => ca.trustBundle.pems(),
    onEvents: workerEventsSink({
      metrics,
      state: () => store.snapshot(),
      onConnectionEnd: (r) => {
        records.push(r);
        access(r);
      },
      edges: new ObservedEdges(64),
      hbone: new HboneServerMetrics(metrics.registry),
    }),
    onRestart: () => metrics.workerRestarts.inc(),
  });
  t.after(() => pool.close());
  for (const [w, c, ns] of [
    [wa, credsA, pair.a],
    [wb, credsB, pair.b],
  ] as const) {
    await pool.startPod({ uid: w.uid, netnsPath: ns.path, ipv6: false, identity: w.identity, workload: w, key: c.key, cert: c.cert });
  }
  return {
    pair,
    pool,
    metrics,
    records,
    store,
    wa,
    wb,
    change(version, upserts, removes = []) {
      const applied = store.apply({ version, upserts, removes });
      pool.configChanged(applied.change);
    },
  };
}

/** A connection from pod "a" to the app in "b": through a's capture and both pods' agents
 * over HBONE, or (direct) marked so that a's capture lets it by and b's captures it to 15006. */
function dial(f: Fixture, direct = false): Promise<net.Socket> {
  return connectInNetns(f.pair.a.path, { host: IP_B, port: APP_PORT, timeoutMs: WAIT_MS, ...(direct && { mark: MARK }) });
}

async function metricSum(m: AgentMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((n, v) => n + v.value, 0);
}

test('data-path workers share the connections of a pod, serve one config version, and their metrics sum to what was carried', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireRoot(t)) return;
  const f = await setUp(t, 'wk');
  const N = 40;
  for (let i = 0; i < N; i++) {
    const s = await dial(f);
    assert.equal(await echo(s, `ping-${i}`), `ping-${i}`, `connection ${i} through both agents over HBONE`);
    s.end();
  }
  // Each connection is recorded twice (a's outbound, b's inbound), by whichever workers carried it.
  await waitFor('every connection recorded', () => f.records.length, (n) => n === 2 * N);
  const stats = await f.pool.stats();
  assert.equal(stats.length, 2);
  assert.equal(stats[0]!.finished + stats[1]!.finished, 2 * N, 'the workers carried every record between them');
  assert.ok(stats[0]!.finished > 0 && stats[1]!.finished > 0, `both workers carried connections (${stats.map((s) => s.finished).join(' / ')})`);
  assert.deepEqual(
    stats.map((s) => s.version),
    ['v1', 'v1'],
  );
  assert.equal(await metricSum(f.metrics, 'istio_tcp_connections_opened_total', { reporter: 'source' }), N);
  assert.equal(await metricSum(f.metrics, 'istio_tcp_connections_opened_total', { reporter: 'destination' }), N);
  assert.equal(await metricSum(f.metrics, 'istio_tcp_connections_closed_total', { reporter: 'destination' }), N);
  const payloadBytes = Array.from({ length: N }, (_, i) => `ping-${i}`.length).reduce((a, b) => a + b, 0);
  assert.equal(await metricSum(f.metrics, 'istio_tcp_received_bytes_total', { reporter: 'destination' }), payloadBytes, 'bytes from both workers add up');
  assert.equal(await metricSum(f.metrics, 'ambient_authorization_decisions_total', { decision: 'ALLOW', dry_run: 'false' }), N, 'one decision per inbound connection');

  // A policy change reaches every worker: one version, and no worker lets the denied client in.
  const deny: Policy = policy('deny-a', 'DENY', [{ from: [{ principals: ['cluster.local/ns/a/sa/app'] }] }], { namespace: 'b' });
  f.change('v2', resources([deny]));
  await waitFor('every worker on v2', () => f.pool.stats(), (s: WorkerStats[]) => s.every((w) => w.version === 'v2'));
  for (let i = 0; i < 8; i++) {
    // The agent resets the denied connection, sometimes before the connect is reported.
    const s = await dial(f).catch(() => undefined);
    const got = s && (await echo(s, 'after-deny'));
    s?.destroy();
    assert.notEqual(got, 'after-deny', `connection ${i} after the DENY reached the app`);
  }
  await waitFor('the denials counted', () => metricSum(f.metrics, 'ambient_authorization_decisions_total', { decision: 'DENY', dry_run: 'false' }), (n) => n === 8);
});

test('a crashed data-path worker is restarted with its listeners, and the connections of the other worker are not touched', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireRoot(t)) return;
  const f = await setUp(t, 'wc');
  // Plaintext into b's 15006: each connection lives on exactly one worker of b.
  const N = 24;
  const open: net.Socket[] = [];
  t.after(() => {
    for (const s of open) s.destroy();
  });
  for (let i = 0; i < N; i++) {
    const s = await dial(f, true);
    open.push(s);
    assert.equal(await echo(s, `hold-${i}`), `hold-${i}`);
  }
  const before = await waitFor(
    'every connection counted open',
    () => f.pool.stats(),
    (s: WorkerStats[]) => s.reduce((n, w) => n + (w.active[f.wb.uid] ?? 0), 0) === N,
  );
  const onOther = before[1]!.active[f.wb.uid] ?? 0;
  assert.ok(onOther > 0 && onOther < N, `the kernel spread the pod's connections over both workers (worker 1 has ${onOther} of ${N})`);

  await f.pool.crash(0);
  await waitFor(
    'worker 0 started again with its pods',
    () => f.pool.stats().catch(() => []),
    (s: WorkerStats[]) => s.length === 2 && s.every((w) => w.active[f.wb.uid] !== undefined),
  );
  assert.deepEqual(f.pool.restarts(), [1, 0]);
  assert.equal(await metricSum(f.metrics, 'ambient_agent_worker_restarts_total'), 1);

  // Exactly the connections of worker 1 are still served; those of the dead worker were
  // closed (not left hanging).
  const results = await Promise.all(open.map((s, i) => echo(s, `again-${i}`)));
  assert.equal(results.filter((r, i) => r === `again-${i}`).length, onOther, `the surviving worker's connections all still echo (${JSON.stringify(results)})`);
  assert.ok(
    results.every((r, i) => r === `again-${i}` || r.startsWith('ended')),
    `the crashed worker's connections were closed, none left hanging: ${JSON.stringify(results)}`,
  );

  // A policy that arrives while worker 0 is down again: the worker that comes back serves it.
  await f.pool.crash(0);
  const denyNet: Policy = policy('deny-net', 'DENY', [{ from: [{ ipBlocks: [`${IP_A}/32`] }] }], { namespace: 'b' });
  f.change('v2', resources([denyNet]));
  await waitFor(
    'worker 0 started again, on v2',
    () => f.pool.stats().catch(() => []),
    (s: WorkerStats[]) => s.length === 2 && s.every((w) => w.version === 'v2' && w.active[f.wb.uid] !== undefined),
  );
  assert.deepEqual(f.pool.restarts(), [2, 0]);
  // No worker (the restarted one included) lets the denied client in.
  for (let i = 0; i < 12; i++) {
    const s = await dial(f, true).catch(() => undefined);
    const got = s && (await echo(s, `denied-${i}`));
    s?.destroy();
    assert.notEqual(got, `denied-${i}`, `connection ${i} after the DENY reached the app`);
  }
  f.change('v3', [], resources([denyNet]));
  await waitFor('every worker on v3', () => f.pool.stats(), (s: WorkerStats[]) => s.every((w) => w.version === 'v3'));

  // New connections succeed, and reach the restarted worker too.
  const finishedBefore = (await f.pool.stats()).map((w) => w.finished);
  for (let i = 0; i < 16; i++) {
    const s = await dial(f, true);
    assert.equal(await echo(s, `new-${i}`), `new-${i}`, `new connection ${i} after the restart`);
    s.end();
  }
  const after = await waitFor(
    'the new connections recorded',
    () => f.pool.stats(),
    (s: WorkerStats[]) => s.reduce((n, w, i) => n + w.finished - finishedBefore[i]!, 0) >= 16,
  );
  assert.ok(after[0]!.finished - finishedBefore[0]! > 0, 'the restarted worker accepts again');
});
