// `ambientctl status|workloads|services|certificates` against a real controller API: the
// controller in-process on the local API server (a throwaway Redis), a node agent's config
// stream over real TLS and the certificates its report lists, a waypoint pod's
// /debug/endpoints on loopback. The commands run as the CLI runs them (cli/mesh/read-commands.ts), over a TLS
// link verified with the mesh's roots and the controller's name, with a ServiceAccount's
// token checked by TokenReview and SubjectAccessReview. The executable itself is run for
// what happens before the API answers (credentials, no way to the controller), and for
// `authz suggest`, which still needs the local cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryV1Api } from '@kubernetes/client-node';
import type { Controller } from '../controller/controller.js';
import { fetchWaypointEndpoints } from '../controller/api/waypoint-endpoints.js';
import { ApiClient } from '../cli/api-client.js';
import { tlsTo, type ControllerLink } from '../cli/controller-link.js';
import { runCertificates, runServices, runStatus, runWorkloads, type Io } from '../cli/mesh/read-commands.js';
import { formatSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { boundToken, createRunningPod, createWaypointGateway, MERGE, pollUntil, startApiEnv, startConfigClient, startTestController, type ApiEnv } from './support/control-plane.js';
import { AMBIENTCTL_BIN, runAmbientctl, type CliResult } from './support/ambientctl.js';

const BIN = AMBIENTCTL_BIN;
const WAIT = 8_000;

let env: ApiEnv;
let controller: Controller;
let endpointsServer: http.Server;
let agent: ReturnType<typeof startConfigClient> | undefined;
let home: string;
let kubeconfig: string;
const tokens = { reader: '' };

function ambientctl(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, AMBIENT_HOME: home } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The executable, without blocking this process (the API server it asks runs here). */
const ambientctlAsync = (...args: string[]): Promise<CliResult> => runAmbientctl(args, { ...process.env, AMBIENT_HOME: home });

/** The API client the commands get, on a link to the in-process controller's API. */
function apiAs(token: string): ApiClient {
  const roots = controller.ca.trustBundle.pems().join('\n');
  const link: ControllerLink = {
    connect: () => tlsTo(net.connect(controller.apiAddress!.port, '127.0.0.1'), roots),
    credentials: async () => ({ token }),
    repick: () => {},
    via: 'loopback (test)',
  };
  return new ApiClient(link);
}

/** Runs a command's action; what it wrote on stdout and stderr. */
async function run(action: (io: Io) => Promise<void>): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await action({ out: (t) => void (out += t), err: (t) => void (err += t) });
  return { out, err };
}

async function labelPod(namespace: string, name: string, labels: Record<string, string>): Promise<void> {
  await env.core.patchNamespacedPod({ namespace, name, body: { metadata: { labels } } }, MERGE);
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'ambientctl-mesh-'));
  env = await startApiEnv('meshcli:', ['ambient-system', 'apps']);
  const { core } = env;
  await core.patchNamespace({ name: 'apps', body: { metadata: { labels: { 'ambient.dev/dataplane-mode': 'ambient' } } } }, MERGE);
  for (const [ns, sa] of [['ambient-system', 'ambient-node-agent'], ['apps', 'echo'], ['apps', 'waypoint'], ['apps', 'reader']] as const) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  }
  await createRunningPod(core, 'ambient-system', 'agent-a', 'ambient-node-agent', '10.244.1.2');
  await createRunningPod(core, 'ambient-system', 'ambient-controller-0', 'default', '10.244.1.3');
  await labelPod('ambient-system', 'ambient-controller-0', { app: 'ambient-controller' });
  await createRunningPod(core, 'apps', 'echo-a', 'echo', '10.244.1.10');
  await labelPod('apps', 'echo-a', { app: 'echo' });
  await createRunningPod(core, 'apps', 'echo-b', 'echo', '10.244.1.11');
  await labelPod('apps', 'echo-b', { app: 'echo' });
  // The waypoint's pod answers /debug/endpoints on 127.0.0.1 (its "pod IP" here).
  await createRunningPod(core, 'apps', 'waypoint-a', 'waypoint', '127.0.0.1');
  await labelPod('apps', 'waypoint-a', { 'gateway.networking.k8s.io/gateway-name': 'waypoint' });
  await createWaypointGateway(env.custom, 'apps', 'waypoint');
  await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name: 'echo', labels: { 'ambient.dev/use-waypoint': 'waypoint' } }, spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 8080 as never }] } } });
  const uids = await Promise.all(['echo-a', 'echo-b'].map(async (name) => (await core.readNamespacedPod({ namespace: 'apps', name })).metadata!.uid!));
  await env.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: 'apps',
    body: {
      metadata: { name: 'echo-x', labels: { 'kubernetes.io/service-name': 'echo' } },
      addressType: 'IPv4',
      endpoints: [['echo-a', '10.244.1.10'], ['echo-b', '10.244.1.11']].map(([name, ip], i) => ({ addresses: [ip!], conditions: { ready: true }, targetRef: { kind: 'Pod', name: name!, namespace: 'apps', uid: uids[i]! } })),
      ports: [{ name: 'http', port: 8080 }],
    },
  });
  const reader = await core.createNamespacedServiceAccountToken({ namespace: 'apps', name: 'reader', body: { spec: { audiences: [] } } });
  tokens.reader = reader.status!.token!;

  const entry = (address: string, workload: string, over: Record<string, unknown> = {}) => ({ address, workload, namespace: 'apps', node: 'node-1', locality: 'node', health: 'healthy', inRotation: true, activeRequests: 0, weight: 1, ...over });
  endpointsServer = http.createServer((req, res) => {
    if (req.url !== '/debug/endpoints') return void res.writeHead(404).end('not found\n');
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        waypoint: 'apps/waypoint.apps.svc.cluster.local',
        generatedAt: new Date().toISOString(),
        targets: [
          {
            service: 'apps/echo.apps.svc.cluster.local', port: 80, trafficPolicy: null, algorithm: 'ROUND_ROBIN', panic: false,
            endpoints: [entry('10.244.1.10:8080', 'echo-a', { health: 'ejected', inRotation: false, ejection: { count: 1, remainingMs: 20_000 } }), entry('10.244.1.11:8080', 'echo-b')],
          },
        ],
      }),
    );
  });
  endpointsServer.listen(0, '127.0.0.1');
  await new Promise((r) => endpointsServer.once('listening', r));
  const endpointsPort = (endpointsServer.address() as AddressInfo).port;
  controller = await startTestController(env.kc, {
    rollouts: { enabled: false },
    waypoints: { enabled: false },
    api: { waypointEndpoints: (ip) => fetchWaypointEndpoints(ip, { port: endpointsPort, timeoutMs: 1_000, maxBytes: 1 << 20 }) },
  });
  // node-1's agent: its config stream, and the certificate it holds for the echo pods'
  // identity, as its telemetry report lists it.
  agent = startConfigClient(controller, await boundToken(core, 'ambient-system', 'ambient-node-agent', 'agent-a'));
  await pollUntil('the agent to hold the echo Service', () => (agent!.held.has('Service/apps/echo.apps.svc.cluster.local') ? true : undefined), WAIT);
  const now = Date.now();
  controller.telemetry.ingest({ role: 'node-agent', node: 'node-1' }, { edges: [], overflowEdges: 0, flows: [], droppedFlows: 0, certificates: [{ identity: formatSpiffeId(spiffeId('apps', 'echo')), serial: '0abc', notBefore: now - 60_000, notAfter: now + 3 * 3_600_000 }] });

  kubeconfig = join(home, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    ['apiVersion: v1', 'kind: Config', `clusters: [{name: local, cluster: {server: "${env.api.url}", insecure-skip-tls-verify: true}}]`, 'users: [{name: admin, user: {}}]', 'contexts: [{name: local, context: {cluster: local, user: admin}}]', 'current-context: local', ''].join('\n'),
  );
});

after(async () => {
  agent?.client.close();
  await controller?.close();
  await env?.close();
  endpointsServer?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('status: the node agent with the version it acknowledged and its enrolled workloads', async () => {
  const api = apiAs(tokens.reader);
  const status = await pollUntil('the agent to acknowledge the current version', async () => {
    const s = JSON.parse((await run((io) => runStatus(api, { output: 'json' }, io))).out) as { configVersion: string; nodes: Array<{ node: string; connected: boolean; acked?: string; enrolled?: number; nacked: number }>; controllers: Array<{ name: string }>; problems: string[] };
    return s.nodes[0]?.acked === s.configVersion ? s : undefined;
  }, WAIT);
  assert.deepEqual(status.nodes, [{ node: 'node-1', connected: true, synced: true, acked: status.configVersion, controllerVersion: status.configVersion, enrolled: 2, nacked: 0 }], 'the two echo pods; a waypoint pod is never captured');
  assert.deepEqual(status.controllers.map((c) => c.name), ['ambient-controller-0']);
  assert.ok(!status.problems.some((p) => p.startsWith('node ')), status.problems.join('\n'));
  const table = (await run((io) => runStatus(api, { output: 'table' }, io))).out;
  assert.match(table, new RegExp(`^config version: ${status.configVersion}$`, 'm'));
  assert.match(table, new RegExp(`^node-1\\s+yes\\s+yes\\s+${status.configVersion}\\s+2\\s+0$`, 'm'));
});

test('workloads: every workload with its node, identity and enrolment; --node and -n filter on the server', async () => {
  const api = apiAs(tokens.reader);
  const rows = JSON.parse((await run((io) => runWorkloads(api, { output: 'json', namespace: 'apps' }, io))).out) as Array<{ name: string; node: string; protocol: string; identity: string; enrolled: boolean }>;
  assert.deepEqual(rows.map((w) => [w.name, w.node, w.protocol, w.enrolled]), [['echo-a', 'node-1', 'HBONE', true], ['echo-b', 'node-1', 'HBONE', true], ['waypoint-a', 'node-1', 'TCP', false]]);
  assert.equal(rows[0]!.identity, 'spiffe://cluster.local/ns/apps/sa/echo');
  const table = await run((io) => runWorkloads(api, { output: 'table', node: 'node-1', namespace: 'apps' }, io));
  assert.match(table.out, /^apps\s+echo-a\s+node-1\s+10\.244\.1\.10\s+HBONE\s+spiffe:\/\/cluster\.local\/ns\/apps\/sa\/echo\s+-\s+PERMISSIVE\s+yes$/m, "the waypoint is the Service's, not the pod's");
  const elsewhere = await run((io) => runWorkloads(api, { output: 'table', node: 'node-9' }, io));
  assert.equal(elsewhere.out, '');
  assert.equal(elsewhere.err, 'No workloads found on node node-9\n');
  await assert.rejects(run((io) => runWorkloads(api, { output: 'table', node: 'Bad_Node' }, io)), /GET \/api\/v1\/workloads\?node=Bad_Node: the controller answered 400 AMB_API_BAD_REQUEST: query parameter node: "Bad_Node" is not a node name/);
});

test("services: the endpoints' health as the waypoint's pod sees it, and one row per endpoint", async () => {
  const api = apiAs(tokens.reader);
  const table = await run((io) => runServices(api, { output: 'table', namespace: 'apps' }, io));
  assert.match(table.out, /^apps\s+echo\s+echo\.apps\.svc\.cluster\.local\s+\S+\s+80:8080\/TCP\s+2\/2\s+apps\/waypoint\s+1\/2 \(1 ejected\)$/m);
  const eps = await run((io) => runServices(api, { output: 'table', endpoints: true, namespace: 'apps' }, io));
  assert.match(eps.out, /^apps\s+echo\s+80\s+10\.244\.1\.10:8080\s+echo-a\s+node-1\s+node\s+ejected \(1x, 20s left\)\s+0\s+no\s+ROUND_ROBIN\s+none\s+apps\/waypoint-a$/m);
  assert.match(eps.out, /^apps\s+echo\s+80\s+10\.244\.1\.11:8080\s+echo-b\s+.*healthy\s+0\s+yes\s+/m);
  const none = await run((io) => runServices(api, { output: 'table', node: 'node-9' }, io));
  assert.equal(none.err, 'No services found with an endpoint on node node-9\n');
});

test("certificates: the one node-1's agent holds for each echo pod, with the time left; --node filters", async () => {
  const api = apiAs(tokens.reader);
  const table = await run((io) => runCertificates(api, { output: 'table', node: 'node-1' }, io));
  for (const pod of ['echo-a', 'echo-b']) assert.match(table.out, new RegExp(`^node-1\\s+pod apps/${pod}\\s+spiffe://cluster\\.local/ns/apps/sa/echo\\s+0abc\\s+\\S+Z\\s+(2h\\d*m?|3h)$`, 'm'), table.out);
  const other = await run((io) => runCertificates(api, { output: 'json', node: 'node-2' }, io));
  assert.deepEqual(JSON.parse(other.out), []);
});

// (The local API server lets every ServiceAccount read: a read refused with 403 cannot be
// staged here; a token the API server does not know is.)
test('a caller the API server does not know is refused with what to do', async () => {
  await assert.rejects(run((io) => runWorkloads(apiAs('not-a-token'), { output: 'table' }, io)), /GET \/api\/v1\/workloads: the controller answered 401 \S+: .*\(use a kubeconfig context whose user has a token, or --service-account NAMESPACE\/NAME to act as a ServiceAccount\)$/);
});

test('the executable: no credentials, a malformed --service-account, no way to the controller: a clear error each', async () => {
  for (const command of ['status', 'workloads', 'services', 'certificates']) {
    const r = ambientctl('--kubeconfig', kubeconfig, command);
    assert.notEqual(r.code, 0, command);
    assert.equal(r.stdout, '', command);
    assert.match(r.stderr, /^error: the kubeconfig's user "admin" has neither a bearer token nor a client certificate for the controller's API; use a context with credentials, or --service-account NAMESPACE\/NAME/, `${command}: ${r.stderr}`);
  }
  const bad = ambientctl('--kubeconfig', kubeconfig, 'status', '--service-account', 'reader');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^error: --service-account "reader" is not NAMESPACE\/NAME/);
  // The local API server serves no port-forward: the way to the controller fails, and says where and why.
  const r = await ambientctlAsync('--kubeconfig', kubeconfig, 'workloads', '--service-account', 'apps/reader');
  assert.notEqual(r.code, 0, r.stdout);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: cannot port-forward to ambient-system\/ambient-controller-0:15014 through the API server \(does it serve pods\/portforward, and may you create it\?\)/, r.stderr);
});

test('the commands are listed in --help', () => {
  const r = ambientctl('--help');
  assert.equal(r.code, 0);
  for (const c of ['status', 'workloads', 'services', 'certificates', 'policies', 'authz']) assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
  const authz = ambientctl('authz', '--help');
  assert.equal(authz.code, 0);
  for (const c of ['check', 'suggest']) assert.match(authz.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
  for (const c of ['status', 'workloads', 'services', 'certificates']) assert.match(ambientctl(c, '--help').stdout, /--service-account <ns\/name>/, c);
});

// policies and authz check ask the controller's API (test/mesh-api-cli.test.ts); authz suggest
// reads the node agents' observed edges, on the local cluster only.
test('authz suggest says clearly that it needs the local cluster', () => {
  const cases: Array<[string, string[]]> = [
    ['authz suggest', ['authz', 'suggest', '-n', 'shop', '--since', '30s']],
  ];
  for (const [command, args] of cases) {
    const r = ambientctl('--cluster', 'nowhere', ...args);
    assert.notEqual(r.code, 0, `${command} should fail`);
    assert.equal(r.stdout, '', `${command} prints nothing on stdout`);
    assert.match(r.stderr, new RegExp(`^error: \`ambientctl ${command}\` needs the local cluster for now: no local cluster "nowhere" is up on this machine`));
  }
});

test('authz flags are checked before anything is asked of the cluster', () => {
  // --cluster nowhere: a flag error must come first, not "needs the local cluster".
  const run = (...args: string[]) => ambientctl('--cluster', 'nowhere', ...args);
  const cases: Array<[string[], RegExp]> = [
    [['authz', 'check', '--from', 'frontend', '--to', 'web.shop:80'], /^error: --from: "frontend" is neither spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account> nor <namespace>\/<service account>/],
    [['authz', 'check', '--from', 'spiffe://cluster.local/frontend', '--to', 'web.shop:80'], /^error: --from: "spiffe:\/\/cluster.local\/frontend" is not a workload identity of the mesh/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web:80'], /^error: --to: "web:80" names no namespace: expected SERVICE.NAMESPACE:PORT or POD.NAMESPACE:PORT/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop'], /^error: --to: "web.shop" has no port/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:http'], /^error: --to: "web.shop:http" has port "http", not a number from 1 to 65535/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--source-ip', 'nope'], /^error: --source-ip: "nope" is not an IP address/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--header', 'x-user'], /^error: --header: "x-user" is not NAME=VALUE/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--path', 'api'], /^error: --path: "api" does not start with \//],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '-o', 'xml'], /error: option '-o, --output <format>' argument 'xml' is invalid/],
    [['authz', 'check', '--to', 'web.shop:80'], /error: required option '--from <identity>' not specified/],
    [['authz', 'suggest', '-n', 'shop', '--since', '10x'], /^error: --since: "10x" is not a duration \(e.g. 30s, 10m, 2h/],
    [['authz', 'suggest', '-n', 'shop', '--since', '0s'], /^error: --since: "0s" must be longer than zero/],
    [['authz', 'suggest'], /^error: `ambientctl authz suggest` needs -n NAMESPACE/],
    [['authz', 'suggest', '-n', 'shop', '-o', 'table'], /error: option '-o, --output <format>' argument 'table' is invalid/],
  ];
  for (const [args, expected] of cases) {
    const r = run(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, expected, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /needs the local cluster/, args.join(' '));
  }
});
