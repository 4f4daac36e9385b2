// Upgrading the node agents under traffic (issue 15, "Upgrade without dropping
// connections"; docs/operations.md "Upgrading the node agent"): a 2-node cluster with the
// mesh, a tcp-echo Service on node2 and a client on node1; 10 long-lived streams through
// the mesh exchanging bytes every ~100 ms and 20 new connections a second, each a full
// request/response; then `ambientctl upgrade --restart-agents` rolls every agent (the
// DaemonSet surges: each new agent takes its node's listening sockets over from the old
// one, which drains). Asserted: every agent pod was replaced, no new connection failed,
// no stream broke (each one's bytes counted both ways). Needs root: fails in CI without it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireRoot } from '../support/netns.js';
import { BIN, REPO, e2eCluster, ok, sleep, until } from '../support/e2e.js';
import { enrolledNamespacesWithClientYaml } from '../support/e2e-apps.js';

const c = e2eCluster('up');
const CLIENT_NS = 'upgrade-a';
const APP_NS = 'upgrade-b';

const tcpEcho = `apiVersion: v1
kind: Pod
metadata: {name: tcp-echo, namespace: ${APP_NS}, labels: {app: tcp-echo}}
spec:
  nodeName: node2
  containers:
  - name: tcp-echo
    image: ambient-samples/tcp-echo
    env:
    - {name: PORT, value: "9000"}
---
apiVersion: v1
kind: Service
metadata: {name: tcp-echo, namespace: ${APP_NS}}
spec:
  selector: {app: tcp-echo}
  ports: [{name: tcp, port: 9000, targetPort: 9000}]
`;

interface LoadResult {
  newConnections: { ok: number; failed: number; errors: string[] };
  streams: Array<{ sent: number; echoed: number; broken?: string }>;
  ms: number;
}

test('agent_upgrade_under_traffic_refuses_no_connection_and_breaks_no_stream', { timeout: 300_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await c.upWithMesh(t);
  c.applyYaml('apps', enrolledNamespacesWithClientYaml(CLIENT_NS, APP_NS) + tcpEcho);
  await c.readyPods(CLIENT_NS, 'app=client', 1);
  await c.readyPods(APP_NS, 'app=tcp-echo', 1);
  // Both pods enrolled: their capture is in place (the client's traffic goes through its agent).
  for (const [pod, ns] of [['client', CLIENT_NS], ['tcp-echo', APP_NS]] as const) {
    await until(`${ns}/${pod} captured`, () => ok(c.ctl('exec', pod, '-n', ns, '--', 'iptables-save', '-t', 'nat'), 'iptables-save').includes('15001'));
  }
  const vip = (JSON.parse(ok(c.ctl('get', 'service', 'tcp-echo', '-n', APP_NS, '-o', 'json'), 'get service')) as { spec: { clusterIP: string } }).spec.clusterIP;
  const before = c.pods('ambient-system', 'app=ambient-node-agent');
  assert.equal(before.length, 2);

  const stopFile = join(c.home, 'stop-load');
  const load = spawn(process.execPath, [BIN, '--cluster', c.name, 'exec', 'client', '-n', CLIENT_NS, '--', process.execPath, join(REPO, 'dist/test/support/upgrade-load.js'), vip, '9000', stopFile], {
    env: { ...process.env, AMBIENT_HOME: c.home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    // Hooks run in the order they were added: the cluster's teardown (upWithMesh) may have
    // removed its home, stop file included, already. The load ended by then, or is killed.
    if (load.exitCode !== null) return;
    if (existsSync(c.home) && !existsSync(stopFile)) writeFileSync(stopFile, '');
    load.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  load.stdout!.on('data', (d) => (out += d));
  load.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => load.once('exit', r));
  await sleep(3_000); // traffic flowing before the upgrade

  const started = Date.now();
  const up = c.run(process.execPath, [BIN, '--cluster', c.name, 'upgrade', '--restart-agents', '--timeout', '150s'], 170_000);
  ok(up, 'ambientctl upgrade --restart-agents');
  const after = await until('both agents replaced and ready', () => {
    const ps = c.pods('ambient-system', 'app=ambient-node-agent');
    const replaced = ps.length === 2 && ps.every((p) => !before.some((b) => b.metadata.uid === p.metadata.uid || b.metadata.name === p.metadata.name));
    return replaced && ps.every((p) => p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) ? ps : undefined;
  });
  const upgradeMs = Date.now() - started;
  await sleep(3_000); // traffic through the new agents
  writeFileSync(stopFile, '');
  const code = await exited;
  assert.equal(code, 0, `the load exited ${code}: ${err.slice(-2000)}`);
  const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
  const broken = result.streams.filter((s) => s.broken !== undefined);
  const bytes = result.streams.reduce((n, s) => n + s.echoed, 0);
  console.log(
    `agent upgrade under load: ${after.length} agents replaced in ${(upgradeMs / 1000).toFixed(1)} s; ` +
      `new connections ${result.newConnections.ok} ok / ${result.newConnections.failed} failed; ` +
      `long-lived streams ${result.streams.length - broken.length} intact / ${broken.length} broken (${bytes} bytes echoed); traffic ran ${(result.ms / 1000).toFixed(1)} s`,
  );
  assert.deepEqual(result.newConnections.errors, [], 'no new connection failed');
  assert.equal(result.newConnections.failed, 0);
  assert.ok(result.newConnections.ok >= 20 * 5, `steady new connections (${result.newConnections.ok})`);
  assert.equal(result.streams.length, 10);
  assert.deepEqual(broken.map((s) => s.broken), [], 'no long-lived stream broke');
  for (const s of result.streams) {
    assert.ok(s.sent > 0 && s.echoed === s.sent, `every byte of every stream echoed (${s.sent}/${s.echoed})`);
  }
  // The new agents took the sockets over (rather than opening their own).
  const taken = c.agentLog().filter((l) => l['msg'] === 'agent handover: took over from the old agent');
  assert.equal(taken.length, 2, `one takeover per node (${taken.length})`);
});
