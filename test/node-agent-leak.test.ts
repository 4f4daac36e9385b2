// Leak test (not timed): a churn of short connections through the node agent's whole L4
// path between two captured pod namespaces (outbound 15001 -> pooled HBONE -> inbound
// 15008 with the penalty box, L4 authorization, the observed-edges table, the access log
// and the metrics, as agent.ts wires them), then: every per-connection table is back to
// empty, the tables that remember peers stay bounded, and the heap after a forced GC is
// within a small bound of the heap before the churn. The benchmark (npm run bench:memory)
// measures the same on the local cluster with 20,000 connections and RSS; this is the
// suite's small version of it.
// Two more tests keep the agent small: its process does not load @kubernetes/client-node
// (about 75 MiB of RSS), and the heap limits the DaemonSet gives the agent (NODE_OPTIONS in
// manifests/node-agent.yaml) are accepted by node and reach worker threads as well.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type net from 'node:net';
import test from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import { HboneClient } from '../core/hbone/client.js';
import { PeerGuard } from '../core/hbone/guard.js';
import type { Logger } from '../core/log.js';
import { AGENT_SOCKET_MARK } from '../core/ports.js';
import { connectInNetns } from '../core/syscalls.js';
import { accessLogSink } from '../node-agent/observe/access-log.js';
import { authzDecisionSink } from '../node-agent/observe/authz-sink.js';
import { ObservedEdges } from '../node-agent/observe/edges.js';
import { AgentMetrics } from '../node-agent/observe/metrics.js';
import { createCounters } from '../node-agent/proxy/balancer.js';
import { InboundEnforcer } from '../node-agent/proxy/enforcer.js';
import { policyEngine } from '../node-agent/proxy/engine.js';
import { policy, stateOf, workload } from '../node-agent/proxy/fixtures.js';
import { startInbound } from '../node-agent/proxy/inbound.js';
import { startOutbound } from '../node-agent/proxy/outbound.js';
import { capturedPodPair, requireRoot } from './support/netns.js';
import { issue, newCa } from './support/pki.js';

const MARK = AGENT_SOCKET_MARK;
const TD = 'cluster.local';
const IP_A = '10.99.0.1';
const IP_B = '10.99.0.2';
const APP_PORT = 8080;
const WAIT_MS = 10_000;
/** Short connections in the measured churn, after a warm-up of WARMUP. */
const CHURN = 2000;
const WARMUP = 1000;
/** Connections in flight at once during the churn. */
const PARALLEL = 16;
/**
 * Heap used (after a forced GC, without the code spaces) may differ by this much before
 * and after the churn. Measured here after a warm-up of 1000 connections: successive
 * churns of 2000 moved it by -80 to +330 KiB, and not in one direction (old-space
 * fragmentation, pooled buffers). A leak of 1 KiB per connection (one retained
 * connection record with its strings) is 2 MiB over the churn; one retained socket per
 * connection, several MiB.
 */
const HEAP_BOUND_BYTES = 640 * 1024;
const PAYLOAD = Buffer.alloc(64, 0x6c);

/** Node's gc(), without --expose-gc on the test runner's command line. */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function waitFor(what: string, pred: () => boolean, detail: () => string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}: ${detail()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The app in pod "a": connect (captured), 64 B, read the echo, close. */
function shortConnection(netnsPath: string): Promise<void> {
  return connectInNetns(netnsPath, { host: IP_B, port: APP_PORT, timeoutMs: WAIT_MS }).then(
    (socket: net.Socket) =>
      new Promise<void>((resolve, reject) => {
        let got = 0;
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no echo within ${WAIT_MS} ms`));
        }, WAIT_MS);
        socket.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= PAYLOAD.length) socket.end();
        });
        socket.on('error', () => {});
        socket.once('close', () => {
          clearTimeout(timer);
          if (got >= PAYLOAD.length) resolve();
          else reject(new Error(`closed after ${got} of ${PAYLOAD.length} echoed bytes`));
        });
        socket.write(PAYLOAD);
      }),
  );
}

async function churn(netnsPath: string, n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await shortConnection(netnsPath);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

/** A logger that formats every line as the agent's does and drops it. */
const discardLogger = (): Logger => pino({ level: 'info' }, { write: () => {} }) as unknown as Logger;

test('short_connection_churn_leaves_no_tables_and_no_heap_behind', { timeout: 120_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const gc = exposeGc();
  const { a, b, appConnections } = await capturedPodPair(t, 'k', { ipA: IP_A, ipB: IP_B, appPort: APP_PORT, mark: MARK });
  const ca = await newCa(TD);
  const credsA = await issue(ca, 'a', 'app');
  const credsB = await issue(ca, 'b', 'app');
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A] });
  const wb = workload('app', { uid: 'uid-b', namespace: 'b', ips: [IP_B], mtlsMode: 'STRICT' });
  // A policy that applies and allows, so every connection is evaluated, recorded as an
  // edge and tracked for re-evaluation, as in a mesh with policies.
  const allowA = policy('allow-a', 'ALLOW', [{ from: [{ principals: ['cluster.local/ns/a/sa/app'] }] }], { namespace: 'b' });
  const state = stateOf([wa, wb, allowA]);

  const metrics = new AgentMetrics({ enrolledPods: () => 2, controllerConnected: () => true, certificates: () => [], activeConnections: () => 0 });
  const edges = new ObservedEdges(64);
  const log = discardLogger();
  const enforcer = new InboundEnforcer({ engine: policyEngine, getState: () => state, onDecision: authzDecisionSink(metrics, edges), logger: log });
  const guard = new PeerGuard({ logger: log });
  const access = accessLogSink(log, () => state, metrics);
  let endedA = 0;
  let endedB = 0;

  const client = new HboneClient({
    credentials: () => ({ key: credsA.key, cert: credsA.cert }),
    trustBundle: ca.trustBundle,
    trustDomain: TD,
    connectTransport: (peer) => connectInNetns(a.path, { host: peer.host, port: peer.port, mark: MARK, timeoutMs: WAIT_MS }),
  });
  t.after(() => client.destroy());
  const outbound = await startOutbound({
    netnsPath: a.path,
    getState: () => state,
    source: () => wa,
    hbone: client,
    mark: MARK,
    counters: createCounters(),
    onConnectionEnd: (r) => {
      endedA++;
      access(r);
    },
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => outbound.close());
  const inbound = await startInbound({
    netnsPath: b.path,
    getState: () => state,
    local: () => wb,
    credentials: { key: credsB.key, cert: credsB.cert },
    trustBundle: ca.trustBundle,
    trustDomain: TD,
    mark: MARK,
    guard,
    authz: enforcer,
    logger: log,
    onConnectionEnd: (r) => {
      endedB++;
      access(r);
    },
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => inbound.close());

  const tables = () => ({
    outboundActive: outbound.active,
    inboundPlaintextActive: inbound.plaintext.active,
    authzTracked: enforcer.open,
    clientStreams: client.stats.streams,
    clientConnections: client.stats.connections,
    serverStreams: inbound.hbone.stats.streams,
    serverConnections: inbound.hbone.stats.connections,
    penaltyBoxKeys: guard.box.size,
    edges: edges.size,
  });
  const idle = (ended: number) => () => {
    const s = tables();
    return endedA >= ended && endedB >= ended && s.outboundActive === 0 && s.inboundPlaintextActive === 0 && s.authzTracked === 0 && s.clientStreams === 0 && s.serverStreams === 0;
  };
  const show = () => JSON.stringify({ endedA, endedB, ...tables() });
  const heapAfterGc = async () => {
    // Let closes and timers of the last connections run, then collect twice (weak refs, finalizers).
    await new Promise((r) => setTimeout(r, 200));
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    // Without the code spaces: compiled code grows with the JIT's tiering for a while and
    // is not what a leak holds.
    return v8
      .getHeapSpaceStatistics()
      .filter((x) => !x.space_name.startsWith('code_'))
      .reduce((sum, x) => sum + x.space_used_size, 0);
  };

  // Warm-up: JIT, the HBONE pool's connection, the metrics' label children, pino's buffers.
  await churn(a.path, WARMUP);
  await waitFor('the warm-up connections to end on both sides', idle(WARMUP), show);
  const heapBefore = await heapAfterGc();

  await churn(a.path, CHURN);
  const total = WARMUP + CHURN;
  await waitFor('the churn connections to end on both sides', idle(total), show);
  assert.equal(appConnections.count, total, 'every connection reached the app');
  const s = tables();
  // Back to empty: nothing per connection is left.
  assert.equal(s.outboundActive, 0, show());
  assert.equal(s.inboundPlaintextActive, 0, show());
  assert.equal(s.authzTracked, 0, `authorization still tracks connections: ${show()}`);
  assert.equal(s.clientStreams, 0, show());
  assert.equal(s.serverStreams, 0, show());
  // Bounded: one pooled HBONE connection, one peer (address + identity), one edge.
  assert.equal(s.clientConnections, 1, `the pool holds one connection to the one peer: ${show()}`);
  assert.equal(s.serverConnections, 1, show());
  assert.ok(s.penaltyBoxKeys <= 2, `the penalty box tracks only the one peer: ${show()}`);
  assert.equal(s.edges, 1, `one observed edge (a -> b): ${show()}`);

  const heapAfter = await heapAfterGc();
  const grew = heapAfter - heapBefore;
  t.diagnostic(`heap used after GC: before ${(heapBefore / 1024).toFixed(0)} KiB, after ${CHURN} connections ${(heapAfter / 1024).toFixed(0)} KiB (${grew >= 0 ? '+' : ''}${(grew / 1024).toFixed(0)} KiB)`);
  assert.ok(grew < HEAP_BOUND_BYTES, `heap grew by ${(grew / 1024).toFixed(0)} KiB over ${CHURN} short connections (bound ${HEAP_BOUND_BYTES / 1024} KiB): a leak`);
});

/** The agent container's NODE_OPTIONS in the DaemonSet manifest. */
function manifestNodeOptions(): string {
  const docs = parseAllDocuments(readFileSync(new URL('../../manifests/node-agent.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const ds = docs.find((d) => d['kind'] === 'DaemonSet') as { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } };
  const c = ds.spec.template.spec.containers.find((x) => x.name === 'node-agent')!;
  const v = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  assert.ok(v, 'the node-agent container sets NODE_OPTIONS');
  return v;
}

test('manifest_heap_limits_are_accepted_by_node_and_apply_to_workers_too', () => {
  const opts = manifestNodeOptions();
  const semi = Number(/--max-semi-space-size=(\d+)/.exec(opts)?.[1]);
  const old = Number(/--max-old-space-size=(\d+)/.exec(opts)?.[1]);
  assert.ok(semi > 0 && old > 0, `both limits are set: ${opts}`);
  // V8's heap_size_limit is the old generation plus three semi-spaces (two for the young
  // generation, one for new large objects), in the main thread and in a worker alike.
  const worker = "const v8 = require('node:v8'); require('node:worker_threads').parentPort.postMessage(v8.getHeapStatistics().heap_size_limit)";
  const main = `const v8 = require('node:v8'); const { Worker } = require('node:worker_threads');
new Worker(${JSON.stringify(worker)}, { eval: true }).on('message', (w) => console.log(JSON.stringify({ main: v8.getHeapStatistics().heap_size_limit, worker: w })));`;
  const out = execFileSync(process.execPath, ['-e', main], { env: { ...process.env, NODE_OPTIONS: opts }, encoding: 'utf8', timeout: 20_000 });
  const limits = JSON.parse(out) as { main: number; worker: number };
  const want = (old + 3 * semi) * 1024 * 1024;
  assert.deepEqual(limits, { main: want, worker: want }, `heap_size_limit with NODE_OPTIONS=${opts}`);
});

/** The packages the compiled module `file` loads, following relative imports (static and import('...')). */
function packagesLoadedBy(file: string): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>(); // package -> first module importing it
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) walk(resolve(dirname(f), spec));
      else if (!spec.startsWith('node:') && !packages.has(spec)) packages.set(spec, f);
    }
  };
  walk(file);
  return packages;
}

test('the_agent_process_does_not_load_the_kubernetes_client_library', () => {
  // The main thread's program, and every data-path worker's (a worker loads its own modules).
  for (const entry of ['../node-agent/main.js', '../node-agent/workers/worker.js']) {
    const packages = packagesLoadedBy(fileURLToPath(new URL(entry, import.meta.url)));
    assert.ok(packages.has('pino'), `the walk follows ${entry}'s imports: ${[...packages.keys()].join(', ')}`);
    const kube = [...packages].filter(([p]) => p.startsWith('@kubernetes/'));
    assert.deepEqual(kube, [], `${entry}: type-only imports are fine (erased); a value import loads the library`);
  }
});
