// Namespaced tier: `ambientctl check` on the local cluster, as a user runs it: after the
// mesh is installed every check passes (exit 0); an agent that is not ready fails the
// agent and CNI checks naming its node (exit 1); `check --pre` on the installed cluster
// warns that the mesh is there and passes the nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, until, type RunResult } from '../support/e2e.js';

const cluster = e2eCluster('check');

/** Runs `check` until `want` holds; on timeout fails with the last output. */
async function checkUntil(what: string, args: string[], want: (r: RunResult) => boolean): Promise<RunResult> {
  let last: RunResult | undefined;
  try {
    return await until(what, () => {
      last = cluster.ctl('check', ...args);
      return want(last) ? last : undefined;
    });
  } catch (err) {
    assert.fail(`${(err as Error).message}; the last check (exit ${last?.code}):\n${last?.stdout}\n${last?.stderr}`);
  }
}

test('check_passes_on_the_installed_mesh_and_names_a_node_whose_agent_is_not_ready', { timeout: 600_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t);

  const healthy = await checkUntil('ambientctl check to pass', [], (r) => r.code === 0);
  for (const line of [
    '√ the controller Deployment ambient-system/ambient-controller exists',
    "√ the controller's replicas are all ready",
    "√ the controller's API answers",
    '√ a node agent is ready on every node',
    "√ every node's CNI plugin is installed and chained (judged by its agent's readiness)",
    "√ the mesh's CA certificates are valid",
    '√ the controller and workload certificates are valid and rotating',
    "√ the node agents are on the controller's current config version",
  ]) {
    assert.ok(healthy.stdout.includes(`${line}\n`), `missing "${line}" in:\n${healthy.stdout}`);
  }
  assert.match(healthy.stdout, /Status check results are √ \(\d+ passed, 0 warnings, 0 failed\)\n$/);
  const json = JSON.parse(cluster.ctl('check', '-o', 'json').stdout) as { mode: string; success: boolean };
  assert.deepEqual([json.mode, json.success], ['installed', true]);

  const pre = cluster.ctl('check', '--pre');
  assert.match(pre.stdout, /√ the nodes run Linux\n/);
  assert.match(pre.stdout, /‼ the mesh is not installed yet\n {4}found: namespace ambient-system; Deployment ambient-system\/ambient-controller; DaemonSet ambient-system\/ambient-node-agent/);

  // The agent of node2 stops being ready: its readiness probe's port is closed by a rule
  // in the node's namespace, as when the agent cannot chain its plugin.
  const block = ['iptables', '-I', 'INPUT', '-p', 'tcp', '--dport', '15021', '-j', 'REJECT'];
  const blocked = cluster.ctl('exec', '--node', 'node2', '--', ...block);
  assert.equal(blocked.code, 0, blocked.stderr);
  t.after(() => cluster.ctl('exec', '--node', 'node2', '--', 'iptables', '-D', ...block.slice(2)));
  const failing = await checkUntil('ambientctl check to fail on node2', [], (r) => r.code === 1 && r.stdout.includes('× a node agent is ready on every node'));
  assert.match(failing.stdout, /× a node agent is ready on every node\n {4}1 of 2 nodes have an updated, ready agent\n(?: {4}.*\n)*? {4}pod ambient-node-agent-\S+ on node2: /);
  assert.match(failing.stdout, /× every node's CNI plugin is installed and chained \(judged by its agent's readiness\)\n {4}not known to be chained on: node2;/);
  assert.match(failing.stdout, /√ the controller's replicas are all ready\n/);
});
