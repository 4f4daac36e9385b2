// Namespaced tier: the L4 mesh on the 2-node local cluster, driven as a user would
// (ambientctl, the mesh's own manifests). A client pod on node1 (namespace mesh-a, its own
// ServiceAccount) talks to an echo Service whose pod is on node2 (namespace mesh-b);
// a pod in namespace "plain" stays out of the mesh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRoot } from '../support/netns.js';
import { BIN, e2eCluster, echoPodAndService, isReady, ok, REPO, sleep, until } from '../support/e2e.js';
import { nodeNetnsName } from '../../local-cluster/network/topology.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { certificateInfo, createCsr, generateKeyPem } from '../../core/identity/x509.js';
import { connectInNetns, netnsPath } from '../../core/syscalls.js';
import { ControllerClient, type ControllerError } from '../../node-agent/controller-client/client.js';

const cluster = e2eCluster('mesh');
const { home, run, ctl } = cluster;
const NAME = cluster.name;
const CLIENT_ID = 'spiffe://cluster.local/ns/mesh-a/sa/client';

const { pods: listPods, readyPods } = cluster;

/** The nat table inside a pod. */
/** `ambientctl status|workloads|certificates` read the controller's API as this ServiceAccount. */
const natOf = (pod: string, ns: string) => ok(ctl('exec', pod, '-n', ns, '--', 'iptables-save', '-t', 'nat'), `iptables-save in ${pod}`);
const captured = (nat: string) => /-A AMB-OUTPUT .*REDIRECT --to-ports 15001/.test(nat) && /-A AMB-PREROUTING .*REDIRECT --to-ports 15006/.test(nat);

/** One HTTP GET from a pod: the echo's JSON answer, or undefined when it did not answer. */
function curl(pod: string, ns: string, url: string): { pod: string; path: string } | undefined {
  const r = ctl('exec', pod, '-n', ns, '--', 'curl', '-s', '--max-time', '5', url);
  if (r.code !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as { pod: string; path: string };
  } catch {
    return undefined;
  }
}

/** The access-log lines of the agent on `node` so far. */
function accessLog(node: string): Array<Record<string, unknown>> {
  const lines = cluster.agentLog().filter((r) => r['msg'] === 'connection');
  const ip = node === 'node1' ? '10.244.1.' : '10.244.2.';
  // Lines from the agent of `node`: the pods it serves have that node's pod addresses.
  return lines.filter((r) => String(r['direction']).startsWith('inbound') ? String(r['dst.addr'] ?? '').startsWith(ip) : String(r['src.addr'] ?? '').startsWith(ip));
}

/** Runs tcpdump on a node's link while `during` runs; returns the capture's bytes. */
async function capture(node: number, during: () => void | Promise<void>): Promise<Buffer> {
  const file = join(home, `node${node}-${Date.now()}.pcap`);
  const dump = spawn('ip', ['netns', 'exec', nodeNetnsName(NAME, node), 'tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-s', '0', '-w', file, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  dump.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await until('tcpdump to start', () => err.includes('listening on'), 10_000);
  try {
    await during();
    await sleep(300);
  } finally {
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));
  }
  return readFileSync(file);
}

function metrics(node: string): string {
  return ok(ctl('exec', '--node', node, '--', 'curl', '-s', '--max-time', '3', 'http://127.0.0.1:15020/metrics'), `metrics of ${node}`);
}

const APPS = `
apiVersion: v1
kind: Namespace
metadata: {name: mesh-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: mesh-b}
---
apiVersion: v1
kind: Namespace
metadata: {name: plain}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: mesh-a}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: mesh-a, labels: {app: client}}
spec:
  nodeName: node1
  serviceAccountName: client
  containers: [{name: client, image: ambient-samples/client}]
---
apiVersion: v1
kind: Pod
metadata: {name: outsider, namespace: plain, labels: {app: outsider}}
spec:
  nodeName: node1
  containers: [{name: client, image: ambient-samples/client}]
---
${echoPodAndService('mesh-b', 'node2')}`;

test('mesh: labelling namespaces carries pod traffic over HBONE with mTLS, observably, and survives the controller and agent restarts', { timeout: 420_000 }, async (t) => {
  if (!requireRoot(t)) return;
  await cluster.upWithMesh(t); // AMBIENT_E2E_KEEP=1 leaves the cluster and its logs for a look
  cluster.applyYaml('apps', APPS);
  await readyPods('mesh-a', 'app=client', 1);
  await readyPods('mesh-b', 'app=echo', 1);
  await readyPods('plain', 'app=outsider', 1);

  await t.test('not enrolled: plain TCP, the payload is visible on the node link', async () => {
    assert.equal(captured(natOf('client', 'mesh-a')), false);
    let answer: ReturnType<typeof curl>;
    const pcap = await capture(2, () => {
      answer = curl('client', 'mesh-a', 'http://echo.mesh-b/MARKER-PLAIN-7f3a');
    });
    assert.equal(answer!?.pod, 'echo');
    assert.ok(pcap.includes('MARKER-PLAIN-7f3a'), 'the capture sees plaintext (so the next check can fail)');
  });

  await t.test('labelling the namespaces captures running pods without a restart', async () => {
    ok(ctl('label', 'namespace', 'mesh-a', 'ambient.dev/dataplane-mode=ambient'), 'label mesh-a');
    ok(ctl('label', 'namespace', 'mesh-b', 'ambient.dev/dataplane-mode=ambient'), 'label mesh-b');
    await until('the client pod to be captured', () => captured(natOf('client', 'mesh-a')));
    await until('the echo pod to be captured', () => captured(natOf('echo', 'mesh-b')));
    assert.equal(captured(natOf('outsider', 'plain')), false, 'a pod of an unlabelled namespace is left alone');
    const [client] = listPods('mesh-a', 'app=client');
    assert.equal(client!.status.phase, 'Running');
    assert.deepEqual((client as unknown as { status: { containerStatuses: Array<{ restartCount: number }> } }).status.containerStatuses.map((c) => c.restartCount), [0]);
  });

  await t.test('client on node1 reaches the echo Service on node2 over HBONE: TLS on the wire, identity in log and metrics', async () => {
    const before = accessLog('node2').length;
    let answer: ReturnType<typeof curl>;
    const pcap = await capture(2, () => {
      answer = curl('client', 'mesh-a', 'http://echo.mesh-b/MARKER-MESH-9c1e');
    });
    assert.equal(answer!?.pod, 'echo');
    assert.equal(answer!?.path, '/MARKER-MESH-9c1e');
    assert.equal(pcap.includes('MARKER-MESH-9c1e'), false, 'the payload never crosses the node link in plaintext');
    const hbone = run('tcpdump', ['-nr', join(home, readdirSync(home).filter((f) => f.startsWith('node2-')).sort().at(-1)!), 'tcp dst port 15008']);
    assert.ok(hbone.stdout.trim().split('\n').filter(Boolean).length > 0, `packets to 15008 seen:\n${hbone.stdout}${hbone.stderr}`);

    const lines = await until('the destination agent to log the connection', () => {
      const ls = accessLog('node2').slice(before).filter((l) => l['direction'] === 'inbound-hbone');
      return ls.length > 0 ? ls : undefined;
    });
    assert.equal(lines[0]!['src.identity'], CLIENT_ID);
    assert.equal(lines[0]!['dst.identity'], 'spiffe://cluster.local/ns/mesh-b/sa/default');
    assert.equal(lines[0]!['mtls'], true);
    const m = metrics('node2');
    assert.match(
      m,
      new RegExp(`istio_tcp_connections_closed_total\\{reporter="destination",[^}]*source_principal="${CLIENT_ID}"[^}]*connection_security_policy="mutual_tls"\\} [1-9]`),
    );
    assert.match(m, /istio_tcp_received_bytes_total\{reporter="destination",[^}]*\} [1-9]/);
    assert.match(m, new RegExp(`istio_tcp_connections_opened_total\\{reporter="destination",[^}]*source_principal="${CLIENT_ID}"[^}]*\\} [1-9]`));
    const src = accessLog('node1').filter((l) => l['direction'] === 'outbound' && l['plan'] === 'hbone');
    assert.ok(src.some((l) => l['src.identity'] === CLIENT_ID && l['dst.service'] === 'echo.mesh-b.svc.cluster.local'), 'the source agent logs it too');
  });

  await t.test('ambientctl status and workloads show the agents, the enrolled pods and the identities', async () => {
    // Through the controller's API with the admin kubeconfig's token, as a user runs them.
    const status = await until('both agents to have acknowledged the current version', () => {
      const s = JSON.parse(ok(ctl('status', '-o', 'json'), 'status')) as {
        configVersion: string;
        nodes: Array<{ node: string; connected: boolean; enrolled?: number; acked?: string; controllerVersion: string }>;
        problems: string[];
      };
      return s.nodes.length === 2 && s.nodes.every((n) => n.acked === n.controllerVersion) ? s : undefined;
    });
    assert.deepEqual(status.nodes.map((n) => [n.node, n.connected, n.enrolled]), [['node1', true, 1], ['node2', true, 1]]);
    assert.deepEqual(status.problems, []);
    const workloads = JSON.parse(ok(ctl('workloads', '-o', 'json'), 'workloads')) as Array<{ name: string; namespace: string; protocol: string; identity: string }>;
    const client = workloads.find((w) => w.namespace === 'mesh-a' && w.name === 'client');
    assert.equal(client?.protocol, 'HBONE');
    assert.equal(client?.identity, CLIENT_ID);
    assert.equal(workloads.find((w) => w.namespace === 'plain')?.protocol, 'TCP');
    // DNS: a query (c-ares straight to the pod's nameserver, no hosts file) is captured
    // and answered by the agent's proxy on 15053 with the Service's VIP.
    const svc = JSON.parse(ok(ctl('get', 'svc', 'echo', '-n', 'mesh-b', '-o', 'json'), 'get svc')) as { spec: { clusterIP: string } };
    const lookup = "require('node:dns').promises.resolve4('echo.mesh-b.svc.cluster.local').then((a) => console.log(a.join(',')))";
    assert.equal(ok(ctl('exec', 'client', '-n', 'mesh-a', '--', process.execPath, '-e', lookup), 'DNS lookup').trim(), svc.spec.clusterIP);
    const certs = ok(ctl('certificates', '--node', 'node1'), 'certificates');
    assert.match(certs, new RegExp(CLIENT_ID.replace(/[/.]/g, '\\$&')));
  });

  await t.test("an agent's token gets its own node's identities signed and no other's; a policy the mesh cannot honour is reported alone", async (t) => {
    const podsDir = join(home, 'clusters', NAME, 'pods');
    const agent = listPods('ambient-system', 'app=ambient-node-agent').find((p) => p.spec.nodeName === 'node1')!;
    const dir = readdirSync(podsDir).find((d) => d.startsWith(`ambient-system_${agent.metadata.name}_`))!;
    const token = join(podsDir, dir, 'volumes', 'controller-token', 'token'); // the projected token for the controller's audience
    const cm = JSON.parse(ok(ctl('get', 'configmap', 'ambient-ca-root', '-n', 'ambient-system', '-o', 'json'), 'get roots')) as { data: Record<string, string> };
    const svc = JSON.parse(ok(ctl('get', 'svc', 'ambient-controller', '-n', 'ambient-system', '-o', 'json'), 'get controller svc')) as { spec: { clusterIP: string } };
    // The controller's Service address is reachable only from the cluster: dial it from node1's namespace, as node1's agent.
    const asNode1 = new ControllerClient({
      address: { host: svc.spec.clusterIP, port: 15012 },
      roots: [cm.data['root-cert.pem']!],
      controllerIdentity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-controller',
      token: () => readFileSync(token, 'utf8').trim(),
      node: 'node1',
      connectTransport: (a) => connectInNetns(netnsPath(nodeNetnsName(NAME, 1)), { host: a.host, port: a.port, timeoutMs: 5_000 }),
    });
    t.after(() => asNode1.close());
    const sign = async (namespace: string, sa: string) => asNode1.requestCertificate(createCsr(await generateKeyPem(), spiffeId(namespace, sa)));
    const own = await sign('mesh-a', 'client');
    assert.deepEqual(certificateInfo(own.chain[0]!).uris, [CLIENT_ID], 'the client runs on node1');
    await assert.rejects(sign('mesh-b', 'default'), (err: ControllerError) => {
      assert.equal(err.status, 403, 'echo runs on node2 only');
      assert.equal(err.code, 'AMB_CTRL_CSR_DENIED');
      return true;
    });

    // A PeerAuthentication the API server accepts (its schema allows DISABLE) and the mesh
    // cannot honour is reported, and everything else keeps flowing.
    const bad = join(home, 'bad-pa.yaml');
    writeFileSync(bad, 'apiVersion: ambient.dev/v1\nkind: PeerAuthentication\nmetadata: {name: bogus, namespace: mesh-b}\nspec:\n  mtls: {mode: DISABLE}\n');
    ok(ctl('apply', '-f', bad), 'apply a PeerAuthentication the mesh cannot honour');
    const problems = await until('the problem to be reported', () => {
      const st = JSON.parse(ok(ctl('status', '-o', 'json'), 'status')) as { problems: string[] };
      return st.problems.some((p) => p.includes('bogus')) ? st.problems : undefined;
    });
    assert.ok(problems.some((p) => p.includes('bogus') && p.includes('DISABLE is not supported')), problems.join('\n'));
    assert.equal(curl('client', 'mesh-a', 'http://echo.mesh-b/despite-bad-policy')?.path, '/despite-bad-policy');
    ok(ctl('delete', '-f', bad), 'delete it');
  });

  await t.test('a pod created in an enrolled namespace is captured from its start', async () => {
    const late = 'apiVersion: v1\nkind: Pod\nmetadata: {name: late, namespace: mesh-a, labels: {app: late}}\nspec:\n  nodeName: node1\n  containers: [{name: c, image: ambient-samples/client}]\n';
    const f = join(home, 'late.yaml');
    writeFileSync(f, late);
    ok(ctl('apply', '-f', f), 'apply late pod');
    await readyPods('mesh-a', 'app=late', 1);
    assert.ok(captured(natOf('late', 'mesh-a')), 'rules are in place as soon as the pod runs');
    assert.equal(curl('late', 'mesh-a', 'http://echo.mesh-b/late')?.pod, 'echo');
  });

  await t.test('with the controller gone, existing and new connections still work', async () => {
    const slow = spawn(process.execPath, [BIN, '--cluster', NAME, 'exec', 'client', '-n', 'mesh-a', '--', 'curl', '-s', '--max-time', '10', 'http://echo.mesh-b/slow?delay=2s'], {
      env: { ...process.env, AMBIENT_HOME: home },
    });
    let slowOut = '';
    slow.stdout.on('data', (c: Buffer) => (slowOut += c.toString()));
    const controller = readFileSync(join(REPO, 'manifests/controller.yaml'), 'utf8').replace(/replicas: \d+/, 'replicas: 0');
    const f = join(home, 'controller-0.yaml');
    writeFileSync(f, controller);
    ok(ctl('apply', '-f', f), 'scale the controller to 0');
    try {
      await until('the controller pod to be gone', () => listPods('ambient-system', 'app=ambient-controller').length === 0);
      const code = await new Promise<number | null>((r) => slow.once('exit', r));
      assert.equal(code, 0);
      assert.equal((JSON.parse(slowOut) as { path: string }).path, '/slow?delay=2s');
      assert.equal(curl('client', 'mesh-a', 'http://echo.mesh-b/no-controller')?.path, '/no-controller');
    } finally {
      ok(ctl('apply', '-f', join(REPO, 'manifests/controller.yaml')), 'controller back');
      await readyPods('ambient-system', 'app=ambient-controller', 2);
    }
  });

  await t.test('an agent restart repairs a pod whose rules were tampered with', async () => {
    // Flush and read back in one command: the running agent checks capture every 30 s and
    // may repair it at any moment after the flush (regression: a separate read raced it).
    const flushed = ok(ctl('exec', 'client', '-n', 'mesh-a', '--', 'sh', '-c', 'iptables -t nat -F AMB-OUTPUT && iptables-save -t nat'), 'flush the client capture');
    assert.equal(captured(flushed), false);
    const agent = listPods('ambient-system', 'app=ambient-node-agent').find((p) => p.spec.nodeName === 'node1')!;
    ok(ctl('delete', 'pod', agent.metadata.name, '-n', 'ambient-system'), 'delete the node1 agent');
    await until('a new agent on node1', () => {
      const ps = listPods('ambient-system', 'app=ambient-node-agent').filter((p) => p.spec.nodeName === 'node1');
      return ps.length === 1 && ps[0]!.metadata.name !== agent.metadata.name && isReady(ps[0]!);
    });
    await until('the client capture to be repaired', () => captured(natOf('client', 'mesh-a')));
    const before = accessLog('node2').filter((l) => l['src.identity'] === CLIENT_ID).length;
    assert.equal(await until('the client to get through again', () => curl('client', 'mesh-a', 'http://echo.mesh-b/after-restart')?.path, 20_000), '/after-restart');
    await until('mTLS from the client again', () => accessLog('node2').filter((l) => l['src.identity'] === CLIENT_ID).length > before);
  });

  await t.test('PERMISSIVE accepts an un-enrolled client; STRICT refuses it and still serves the mesh', async () => {
    assert.equal(curl('outsider', 'plain', 'http://echo.mesh-b/permissive')?.path, '/permissive');
    const strict = join(home, 'strict.yaml');
    writeFileSync(strict, 'apiVersion: ambient.dev/v1\nkind: PeerAuthentication\nmetadata: {name: strict, namespace: mesh-b}\nspec:\n  mtls: {mode: STRICT}\n');
    ok(ctl('apply', '-f', strict), 'apply STRICT');
    await until('plaintext to be refused', () => curl('outsider', 'plain', 'http://echo.mesh-b/strict') === undefined);
    assert.equal(curl('client', 'mesh-a', 'http://echo.mesh-b/strict-mesh')?.path, '/strict-mesh');
    ok(ctl('delete', '-f', strict), 'delete STRICT');
    await until('PERMISSIVE again', () => curl('outsider', 'plain', 'http://echo.mesh-b/permissive-again')?.path === '/permissive-again');
  });

  await t.test('un-enrolling removes every rule and traffic is plain again', async () => {
    ok(ctl('label', 'namespace', 'mesh-a', 'ambient.dev/dataplane-mode-'), 'unlabel mesh-a');
    await until('the client rules to be gone', () => !/AMB-/.test(natOf('client', 'mesh-a')));
    assert.doesNotMatch(natOf('late', 'mesh-a'), /AMB-/);
    let answer: ReturnType<typeof curl>;
    const pcap = await capture(2, () => {
      answer = curl('client', 'mesh-a', 'http://echo.mesh-b/MARKER-AGAIN-4d2b');
    });
    assert.equal(answer!?.path, '/MARKER-AGAIN-4d2b');
    assert.ok(pcap.includes('MARKER-AGAIN-4d2b'), 'plain TCP again');
    assert.ok(captured(natOf('echo', 'mesh-b')), 'the other namespace stays enrolled');
  });
});
