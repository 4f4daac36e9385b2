// Direct tier: the controller protocol on loopback (docs/protocol.md). The controller's
// server and the node agent's client speak real TLS 1.3 + HTTP/2 with certificates from
// our CA; callers authenticate with ServiceAccount tokens that the local API server (on a
// real Redis) issues through TokenRequest, bound to pods scheduled on nodes, and checks
// through TokenReview. Every wait is bounded.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import type { MeshService, Policy, Resource, Workload } from '../core/config/model.js';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import type { CertificateAuthority } from '../core/identity/ca.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { formatSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { certificateInfo, createCsr, generateKeyPem } from '../core/identity/x509.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import type { PodRef } from '../controller/distribution/authorize.js';
import { ControllerServer, type ControllerServerOptions } from '../controller/distribution/server.js';
import { issueServingCertificate } from '../controller/serving-cert.js';
import { CONTROLLER_TOKEN_AUDIENCE } from '../controller/distribution/limits.js';
import { kubeTokenReviewer, type TokenReviewer } from '../controller/distribution/token-review.js';
import { ControllerClient, ControllerError, type ConfigUpdate, type ControllerClientOptions } from '../node-agent/controller-client/client.js';
import { controllerSigner } from '../node-agent/controller-client/signer.js';
import { issue, newCa } from './support/pki.js';
import { readAll, waitFor } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { forgedCsr } from './controller-csr-forge.js';
import { installMeshCrds } from './support/control-plane.js';

const TD = 'cluster.local';
const AUDIENCE = CONTROLLER_TOKEN_AUDIENCE;
const CONTROLLER_ID = spiffeId('ambient-system', 'ambient-controller', TD);
/** The name on the controller's serving certificate, which agents check. */
const CONTROLLER_NAME = 'ambient-controller.ambient-system.svc';
const WAIT = 8_000;
const SERVER_LIMITS = { drainTimeoutMs: 2_000, helloTimeoutMs: 3_000 };
const CLIENT_LIMITS = { reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 };

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let ca: CertificateAuthority;
let controllerCreds: { key: string; cert: string };
const tokens: Record<'agentA' | 'agentB' | 'waypoint' | 'reviews', string> = { agentA: '', agentB: '', waypoint: '', reviews: '' };

async function podLister(node: string): Promise<PodRef[]> {
  const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
  return pods.items.map((p) => ({
    namespace: p.metadata!.namespace!,
    name: p.metadata!.name!,
    uid: p.metadata!.uid!,
    serviceAccount: p.spec?.serviceAccountName ?? 'default',
  }));
}

/** A pod-bound token for the controller's audience (as the projected volume holds it), or for `audiences` ([]: the API server's own). */
async function boundToken(namespace: string, sa: string, pod: string, audiences: string[] = [AUDIENCE]): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({
    namespace,
    name: sa,
    body: { spec: { audiences, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod } } },
  });
  return tr.status!.token;
}

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'ctrlproto:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  ca = await newCa(TD);
  controllerCreds = await issueServingCertificate(ca, { dnsName: CONTROLLER_NAME, identity: CONTROLLER_ID, ttlMs: 3_600_000 });
  for (const ns of ['ambient-system', 'apps']) await core.createNamespace({ body: { metadata: { name: ns } } });
  for (const [ns, sa] of [['ambient-system', 'ambient-node-agent'], ['ambient-system', 'ambient-controller'], ['apps', 'reviews'], ['apps', 'ratings'], ['apps', 'lonely'], ['apps', 'waypoint']] as const) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  }
  const pods: Array<[string, string, string, string]> = [
    ['ambient-system', 'agent-a', 'ambient-node-agent', 'node-1'],
    ['ambient-system', 'agent-b', 'ambient-node-agent', 'node-2'],
    ['apps', 'reviews-1', 'reviews', 'node-1'],
    ['apps', 'ratings-1', 'ratings', 'node-2'],
    ['apps', 'waypoint-1', 'waypoint', 'node-1'],
    // Someone able to create pods in the control-plane namespace runs one as the controller's ServiceAccount.
    ['ambient-system', 'rogue-1', 'ambient-controller', 'node-1'],
  ];
  for (const [namespace, name, sa, nodeName] of pods) {
    await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { nodeName, serviceAccountName: sa, containers: [{ name: 'c', image: 'busybox' }] } } });
  }
  tokens.agentA = await boundToken('ambient-system', 'ambient-node-agent', 'agent-a');
  tokens.agentB = await boundToken('ambient-system', 'ambient-node-agent', 'agent-b');
  tokens.waypoint = await boundToken('apps', 'waypoint', 'waypoint-1');
  tokens.reviews = await boundToken('apps', 'reviews', 'reviews-1');
});

after(async () => {
  await api?.close();
  await redis?.stop();
});

// --- resources --------------------------------------------------------------------------

function workload(uid: string, opts: { healthy?: boolean; blob?: string; ips?: string[] } = {}): Resource<'Workload'> {
  const body: Workload = {
    uid,
    name: uid,
    namespace: 'apps',
    serviceAccount: 'reviews',
    identity: formatSpiffeId(spiffeId('apps', 'reviews', TD)),
    node: 'node-1',
    ips: opts.ips ?? ['10.244.1.5'],
    protocol: 'HBONE',
    labels: { app: 'reviews', ...(opts.blob ? { blob: opts.blob } : {}) },
    canonicalName: 'reviews',
    canonicalRevision: 'v1',
    mtlsMode: 'STRICT',
    healthy: opts.healthy ?? true,
  };
  return { kind: 'Workload', key: uid, body };
}

function service(name: string): Resource<'Service'> {
  const hostname = `${name}.apps.svc.cluster.local`;
  const body: MeshService = {
    key: `apps/${hostname}`,
    name,
    namespace: 'apps',
    hostname,
    vips: ['10.96.0.10'],
    ports: [{ port: 9080, targetPort: 9080, protocol: 'TCP' }],
    endpoints: [],
  };
  return { kind: 'Service', key: body.key, body };
}

function policy(name: string, action: Policy['action'] = 'ALLOW'): Resource<'Policy'> {
  const key = `apps/${name}`;
  return { kind: 'Policy', key, body: { key, name, namespace: 'apps', scope: 'namespace', action, rules: [] } };
}

/** Waits for `p`, failing after `ms` (default WAIT). */
async function within<T>(p: Promise<T>, what: string, ms = WAIT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const idsOf = (u: ConfigUpdate) => ({ upserts: u.upserts.map((r) => `${r.kind}/${r.key}`), removes: u.removes.map((r) => `${r.kind}/${r.key}`) });

// --- fixtures ---------------------------------------------------------------------------

async function startServer(t: TestContext, opts: Partial<ControllerServerOptions> & { port?: number } = {}) {
  const server = new ControllerServer({
    credentials: controllerCreds,
    trustDomain: TD,
    ca,
    kubeConfig: kc,
    podLister,
    isWaypoint: (sa) => sa.namespace === 'apps' && sa.name === 'waypoint',
    ...opts,
    limits: { ...SERVER_LIMITS, ...opts.limits },
  });
  const addr = await server.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  t.after(() => server.close());
  return { server, port: addr.port };
}

interface Agent {
  client: ControllerClient;
  updates: ConfigUpdate[];
  errors: Error[];
}

function startAgent(t: TestContext, port: number, opts: Partial<Omit<ControllerClientOptions, 'token'>> & { bearer?: string } = {}): Agent {
  const { bearer, ...rest } = opts;
  const updates: ConfigUpdate[] = [];
  const errors: Error[] = [];
  const client = new ControllerClient({
    address: { host: '127.0.0.1', port },
    trustBundle: ca.trustBundle,
    controllerIdentity: CONTROLLER_NAME,
    token: () => bearer ?? tokens.agentA,
    node: 'node-1',
    onUpdate: (u) => {
      updates.push(u);
    },
    ...rest,
    limits: { ...CLIENT_LIMITS, ...rest.limits },
  });
  client.on('error', (e) => errors.push(e));
  t.after(() => client.close());
  return { client, updates, errors };
}

function onlyClient(server: ControllerServer) {
  const clients = server.status().clients;
  assert.equal(clients.length, 1, `one config stream expected, found ${clients.length}`);
  return clients[0]!;
}

/** An HTTP/2 session to the controller that skips the identity check (to send what our client never would). */
function rawSession(t: TestContext, port: number): http2.ClientHttp2Session {
  const s = http2.connect(`https://127.0.0.1:${port}`, { ca: ca.trustBundle.pems(), checkServerIdentity: () => undefined, minVersion: 'TLSv1.3' });
  s.on('error', () => {});
  t.after(() => s.destroy());
  return s;
}

async function rawRequest(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>, body?: string) {
  const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
  if (body !== undefined) stream.end(body);
  const [h] = (await within(once(stream, 'response'), `the answer to ${path}`)) as [http2.IncomingHttpHeaders];
  return { status: Number(h[':status']), stream };
}

/**
 * A TCP proxy for network trouble: cut() breaks every connection and refuses new ones (an
 * outage); freeze() silently stops forwarding on the open ones (a peer that vanished
 * without a FIN or RST), while new connections work.
 */
async function outageProxy(t: TestContext, targetPort: number) {
  let refusing = false;
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((down) => {
    if (refusing) return void down.destroy();
    const up = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [down, up];
    pairs.add(pair);
    const kill = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
      pairs.delete(pair);
    };
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', kill);
      s.on('close', kill);
    }
    down.pipe(up);
    up.pipe(down);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      refusing = false;
    },
    freeze() {
      for (const [down, up] of pairs) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
      }
      pairs.clear();
    },
  };
}

// --- the config stream ------------------------------------------------------------------

describe('config stream', () => {
  test('agent_dials_through_its_connect_transport_when_given', async (t) => {
    const { server, port } = await startServer(t);
    server.setResources([workload('reviews-1')]);
    const dialled: string[] = [];
    const agent = startAgent(t, port, {
      // The address the client is told is not listening; the transport goes to the real port.
      address: { host: '127.0.0.1', port: 1 },
      connectTransport: async (a) => {
        dialled.push(`${a.host}:${a.port}`);
        const s = net.connect(port, '127.0.0.1');
        await once(s, 'connect');
        return s;
      },
    });
    agent.client.start();
    await waitFor(() => agent.updates.length >= 1, WAIT, 'the first update over the transport');
    assert.deepEqual(dialled, ['127.0.0.1:1']);
    assert.equal(agent.client.status.connected, true);
  });

  test('agent_gets_full_set_then_only_changes_with_increasing_versions_and_acks', async (t) => {
    const { server, port } = await startServer(t);
    const v1 = server.setResources([workload('reviews-1'), workload('ratings-1'), service('reviews'), policy('allow-all')]);
    const agent = startAgent(t, port);
    agent.client.start();
    await waitFor(() => agent.updates.length >= 1, WAIT, 'the first update');
    const first = agent.updates[0]!;
    assert.equal(first.full, true);
    assert.equal(first.version, String(v1));
    assert.deepEqual(idsOf(first), {
      upserts: ['Workload/ratings-1', 'Workload/reviews-1', 'Service/apps/reviews.apps.svc.cluster.local', 'Policy/apps/allow-all'],
      removes: [],
    });
    for (const r of first.upserts) assert.match(r.version, new RegExp(`^${v1}-[0-9a-f]{16}$`));
    await waitFor(() => server.status().clients[0]?.lastAckedVersion === String(v1), WAIT, 'the ACK of the first update');

    // One change and one removal: only those travel.
    const v2 = server.setResources([workload('reviews-1'), workload('ratings-1', { healthy: false }), service('reviews')]);
    assert.ok(v2 > v1);
    await waitFor(() => agent.updates.length >= 2, WAIT, 'the second update');
    const second = agent.updates[1]!;
    assert.equal(second.full, false);
    assert.equal(second.version, String(v2));
    assert.deepEqual(idsOf(second), { upserts: ['Workload/ratings-1'], removes: ['Policy/apps/allow-all'] });
    assert.equal((second.upserts[0]!.body as Workload).healthy, false);
    assert.match(second.upserts[0]!.version, new RegExp(`^${v2}-`));
    await waitFor(() => server.status().clients[0]?.lastAckedVersion === String(v2), WAIT, 'the ACK of the second update');

    // Setting the same content again is not a change: no version, no update.
    assert.equal(server.setResources([workload('reviews-1'), workload('ratings-1', { healthy: false }), service('reviews')]), v2);
    const st = onlyClient(server);
    assert.deepEqual({ node: st.node, role: st.role, identity: st.identity, sent: st.lastSentVersion, updates: st.updatesSent, rejected: st.rejected }, {
      node: 'node-1',
      role: 'node-agent',
      identity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-node-agent',
      sent: String(v2),
      updates: 2,
      rejected: [],
    });
    assert.deepEqual(Object.keys(agent.client.versions()).sort(), ['Service/apps/reviews.apps.svc.cluster.local', 'Workload/ratings-1', 'Workload/reviews-1']);
    assert.equal(agent.client.status.ackedVersion, String(v2));
  });

  test('agent_waits_for_the_controllers_first_config_instead_of_emptying_itself', async (t) => {
    const { server, port } = await startServer(t);
    const agent = startAgent(t, port);
    agent.client.start();
    await waitFor(() => server.status().clients.length === 1, WAIT, 'the stream to open');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(agent.updates.length, 0, 'no update before the controller has computed its config');
    assert.deepEqual({ ready: server.status().ready, synced: onlyClient(server).synced }, { ready: false, synced: false });
    const v = server.setResources([policy('p1')]);
    await waitFor(() => agent.updates.length === 1, WAIT, 'the first update');
    assert.deepEqual({ full: agent.updates[0]!.full, version: agent.updates[0]!.version, ...idsOf(agent.updates[0]!) }, {
      full: true,
      version: String(v),
      upserts: ['Policy/apps/p1'],
      removes: [],
    });
  });

  test('scope_decides_what_each_node_gets_and_rescope_pushes_its_changes', async (t) => {
    let withPolicies = true;
    const { server, port } = await startServer(t, {
      scope: (node, resources) =>
        resources.filter((r) => (r.kind !== 'Workload' || (r.body as Workload).node === node) && (withPolicies || r.kind !== 'Policy')),
    });
    const onNode2 = (uid: string) => ({ ...workload(uid), body: { ...workload(uid).body, node: 'node-2' } });
    server.setResources([workload('w1'), onNode2('w2'), service('reviews'), policy('p1')]);
    const agent = startAgent(t, port, { bearer: tokens.agentB, node: 'node-2' });
    agent.client.start();
    await waitFor(() => agent.updates.length === 1, WAIT, 'the first update');
    assert.deepEqual(idsOf(agent.updates[0]!).upserts, ['Workload/w2', 'Service/apps/reviews.apps.svc.cluster.local', 'Policy/apps/p1']);
    // A change outside this node's scope is not sent to it.
    server.setResources([workload('w1', { healthy: false }), onNode2('w2'), service('reviews'), policy('p1')]);
    // What scope() answers changed without new resources: rescope() pushes the difference.
    withPolicies = false;
    const v = server.rescope();
    await waitFor(() => agent.updates.length === 2, WAIT, 'the rescoped update');
    assert.deepEqual({ version: agent.updates[1]!.version, ...idsOf(agent.updates[1]!) }, { version: String(v), upserts: [], removes: ['Policy/apps/p1'] });
  });

  test('agent_that_reconnects_with_its_versions_gets_only_the_difference', async (t) => {
    const { server, port } = await startServer(t);
    server.setResources([workload('w1'), workload('w2'), service('reviews'), policy('p1')]);
    const net = await outageProxy(t, port);
    const agent = startAgent(t, net.port);
    const disconnected = new Promise((resolve) => agent.client.once('disconnected', resolve));
    agent.client.start();
    await waitFor(() => server.status().clients[0]?.lastAckedVersion !== undefined, WAIT, 'the first ACK');

    net.cut();
    await within(disconnected, 'the agent to notice');
    // While the agent is away: w2 changes, p1 goes, p2 comes; w1 and the Service stay.
    const v2 = server.setResources([workload('w1'), workload('w2', { ips: ['10.244.1.9'] }), service('reviews'), policy('p2')]);
    await waitFor(() => server.status().clients.length === 0, WAIT, 'the server to drop the broken stream');
    const before = agent.updates.length;
    net.restore();
    await waitFor(() => agent.updates.length > before, WAIT, 'the resync update');
    const resync = agent.updates[before]!;
    assert.equal(resync.full, true, 'the first update of a stream completes the resync');
    assert.equal(resync.version, String(v2));
    assert.deepEqual(idsOf(resync), { upserts: ['Workload/w2', 'Policy/apps/p2'], removes: ['Policy/apps/p1'] });
    await waitFor(() => server.status().clients[0]?.lastAckedVersion === String(v2), WAIT, 'the resync ACK');
    assert.deepEqual(Object.keys(agent.client.versions()).sort(), ['Policy/apps/p2', 'Service/apps/reviews.apps.svc.cluster.local', 'Workload/w1', 'Workload/w2']);
  });

  test('silently_dead_connection_is_detected_by_ping_on_both_ends_and_the_agent_resyncs', async (t) => {
    const keepalive = { pingIntervalMs: 100, pingTimeoutMs: 200 };
    const { server, port } = await startServer(t, { limits: keepalive });
    server.setResources([workload('w1')]);
    const net = await outageProxy(t, port);
    const agent = startAgent(t, net.port, { limits: keepalive });
    agent.client.start();
    await waitFor(() => server.status().clients[0]?.lastAckedVersion !== undefined, WAIT, 'the first ACK');
    const disconnected = new Promise((resolve) => agent.client.once('disconnected', resolve));
    net.freeze(); // no FIN, no RST: only an unanswered PING tells
    await within(disconnected, 'the agent to notice');
    const v = server.setResources([workload('w1'), policy('p1')]);
    await waitFor(() => agent.updates.some((u) => u.version === String(v)), WAIT, 'the resync over a new connection');
    assert.deepEqual(idsOf(agent.updates.at(-1)!), { upserts: ['Policy/apps/p1'], removes: [] });
    // The controller let go of the dead stream too: one client, the new one.
    await waitFor(() => server.status().clients.length === 1 && server.status().clients[0]!.lastAckedVersion === String(v), WAIT, 'the server to drop the dead stream');
  });

  test('rejected_resource_is_nacked_alone_and_reported_in_status', async (t) => {
    const { server, port } = await startServer(t);
    const bad = workload('bad', { ips: ['10.0.0.x'] }); // fails validation on the agent
    const v1 = server.setResources([workload('good'), bad, policy('p1'), policy('refused-by-app')]);
    const agent = startAgent(t, port, {
      onUpdate: (u) => {
        agent.updates.push(u);
        return u.upserts.filter((r) => r.key === 'apps/refused-by-app').map((r) => ({ kind: r.kind, key: r.key, error: 'the proxy cannot apply it' }));
      },
    });
    agent.client.start();
    await waitFor(() => server.status().clients[0]?.lastNackedVersion === String(v1), WAIT, 'the NACK');
    // The application saw only the valid resources, and kept all but the one it refused.
    assert.deepEqual(idsOf(agent.updates[0]!).upserts, ['Workload/good', 'Policy/apps/p1', 'Policy/apps/refused-by-app']);
    assert.deepEqual(Object.keys(agent.client.versions()).sort(), ['Policy/apps/p1', 'Workload/good']);
    const st = onlyClient(server);
    assert.equal(st.lastAckedVersion, undefined);
    const rejected = [...st.rejected].sort((a, b) => a.key.localeCompare(b.key));
    assert.equal(rejected.length, 2);
    assert.deepEqual(
      rejected.map((r) => ({ kind: r.kind, key: r.key, versionAt: r.version.split('-')[0] })),
      [
        { kind: 'Policy', key: 'apps/refused-by-app', versionAt: String(v1) },
        { kind: 'Workload', key: 'bad', versionAt: String(v1) },
      ],
    );
    assert.match(rejected[0]!.error, /cannot apply/);
    assert.match(rejected[1]!.error, /ips\[0\]: "10\.0\.0\.x" is not an IP address/);

    // Fixing the resources: only they are sent, the update is ACKed, the report clears.
    const v2 = server.setResources([workload('good'), workload('bad'), policy('p1')]);
    await waitFor(() => server.status().clients[0]?.lastAckedVersion === String(v2), WAIT, 'the ACK of the fix');
    assert.deepEqual(idsOf(agent.updates[1]!), { upserts: ['Workload/bad'], removes: ['Policy/apps/refused-by-app'] });
    assert.deepEqual(onlyClient(server).rejected, []);
  });

  test('slow_agent_gets_coalesced_updates_and_the_server_buffers_at_most_one', async (t) => {
    const { server, port } = await startServer(t);
    const big = (i: number) => workload('big', { blob: `${i}:${'x'.repeat(32 * 1024)}` });
    server.setResources([big(0)]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.after(() => release());
    const agent = startAgent(t, port, {
      onUpdate: async (u) => {
        agent.updates.push(u);
        if (!u.full) await gate; // a proxy stuck applying config
      },
    });
    agent.client.start();
    await waitFor(() => server.status().clients[0]?.lastAckedVersion !== undefined, WAIT, 'the first ACK');
    const N = 100;
    for (let i = 1; i <= N; i++) server.setResources([big(i)]);
    const st = onlyClient(server);
    assert.equal(st.pending, true, 'changes wait for the slow client');
    assert.ok(st.coalesced >= N - 10, `most versions coalesced (${st.coalesced})`);
    // One ~32 KiB update may sit in the stream's buffer; 100 of them would be 3 MiB.
    assert.ok(st.bufferedBytes < 100 * 1024, `server buffers ${st.bufferedBytes} bytes for the slow client`);
    release();
    const last = server.version;
    await waitFor(() => server.status().clients[0]?.lastAckedVersion === String(last), WAIT, 'the client to catch up');
    const applied = agent.updates.filter((u) => !u.full);
    assert.ok(applied.length < 10, `${applied.length} updates carried ${N} changes`);
    const final = applied.at(-1)!;
    assert.ok((final.upserts[0]!.body as Workload).labels['blob']!.startsWith(`${N}:`), 'the last update holds the latest content');
  });

  test('server_close_drains_agents_which_resync_with_a_new_server_on_the_same_port', async (t) => {
    const set = [workload('w1'), service('reviews'), policy('p1')];
    const first = await startServer(t);
    first.server.setResources(set);
    const agent = startAgent(t, first.port);
    agent.client.start();
    await waitFor(() => first.server.status().clients[0]?.lastAckedVersion !== undefined, WAIT, 'the first ACK');
    const disconnected = new Promise((resolve) => agent.client.once('disconnected', resolve));
    const started = Date.now();
    await first.server.close();
    assert.ok(Date.now() - started < SERVER_LIMITS.drainTimeoutMs, 'the agent let go without waiting for the drain deadline');
    await within(disconnected, 'the agent to notice');

    // A new controller process on the same port: versions are counted anew, but the
    // content digests match, so the agent is sent only what really differs.
    const second = await startServer(t, { port: first.port });
    const v = second.server.setResources([...set, policy('p2')]);
    const before = agent.updates.length;
    await waitFor(() => second.server.status().clients[0]?.lastAckedVersion === String(v), WAIT, 'the agent to resync with the new server');
    const resync = agent.updates[before]!;
    assert.equal(resync.full, true);
    assert.deepEqual(idsOf(resync), { upserts: ['Policy/apps/p2'], removes: [] });
  });

  test('malformed_messages_close_only_their_own_stream_with_a_clear_error', async (t) => {
    const { server, port } = await startServer(t, { limits: { maxClientMessageBytes: 4096, helloTimeoutMs: 500 } });
    server.setResources([workload('w1')]);
    const bystander = startAgent(t, port, { bearer: tokens.agentB, node: 'node-2' });
    bystander.client.start();
    await waitFor(() => bystander.updates.length === 1, WAIT, 'the bystander to sync');

    const session = rawSession(t, port);
    const headers = { authorization: `Bearer ${tokens.agentA}`, 'x-ambient-node': 'node-1', 'content-type': 'application/x-ndjson' };
    const cases: Array<[string, string | undefined, string, RegExp]> = [
      ['not json', 'this is not json\n', ErrorCodes.XDS_MALFORMED, /not JSON/],
      ['ack before hello', '{"type":"ack","version":"1"}\n', ErrorCodes.XDS_MALFORMED, /ack before hello/],
      ['hello for another node', '{"type":"hello","node":"node-2"}\n', ErrorCodes.XDS_MALFORMED, /hello names node node-2/],
      ['ack of a version never sent', '{"type":"hello","node":"node-1"}\n{"type":"ack","version":"999"}\n', ErrorCodes.XDS_MALFORMED, /version 999, which was never sent/],
      ['line too long', `{"type":"hello","node":"node-1","pad":"${'x'.repeat(5000)}`, ErrorCodes.XDS_MESSAGE_TOO_LARGE, /longer than 4096 bytes/],
      ['no hello', undefined, ErrorCodes.XDS_HELLO_TIMEOUT, /no hello within 500 ms/],
    ];
    for (const [what, body, code, message] of cases) {
      const { status, stream } = await rawRequest(session, '/v1/config', headers);
      assert.equal(status, 200, what);
      if (body !== undefined) stream.write(body);
      stream.on('end', () => stream.end());
      const lines = (await readAll(stream, WAIT)).toString('utf8').trim().split('\n');
      const last = JSON.parse(lines.at(-1)!) as { type: string; code: string; message: string };
      assert.equal(last.type, 'error', what);
      assert.equal(last.code, code, what);
      assert.match(last.message, message, what);
    }
    // The bystander's stream was not affected.
    server.setResources([workload('w1'), workload('w2')]);
    await waitFor(() => bystander.updates.length === 2, WAIT, 'the bystander to get the next update');
    assert.deepEqual(idsOf(bystander.updates[1]!), { upserts: ['Workload/w2'], removes: [] });
    assert.deepEqual(server.status().clients.map((c) => c.node), ['node-2']);
  });
});

describe('config stream attacks', () => {
  const agentHeaders = { authorization: '', 'x-ambient-node': 'node-1', 'content-type': 'application/x-ndjson' };

  /** The first line the controller writes on `stream`. */
  async function firstLine(stream: http2.ClientHttp2Stream): Promise<string> {
    let buf = '';
    for await (const chunk of stream) {
      buf += (chunk as Buffer).toString('utf8');
      const i = buf.indexOf('\n');
      if (i >= 0) return buf.slice(0, i);
    }
    assert.fail(`the stream ended without a line (${buf.length} bytes)`);
  }

  test('ordinary_pod_service_account_cannot_open_a_config_stream_or_get_a_certificate', async (t) => {
    const { server, port } = await startServer(t);
    server.setResources([workload('w1')]);
    const session = rawSession(t, port);
    const { status, stream } = await rawRequest(session, '/v1/config', { ...agentHeaders, authorization: `Bearer ${tokens.reviews}` });
    assert.equal(status, 403);
    const body = JSON.parse((await readAll(stream, WAIT)).toString()) as { code: string; message: string };
    assert.equal(body.code, ErrorCodes.CTRL_FORBIDDEN);
    assert.match(body.message, /apps\/reviews is neither the node agents' \(ambient-system\/ambient-node-agent\) nor a waypoint's/);
    assert.equal(server.status().clients.length, 0);
    const pod = startAgent(t, port, { bearer: tokens.reviews });
    const key = await generateKeyPem();
    const err = await pod.client.requestCertificate(createCsr(key, spiffeId('apps', 'reviews', TD))).then(
      () => assert.fail('an ordinary pod got a certificate from the controller'),
      (e: unknown) => e as ControllerError,
    );
    assert.equal(err.status, 403);
    assert.equal(err.code, ErrorCodes.CTRL_FORBIDDEN);
    // The waypoint's ServiceAccount is served.
    const waypoint = startAgent(t, port, { bearer: tokens.waypoint });
    waypoint.client.start();
    await waitFor(() => waypoint.updates.length === 1, WAIT, 'the waypoint to get its config');
    assert.equal(onlyClient(server).role, 'waypoint');
  });

  test('hello_with_100k_made_up_ids_causes_no_removals', async (t) => {
    // A 4 MB hello takes a while on a loaded machine: it must not be cut by the hello timeout.
    const { server, port } = await startServer(t, { limits: { helloTimeoutMs: 30_000 } });
    server.setResources([workload('w1'), service('reviews')]);
    const session = rawSession(t, port);
    const { status, stream } = await rawRequest(session, '/v1/config', { ...agentHeaders, authorization: `Bearer ${tokens.agentA}` });
    assert.equal(status, 200);
    const versions: Record<string, string> = {};
    for (let i = 0; i < 100_000; i++) versions[`Workload/made-up-${i}`] = `1-${(i % 10).toString().repeat(16)}`;
    versions['Workload/w1'] = '1-0000000000000000'; // one it holds at stale content
    stream.write(`${JSON.stringify({ type: 'hello', node: 'node-1', versions })}\n`);
    const update = JSON.parse(await within(firstLine(stream), 'the first update', 30_000)) as { type: string; full: boolean; upserts: Array<{ kind: string; key: string }>; removes: unknown[] };
    assert.equal(update.type, 'update', JSON.stringify(update).slice(0, 300));
    assert.equal(update.full, true);
    assert.deepEqual(update.removes, [], 'no removal for ids the controller never had');
    assert.deepEqual(update.upserts.map((u) => `${u.kind}/${u.key}`).sort(), ['Service/apps/reviews.apps.svc.cluster.local', 'Workload/w1']);
    assert.equal(onlyClient(server).resources, 2, 'the made-up ids are not remembered either');
    stream.close();
  });

  test('few_unknown_held_ids_are_still_removed_after_a_reconnect', async (t) => {
    // A resource deleted while the agent was away is unknown to the table too: it must go.
    const { server, port } = await startServer(t);
    server.setResources([workload('w1')]);
    const session = rawSession(t, port);
    const { stream } = await rawRequest(session, '/v1/config', { ...agentHeaders, authorization: `Bearer ${tokens.agentA}` });
    stream.write(`${JSON.stringify({ type: 'hello', node: 'node-1', versions: { 'Workload/deleted-meanwhile': '3-0123456789abcdef' } })}\n`);
    const update = JSON.parse(await within(firstLine(stream), 'the first update')) as { removes: Array<{ kind: string; key: string }> };
    assert.deepEqual(update.removes, [{ kind: 'Workload', key: 'deleted-meanwhile' }]);
    stream.close();
  });

  test('client_whose_unread_data_exceeds_the_buffer_cap_is_dropped', async (t) => {
    const { server, port } = await startServer(t, { limits: { maxBufferedBytesPerClient: 64 * 1024 } });
    server.setResources(Array.from({ length: 16 }, (_, i) => workload(`big-${i}`, { blob: 'x'.repeat(16 * 1024) })));
    const session = rawSession(t, port);
    const { status, stream } = await rawRequest(session, '/v1/config', { ...agentHeaders, authorization: `Bearer ${tokens.agentA}` });
    assert.equal(status, 200);
    stream.on('error', () => {}); // the reset is what we wait for
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.write('{"type":"hello","node":"node-1","versions":{}}\n'); // and never reads
    await within(closed, 'the controller to drop the stream');
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await waitFor(() => server.status().clients.length === 0, WAIT, 'the client to be forgotten');
  });

  test('client_that_does_not_read_is_dropped_after_the_slow_client_timeout_and_readers_stay', async (t) => {
    const { server, port } = await startServer(t, { limits: { slowClientTimeoutMs: 400 } });
    server.setResources(Array.from({ length: 8 }, (_, i) => workload(`big-${i}`, { blob: 'x'.repeat(32 * 1024) })));
    const reader = startAgent(t, port, { bearer: tokens.agentB, node: 'node-2' });
    reader.client.start();
    await waitFor(() => reader.updates.length === 1, WAIT, 'the reader to sync');
    const session = rawSession(t, port);
    const { stream } = await rawRequest(session, '/v1/config', { ...agentHeaders, authorization: `Bearer ${tokens.agentA}` });
    stream.on('error', () => {}); // the reset is what we wait for
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.write('{"type":"hello","node":"node-1","versions":{}}\n'); // and never reads
    await within(closed, 'the controller to drop the stream');
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    server.setResources([workload('small')]);
    await waitFor(() => reader.updates.length === 2, WAIT, 'the reader to get the next update');
    assert.deepEqual(server.status().clients.map((c) => c.node), ['node-2']);
  });

  test('config_streams_per_caller_are_capped', async (t) => {
    const { server, port } = await startServer(t, { limits: { maxStreamsPerCaller: 2 } });
    server.setResources([workload('w1')]);
    const session = rawSession(t, port);
    const headers = { ...agentHeaders, authorization: `Bearer ${tokens.agentA}` };
    const open = [await rawRequest(session, '/v1/config', headers), await rawRequest(session, '/v1/config', headers)];
    assert.deepEqual(open.map((o) => o.status), [200, 200]);
    const third = await rawRequest(session, '/v1/config', headers);
    assert.equal(third.status, 429);
    const body = JSON.parse((await readAll(third.stream, WAIT)).toString()) as { code: string; message: string };
    assert.equal(body.code, ErrorCodes.CTRL_RATE_LIMITED);
    assert.match(body.message, /already has 2 config streams open \(limit maxStreamsPerCaller\)/);
    // Another node's agent is not affected, and a closed stream frees its place.
    const other = await rawRequest(session, '/v1/config', { ...headers, authorization: `Bearer ${tokens.agentB}`, 'x-ambient-node': 'node-2' });
    assert.equal(other.status, 200);
    open[0]!.stream.close();
    await waitFor(() => server.status().clients.filter((c) => c.node === 'node-1').length === 1, WAIT, 'the closed stream to be forgotten');
    assert.equal((await rawRequest(session, '/v1/config', headers)).status, 200);
  });
});

describe('token audience', () => {
  /** A TokenReviewer against the local API server that counts the reviews it makes. */
  function countingReviewer(): { reviewer: TokenReviewer; count: () => number } {
    const inner = kubeTokenReviewer(kc, { audiences: [AUDIENCE], timeoutMs: 5_000 });
    let n = 0;
    return {
      reviewer: {
        review: (token, admit) => {
          admit?.();
          n++;
          return inner.review(token);
        },
      },
      count: () => n,
    };
  }

  async function answer(port: number, t: TestContext, bearer: string) {
    const session = rawSession(t, port);
    const { status, stream } = await rawRequest(session, '/v1/config', { authorization: `Bearer ${bearer}`, 'x-ambient-node': 'node-1' });
    if (status === 200) {
      stream.close();
      return { status };
    }
    const body = JSON.parse((await readAll(stream, WAIT)).toString()) as { code?: string; message?: string };
    return { status, ...body };
  }

  test('default_pod_token_for_the_api_server_is_refused_on_15012', async (t) => {
    // The controller as deployed, with its default audience; the node agent's own pod
    // token for the API server (what every pod has mounted) is presented.
    const { server, port } = await startServer(t);
    server.setResources([workload('w1')]);
    const apiToken = await boundToken('ambient-system', 'ambient-node-agent', 'agent-a', []);
    const r = await answer(port, t, apiToken);
    assert.equal(r.status, 401);
    assert.equal(r.code, ErrorCodes.CTRL_UNAUTHENTICATED);
    assert.match(r.message!, /not for the controller: its audiences \["https:\/\/kubernetes.default.svc.cluster.local"\] do not include \["ambient.dev\/controller"\]/);
    assert.equal(server.status().clients.length, 0);
  });

  test('garbage_bearer_is_refused_without_a_token_review_and_the_projected_token_works', async (t) => {
    const c = countingReviewer();
    const { port } = await startServer(t, { tokenReviewer: c.reviewer });
    const apiToken = await boundToken('ambient-system', 'ambient-node-agent', 'agent-a', []);
    const long = `${'a'.repeat(6000)}.${'b'.repeat(6000)}.c`;
    for (const [bearer, why] of [
      ['garbage', /not a JWT/],
      ['a.b', /not a JWT/],
      ['a.b.c', /payload is not JSON/],
      [long, /longer than 8192 bytes/],
      [apiToken, /not for the controller/],
    ] as const) {
      const r = await answer(port, t, bearer);
      assert.equal(r.status, 401, bearer.slice(0, 20));
      assert.match(r.message!, why);
    }
    assert.equal(c.count(), 0, 'no TokenReview was spent on them');
    const agent = startAgent(t, port);
    const issued = await agent.client.requestCertificate(createCsr(await generateKeyPem(), spiffeId('apps', 'reviews', TD)));
    assert.deepEqual(certificateInfo(issued.chain[0]!).uris, ['spiffe://cluster.local/ns/apps/sa/reviews']);
    assert.equal(c.count(), 1, 'the projected token is reviewed once');
  });

  test('review_that_does_not_confirm_the_audience_is_refused', async (t) => {
    // An API server that ignores spec.audiences answers without status.audiences.
    const reviewer: TokenReviewer = {
      review: async () => ({ authenticated: true, user: { username: 'system:serviceaccount:ambient-system:ambient-node-agent', extra: { 'authentication.kubernetes.io/pod-name': ['agent-a'] } } }),
    };
    const { port } = await startServer(t, { tokenReviewer: reviewer });
    const r = await answer(port, t, tokens.agentA);
    assert.equal(r.status, 401);
    assert.match(r.message!, /did not confirm the token is for \["ambient.dev\/controller"\]/);
  });

  test('token_reviews_per_source_address_are_limited_and_cached_tokens_still_pass', async (t) => {
    const c = countingReviewer();
    const { port } = await startServer(t, { tokenReviewer: c.reviewer, limits: { reviewBurst: 2, reviewsPerSecond: 0.01 } });
    assert.equal((await answer(port, t, tokens.agentA)).status, 200);
    assert.equal((await answer(port, t, tokens.agentB)).status, 403, 'reviewed (agent B is not on node-1)');
    const third = await answer(port, t, tokens.waypoint);
    assert.equal(third.status, 429);
    assert.equal(third.code, ErrorCodes.CTRL_RATE_LIMITED);
    assert.match(third.message!, /too many new tokens from 127.0.0.1 \(limits reviewBurst, reviewsPerSecond\)/);
    assert.equal(c.count(), 2);
    assert.equal((await answer(port, t, tokens.agentA)).status, 200, 'a cached token costs no review');
  });
});

// --- certificates and authentication -----------------------------------------------------

describe('certificates', () => {
  async function csrFor(ns: string, sa: string) {
    const key = await generateKeyPem();
    return { key, csr: createCsr(key, spiffeId(ns, sa, TD)) };
  }

  async function refused(p: Promise<unknown>, status: number, code: string): Promise<ControllerError> {
    const err = await p.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ControllerError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    return err;
  }

  test('agent_gets_a_certificate_for_an_identity_with_a_pod_on_its_node', async (t) => {
    const { port } = await startServer(t);
    const agent = startAgent(t, port);
    const { csr } = await csrFor('apps', 'reviews');
    const issued = await agent.client.requestCertificate(csr, { ttlSeconds: 3600 });
    assert.ok(ca.trustBundle.verifies(issued.chain), 'the chain verifies against the root');
    assert.deepEqual(certificateInfo(issued.chain[0]!).uris, ['spiffe://cluster.local/ns/apps/sa/reviews']);
    assert.deepEqual(issued.roots, ca.trustBundle.pems());
    const lifetime = issued.notAfter.getTime() - Date.now();
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `lifetime ${lifetime} ms follows ttlSeconds`);

    // The same through a certificate manager, as a node agent runs it.
    const mgr = new CertificateManager({ signer: controllerSigner(agent.client) });
    t.after(() => mgr.close());
    const cert = await mgr.get(spiffeId('apps', 'reviews', TD));
    assert.deepEqual(certificateInfo(cert.cert).uris, ['spiffe://cluster.local/ns/apps/sa/reviews']);
    assert.equal(mgr.trustBundle.size, 1, 'the roots came with the certificate');
  });

  test('agent_is_refused_identities_without_a_pod_on_its_node', async (t) => {
    const { port } = await startServer(t);
    const agent = startAgent(t, port);
    const lonely = await refused(agent.client.requestCertificate((await csrFor('apps', 'lonely')).csr), 403, ErrorCodes.CTRL_CSR_DENIED);
    assert.match(lonely.message, /no pod with identity spiffe:\/\/cluster.local\/ns\/apps\/sa\/lonely runs on node node-1/);
    // ratings-1 runs on node-2, not on this agent's node.
    await refused(agent.client.requestCertificate((await csrFor('apps', 'ratings')).csr), 403, ErrorCodes.CTRL_CSR_DENIED);
  });

  test('agent_claiming_another_nodes_name_is_refused', async (t) => {
    const { port } = await startServer(t);
    const impostor = startAgent(t, port, { bearer: tokens.agentA, node: 'node-2' });
    const err = await refused(impostor.client.requestCertificate((await csrFor('apps', 'ratings')).csr), 403, ErrorCodes.CTRL_NODE_MISMATCH);
    assert.match(err.message, /claims node node-2 but its pod ambient-system\/agent-a is not on that node/);
    // The config stream is refused the same way.
    impostor.client.start();
    await waitFor(() => impostor.errors.length > 0, WAIT, 'the config stream refusal');
    assert.ok(isMeshError(impostor.errors[0], ErrorCodes.CTRL_NODE_MISMATCH), String(impostor.errors[0]));
  });

  test('other_service_account_gets_only_its_own_identity', async (t) => {
    const { port } = await startServer(t);
    const waypoint = startAgent(t, port, { bearer: tokens.waypoint, node: 'node-1' });
    const issued = await waypoint.client.requestCertificate((await csrFor('apps', 'waypoint')).csr);
    assert.deepEqual(certificateInfo(issued.chain[0]!).uris, ['spiffe://cluster.local/ns/apps/sa/waypoint']);
    // reviews has a pod on node-1, but a waypoint is not a node agent.
    const err = await refused(waypoint.client.requestCertificate((await csrFor('apps', 'reviews')).csr), 403, ErrorCodes.CTRL_CSR_DENIED);
    assert.match(err.message, /may only have its own identity/);
  });

  test('missing_or_garbage_token_is_401', async (t) => {
    const { port } = await startServer(t);
    const { csr } = await csrFor('apps', 'reviews');
    const session = rawSession(t, port);
    for (const path of ['/v1/certificates', '/v1/config']) {
      const { status, stream } = await rawRequest(session, path, { 'x-ambient-node': 'node-1' }, JSON.stringify({ csr }));
      assert.equal(status, 401, path);
      const body = JSON.parse((await readAll(stream, WAIT)).toString()) as { code: string; message: string };
      assert.equal(body.code, ErrorCodes.CTRL_UNAUTHENTICATED);
      assert.match(body.message, /no bearer token/);
    }
    const garbage = startAgent(t, port, { bearer: 'garbage' });
    const err = await refused(garbage.client.requestCertificate(csr), 401, ErrorCodes.CTRL_UNAUTHENTICATED);
    assert.match(err.message, /not a JWT/);
    garbage.client.start();
    await waitFor(() => garbage.errors.length > 0, WAIT, 'the config stream refusal');
    assert.equal((garbage.errors[0] as ControllerError).status, 401);
  });

  test('client_refuses_a_controller_with_another_identity', async (t) => {
    const impostorCreds = await issue(ca, 'ambient-system', 'impostor');
    const { port } = await startServer(t, { credentials: impostorCreds });
    const agent = startAgent(t, port);
    const err = await agent.client.requestCertificate((await csrFor('apps', 'reviews')).csr).then(
      () => assert.fail('the client talked to an impostor'),
      (e: unknown) => e,
    );
    assert.ok(isMeshError(err, ErrorCodes.CTRL_PEER_IDENTITY), String(err));
    assert.match((err as Error).message, /names no DNS name, not ambient-controller.ambient-system.svc/);
  });

  test('agent_is_refused_the_controllers_identity_even_with_a_pod_running_as_it_on_its_node', async (t) => {
    const { port } = await startServer(t);
    const agent = startAgent(t, port);
    for (const sa of ['ambient-controller', 'ambient-node-agent']) {
      const err = await refused(agent.client.requestCertificate((await csrFor('ambient-system', sa)).csr), 403, ErrorCodes.CTRL_CSR_DENIED);
      assert.match(err.message, new RegExp(`spiffe://cluster.local/ns/ambient-system/sa/${sa} is a control-plane identity`));
    }
  });

  test('workload_certificate_cannot_pose_as_the_controller_to_an_agent', async (t) => {
    // A certificate the workload CA issued for the controller's own SPIFFE ID, as a node
    // agent could once obtain it: served on a port the agent dials.
    const workloadCert = await issue(ca, 'ambient-system', 'ambient-controller');
    const { port } = await startServer(t, { credentials: workloadCert });
    const agent = startAgent(t, port);
    const err = await agent.client.requestCertificate((await csrFor('apps', 'reviews')).csr).then(
      () => assert.fail('the agent took a workload certificate for the controller'),
      (e: unknown) => e,
    );
    assert.ok(isMeshError(err, ErrorCodes.CTRL_PEER_IDENTITY), String(err));
    // The real serving certificate passes the same check.
    const real = await startServer(t);
    const ok = startAgent(t, real.port);
    await ok.client.requestCertificate((await csrFor('apps', 'reviews')).csr);
  });

  test('csr_with_an_8192_bit_key_or_a_huge_exponent_is_refused_without_blocking_the_controller', async (t) => {
    const { port } = await startServer(t);
    const agent = startAgent(t, port);
    await agent.client.requestCertificate((await csrFor('apps', 'reviews')).csr); // connection and token review warmed up
    const id = spiffeId('apps', 'reviews', TD);
    const attacks = [forgedCsr(id, { modulusBits: 8192, exponentBits: 8192 }), forgedCsr(id, { modulusBits: 4096, exponentBits: 4096 }), forgedCsr(id, { modulusBits: 8192 })];
    const honest = (await csrFor('apps', 'reviews')).csr;
    // The controller runs in this process: a verification that blocks its event loop
    // shows as a late tick here (a JavaScript RSA check of the first CSR took seconds).
    let last = performance.now();
    let worst = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    t.after(() => clearInterval(tick));
    const answers = attacks.map((csr) => refused(agent.client.requestCertificate(csr), 400, ErrorCodes.CSR_KEY_UNSUPPORTED));
    // Another caller is answered meanwhile.
    const issued = await agent.client.requestCertificate(honest);
    const errors = await Promise.all(answers);
    clearInterval(tick);
    assert.ok(ca.trustBundle.verifies(issued.chain));
    assert.match(errors[0]!.message, /8192 bits; at most 4096/);
    assert.match(errors[1]!.message, /exponent must be 65537/);
    assert.ok(worst < 300, `the event loop stalled for ${worst.toFixed(0)} ms`);
  });

  test('burst_of_csrs_from_one_caller_is_refused_beyond_the_limit_and_others_are_served', async (t) => {
    const { port } = await startServer(t, { limits: { csrBurst: 3, csrPerSecond: 0.01 } });
    const agent = startAgent(t, port);
    const { csr } = await csrFor('apps', 'reviews');
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => agent.client.requestCertificate(csr)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ControllerError] : []));
    assert.equal(ok, 3, 'the burst is served');
    assert.equal(limited.length, 5);
    for (const e of limited) {
      assert.equal(e.status, 429, e.message);
      assert.equal(e.code, ErrorCodes.CTRL_RATE_LIMITED);
      assert.match(e.message, /too many certificate requests from spiffe:\/\/cluster.local\/ns\/ambient-system\/sa\/ambient-node-agent on node node-1 \(limits csrBurst, csrPerSecond\); retry in \d+ ms/);
    }
    // Another node's agent has its own bucket.
    const other = startAgent(t, port, { bearer: tokens.agentB, node: 'node-2' });
    const issued = await other.client.requestCertificate((await csrFor('apps', 'ratings')).csr);
    assert.deepEqual(certificateInfo(issued.chain[0]!).uris, ['spiffe://cluster.local/ns/apps/sa/ratings']);
  });
});

describe('config stream: routes', () => {
  function routeResource(name: string, weight = 1): Resource<'Route'> {
    const key = `apps/HTTPRoute/${name}`;
    return {
      kind: 'Route',
      key,
      body: {
        key, routeKind: 'HTTPRoute', name, namespace: 'apps', created: '2026-01-01T00:00:00Z',
        parents: [{ service: 'apps/reviews.apps.svc.cluster.local' }], hostnames: [],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], filters: [], backends: [{ service: 'apps/reviews.apps.svc.cluster.local', port: 9080, weight, filters: [] }] }],
      },
    };
  }

  test('route_resources_reach_waypoints_and_never_node_agents_on_full_and_incremental_updates', async (t) => {
    // No scope function and no policy index: the default path, where every client's first update is shared by key.
    const { server, port } = await startServer(t);
    // reviews is bound to this waypoint: a waypoint gets only the routes of what it serves.
    const bound = service('reviews');
    bound.body = { ...bound.body, waypoint: { service: 'apps/waypoint.apps.svc.cluster.local', port: 15008 } };
    server.setResources([workload('reviews-1'), bound, routeResource('r')]);
    const waypoint = startAgent(t, port, { bearer: tokens.waypoint });
    waypoint.client.start();
    await waitFor(() => waypoint.updates.length >= 1, WAIT, 'the waypoint first update');
    const agent = startAgent(t, port);
    agent.client.start();
    await waitFor(() => agent.updates.length >= 1, WAIT, 'the node agent first update');
    assert.deepEqual(idsOf(waypoint.updates[0]!).upserts, ['Workload/reviews-1', 'Service/apps/reviews.apps.svc.cluster.local', 'Route/apps/HTTPRoute/r']);
    assert.deepEqual(idsOf(agent.updates[0]!).upserts, ['Workload/reviews-1', 'Service/apps/reviews.apps.svc.cluster.local']);

    // A changed Route travels to the waypoint alone; the node agent is sent nothing.
    server.applyChanges([routeResource('r', 5)], []);
    await waitFor(() => waypoint.updates.length >= 2, WAIT, 'the changed Route at the waypoint');
    assert.deepEqual(idsOf(waypoint.updates[1]!), { upserts: ['Route/apps/HTTPRoute/r'], removes: [] });
    server.applyChanges([workload('reviews-1', { healthy: false })], [{ kind: 'Route', key: 'apps/HTTPRoute/r' }]);
    await waitFor(() => agent.updates.length >= 2 && waypoint.updates.length >= 3, WAIT, 'the next update at both');
    assert.deepEqual(idsOf(agent.updates[1]!), { upserts: ['Workload/reviews-1'], removes: [] });
    assert.deepEqual(idsOf(waypoint.updates[2]!), { upserts: ['Workload/reviews-1'], removes: ['Route/apps/HTTPRoute/r'] });
    assert.ok(agent.updates.every((u) => u.upserts.every((r) => r.kind !== 'Route') && u.removes.every((r) => r.kind !== 'Route')));
  });
});
