// Namespaced tier: the mesh installed in a namespace of the user's choice
// (`ambientctl install --set rootNamespace=mesh-x`) on the 2-node local cluster: every
// object of it lands there and nothing in ambient-system, two enrolled pods on different
// nodes talk over HBONE with mTLS, a mesh-wide policy put in mesh-x applies, and ambientctl
// finds the mesh there with --mesh-namespace (status, check, upgrade, uninstall, which
// leaves nothing), and without it refuses to upgrade or uninstall, naming mesh-x.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireRoot } from '../support/netns.js';
import { BIN, curlJson, e2eCluster, ok, throughMesh, until } from '../support/e2e.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('rootns');
const { ctl, run, name } = cluster;
const MESH_NS = 'mesh-x';
const CLIENT_NS = 'rootns-a';
const APP_NS = 'rootns-b';

/** ambientctl with a longer bound than ctl's 60 s (check and uninstall wait for the cluster). */
const ambientctl = (...args: string[]) => run(process.execPath, [BIN, '--cluster', name, ...args], 200_000);

const curl = () => curlJson<{ pod?: string }>(cluster, 'client', CLIENT_NS, `http://echo.${APP_NS}/hello`, 4);

const names = cluster.names;

test('root_namespace: install --set rootNamespace=mesh-x, HBONE mTLS between two pods, mesh-wide policy from mesh-x, check and uninstall with --mesh-namespace', { timeout: 600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t, [], [`rootNamespace=${MESH_NS}`]);

  // Everything of the mesh is in mesh-x; ambient-system does not exist.
  assert.deepEqual(names('namespace').filter((n) => n === 'ambient-system'), [], 'no ambient-system namespace');
  await cluster.readyPods(MESH_NS, 'app=ambient-controller', 2);
  await cluster.readyPods(MESH_NS, 'app=ambient-node-agent', 2);
  assert.deepEqual(names('configmap', '-n', MESH_NS).filter((n) => n === 'ambient-ca-root'), ['ambient-ca-root'], 'the controller published its roots in mesh-x');
  assert.ok(names('secret', '-n', MESH_NS).includes('ambient-ca'), 'the CA Secret is in mesh-x');

  // Two enrolled pods on different nodes: client (node1) to echo (node2), through both agents.
  cluster.applyYaml('apps', `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS)}${echoPodYaml(APP_NS, 'echo', 'app: echo')}---\n${httpServiceYaml(APP_NS, 'echo', 'app: echo')}`);
  await cluster.readyPods(CLIENT_NS, 'app=client', 1);
  const [echo] = await cluster.readyPods(APP_NS, 'app=echo', 1);
  assert.equal(echo!.spec.nodeName, 'node2');
  const { answer, inbound } = await throughMesh(cluster, 'the client to reach echo through the mesh', curl);
  assert.equal(answer.pod, 'echo');
  assert.equal(inbound[0]!['mtls'], true, 'mutual TLS');
  assert.equal(inbound[0]!['src.identity'], `spiffe://cluster.local/ns/${CLIENT_NS}/sa/client`, 'the client proved its identity with a certificate the controller in mesh-x signed');
  assert.ok(Number(inbound[0]!['bytes_recv']) > 0 && Number(inbound[0]!['bytes_sent']) > 0, `bytes went both ways: ${JSON.stringify(inbound[0])}`);

  // mesh-x is the root namespace: a policy without a selector there applies to every workload.
  const deny = cluster.applyYaml('deny', `apiVersion: ambient.dev/v1
kind: AuthorizationPolicy
metadata: {name: deny-client, namespace: ${MESH_NS}}
spec:
  action: DENY
  rules:
  - from:
    - source: {principals: [cluster.local/ns/${CLIENT_NS}/sa/client]}
`);
  await until('the mesh-wide DENY in mesh-x to refuse the client', () => curl() === undefined, 30_000);
  ok(ctl('delete', '-f', deny), 'delete the mesh-wide policy');
  await until('the client to reach echo again', () => curl()?.pod === 'echo', 30_000);

  // ambientctl finds the mesh in mesh-x: the controller's API (status), every check.
  ok(ambientctl('--mesh-namespace', MESH_NS, 'status'), 'status --mesh-namespace');
  let last = ambientctl('--mesh-namespace', MESH_NS, 'check');
  await until('ambientctl --mesh-namespace mesh-x check to pass', () => (last = ambientctl('--mesh-namespace', MESH_NS, 'check')).code === 0, 60_000).catch(() => assert.fail(`check failed:\n${last.stdout}\n${last.stderr}`));
  assert.ok(last.stdout.includes(`√ the controller Deployment ${MESH_NS}/ambient-controller exists\n`), last.stdout);
  assert.match(last.stdout, /√ a node agent is ready on every node\n/);
  // The environment variable does the same.
  const byEnv = spawnWithEnv(['status'], { AMBIENT_MESH_NAMESPACE: MESH_NS });
  assert.equal(byEnv.code, 0, byEnv.stderr);
  // Without it, check does not take the mesh's CRDs and ClusterRoles for remnants: it says where the mesh is.
  const plain = ambientctl('check');
  assert.equal(plain.code, 1, plain.stdout + plain.stderr);
  assert.match(plain.stdout, /it is installed in mesh-x\.[\s\S]*fix: ambientctl --mesh-namespace mesh-x check/);
  assert.doesNotMatch(plain.stdout, /CRDs/);

  // upgrade finds the installed settings in mesh-x and keeps the mesh there; without
  // --mesh-namespace it names where the mesh is.
  const lost = ambientctl('upgrade', '--timeout', '60s');
  assert.notEqual(lost.code, 0);
  assert.match(lost.stderr, /not installed in ambient-system .*it is in mesh-x: ambientctl --mesh-namespace mesh-x upgrade/);
  const upgraded = ambientctl('--mesh-namespace', MESH_NS, 'upgrade', '--timeout', '120s');
  ok(upgraded, 'upgrade --mesh-namespace');
  assert.match(upgraded.stderr, /keeping the installed settings: rootNamespace=mesh-x\n/);
  assert.match(upgraded.stdout, /daemonset\.apps\/ambient-node-agent unchanged/);
  assert.match(upgraded.stdout, /deployment\.apps\/ambient-controller unchanged/, 'the recorded settings are the same');
  assert.deepEqual(names('namespace').filter((n) => n === 'ambient-system'), [], 'still nothing in ambient-system');

  // Without --mesh-namespace, uninstall refuses to remove the shared CRDs and ClusterRoles under it.
  const wrong = ambientctl('uninstall', '--yes');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /not installed in ambient-system but in mesh-x: ambientctl --mesh-namespace mesh-x uninstall/);
  assert.ok(names('daemonset', '-n', MESH_NS).includes('ambient-node-agent'), 'nothing removed');

  const gone = ambientctl('--mesh-namespace', MESH_NS, 'uninstall', '--yes', '--timeout', '120s');
  ok(gone, 'uninstall');
  assert.match(gone.stdout, /namespace\/mesh-x deleted/);
  assert.match(gone.stderr, /the mesh is uninstalled/);
  assert.deepEqual(names('namespace').filter((n) => n === MESH_NS), [], 'mesh-x is gone');
  assert.deepEqual(names('pods', '-A').filter((n) => n.startsWith('ambient-')), [], 'no mesh pod left');
  const after = ambientctl('--mesh-namespace', MESH_NS, 'check');
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /nothing of it is left\./);
  assert.ok(after.stdout.includes(`√ no namespace ${MESH_NS}\n`), after.stdout);
  // And the pods still talk, plainly.
  assert.equal((await until('the client to reach echo without the mesh', () => curl(), 30_000)).pod, 'echo');
});

function spawnWithEnv(args: string[], env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return ambientctl(...args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
