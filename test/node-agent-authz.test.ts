// Namespaced tier (DESIGN.md section 6): L4 authorization in the node agent's inbound
// listeners, between two pod network namespaces joined by a veth pair with the real capture
// rules, real TLS from our own CA and the real policy engine. Pod "a" (10.98.0.1) holds the
// clients (two identities: a/app and a/other); pod "b" (10.98.0.2) runs a TCP echo app on
// 8080 behind its agent's 15008 and 15006.
import assert from 'node:assert/strict';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import test, { type TestContext } from 'node:test';
import pino from 'pino';
import type { Policy } from '../core/config/model.js';
import { HboneClient, TunnelDeniedError, type Tunnel } from '../core/hbone/client.js';
import { parseSpiffeId } from '../core/identity/spiffe.js';
import type { Logger } from '../core/log.js';
import { silentLogger } from '../core/log.js';
import { AGENT_SOCKET_MARK } from '../core/ports.js';
import { connectInNetns } from '../core/syscalls.js';
import { startAgentServers } from '../node-agent/admin.js';
import type { AuthzEdgesDump } from '../node-agent/dump.js';
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
import type { ConnectionRecord } from '../node-agent/proxy/record.js';
import type { ProxyState } from '../node-agent/state/snapshot.js';
import { capturedPodPair, Netns, requireRoot } from './support/netns.js';
import { issue, newCa } from './support/pki.js';

const MARK = AGENT_SOCKET_MARK;
const TD = 'cluster.local';
const IP_A = '10.98.0.1';
const IP_B = '10.98.0.2';
const APP_PORT = 8080;
const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 120_000;
const ID_APP = 'spiffe://cluster.local/ns/a/sa/app';
const ID_OTHER = 'spiffe://cluster.local/ns/a/sa/other';

const denyApp = policy('deny-app', 'DENY', [{ from: [{ principals: ['cluster.local/ns/a/sa/app'] }] }], { namespace: 'b' });
const allowNothing = policy('allow-nothing', 'ALLOW', [], { namespace: 'b' });
const denyNet = policy('deny-net', 'DENY', [{ from: [{ ipBlocks: [`${IP_A}/32`] }] }], { namespace: 'b' });

async function waitFor(what: string, pred: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends `payload` on an open duplex (tunnel stream or socket) and waits for its echo. */
function echo(s: Duplex, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no echo of ${payload} within ${WAIT_MS} ms (got ${JSON.stringify(got)})`));
    }, WAIT_MS);
    const onData = (c: Buffer) => {
      got += c.toString();
      if (got.length >= payload.length) {
        cleanup();
        resolve(got);
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`closed before the echo (got ${JSON.stringify(got)})`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
    };
    s.on('data', onData);
    s.once('close', onClose);
    s.write(payload);
  });
}

/** Resolves when `s` closes (bounded). */
function closed(s: { once(e: 'close', f: () => void): unknown; destroyed: boolean }, ms = WAIT_MS): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

interface Fixture {
  a: Netns;
  b: Netns;
  recordsA: ConnectionRecord[];
  recordsB: ConnectionRecord[];
  /** The agent log (enforcer) and the access log of "b", as parsed JSON lines. */
  logB: Array<Record<string, unknown>>;
  accessB: Array<Record<string, unknown>>;
  appConnections: { count: number };
  metrics: AgentMetrics;
  edges: ObservedEdges;
  enforcer: InboundEnforcer;
  adminPort: number;
  clients: { app: HboneClient; other: HboneClient };
  setStates(a: ProxyState, b: ProxyState): void;
}

function captureLogger(into: Array<Record<string, unknown>>): Logger {
  return pino({ level: 'info' }, { write: (line: string) => void into.push(JSON.parse(line) as Record<string, unknown>) }) as unknown as Logger;
}

async function setUp(t: TestContext): Promise<Fixture> {
  const { a, b, appConnections } = await capturedPodPair(t, 'z', { ipA: IP_A, ipB: IP_B, appPort: APP_PORT, mark: MARK });

  const ca = await newCa(TD);
  const credsApp = await issue(ca, 'a', 'app');
  const credsOther = await issue(ca, 'a', 'other');
  const credsB = await issue(ca, 'b', 'app');

  let stateA: ProxyState = stateOf([]);
  let stateB: ProxyState = stateOf([]);
  const recordsA: ConnectionRecord[] = [];
  const recordsB: ConnectionRecord[] = [];
  const logB: Array<Record<string, unknown>> = [];
  const accessB: Array<Record<string, unknown>> = [];
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A] });
  const wb = workload('app', { uid: 'uid-b', namespace: 'b', ips: [IP_B] });

  const metrics = new AgentMetrics({ enrolledPods: () => 1, controllerConnected: () => true, certificates: () => [], activeConnections: () => 0 });
  const f = { edges: new ObservedEdges(64) } as Fixture;
  const enforcer = new InboundEnforcer({
    engine: policyEngine,
    getState: () => stateB,
    // The agent's own wiring (agent.ts), on the fixture's current edges table.
    onDecision: (e) => authzDecisionSink(metrics, f.edges)(e),
    logger: captureLogger(logB),
  });
  const access = accessLogSink(captureLogger(accessB), () => stateB, metrics);

  const hboneClient = (creds: { key: string; cert: string }) => {
    const c = new HboneClient({
      credentials: () => ({ key: creds.key, cert: creds.cert }),
      trustBundle: ca.trustBundle,
      trustDomain: TD,
      connectTransport: (peer) => connectInNetns(a.path, { host: peer.host, port: peer.port, mark: MARK, timeoutMs: WAIT_MS }),
    });
    t.after(() => c.destroy());
    return c;
  };
  const clients = { app: hboneClient(credsApp), other: hboneClient(credsOther) };

  const outbound = await startOutbound({
    netnsPath: a.path,
    getState: () => stateA,
    source: () => wa,
    hbone: clients.app,
    mark: MARK,
    counters: createCounters(),
    onConnectionEnd: (r) => recordsA.push(r),
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => outbound.close());
  const inbound = await startInbound({
    netnsPath: b.path,
    getState: () => stateB,
    local: () => wb,
    credentials: { key: credsB.key, cert: credsB.cert },
    trustBundle: ca.trustBundle,
    trustDomain: TD,
    mark: MARK,
    authz: enforcer,
    onConnectionEnd: (r) => {
      recordsB.push(r);
      access(r);
    },
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => inbound.close());

  const servers = await startAgentServers({
    admin: { host: '127.0.0.1', port: 0 },
    logger: silentLogger,
    ready: () => ({ ready: true }),
    authzEdges: (): AuthzEdgesDump => ({ node: 'node-1', now: new Date().toISOString(), edges: f.edges.list() }),
  });
  t.after(() => servers.close());

  return Object.assign(f, {
    a,
    b,
    recordsA,
    recordsB,
    logB,
    accessB,
    appConnections,
    metrics,
    enforcer,
    adminPort: servers.admin!.port,
    clients,
    setStates(sa: ProxyState, sb: ProxyState) {
      stateA = sa;
      stateB = sb;
      recordsA.length = 0;
      recordsB.length = 0;
      logB.length = 0;
      accessB.length = 0;
    },
  });
}

/** Both pods (enrolled, or neither as "a"'s agent sees them), "b" in `mode`, with `policies`. */
function states(policies: Policy[], opts: { aEnrolled?: boolean; bMode?: 'STRICT' | 'PERMISSIVE' } = {}): [ProxyState, ProxyState] {
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A], protocol: opts.aEnrolled === false ? 'TCP' : 'HBONE' });
  // A source that is not enrolled sends plaintext (its agent passes it through), as when
  // neither pod is in the mesh as far as "a"'s agent knows.
  const protocol = opts.aEnrolled === false ? 'TCP' : 'HBONE';
  const wb = workload('app', { uid: 'uid-b', namespace: 'b', ips: [IP_B], protocol, mtlsMode: opts.bMode ?? 'STRICT' });
  const s = stateOf([wa, wb, ...policies]);
  return [s, s];
}

function tunnel(f: Fixture, who: 'app' | 'other'): Promise<Tunnel> {
  return f.clients[who].connect({
    source: parseSpiffeId(who === 'app' ? ID_APP : ID_OTHER),
    peer: { host: IP_B, port: 15008 },
    target: { host: IP_B, port: APP_PORT },
  });
}

async function denied(f: Fixture, who: 'app' | 'other'): Promise<TunnelDeniedError> {
  try {
    const t = await tunnel(f, who);
    t.stream.close();
  } catch (err) {
    assert.ok(err instanceof TunnelDeniedError, `expected a 401, got ${(err as Error).message}`);
    return err;
  }
  return assert.fail(`${who} was let through`);
}

/** The app in "a" connects (captured): its outcome, a reset counting as such. */
async function appAttempt(f: Fixture, payload: string): Promise<{ data: string; error?: string }> {
  let socket: net.Socket;
  try {
    socket = await connectInNetns(f.a.path, { host: IP_B, port: APP_PORT, timeoutMs: WAIT_MS });
  } catch (err) {
    return { data: '', error: (err as { cause?: NodeJS.ErrnoException }).cause?.code ?? (err as Error).message };
  }
  return new Promise((resolve) => {
    let data = '';
    let error: string | undefined;
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), WAIT_MS);
    socket.on('data', (c: Buffer) => (data += c.toString()));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('end', () => socket.end());
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data, ...(error !== undefined && { error }) });
    });
    socket.end(payload);
  });
}

type Labels = Record<string, string>;
async function counter(f: Fixture, labels: Labels): Promise<number> {
  const m = await f.metrics.authzDecisions.get();
  const want = { reporter: 'destination', destination_workload: 'app', destination_workload_namespace: 'b', dry_run: 'false', ...labels };
  return m.values.filter((v) => Object.entries(want).every(([k, val]) => (v.labels as Labels)[k] === val)).reduce((n, v) => n + v.value, 0);
}

test('node_agent_authorization_between_two_pods', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireRoot(t)) return;
  const f = await setUp(t);

  await t.test('deny_by_principal_answers_401_with_the_reason_to_that_client_only', async () => {
    f.setStates(...states([denyApp]));
    const before = await counter(f, { policy: 'b/deny-app', action: 'DENY', decision: 'DENY' });
    const err = await denied(f, 'app');
    assert.equal(err.code, 'AMB_HBONE_DENIED');
    assert.equal(err.reason, 'denied by DENY policy b/deny-app rules[0]');
    assert.match(err.message, /\(401\): denied by DENY policy b\/deny-app rules\[0\]$/);

    const ok = await tunnel(f, 'other');
    assert.equal(await echo(ok.stream, 'hello'), 'hello');
    ok.stream.end();
    await closed(ok.stream);

    await waitFor('both records', () => f.recordsB.length >= 2);
    const deniedRecord = f.recordsB.find((r) => r.sourceIdentity === ID_APP)!;
    assert.equal(deniedRecord.plan, 'reject');
    assert.equal(deniedRecord.reason, 'authz-denied');
    assert.equal(deniedRecord.error, 'denied: denied by DENY policy b/deny-app rules[0]');
    assert.deepEqual(deniedRecord.authz, { decision: 'DENY', policy: 'b/deny-app', rule: 0 });
    const allowedRecord = f.recordsB.find((r) => r.sourceIdentity === ID_OTHER)!;
    assert.equal(allowedRecord.plan, 'accept');
    assert.deepEqual(allowedRecord.authz, { decision: 'ALLOW' });
    assert.equal(await counter(f, { policy: 'b/deny-app', action: 'DENY', decision: 'DENY' }), before + 1);
    const line = f.accessB.find((l) => l['src.identity'] === ID_APP)!;
    assert.equal(line['authz.decision'], 'DENY');
    assert.equal(line['authz.policy'], 'b/deny-app');
    assert.equal(line['authz.rule'], 0);
    assert.equal(line['response_flags'], 'DENY');
  });

  await t.test('forged_forwarded_header_does_not_satisfy_an_ip_block_allow', async () => {
    // The attack: a mesh client names a trusted address in HBONE's `forwarded` header, hoping
    // an ipBlocks ALLOW reads it. The agent decides on the TCP peer's address only.
    const TRUSTED = '10.77.0.5';
    const allowTrusted = policy('allow-trusted', 'ALLOW', [{ from: [{ ipBlocks: [`${TRUSTED}/32`] }] }], { namespace: 'b' });
    f.setStates(...states([allowTrusted]));
    try {
      const t = await f.clients.app.connect({
        source: parseSpiffeId(ID_APP),
        peer: { host: IP_B, port: 15008 },
        target: { host: IP_B, port: APP_PORT },
        forwardedFor: { host: TRUSTED, port: 40000 },
      });
      t.stream.close();
      assert.fail('a forged forwarded header was let through');
    } catch (err) {
      assert.ok(err instanceof TunnelDeniedError, `expected a 401, got ${(err as Error).message}`);
      assert.equal(err.reason, 'no ALLOW rule matched');
    }
    // The same policy naming the real peer address allows: the check above can fail.
    f.setStates(...states([policy('allow-a', 'ALLOW', [{ from: [{ ipBlocks: [`${IP_A}/32`] }] }], { namespace: 'b' })]));
    const ok = await tunnel(f, 'app');
    assert.equal(await echo(ok.stream, 'real-peer'), 'real-peer');
    ok.stream.end();
    await closed(ok.stream);
  });

  await t.test('denied_app_sees_its_connection_closed_and_the_source_record_says_why', async () => {
    f.setStates(...states([denyApp]));
    const before = f.appConnections.count;
    const got = await appAttempt(f, 'x');
    assert.equal(got.data, '');
    assert.equal(got.error, 'ECONNRESET');
    assert.equal(f.appConnections.count, before, 'the app in b never saw it');
    await waitFor('source record', () => f.recordsA.length >= 1);
    assert.equal(f.recordsA[0]!.reason, 'destination denied: denied by DENY policy b/deny-app rules[0]');
    assert.match(f.recordsA[0]!.error ?? '', /\(401\): denied by DENY policy b\/deny-app rules\[0\]$/);
  });

  await t.test('allow_nothing_policy_denies_every_client_and_removing_it_restores_traffic', async () => {
    f.setStates(...states([allowNothing]));
    const before = await counter(f, { policy: 'none', action: 'none', decision: 'DENY' });
    for (const who of ['app', 'other'] as const) assert.equal((await denied(f, who)).reason, 'no ALLOW rule matched');
    assert.equal(await counter(f, { policy: 'none', action: 'none', decision: 'DENY' }), before + 2);
    f.setStates(...states([]));
    const ok = await tunnel(f, 'app');
    assert.equal(await echo(ok.stream, 'back'), 'back');
    ok.stream.end();
    await closed(ok.stream);
  });

  await t.test('plaintext_denied_by_an_ip_block_is_reset', async () => {
    f.setStates(...states([denyNet], { aEnrolled: false, bMode: 'PERMISSIVE' }));
    const before = f.appConnections.count;
    const got = await appAttempt(f, 'hello');
    assert.equal(got.data, '');
    assert.equal(got.error, 'ECONNRESET');
    assert.equal(f.appConnections.count, before);
    await waitFor('destination record', () => f.recordsB.some((r) => r.direction === 'inbound-plaintext'));
    const r = f.recordsB.find((x) => x.direction === 'inbound-plaintext')!;
    assert.equal(r.direction, 'inbound-plaintext');
    assert.equal(r.plan, 'reject');
    assert.equal(r.reason, 'authz-denied');
    assert.equal(r.error, 'denied: denied by DENY policy b/deny-net rules[0]');
    assert.deepEqual(r.authz, { decision: 'DENY', policy: 'b/deny-net', rule: 0 });
  });

  await t.test('open_tunnel_is_closed_when_a_new_policy_denies_it_and_another_stays_open', async () => {
    f.setStates(...states([]));
    const victim = await tunnel(f, 'app');
    const survivor = await tunnel(f, 'other');
    assert.equal(await echo(victim.stream, 'one'), 'one');
    assert.equal(await echo(survivor.stream, 'two'), 'two');
    const gone = closed(victim.stream);
    f.setStates(...states([denyApp]));
    assert.equal(f.enforcer.reevaluate(), 1);
    await gone;
    assert.notEqual(victim.stream.rstCode, 0, 'the source side sees a reset');
    assert.equal(await echo(survivor.stream, 'still'), 'still', 'the allowed tunnel carries on');

    await waitFor('the closed record', () => f.recordsB.some((r) => r.sourceIdentity === ID_APP));
    const r = f.recordsB.find((x) => x.sourceIdentity === ID_APP)!;
    assert.equal(r.plan, 'accept');
    assert.equal(r.error, 'connection closed: now denied by DENY policy b/deny-app rules[0]');
    assert.deepEqual(r.authz, { decision: 'DENY', policy: 'b/deny-app', rule: 0 });
    const logged = f.logB.filter((l) => l['msg'] === 'connection closed: now denied by DENY policy b/deny-app rules[0]');
    assert.equal(logged.length, 1, 'one log line per closed connection');
    assert.equal(logged[0]!['policy'], 'b/deny-app');
    assert.equal(logged[0]!['rule'], 0);
    assert.equal(f.accessB.find((l) => l['src.identity'] === ID_APP)!['response_flags'], 'DENY');

    survivor.stream.end();
    await closed(survivor.stream);
  });

  await t.test('open_plaintext_connection_is_closed_when_an_ip_block_deny_arrives', async () => {
    f.setStates(...states([], { aEnrolled: false, bMode: 'PERMISSIVE' }));
    const socket = await connectInNetns(f.a.path, { host: IP_B, port: APP_PORT, timeoutMs: WAIT_MS });
    socket.on('error', () => {});
    assert.equal(await echo(socket, 'plain'), 'plain');
    const gone = closed(socket);
    f.setStates(...states([denyNet], { aEnrolled: false, bMode: 'PERMISSIVE' }));
    assert.equal(f.enforcer.reevaluate(), 1);
    await gone;
    await waitFor('the closed record', () => f.recordsB.some((r) => r.direction === 'inbound-plaintext'));
    assert.equal(f.recordsB.find((r) => r.direction === 'inbound-plaintext')!.error, 'connection closed: now denied by DENY policy b/deny-net rules[0]');
  });

  await t.test('dry_run_records_a_would_be_denial_while_bytes_flow', async () => {
    f.setStates(...states([{ ...denyApp, dryRun: true }]));
    const dry = { policy: 'b/deny-app', action: 'DENY', decision: 'DENY', dry_run: 'true' };
    const beforeDry = await counter(f, dry);
    const beforeEnforced = await counter(f, { policy: 'none', action: 'none', decision: 'ALLOW' });
    const open = await tunnel(f, 'app');
    assert.equal(await echo(open.stream, 'flowing'), 'flowing');
    // Counted while the connection is open, and never closed by a re-evaluation.
    assert.equal(await counter(f, dry), beforeDry + 1);
    assert.equal(await counter(f, { policy: 'none', action: 'none', decision: 'ALLOW' }), beforeEnforced + 1);
    assert.equal(f.enforcer.reevaluate(), 0);
    assert.equal(await echo(open.stream, 'more'), 'more');
    const text = await f.metrics.registry.metrics();
    assert.match(
      text,
      /ambient_authorization_decisions_total\{reporter="destination",destination_workload="app",destination_workload_namespace="b",policy="b\/deny-app",action="DENY",decision="DENY",dry_run="true"\} \d+/,
    );
    open.stream.end();
    await closed(open.stream);
    await waitFor('access log line', () => f.accessB.some((l) => l['authz.dry_run_decision'] !== undefined));
    const line = f.accessB.find((l) => l['authz.dry_run_decision'] !== undefined)!;
    assert.equal(line['authz.decision'], 'ALLOW');
    assert.equal(line['authz.dry_run_decision'], 'DENY');
    assert.equal(line['authz.dry_run_policy'], 'b/deny-app');
    assert.equal(line['authz.dry_run_rule'], 0);
    assert.equal(line['bytes_sent'], 'flowingmore'.length);
    assert.equal(line['error'], undefined);
  });

  await t.test('edges_endpoint_shows_observed_edges_with_counts', async () => {
    f.setStates(...states([denyApp]));
    f.edges = new ObservedEdges(64);
    await denied(f, 'app');
    for (let i = 0; i < 2; i++) {
      const ok = await tunnel(f, 'other');
      assert.equal(await echo(ok.stream, `e${i}`), `e${i}`);
      ok.stream.end();
      await closed(ok.stream);
    }
    const res = await fetch(`http://127.0.0.1:${f.adminPort}/authz/edges`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as AuthzEdgesDump;
    assert.equal(body.node, 'node-1');
    assert.ok(!Number.isNaN(Date.parse(body.now)));
    assert.equal(body.edges.length, 2);
    const app = body.edges.find((e) => e.sourcePrincipal === ID_APP)!;
    const other = body.edges.find((e) => e.sourcePrincipal === ID_OTHER)!;
    assert.deepEqual({ connections: app.connections, denied: app.denied, port: app.port }, { connections: 1, denied: 1, port: APP_PORT });
    assert.deepEqual({ connections: other.connections, denied: other.denied }, { connections: 2, denied: 0 });
    assert.deepEqual(app.sourceWorkload, { name: 'app', namespace: 'a' }, 'the address and the identity agree');
    assert.equal(other.sourceWorkload, undefined, 'another identity from that address is not that pod');
    assert.equal(app.sourceIp, IP_A);
    assert.deepEqual(app.destination, { uid: 'uid-b', name: 'app', namespace: 'b', canonicalName: 'app', labels: { app: 'app' } });
    assert.ok(Date.parse(other.lastSeen) >= Date.parse(other.firstSeen));
  });
});
