// Namespaced tier: the node agent's DaemonSet installs the CNI plugin on its node as on a
// real one. The local cluster's nodes start with a primary conflist without ambient-cni
// (cluster up); once the mesh is installed each node's conflist has it and its bin dir the
// binary; another writer's conflist without it is repaired; a restarted agent leaves every
// rule in place; deleting the DaemonSet (what `ambientctl uninstall` does first) takes the
// plugin, its socket directory and every pod's in-pod rules off the nodes, and the pods
// keep talking as plain pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, echoPodAndService, ok, REPO, until } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { localClusterCniSocket } from '../../node-agent/cni/socket-path.js';

const cluster = e2eCluster('cni');
const { ctl, home } = cluster;
const NAME = cluster.name;
const NODES = ['node1', 'node2'];
const PLUGIN = join(REPO, 'node-agent/cni/build/ambient-cni');

const nodeDir = (node: string) => join(home, 'clusters', NAME, 'nodes', node);
const conflistFile = (node: string) => join(nodeDir(node), 'etc/cni/net.d/10-bridge.conflist');
const binaryFile = (node: string) => join(nodeDir(node), 'opt/cni/bin/ambient-cni');
const conflist = (node: string) => JSON.parse(readFileSync(conflistFile(node), 'utf8')) as { plugins: Array<{ type: string; agentSocket?: string }> };
const types = (node: string) => conflist(node).plugins.map((p) => p.type);

/** The pod's nat table, read from its network namespace directly (no agent involved). */
function natOf(uid: string): string {
  const r = spawnSync('ip', ['netns', 'exec', podNetnsName(NAME, uid), 'iptables-save', '-t', 'nat'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, `iptables-save in the pod's netns: ${r.stderr}`);
  return r.stdout;
}
const captured = (nat: string) => /-A AMB-OUTPUT .*REDIRECT --to-ports 15001/.test(nat) && /-A AMB-PREROUTING .*REDIRECT --to-ports 15006/.test(nat);
const hasOurChains = (nat: string) => /AMB-(OUTPUT|PREROUTING)/.test(nat);

function curl(url: string): string | undefined {
  const r = ctl('exec', 'client', '-n', 'cni-a', '--', 'curl', '-s', '--max-time', '5', url);
  if (r.code !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as { path: string }).path;
  } catch {
    return undefined;
  }
}

function agentDump(node: string): { cni?: { chained: boolean; conflist: string | null; binary: string | null; repairs: number; lastRepair: string | null } } {
  return JSON.parse(ok(ctl('exec', '--node', node, '--', 'curl', '-s', '--max-time', '3', 'http://127.0.0.1:15000/config_dump'), `config_dump of ${node}`));
}

const APPS = `
apiVersion: v1
kind: Namespace
metadata: {name: cni-a, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: cni-a, labels: {app: client}}
spec:
  nodeName: node1
  containers: [{name: client, image: ambient-samples/client}]
---
${echoPodAndService('cni-a', 'node2')}`;

test('cni: the node agents install, repair and on uninstall remove the CNI plugin and every in-pod rule; a restart keeps them', { timeout: 420_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t);

  await t.test('every node has the plugin chained last and its binary installed', () => {
    for (const node of NODES) {
      assert.deepEqual(types(node), ['loopback', 'bridge', 'ambient-cni'], `${node}'s conflist`);
      assert.equal(conflist(node).plugins[2]!.agentSocket, localClusterCniSocket(NAME, node));
      assert.deepEqual(readFileSync(binaryFile(node)), readFileSync(PLUGIN), `${node}'s bin dir has the plugin`);
      const cni = agentDump(node).cni;
      assert.equal(cni?.chained, true);
      assert.equal(cni?.conflist, conflistFile(node));
      assert.equal(cni?.binary, binaryFile(node));
    }
  });

  cluster.applyYaml('apps', APPS);
  const [client] = await cluster.readyPods('cni-a', 'app=client', 1);
  const [echo] = await cluster.readyPods('cni-a', 'app=echo', 1);
  await until('the pods captured', () => captured(natOf(client!.metadata.uid)) && captured(natOf(echo!.metadata.uid)));
  assert.equal(await until('a request through the mesh', () => curl('http://echo.cni-a/meshed')), '/meshed');

  await t.test('a conflist rewritten without ambient-cni is chained again within the check interval', async () => {
    const { plugins, ...rest } = conflist('node1');
    writeFileSync(conflistFile('node1'), JSON.stringify({ ...rest, plugins: plugins.filter((p) => p.type !== 'ambient-cni') }, null, 2));
    assert.deepEqual(types('node1'), ['loopback', 'bridge']);
    await until('node1 chained again', () => types('node1').includes('ambient-cni'), 15_000);
    const cni = await until('the repair reported', () => { const c = agentDump('node1').cni; return c && c.repairs >= 1 ? c : undefined; }, 5_000);
    assert.notEqual(cni.lastRepair, null);
    const metrics = ok(ctl('exec', '--node', 'node1', '--', 'curl', '-s', '--max-time', '3', 'http://127.0.0.1:15020/metrics'), 'metrics of node1');
    assert.match(metrics, /^ambient_agent_cni_chain_repairs_total [1-9]/m);
  });

  await t.test('a restarted agent leaves the chain and every in-pod rule in place', async () => {
    const agent = cluster.pods('ambient-system', 'app=ambient-node-agent').find((p) => p.spec.nodeName === 'node1')!;
    const file = join(home, 'agent-pod.yaml');
    writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${agent.metadata.name}, namespace: ambient-system}\n`);
    ok(ctl('delete', '-f', file), 'delete the agent pod on node1');
    // Sampled from the deletion until a new agent is ready: the old one must not have removed anything.
    const deadline = Date.now() + 30_000;
    let samples = 0;
    for (;;) {
      assert.ok(captured(natOf(client!.metadata.uid)), `the client's capture rules stay while the agent restarts (sample ${samples})`);
      assert.ok(types('node1').includes('ambient-cni'), 'the chain stays');
      assert.ok(existsSync(binaryFile('node1')), 'the binary stays');
      samples++;
      const now = cluster.pods('ambient-system', 'app=ambient-node-agent').filter((p) => p.spec.nodeName === 'node1');
      if (now.length === 1 && now[0]!.metadata.uid !== agent.metadata.uid && now[0]!.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      assert.ok(Date.now() < deadline, 'a new agent on node1 within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(cluster.agentLog().some((l) => l['msg'] === 'node-agent: restarting: every rule stays'), 'the old agent decided it was a restart');
    assert.equal(await until('a request through the mesh after the restart', () => curl('http://echo.cni-a/after-restart'), 20_000), '/after-restart');
  });

  await t.test('deleting the DaemonSet takes the plugin, its socket directory and the in-pod rules off every node; pods talk plainly', async () => {
    const file = join(home, 'agent-ds.yaml');
    writeFileSync(file, 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ambient-node-agent, namespace: ambient-system}\n');
    ok(ctl('delete', '-f', file), 'delete the node-agent DaemonSet');
    await until('no agent pods', () => cluster.pods('ambient-system', 'app=ambient-node-agent').length === 0, 30_000);
    for (const node of NODES) {
      await until(`${node}'s conflist without ambient-cni`, () => !types(node).includes('ambient-cni'), 15_000);
      assert.deepEqual(types(node), ['loopback', 'bridge']);
      await until(`${node}'s binary removed`, () => !existsSync(binaryFile(node)), 5_000);
      await until(`${node}'s socket directory removed`, () => !existsSync(join(localClusterCniSocket(NAME, node), '..')), 5_000);
    }
    for (const pod of [client!, echo!]) {
      const nat = await until(`${pod.metadata.name}'s rules removed`, () => { const n = natOf(pod.metadata.uid); return hasOurChains(n) ? undefined : n; }, 15_000);
      assert.doesNotMatch(nat, /REDIRECT --to-ports 150/);
    }
    const log = cluster.agentLog();
    assert.equal(log.filter((l) => l['msg'] === 'node-agent: uninstalling: taking the mesh off the node').length, 2, 'both agents decided it was an uninstall');
    assert.equal(await until('a plain request between the pods', () => curl('http://echo.cni-a/plain'), 20_000), '/plain');
    // A pod started now gets no ambient-cni and runs plainly.
    cluster.applyYaml('late', `apiVersion: v1\nkind: Pod\nmetadata: {name: late, namespace: cni-a, labels: {app: late}}\nspec:\n  nodeName: node1\n  containers: [{name: client, image: ambient-samples/client}]\n`);
    const [late] = await cluster.readyPods('cni-a', 'app=late', 1);
    assert.equal(hasOurChains(natOf(late!.metadata.uid)), false);
  });
});
