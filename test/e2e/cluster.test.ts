// Namespaced tier: the local cluster end to end, driven through ambientctl and kubectl as
// a user would. Two nodes; the echo sample behind a Service; requests from a client pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '../support/netns.js';
import { clusterPids } from '../../local-cluster/processes.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(REPO, 'bin/ambientctl.js');
const home = mkdtempSync(join(tmpdir(), 'ambient-e2e-'));
const NAME = `e2e${process.pid % 10000}`;

function run(cmd: string, args: string[], timeoutMs = 60_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, AMBIENT_HOME: home } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const ctl = (...args: string[]) => run(process.execPath, [BIN, ...args]);
const ok = (r: ReturnType<typeof run>, what: string) => {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

interface PodRow {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
}
const ready = (p: PodRow) => p.status.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function pods(selector: string, namespace = 'default'): Promise<PodRow[]> {
  return JSON.parse(ok(ctl('get', 'pods', '--cluster', NAME, '-n', namespace, '-l', selector, '-o', 'json'), 'get pods')) as PodRow[];
}

async function waitPods(selector: string, count: number, timeoutMs = 60_000, namespace = 'default'): Promise<PodRow[]> {
  const deadline = Date.now() + timeoutMs;
  let last: PodRow[] = [];
  while (Date.now() < deadline) {
    last = await pods(selector, namespace);
    if (last.length === count && last.every(ready)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`pods ${selector}: wanted ${count} ready, have ${JSON.stringify(last.map((p) => [p.metadata.name, p.status.phase]))}`);
}

/** Asks the echo server `times` times from the client pod; returns the pod names that answered. */
function askFromClient(client: string, url: string, times: number): string[] {
  // The echo server pretty-prints its JSON: one line per answer, for the parser below.
  const script = `for i in $(seq ${times}); do curl -s --max-time 3 ${url} | tr -d "\\n"; echo; done`;
  const out = ok(ctl('exec', client, '--cluster', NAME, '--', 'sh', '-c', script), `curl ${url}`);
  return out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => (JSON.parse(l) as { pod: string }).pod);
}

test('local cluster: pods on two nodes reach a Service by VIP and by name, scale down is honoured, and down leaves nothing', { timeout: 300_000 }, async (t) => {
  if (!requireRoot(t)) return;
  t.after(() => {
    ctl('cluster', 'down', '--cluster', NAME);
    rmSync(home, { recursive: true, force: true });
  });
  const up = ctl('cluster', 'up', '--nodes', '2', '--cluster', NAME);
  ok(up, 'cluster up');
  assert.match(up.stdout, /2 nodes/);

  const manifests = join(home, 'apps.yaml');
  const echo = readFileSync(join(REPO, 'samples/manifests/echo.yaml'), 'utf8');
  const client = readFileSync(join(REPO, 'samples/manifests/client.yaml'), 'utf8');
  writeFileSync(manifests, `${echo}\n---\n${client}\n`);
  const applied = ok(ctl('apply', '--cluster', NAME, '-f', manifests), 'apply');
  assert.match(applied, /deployment\.apps\/echo created/);
  assert.match(applied, /service\/echo created/);

  const echoPods = await waitPods('app=echo', 3);
  const [clientPod] = await waitPods('app=client', 1);
  const nodes = new Set(echoPods.map((p) => p.spec.nodeName));
  assert.equal(nodes.size, 2, 'echo replicas spread over both nodes');

  // By VIP name (hosts file) and by the Service's cluster IP: every replica answers.
  const byName = askFromClient(clientPod!.metadata.name, 'http://echo/', 30);
  assert.equal(byName.length, 30);
  assert.equal(new Set(byName).size, 3, `all replicas answer through the Service: ${[...new Set(byName)]}`);
  const svc = JSON.parse(ok(ctl('get', 'svc', 'echo', '--cluster', NAME, '-o', 'json'), 'get svc')) as { spec: { clusterIP: string } };
  assert.match(svc.spec.clusterIP, /^10\.96\./);
  const byVip = askFromClient(clientPod!.metadata.name, `http://${svc.spec.clusterIP}/`, 30);
  assert.equal(new Set(byVip).size, 3);

  // Straight to a pod IP on the other node.
  const remote = echoPods.find((p) => p.spec.nodeName !== clientPod!.spec.nodeName)!;
  const direct = askFromClient(clientPod!.metadata.name, `http://${remote.status.podIP}:8080/`, 1);
  assert.deepEqual(direct, [remote.metadata.name]);

  // kubectl, a client this project did not write, against the local API server.
  const kubeconfig = ok(ctl('cluster', 'kubeconfig', '--cluster', NAME), 'kubeconfig').trim();
  const listed = ok(run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-o', 'name']), 'kubectl get pods');
  for (const p of echoPods) assert.match(listed, new RegExp(`pod/${p.metadata.name}`));

  // Scale down: the VIP stops sending to removed pods.
  writeFileSync(manifests, echo.replace(/replicas: 3/, 'replicas: 1'));
  assert.match(ok(ctl('apply', '--cluster', NAME, '-f', manifests), 'apply scale'), /deployment\.apps\/echo configured/);
  const [survivor] = await waitPods('app=echo', 1);
  await new Promise((r) => setTimeout(r, 1000)); // endpoints and rules follow the pods
  const after = askFromClient(clientPod!.metadata.name, 'http://echo/', 15);
  assert.deepEqual([...new Set(after)], [survivor!.metadata.name]);

  // A pod whose image the runtime cannot run is a clear pod error; a crashing process is
  // restarted with backoff, and both show in the pod's status.
  const extra = join(home, 'extra.yaml');
  writeFileSync(
    extra,
    [
      'apiVersion: v1\nkind: Pod\nmetadata: {name: unknown-image}\nspec:\n  containers: [{name: app, image: registry.example/unknown:1}]',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: crasher}\nspec:\n  containers: [{name: app, image: busybox, command: [sh, -c, "echo boom; exit 3"]}]',
    ].join('\n---\n'),
  );
  ok(ctl('apply', '--cluster', NAME, '-f', extra), 'apply extra pods');
  const podJson = (name: string) => JSON.parse(ok(ctl('get', 'pod', name, '--cluster', NAME, '-o', 'json'), `get ${name}`)) as {
    status: { phase?: string; reason?: string; message?: string; containerStatuses?: Array<{ restartCount: number }> };
  };
  const deadline = Date.now() + 30_000;
  let unknown = podJson('unknown-image');
  let crasher = podJson('crasher');
  while (Date.now() < deadline && (unknown.status.reason !== 'UnknownImage' || (crasher.status.containerStatuses?.[0]?.restartCount ?? 0) < 2)) {
    await new Promise((r) => setTimeout(r, 500));
    unknown = podJson('unknown-image');
    crasher = podJson('crasher');
  }
  assert.equal(unknown.status.phase, 'Pending');
  assert.equal(unknown.status.reason, 'UnknownImage');
  assert.match(unknown.status.message ?? '', /registry\.example\/unknown:1.*no command/);
  assert.ok((crasher.status.containerStatuses?.[0]?.restartCount ?? 0) >= 2, `crasher restarts: ${JSON.stringify(crasher.status)}`);

  // Probes: "Ready" means the readiness probe passed, not only that the process runs; a
  // failing liveness probe restarts the container. They run from the node with the probe
  // source address (169.254.7.127), which is also what lets them through a STRICT pod's capture.
  const probed = join(home, 'probes.yaml');
  const echoPod = (name: string, probe: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, labels: {probe-test: "${name}"}}\nspec:\n  containers:\n  - name: app\n    image: ambient-samples/echo\n    ports: [{name: http, containerPort: 8080}]\n${probe}`;
  writeFileSync(
    probed,
    [
      echoPod('probe-ready', '    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}'),
      echoPod('probe-never-ready', '    readinessProbe: {tcpSocket: {port: 9999}, periodSeconds: 1, failureThreshold: 1}'),
      echoPod('probe-liveness', '    livenessProbe: {tcpSocket: {port: 9999}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2}'),
    ].join('\n---\n'),
  );
  ok(ctl('apply', '--cluster', NAME, '-f', probed), 'apply probed pods');
  await waitPods('probe-test=probe-ready', 1, 30_000);
  type ProbedPod = PodRow & { status: { containerStatuses?: Array<{ ready: boolean; restartCount: number }> } };
  const probedPod = (name: string) => JSON.parse(ok(ctl('get', 'pod', name, '--cluster', NAME, '-o', 'json'), `get ${name}`)) as ProbedPod;
  const probeDeadline = Date.now() + 30_000;
  let liveness = probedPod('probe-liveness');
  while (Date.now() < probeDeadline && (liveness.status.containerStatuses?.[0]?.restartCount ?? 0) < 1) {
    await new Promise((r) => setTimeout(r, 500));
    liveness = probedPod('probe-liveness');
  }
  assert.ok((liveness.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1, `a failing liveness probe restarts the container: ${JSON.stringify(liveness.status)}`);
  const neverReady = probedPod('probe-never-ready');
  assert.equal(neverReady.status.phase, 'Running');
  assert.equal(neverReady.status.conditions?.find((c) => c.type === 'Ready')?.status, 'False', 'a failing readiness probe keeps the pod not Ready');
  assert.equal(neverReady.status.containerStatuses?.[0]?.ready, false);
  assert.equal(neverReady.status.containerStatuses?.[0]?.restartCount, 0, 'readiness never restarts');
  ok(ctl('delete', '-f', probed, '--cluster', NAME), 'delete probed pods');

  // A hostNetwork DaemonSet runs one pod per node at the node's address, and a pod can
  // talk to the API server with the ServiceAccount credentials the kubelet gave it.
  const ds = join(home, 'ds.yaml');
  writeFileSync(
    ds,
    [
      'apiVersion: apps/v1',
      'kind: DaemonSet',
      'metadata: {name: node-probe}',
      'spec:',
      '  selector: {matchLabels: {app: node-probe}}',
      '  template:',
      '    metadata: {labels: {app: node-probe}}',
      '    spec:',
      '      hostNetwork: true',
      '      containers:',
      '      - name: probe',
      '        image: busybox',
      `        command: [sh, -c, 'kubectl --kubeconfig "$KUBECONFIG" get pod "$POD_NAME" -o name && exec sleep 3600']`,
    ].join('\n'),
  );
  ok(ctl('apply', '--cluster', NAME, '-f', ds), 'apply daemonset');
  const probes = await waitPods('app=node-probe', 2);
  assert.deepEqual(probes.map((p) => p.status.podIP).sort(), ['10.243.0.11', '10.243.0.12']);
  await new Promise((r) => setTimeout(r, 4000));
  for (const p of await pods('app=node-probe')) {
    const restarts = (p.status as { containerStatuses?: Array<{ restartCount: number }> }).containerStatuses?.[0]?.restartCount;
    assert.equal(restarts, 0, `${p.metadata.name} reached the API server with its own token`);
  }

  // The mesh's own controller deploys from its manifest, reaches the API server with its
  // pod's credentials, creates the CA Secret, and reports ready on 15020.
  ok(ctl('apply', '--cluster', NAME, '-f', join(REPO, 'manifests/crds.yaml')), 'apply CRDs');
  ok(ctl('apply', '--cluster', NAME, '-f', join(REPO, 'manifests/rbac.yaml')), 'apply RBAC');
  ok(ctl('apply', '--cluster', NAME, '-f', join(REPO, 'manifests/controller.yaml')), 'apply controller');
  const [controller] = await waitPods('app=ambient-controller', 2, 60_000, 'ambient-system');
  const readyUrl = `http://${controller!.status.podIP}:15020/healthz/ready`;
  let code = '';
  for (let i = 0; i < 60 && code !== '200'; i++) {
    code = ctl('exec', clientPod!.metadata.name, '--cluster', NAME, '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', readyUrl).stdout.trim();
    if (code !== '200') await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(code, '200', 'the controller reports ready');
  const secret = JSON.parse(ok(ctl('get', 'secret', 'ambient-ca', '-n', 'ambient-system', '--cluster', NAME, '-o', 'json'), 'get CA secret')) as { data: Record<string, string> };
  assert.deepEqual(Object.keys(secret.data).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);

  ok(ctl('label', 'namespace', 'default', 'ambient.dev/dataplane-mode=ambient', '--cluster', NAME), 'label');
  const ns = JSON.parse(ok(ctl('get', 'ns', 'default', '--cluster', NAME, '-o', 'json'), 'get ns')) as { metadata: { labels: Record<string, string> } };
  assert.equal(ns.metadata.labels['ambient.dev/dataplane-mode'], 'ambient');

  const status = JSON.parse(ok(ctl('cluster', 'status', '--cluster', NAME, '-o', 'json'), 'status')) as { nodes: unknown[]; pods: unknown[] };
  assert.equal(status.nodes.length, 2);

  // The cluster has no way out: no default route in a node.
  const route = ctl('exec', '--node', 'node1', '--cluster', NAME, '--', 'ip', 'route', 'get', '192.0.2.1');
  assert.notEqual(route.code, 0, `a node must not route to the outside: ${route.stdout}`);

  ok(ctl('cluster', 'down', '--cluster', NAME), 'cluster down');
  const netns = run('ip', ['netns', 'list']).stdout;
  assert.doesNotMatch(netns, new RegExp(`amb-${NAME}`), 'no namespace left');
  assert.deepEqual(clusterPids(NAME, join(home, 'clusters', NAME)), [], 'no process left (Redis included)');
  assert.equal(existsSync(join(home, 'clusters', NAME)), false, 'no state left');
  assert.deepEqual((existsSync('/etc/netns') ? readdirSync('/etc/netns') : []).filter((d) => d.startsWith(`amb-${NAME}`)), [], 'no /etc/netns entry left');
  assert.equal(ctl('cluster', 'down', '--cluster', NAME).code, 0, 'down twice is fine');
});
