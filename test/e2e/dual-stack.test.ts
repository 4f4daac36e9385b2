// Namespaced tier: the mesh on a dual-stack local cluster (`cluster up --dual-stack`).
// A STRICT namespace's echo pod has IPv4 and IPv6 addresses and kubelet readiness and
// liveness probes. An outsider's plaintext over IPv6 (and IPv4) must not reach it, the
// node's own plaintext neither, while the kubelet's probes (from the probe source) keep it
// Ready and alive, and a mesh client reaches it over IPv6 through HBONE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, isReady, ok, sleep, until } from '../support/e2e.js';

const cluster = e2eCluster('ds');
const { ctl } = cluster;

const { pods: listPods, readyPods } = cluster;

/** One HTTP GET: the echo's JSON answer, or undefined when it did not answer. */
function curl(where: string[], url: string): { pod: string; path: string } | undefined {
  const r = ctl('exec', ...where, '--', 'curl', '-s', '-g', '--max-time', '5', url);
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as { pod: string; path: string };
  } catch {
    return undefined;
  }
}

const APPS = `
apiVersion: v1
kind: Namespace
metadata: {name: ds-mesh, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: ambient.dev/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: ds-mesh}
spec:
  mtls: {mode: STRICT}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ds-mesh, labels: {app: client}}
spec:
  nodeName: node1
  containers: [{name: client, image: ambient-samples/client}]
---
apiVersion: v1
kind: Pod
metadata: {name: outsider, namespace: plain, labels: {app: outsider}}
spec:
  nodeName: node1
  containers: [{name: client, image: ambient-samples/client}]
---
apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: ds-mesh, labels: {app: echo}}
spec:
  nodeName: node2
  containers:
  - name: echo
    image: ambient-samples/echo
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}
    livenessProbe: {tcpSocket: {port: http}, periodSeconds: 1, failureThreshold: 2}
`;

test('dual-stack mesh: IPv6 to a STRICT pod is captured and served, and kubelet probes keep it Ready', { timeout: 300_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const up = await cluster.upWithMesh(t, ['--dual-stack']);
  assert.match(up, /fd00:10:244:1::\/64/);
  cluster.applyYaml('apps', APPS);
  await readyPods('ds-mesh', 'app=client', 1);
  await readyPods('plain', 'app=outsider', 1);
  const [echo] = await readyPods('ds-mesh', 'app=echo', 1);
  const ips = echo!.status.podIPs?.map((p) => p.ip) ?? [];
  assert.equal(ips.length, 2, `a dual-stack pod has two addresses: ${JSON.stringify(ips)}`);
  const [v4, v6] = ips as [string, string];
  assert.match(v6, /^fd00:10:244:2::/);

  // Both families captured in the echo pod.
  const nat6 = ok(ctl('exec', 'echo', '-n', 'ds-mesh', '--', 'ip6tables-save', '-t', 'nat'), 'ip6tables-save');
  assert.match(nat6, /-A AMB-PREROUTING .*REDIRECT --to-ports 15006/);
  assert.match(nat6, /-A AMB-OUTPUT .*REDIRECT --to-ports 15001/);

  // The attacker outside the mesh: plaintext over IPv6, and IPv4, never reaches the app
  // (once the STRICT policy is in the agent's config).
  await until('plaintext over IPv6 to be refused', () => curl(['outsider', '-n', 'plain'], `http://[${v6}]:8080/plain-v6`) === undefined);
  assert.equal(curl(['outsider', '-n', 'plain'], `http://${v4}:8080/plain-v4`), undefined);
  // The node itself is no exception: only its kubelet's probes come from the probe source.
  assert.equal(curl(['--node', 'node2'], `http://${v4}:8080/from-node`), undefined, 'plaintext from the node is refused');

  // A mesh client reaches the pod's IPv6 address: captured by its agent, carried over HBONE.
  assert.equal(curl(['client', '-n', 'ds-mesh'], `http://[${v6}]:8080/mesh-v6`)?.path, '/mesh-v6');
  assert.equal(curl(['client', '-n', 'ds-mesh'], `http://${v4}:8080/mesh-v4`)?.path, '/mesh-v4');

  // Under STRICT the kubelet's probes (period 1 s, one failure is enough to turn it) keep
  // passing: still Ready, never restarted.
  await sleep(4_000);
  const [after] = listPods('ds-mesh', 'app=echo');
  assert.ok(isReady(after!), `the STRICT pod stays Ready on its probes: ${JSON.stringify(after!.status.conditions)}`);
  assert.equal(after!.status.containerStatuses?.[0]?.restartCount, 0, 'its liveness probe passes');
});
