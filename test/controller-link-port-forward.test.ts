// ambientctl's link to the controller (cli/controller-link.ts) over the local API server's
// pods/portforward: a stand-in controller (HTTPS on 127.0.0.1:15014 with a serving
// certificate from the mesh CA) inside a test network namespace, reached as on a real
// cluster: pod choice, port-forward, TLS verified with the roots ConfigMap. Needs root.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { spiffeId } from '../core/identity/spiffe.js';
import { ROOT_CONFIGMAP, ROOT_KEY } from '../core/kube/controller-discovery.js';
import { MESH_PORTS } from '../core/ports.js';
import { listenInNetns } from '../core/syscalls.js';
import { issueServingCertificate } from '../controller/serving-cert.js';
import { CONTROLLER_HOST, CONTROLLER_NAMESPACE, openControllerLink } from '../cli/controller-link.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { Netns, requireRoot } from './support/netns.js';
import { readAll } from './support/net.js';
import { newCa } from './support/pki.js';
import { startRedis, type TestRedis } from './support/redis.js';

let redis: TestRedis | undefined;
let withController: Netns | undefined;
let empty: Netns | undefined;
let listener: net.Server | undefined;
let controller: https.Server | undefined;
let dir: string | undefined;
const servers: ApiServer[] = [];
let roots = '';
const seen: string[] = [];

before(async () => {
  if (process.getuid?.() !== 0) return;
  redis = await startRedis();
  withController = await Netns.create('pflink');
  empty = await Netns.create('pflink0');
  dir = mkdtempSync(join(tmpdir(), 'pflink-'));
  const ca = await newCa();
  roots = ca.trustBundle.toPem();
  const serving = await issueServingCertificate(ca, { dnsName: CONTROLLER_HOST, identity: spiffeId(CONTROLLER_NAMESPACE, 'ambient-controller', ca.trustDomain), ttlMs: 3_600_000 });
  controller = https.createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ controller: 'stand-in' }));
  });
  listener = await listenInNetns(withController.path, { host: '127.0.0.1', port: MESH_PORTS.api }, (s) => controller!.emit('connection', s));
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  listener?.close();
  controller?.closeAllConnections();
  await withController?.destroy();
  await empty?.destroy();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An API server whose controller pod lives in `netns`, and a kubeconfig for it. */
async function clusterWithController(netns: Netns, name: string): Promise<{ kubeconfig: string; token: string }> {
  const api = await startApiServer({ redisUrl: redis!.url, prefix: `${name}:`, podNetns: () => netns.path });
  servers.push(api);
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 201, `${path}: ${await res.text()}`);
  };
  await post('/api/v1/namespaces', { metadata: { name: CONTROLLER_NAMESPACE } });
  await post(`/api/v1/namespaces/${CONTROLLER_NAMESPACE}/configmaps`, { metadata: { name: ROOT_CONFIGMAP }, data: { [ROOT_KEY]: roots } });
  await post(`/api/v1/namespaces/${CONTROLLER_NAMESPACE}/pods`, {
    metadata: { name: 'ambient-controller-0', labels: { app: 'ambient-controller' } },
    spec: { nodeName: 'node1', containers: [{ name: 'controller', image: 'controller' }] },
  });
  const res = await fetch(`${api.url}/api/v1/namespaces/${CONTROLLER_NAMESPACE}/pods/ambient-controller-0/status`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify({ status: { phase: 'Running', podIP: '10.244.1.9' } }),
  });
  assert.equal(res.status, 200);
  // The user: a ServiceAccount of ambient-system with what the link needs (RBAC alone governs
  // that namespace's ServiceAccounts): find the leader and its pod, port-forward to it.
  await post(`/api/v1/namespaces/${CONTROLLER_NAMESPACE}/serviceaccounts`, { metadata: { name: 'operator' } });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${CONTROLLER_NAMESPACE}/roles`, {
    metadata: { name: 'operator' },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['pods/portforward'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [ROOT_CONFIGMAP], verbs: ['get'] },
    ],
  });
  await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${CONTROLLER_NAMESPACE}/rolebindings`, {
    metadata: { name: 'operator' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'operator' },
    subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: CONTROLLER_NAMESPACE }],
  });
  const tr = await fetch(`${api.url}/api/v1/namespaces/${CONTROLLER_NAMESPACE}/serviceaccounts/operator/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(tr.status, 201);
  const token = ((await tr.json()) as { status: { token: string } }).status.token;
  const file = join(dir!, `${name}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return { kubeconfig: file, token };
}

test('controller_link_reaches_the_controller_through_the_local_api_servers_port_forward', async (t: TestContext) => {
  if (!requireRoot(t)) return;
  const { kubeconfig, token } = await clusterWithController(withController!, 'pflink-ok');
  const link = await openControllerLink({ kubeconfig, cluster: 'no-such-local-cluster' });
  assert.match(link.via, /^port-forward through the API server/);
  for (let i = 0; i < 2; i++) {
    // Each connect() is a stream of its own, verified TLS to the controller's name.
    const s = await link.connect();
    s.end(`GET /api/v1/status?n=${i} HTTP/1.1\r\nhost: ${CONTROLLER_HOST}\r\nauthorization: Bearer ${(await link.credentials()).token}\r\nconnection: close\r\n\r\n`);
    const answer = (await readAll(s, 10_000)).toString();
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.match(answer, /\r\n\{"controller":"stand-in"\}\r\n0\r\n\r\n$/);
  }
  assert.deepEqual(seen, [`GET /api/v1/status?n=0 Bearer ${token}`, `GET /api/v1/status?n=1 Bearer ${token}`]);
});

test('controller_link_says_why_when_nothing_listens_in_the_controller_pod', async (t: TestContext) => {
  if (!requireRoot(t)) return;
  const { kubeconfig } = await clusterWithController(empty!, 'pflink-none');
  const link = await openControllerLink({ kubeconfig, cluster: 'no-such-local-cluster' });
  await assert.rejects(link.connect(), /port-forward to ambient-system\/ambient-controller-0:15014: error forwarding port 15014 to pod ambient-system\/ambient-controller-0, uid [0-9a-f-]+: .*(ECONNREFUSED|refused)/);
});
