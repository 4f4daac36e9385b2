// Namespaced tier (DESIGN.md section 6): the node agent's enrolment reconciler with real
// network namespaces, capture rules, listeners and certificates from our own CA. Pod "p"
// (10.98.0.2) runs a TCP echo app on 8080; "c" (10.98.0.1) is a client outside the mesh
// on the same link. The pod is announced by the CNI hand-off before the controller's
// config speaks of it (the config stays empty throughout).
import assert from 'node:assert/strict';
import type net from 'node:net';
import test, { type TestContext } from 'node:test';
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { PeerAuthenticationObject } from '../core/config/peer-authentication.js';
import { inProcessSigner } from '../core/identity/ca.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { AGENT_SOCKET_MARK } from '../core/ports.js';
import { connectInNetns, listenInNetns } from '../core/syscalls.js';
import { checkCapture } from '../node-agent/capture/apply.js';
import type { CniPod } from '../node-agent/cni/handoff.js';
import { CniHandlers } from '../node-agent/cni/handlers.js';
import { newPodJudge } from '../node-agent/enrolment/new-pod.js';
import { EnrolmentReconciler } from '../node-agent/enrolment/reconciler.js';
import { createCounters } from '../node-agent/proxy/balancer.js';
import { inlineDataPlane } from '../node-agent/workers/data-plane.js';
import { buildState } from '../node-agent/state/snapshot.js';
import { ifName, Netns, requireRoot } from './support/netns.js';
import { newCa } from './support/pki.js';

const TD = 'cluster.local';
const NODE = 'node1';
const IP_C = '10.98.0.1';
const IP_P = '10.98.0.2';
const APP_PORT = 8080;
const WAIT_MS = 5_000;
const TEST_TIMEOUT_MS = 60_000;
const ENROLLED = { 'ambient.dev/dataplane-mode': 'ambient' };

interface Fixture {
  pod: Netns;
  client: Netns;
  appConnections: { count: number };
  reconciler: EnrolmentReconciler;
  /** The agent's CNI ADD/DEL handlers, acting on the reconciler. */
  cni: CniHandlers;
  /** The ADD the plugin sends for the pod. */
  pod_: CniPod;
}

/** The pod "shop/web-1" announced by CNI; the API server says its namespace has `mode`. */
async function setUp(t: TestContext, mode: 'STRICT' | 'PERMISSIVE', drainMs = 1_000): Promise<Fixture> {
  const pod = await Netns.create('ep', t);
  const client = await Netns.create('ec', t);
  const vp = ifName('evp');
  const vc = ifName('evc');
  await client.run('ip', ['link', 'add', vc, 'type', 'veth', 'peer', 'name', vp, 'netns', pod.name]);
  await client.run('ip', ['addr', 'add', `${IP_C}/24`, 'dev', vc]);
  await pod.run('ip', ['addr', 'add', `${IP_P}/24`, 'dev', vp]);
  await client.run('ip', ['link', 'set', vc, 'up']);
  await pod.run('ip', ['link', 'set', vp, 'up']);

  const appConnections = { count: 0 };
  const app = await listenInNetns(pod.path, { host: IP_P, port: APP_PORT }, (s) => {
    appConnections.count++;
    s.on('error', () => {});
    s.pipe(s);
  });
  t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));

  const ca = await newCa(TD);
  const certificates = new CertificateManager({ signer: inProcessSigner(ca), trustBundle: ca.trustBundle });
  t.after(() => certificates.close());

  const v1pod: V1Pod = {
    metadata: { name: 'web-1', namespace: 'shop', uid: `uid-web-${process.pid}`, labels: { app: 'web' } },
    spec: { nodeName: NODE, serviceAccountName: 'web', containers: [{ name: 'app', image: 'app' }] },
    status: { phase: 'Pending' },
  };
  const ns: V1Namespace = { metadata: { name: 'shop', labels: ENROLLED } };
  const pas: PeerAuthenticationObject[] = [{ metadata: { name: 'default', namespace: 'shop' }, spec: { mtls: { mode } } }];
  const empty = buildState([], { localNode: NODE });
  const reconciler = new EnrolmentReconciler({
    state: () => empty,
    certificates,
    dataPlane: inlineDataPlane({
      getState: () => empty,
      credentials: (source) => certificates.get(source),
      trustBundle: ca.trustBundle,
      trustDomain: TD,
      mark: AGENT_SOCKET_MARK,
      counters: createCounters(),
      onConnectionEnd: () => {},
    }),
    mark: AGENT_SOCKET_MARK,
    captureDns: false,
    dnsUpstreams: [],
    drainMs,
    judgeNewPod: newPodJudge(async () => ({ pod: v1pod, namespace: ns, peerAuthentications: pas }), { node: NODE, trustDomain: TD, rootNamespace: 'ambient-system' }),
    metrics: { enrolmentFailure() {}, captureRepair() {} },
  });
  t.after(() => reconciler.close(0));
  const add: CniPod = { command: 'ADD', containerId: 'c-web-1', netnsPath: pod.path, ifName: 'eth0', podUid: v1pod.metadata!.uid!, podName: 'web-1', podNamespace: 'shop', ips: [IP_P], cniVersion: '1.0.0' };
  return { pod, client, appConnections, reconciler, cni: new CniHandlers({ agent: reconciler.cniPort() }), pod_: add };
}

/** A plaintext connection from the client outside the mesh: what came back, and how it ended. */
async function plaintext(f: Fixture, payload = 'hello'): Promise<{ data: string; error?: string }> {
  let socket: net.Socket;
  try {
    socket = await connectInNetns(f.client.path, { host: IP_P, port: APP_PORT, timeoutMs: WAIT_MS });
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    return { data: '', error: cause?.code ?? (err as Error).message };
  }
  return new Promise((resolve, reject) => {
    let data = '';
    let error: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of the exchange within ${WAIT_MS} ms`));
    }, WAIT_MS);
    socket.on('data', (c: Buffer) => {
      data += c.toString();
      if (data === payload) socket.end();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ data, ...(error !== undefined && { error }) });
    });
    socket.write(payload);
  });
}

test('cni_announced_pod_in_strict_namespace_refuses_plaintext_before_config', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  if (!requireRoot(t)) return;
  const f = await setUp(t, 'STRICT');
  await f.cni.add(f.pod_);
  assert.equal(f.reconciler.isEnrolled(f.pod_.podUid!), true);
  const r = await plaintext(f);
  assert.equal(r.data, '', 'the app must not answer a plaintext client in a STRICT namespace');
  assert.equal(f.appConnections.count, 0, 'the plaintext connection must not reach the app');
});

test('cni_announced_pod_in_permissive_namespace_serves_plaintext_before_config', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // The control case: the same path is open where the namespace says PERMISSIVE, so the
  // STRICT refusal above is the mode's doing, not a broken fixture.
  if (!requireRoot(t)) return;
  const f = await setUp(t, 'PERMISSIVE');
  await f.cni.add(f.pod_);
  const r = await plaintext(f);
  assert.equal(r.data, 'hello');
  assert.equal(f.appConnections.count, 1);
});

test('stopping_agent_keeps_serving_new_connections_while_draining_and_pods_keep_capture', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // SIGTERM (main.ts) closes the agent, which releases every pod this way. A stopping
  // agent that closed its listeners at once would refuse every new connection of its
  // pods for the whole drain, worse than a crash (which is replaced at once).
  if (!requireRoot(t)) return;
  const DRAIN_MS = 3_000;
  const f = await setUp(t, 'PERMISSIVE', DRAIN_MS);
  await f.cni.add(f.pod_);
  assert.equal((await plaintext(f)).data, 'hello');
  const started = Date.now();
  const closing = f.reconciler.close(DRAIN_MS);
  await new Promise((r) => setTimeout(r, 300));
  const during = await plaintext(f, 'during drain');
  assert.equal(during.data, 'during drain', `a new connection during the drain must be served (got ${JSON.stringify(during)})`);
  assert.ok(Date.now() - started < DRAIN_MS, 'the check ran inside the drain window');
  await closing;
  const capture = await checkCapture(f.pod.name, { captureDns: false, agentMark: AGENT_SOCKET_MARK });
  assert.equal(capture.complete, true, `the pod keeps its capture after the agent left: missing ${capture.missing.join('; ')}`);
  // With the agent gone the pod's traffic waits for the next one: nothing reaches the app in plaintext around the mesh.
  const before = f.appConnections.count;
  const after = await plaintext(f, 'after exit');
  assert.equal(after.data, '');
  assert.equal(f.appConnections.count, before);
});
