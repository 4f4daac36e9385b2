// Namespaced tier (DESIGN.md section 6): the node agent's proxy executors between two pod
// network namespaces joined by a veth pair, with the real capture rules installed in both.
// Pod "a" (10.97.0.1) is the client; pod "b" (10.97.0.2) runs a TCP echo app on 8080.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import test, { type TestContext } from 'node:test';
import { HboneClient } from '../core/hbone/client.js';
import { AGENT_SOCKET_MARK } from '../core/ports.js';
import { connectInNetns } from '../core/syscalls.js';
import { createCounters } from '../node-agent/proxy/balancer.js';
import { endpoint, service, stateOf, tcpPort, workload } from '../node-agent/proxy/fixtures.js';
import { startInbound, type InboundListeners } from '../node-agent/proxy/inbound.js';
import { startOutbound, type ProxyListener } from '../node-agent/proxy/outbound.js';
import type { ConnectionRecord } from '../node-agent/proxy/record.js';
import type { ProxyState } from '../node-agent/state/snapshot.js';
import { capturedPodPair, Netns, requireRoot } from './support/netns.js';
import { issue, newCa } from './support/pki.js';

const MARK = AGENT_SOCKET_MARK;
const TD = 'cluster.local';
const IP_A = '10.97.0.1';
const IP_B = '10.97.0.2';
const APP_PORT = 8080;
const VIP = '10.96.5.5';
const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 90_000;

interface Exchange {
  data: Buffer;
  error?: string;
}

/** Sends `payload`, half-closes, and reads until the other side ends or resets (bounded). */
function exchange(socket: net.Socket, payload: Buffer, timeoutMs = WAIT_MS): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    socket.allowHalfOpen = true;
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of the exchange within ${timeoutMs} ms (got ${Buffer.concat(chunks).length} bytes)`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('end', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), ...(error !== undefined && { error }) });
    });
    socket.end(payload);
  });
}

async function waitFor(what: string, pred: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Fixture {
  a: Netns;
  b: Netns;
  recordsA: ConnectionRecord[];
  recordsB: ConnectionRecord[];
  /** What the executors reported as opened (upstream connected), per side. */
  opensA: ConnectionRecord[];
  opensB: ConnectionRecord[];
  appConnections: { count: number };
  setStates(a: ProxyState, b: ProxyState): void;
}

async function setUp(t: TestContext): Promise<Fixture> {
  const { a, b, linkA, appConnections } = await capturedPodPair(t, 'p', { ipA: IP_A, ipB: IP_B, appPort: APP_PORT, mark: MARK });
  // Service VIPs are not routed anywhere real; the route lets the app's connect leave, so
  // that the capture (OUTPUT) sees it.
  await a.run('ip', ['route', 'add', '10.96.0.0/16', 'dev', linkA]);

  const ca = await newCa(TD);
  const credsA = await issue(ca, 'a', 'app');
  const credsB = await issue(ca, 'b', 'app');

  let stateA: ProxyState | undefined;
  let stateB: ProxyState | undefined;
  const recordsA: ConnectionRecord[] = [];
  const recordsB: ConnectionRecord[] = [];
  const opensA: ConnectionRecord[] = [];
  const opensB: ConnectionRecord[] = [];
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A] });
  const wb = workload('app', { uid: 'uid-b', namespace: 'b', ips: [IP_B] });

  const client = new HboneClient({
    credentials: () => ({ key: credsA.key, cert: credsA.cert }),
    trustBundle: ca.trustBundle,
    trustDomain: TD,
    connectTransport: (peer) => connectInNetns(a.path, { host: peer.host, port: peer.port, mark: MARK, timeoutMs: WAIT_MS }),
  });
  t.after(() => client.destroy());
  const outbound: ProxyListener = await startOutbound({
    netnsPath: a.path,
    getState: () => stateA!,
    source: () => wa,
    hbone: client,
    mark: MARK,
    counters: createCounters(),
    onConnectionEnd: (r) => recordsA.push(r),
    onConnectionOpen: (r) => opensA.push(r),
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => outbound.close());
  const inbound: InboundListeners = await startInbound({
    netnsPath: b.path,
    getState: () => stateB!,
    local: () => wb,
    credentials: { key: credsB.key, cert: credsB.cert },
    trustBundle: ca.trustBundle,
    trustDomain: TD,
    mark: MARK,
    onConnectionEnd: (r) => recordsB.push(r),
    onConnectionOpen: (r) => opensB.push(r),
    connectTimeoutMs: WAIT_MS,
  });
  t.after(() => inbound.close());

  return {
    a,
    b,
    recordsA,
    recordsB,
    opensA,
    opensB,
    appConnections,
    setStates(sa, sb) {
      stateA = sa;
      stateB = sb;
      recordsA.length = 0;
      recordsB.length = 0;
      opensA.length = 0;
      opensB.length = 0;
    },
  };
}

/** Both pods enrolled, "b" in `mode`, the echo Service on VIP:80 -> b:8080. */
function states(opts: { aEnrolled: boolean; bEnrolled: boolean; bMode: 'STRICT' | 'PERMISSIVE' }): [ProxyState, ProxyState] {
  const wa = workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A], protocol: opts.aEnrolled ? 'HBONE' : 'TCP' });
  const wb = workload('app', {
    uid: 'uid-b',
    namespace: 'b',
    ips: [IP_B],
    protocol: opts.bEnrolled ? 'HBONE' : 'TCP',
    mtlsMode: opts.bMode,
  });
  const echo = service('echo', { namespace: 'b', vips: [VIP], ports: [tcpPort(80, APP_PORT)], endpoints: [endpoint(wb)] });
  const s = stateOf([wa, wb, echo]);
  return [s, s];
}

async function appConnect(f: Fixture, host: string, port: number): Promise<net.Socket> {
  // No mark: this is the app, and its connection is captured.
  return connectInNetns(f.a.path, { host, port, timeoutMs: WAIT_MS });
}

/** The app's whole connection: connect, exchange; a reset during connect counts as a reset
 * (a local reject can arrive before the connect is even reported). */
async function appAttempt(f: Fixture, host: string, port: number, payload: Buffer): Promise<Exchange> {
  let socket: net.Socket;
  try {
    socket = await appConnect(f, host, port);
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    return { data: Buffer.alloc(0), error: cause?.code ?? (err as Error).message };
  }
  return exchange(socket, payload);
}

test('node_agent_proxy_between_two_pods', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireRoot(t)) return;
  const f = await setUp(t);

  await t.test('app_connection_is_captured_and_carried_over_hbone_with_half_close', async () => {
    f.setStates(...states({ aEnrolled: true, bEnrolled: true, bMode: 'STRICT' }));
    const payload = randomBytes(256 * 1024);
    const before = f.appConnections.count;
    const got = await exchange(await appConnect(f, IP_B, APP_PORT), payload);
    assert.equal(got.error, undefined);
    assert.equal(got.data.length, payload.length);
    assert.ok(got.data.equals(payload), 'echoed bytes intact');
    assert.equal(f.appConnections.count, before + 1);

    await waitFor('both records', () => f.recordsA.length >= 1 && f.recordsB.length >= 1);
    await new Promise((r) => setTimeout(r, 200)); // a second record would show up by now
    assert.equal(f.recordsA.length, 1, 'source records once');
    assert.equal(f.recordsB.length, 1, 'destination records once');
    const [src, dst] = [f.recordsA[0]!, f.recordsB[0]!];
    assert.equal(src.direction, 'outbound');
    assert.equal(src.plan, 'hbone');
    assert.equal(src.sourceWorkload, 'uid-a');
    assert.equal(src.destinationWorkload, 'uid-b');
    assert.equal(src.destinationIdentity, 'spiffe://cluster.local/ns/b/sa/app');
    assert.deepEqual(src.originalDst, { ip: IP_B, port: APP_PORT });
    assert.deepEqual(src.upstream, { ip: IP_B, port: 15008 });
    assert.equal(src.bytesSent, payload.length);
    assert.equal(src.bytesReceived, payload.length);
    assert.equal(src.error, undefined);

    assert.equal(dst.direction, 'inbound-hbone');
    assert.equal(dst.plan, 'accept');
    assert.equal(dst.sourceIdentity, 'spiffe://cluster.local/ns/a/sa/app');
    assert.equal(dst.sourceWorkload, 'uid-a');
    assert.equal(dst.client?.ip, IP_A);
    assert.deepEqual(dst.upstream, { ip: IP_B, port: APP_PORT });
    assert.equal(dst.bytesSent, payload.length);
    assert.equal(dst.bytesReceived, payload.length);
    // Both records carry the CONNECT's trace context: the one the source sent is the one
    // the destination received (the connection spans and log lines share its trace id).
    assert.match(src.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(dst.traceparent, src.traceparent);

    // Each side reported the connection opened once, before any byte, with the identities.
    assert.equal(f.opensA.length, 1);
    assert.equal(f.opensB.length, 1);
    assert.equal(f.opensA[0]!.plan, 'hbone');
    assert.equal(f.opensA[0]!.destinationIdentity, 'spiffe://cluster.local/ns/b/sa/app');
    assert.equal(f.opensA[0]!.bytesSent, 0);
    assert.equal(f.opensB[0]!.sourceIdentity, 'spiffe://cluster.local/ns/a/sa/app');
    assert.equal(f.opensB[0]!.plan, 'accept');
    assert.equal(dst.error, undefined);
  });

  await t.test('plaintext_to_strict_pod_is_refused_at_15006', async () => {
    // "a" is not enrolled in the state: its agent passes through, "b" sees plaintext.
    f.setStates(...states({ aEnrolled: false, bEnrolled: false, bMode: 'STRICT' }));
    const before = f.appConnections.count;
    const got = await appAttempt(f, IP_B, APP_PORT, Buffer.from('hello'));
    assert.equal(got.data.length, 0);
    assert.equal(got.error, 'ECONNRESET');
    assert.equal(f.appConnections.count, before, 'the app never saw it');
    await waitFor('both records', () => f.recordsA.length >= 1 && f.recordsB.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(f.recordsA.length, 1);
    assert.equal(f.recordsB.length, 1);
    assert.equal(f.recordsA[0]!.plan, 'passthrough');
    assert.ok(f.recordsA[0]!.error, 'the source records the reset');
    const dst = f.recordsB[0]!;
    assert.equal(dst.direction, 'inbound-plaintext');
    assert.equal(dst.plan, 'reject');
    assert.equal(dst.reason, 'plaintext-strict');
    assert.deepEqual(dst.originalDst, { ip: IP_B, port: APP_PORT });
  });

  await t.test('plaintext_to_permissive_pod_reaches_the_app', async () => {
    f.setStates(...states({ aEnrolled: false, bEnrolled: false, bMode: 'PERMISSIVE' }));
    const payload = randomBytes(64 * 1024);
    const before = f.appConnections.count;
    const got = await exchange(await appConnect(f, IP_B, APP_PORT), payload);
    assert.equal(got.error, undefined);
    assert.ok(got.data.equals(payload), 'echoed bytes intact');
    assert.equal(f.appConnections.count, before + 1);
    await waitFor('both records', () => f.recordsA.length >= 1 && f.recordsB.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(f.recordsA.length, 1);
    assert.equal(f.recordsB.length, 1);
    const [src, dst] = [f.recordsA[0]!, f.recordsB[0]!];
    assert.equal(src.plan, 'passthrough');
    assert.equal(src.reason, 'not-enrolled');
    assert.equal(src.bytesSent, payload.length);
    assert.equal(src.bytesReceived, payload.length);
    assert.equal(src.error, undefined);
    assert.equal(dst.direction, 'inbound-plaintext');
    assert.equal(dst.plan, 'accept');
    assert.equal(dst.mtls, false);
    assert.equal(dst.sourceWorkload, 'uid-a');
    assert.equal(dst.bytesSent, payload.length);
    assert.equal(dst.bytesReceived, payload.length);
    assert.equal(dst.error, undefined);
  });

  await t.test('service_vip_is_load_balanced_to_its_endpoint_over_hbone', async () => {
    f.setStates(...states({ aEnrolled: true, bEnrolled: true, bMode: 'STRICT' }));
    const before = f.appConnections.count;
    for (let i = 0; i < 2; i++) {
      const payload = Buffer.from(`request ${i}`);
      const got = await exchange(await appConnect(f, VIP, 80), payload);
      assert.equal(got.error, undefined);
      assert.ok(got.data.equals(payload));
    }
    assert.equal(f.appConnections.count, before + 2);
    await waitFor('records', () => f.recordsA.length >= 2 && f.recordsB.length >= 2);
    for (const src of f.recordsA) {
      assert.equal(src.plan, 'hbone');
      assert.equal(src.service, 'b/echo.b.svc.cluster.local');
      assert.deepEqual(src.originalDst, { ip: VIP, port: 80 });
      assert.equal(src.destinationWorkload, 'uid-b');
      assert.deepEqual(src.upstream, { ip: IP_B, port: 15008 });
    }
    for (const dst of f.recordsB) {
      assert.equal(dst.sourceIdentity, 'spiffe://cluster.local/ns/a/sa/app');
      assert.deepEqual(dst.originalDst, { ip: IP_B, port: APP_PORT });
    }
  });

  await t.test('hbone_denied_by_destination_plan_resets_the_app', async () => {
    // The destination agent does not know its own pod yet (config not received): planInbound
    // rejects, the tunnel is refused with 401, and the source agent resets the app.
    const [sa] = states({ aEnrolled: true, bEnrolled: true, bMode: 'STRICT' });
    f.setStates(sa, stateOf([workload('app', { uid: 'uid-a', namespace: 'a', ips: [IP_A] })]));
    const before = f.appConnections.count;
    const got = await appAttempt(f, IP_B, APP_PORT, Buffer.from('x'));
    assert.equal(got.data.length, 0);
    assert.equal(got.error, 'ECONNRESET');
    assert.equal(f.appConnections.count, before);
    await waitFor('both records', () => f.recordsA.length >= 1 && f.recordsB.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(f.recordsA.length, 1);
    assert.equal(f.recordsB.length, 1);
    assert.equal(f.recordsA[0]!.plan, 'hbone');
    assert.match(f.recordsA[0]!.error ?? '', /denied/);
    assert.equal(f.recordsB[0]!.plan, 'reject');
    assert.equal(f.recordsB[0]!.reason, 'workload-unknown');
    assert.equal(f.recordsB[0]!.sourceIdentity, 'spiffe://cluster.local/ns/a/sa/app');
  });

  await t.test('rejected_plan_resets_the_app', async () => {
    // A VIP port the Service does not have: the planner rejects, the app sees a reset.
    f.setStates(...states({ aEnrolled: true, bEnrolled: true, bMode: 'STRICT' }));
    const got = await appAttempt(f, VIP, 81, Buffer.from('x'));
    assert.equal(got.data.length, 0);
    assert.equal(got.error, 'ECONNRESET');
    await waitFor('record', () => f.recordsA.length >= 1);
    assert.equal(f.recordsA[0]!.plan, 'reject');
    assert.equal(f.recordsA[0]!.reason, 'unknown-service-port');
    assert.equal(f.recordsB.length, 0);
    assert.equal(f.opensA.length, 0, 'a rejected connection never counts as opened');
  });
});
