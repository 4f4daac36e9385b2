// Namespaced tier: the mesh installed and removed as a user does it on any cluster, here the
// 2-node local cluster: `ambientctl install` (server-side apply, progress on stderr, waits
// for the controller and both agents), a second install that changes nothing, traffic
// between enrolled pods carried over HBONE, `ambientctl uninstall --yes` removing every
// object it created, and the same pods talking plainly afterwards.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { requireRoot } from '../support/netns.js';
import { BIN, curlJson, e2eCluster, ok, throughMesh, until } from '../support/e2e.js';
import { echoPodYaml, enrolledNamespacesWithClientYaml, httpServiceYaml } from '../support/e2e-apps.js';

const cluster = e2eCluster('install');
const { ctl, run, name } = cluster;
const CLIENT_NS = 'inst-a';
const APP_NS = 'inst-b';

/** ambientctl with a longer bound than ctl's 60 s (install and uninstall wait for pods). */
const ambientctl = (...args: string[]) => run(process.execPath, [BIN, '--cluster', name, ...args], 200_000);

const curl = () => curlJson<{ pod?: string; path?: string }>(cluster, 'client', CLIENT_NS, `http://echo.${APP_NS}/hello`, 5);

const names = cluster.names;

test('install: ambientctl install twice (the second a no-op), traffic over the mesh, uninstall leaves plain working pods', { timeout: 300_000 }, async (t) => {
  if (!requireRoot(t)) return;
  t.after(() => {
    if (process.env['AMBIENT_E2E_KEEP'] === '1') return;
    ctl('cluster', 'down');
    rmSync(cluster.home, { recursive: true, force: true });
  });
  ok(ctl('cluster', 'up', '--nodes', '2'), 'cluster up');

  const first = ambientctl('install', '--timeout', '120s');
  ok(first, 'install');
  assert.match(first.stderr, /installing the mesh on /);
  assert.match(first.stdout, /deployment\.apps\/ambient-controller created/);
  assert.match(first.stdout, /daemonset\.apps\/ambient-node-agent created/);
  assert.match(first.stderr, /waiting for daemonset ambient-node-agent: /, 'progress while the agents start');
  assert.match(first.stderr, /daemonset ambient-node-agent: 2 of 2 nodes have an updated, ready agent/);
  assert.match(first.stderr, /the mesh is installed/);

  const rv = () => JSON.parse(ok(ctl('get', 'deployment', 'ambient-controller', '-n', 'ambient-system', '-o', 'json'), 'get deployment')).metadata.resourceVersion as string;
  const before = rv();
  const second = ambientctl('install', '--timeout', '60s');
  ok(second, 'second install');
  assert.doesNotMatch(second.stdout, /created|configured/, `a second install changes nothing:\n${second.stdout}`);
  assert.match(second.stdout, /deployment\.apps\/ambient-controller unchanged/);
  assert.equal(rv(), before, 'the controller Deployment was not written');

  // Objects present: the controller's and the agents' ServiceAccounts, both agents and two controllers ready.
  assert.deepEqual(names('serviceaccount', '-n', 'ambient-system').filter((n) => n.startsWith('ambient-')).sort(), ['ambient-controller', 'ambient-node-agent']);
  await cluster.readyPods('ambient-system', 'app=ambient-controller', 2);
  await cluster.readyPods('ambient-system', 'app=ambient-node-agent', 2);
  const managed = JSON.parse(ok(ctl('get', 'daemonset', 'ambient-node-agent', '-n', 'ambient-system', '-o', 'json'), 'get daemonset')).metadata.managedFields as Array<{ manager: string; operation: string }>;
  assert.ok(managed.some((m) => m.manager === 'ambientctl' && m.operation === 'Apply'), 'applied server-side by ambientctl');

  // Traffic between enrolled pods goes through both agents.
  cluster.applyYaml('apps', `${enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS)}${echoPodYaml(APP_NS, 'echo', 'app: echo')}---\n${httpServiceYaml(APP_NS, 'echo', 'app: echo')}`);
  await cluster.readyPods(CLIENT_NS, 'app=client', 1);
  await cluster.readyPods(APP_NS, 'app=echo', 1);
  const { answer, inbound: hbone } = await throughMesh(cluster, 'the client to reach echo through the mesh', curl);
  assert.equal(answer.pod, 'echo');
  assert.equal(hbone[0]!['mtls'], true);

  // Uninstall without --yes and without a terminal refuses; with --yes it removes everything.
  const refused = ambientctl('uninstall');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /needs confirmation: .*--yes/);
  assert.ok(names('daemonset', '-n', 'ambient-system').includes('ambient-node-agent'), 'nothing removed without confirmation');

  const gone = ambientctl('uninstall', '--yes', '--timeout', '120s');
  ok(gone, 'uninstall');
  assert.match(gone.stdout, /daemonset\.apps\/ambient-node-agent deleted/);
  assert.match(gone.stdout, /namespace\/ambient-system deleted/);
  assert.match(gone.stdout, /clusterrole\.rbac\.authorization\.k8s\.io\/ambient-controller deleted/);
  assert.match(gone.stderr, /the mesh is uninstalled/);
  assert.deepEqual(names('namespace').filter((n) => n === 'ambient-system'), [], 'the namespace is gone');
  assert.deepEqual(names('pods', '-A').filter((n) => n.startsWith('ambient-')), [], 'no mesh pod left');
  assert.ok(!names('gatewayclass').includes('ambient-waypoint'), "the controller's GatewayClass is removed");
  for (const sa of ['ambient-controller', 'ambient-node-agent']) assert.deepEqual(names('serviceaccount', '-A').filter((n) => n === sa), [], `${sa} gone`);

  // The same pods still talk, plainly: the echo answers, and no agent logs it any more.
  const plain = await until('the client to reach echo without the mesh', () => curl(), 30_000);
  assert.equal(plain.pod, 'echo');

  const again = ambientctl('uninstall', '--yes');
  ok(again, 'uninstall when nothing is installed');
  assert.match(again.stderr, /nothing to remove/);
});
