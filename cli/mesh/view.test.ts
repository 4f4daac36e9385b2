// The pure views behind `ambientctl status|workloads|services|certificates`, from fixture
// JSON shaped as the agent's /config_dump and the controller's /debug/status answer it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigClientStatus } from '../../controller/distribution/server.js';
import { endpoint, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import type { AgentDump, AgentProbe, ControllerDebugStatus, ControllerProbe } from './types.js';
import {
  CERTIFICATE_COLUMNS,
  SERVICE_COLUMNS,
  WORKLOAD_COLUMNS,
  certificateRows,
  meshStatus,
  portText,
  renderStatus,
  serviceRows,
  splitProbes,
  timeLeft,
  workloadRows,
} from './view.js';
import { render } from '../output.js';

const NOW = new Date('2025-01-01T12:00:00.000Z');

const web = workload('web', { uid: 'uid-web', namespace: 'shop', node: 'node-1', ips: ['10.244.1.5'], mtlsMode: 'STRICT', waypoint: { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 } });
const cart = workload('cart', { uid: 'uid-cart', namespace: 'shop', node: 'node-2', ips: ['10.244.2.7'] });
const legacy = workload('legacy', { uid: 'uid-legacy', namespace: 'default', node: 'node-2', ips: ['10.244.2.9'], protocol: 'TCP' });
const webSvc = service('web', { namespace: 'shop', vips: ['10.96.0.20'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(web), endpoint(cart, {}, false)], waypoint: { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 } });
const headless = service('db', { namespace: 'default', ports: [{ port: 5432, targetPort: 0, protocol: 'TCP', name: 'pg' }], endpoints: [] });

function dump(node: string, over: Partial<AgentDump> = {}): AgentDump {
  // Exactly the keys node-agent/agent.ts dump() writes, in its order.
  return {
    node,
    ready: true,
    controller: { address: 'ambient-controller.ambient-system.svc:15012', connected: true, resources: 5, ackedVersion: '7' },
    enrolled: [],
    failures: [],
    workloads: [cart, legacy, web],
    services: [headless, webSvc],
    policies: [],
    certificates: [],
    warnings: [],
    ...over,
  };
}

function client(node: string, over: Partial<ConfigClientStatus> = {}): ConfigClientStatus {
  return {
    id: 1,
    node,
    identity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-node-agent',
    role: 'node-agent',
    remote: '10.243.0.2:40000',
    connectedAt: '2025-01-01T11:00:00.000Z',
    lastSentVersion: '7',
    lastAckedVersion: '7',
    rejected: [],
    resources: 5,
    pending: false,
    coalesced: 0,
    bufferedBytes: 0,
    updatesSent: 3,
    synced: true,
    ...over,
  };
}

function controller(over: Partial<ControllerDebugStatus> = {}): ControllerDebugStatus {
  return { version: '7', ready: true, resources: 5, clients: [client('node-1'), client('node-2')], synced: true, ca: 'ambient-system/ambient-ca', problems: [], ...over };
}

const ctrl = (status: ControllerDebugStatus): ControllerProbe => ({ pod: 'ambient-controller-abc', address: '10.244.1.2:15020', ok: true, status });
const agent = (d: AgentDump): AgentProbe => ({ node: d.node, ok: true, dump: d });

test('a healthy mesh: every node connected and at the controller\'s version, no problems', () => {
  const s = meshStatus([ctrl(controller())], [agent(dump('node-1', { enrolled: [{ uid: 'uid-web', name: 'web', namespace: 'shop', identity: web.identity, netns: 'pod-1', activeConnections: 0 }] })), agent(dump('node-2'))], NOW);
  assert.deepEqual(s.problems, []);
  assert.deepEqual(s.controllers, [{ pod: 'ambient-controller-abc', address: '10.244.1.2:15020', reachable: true, ready: true, version: '7', ca: 'ambient-system/ambient-ca', resources: 5, clients: 2, problems: 0 }]);
  assert.equal(s.nodes.length, 2);
  assert.deepEqual(s.nodes[0], { node: 'node-1', agentReachable: true, ready: true, connected: true, ackedByAgent: '7', ackedAtController: '7', controllerVersion: '7', enrolled: 1, failures: 0, nacked: 0, certificates: 0 });
  const table = renderStatus(s, 'table');
  assert.match(table, /^CONTROLLER\s+REACHABLE\s+READY\s+VERSION\s+CA SECRET/m);
  assert.match(table, /^NODE\s+AGENT\s+CONNECTED\s+ACKED \(AGENT\)\s+ACKED \(CONTROLLER\)\s+ENROLLED\s+FAILURES\s+NACKED$/m);
  assert.match(table, /^node-1\s+ready\s+yes\s+7\s+7\s+1\s+0\s+0$/m);
  assert.match(table, /^problems: none$/m);
  assert.deepEqual(JSON.parse(renderStatus(s, 'json')), JSON.parse(JSON.stringify(s)));
});

test('an unreachable agent is a row and a problem, not a failure', () => {
  const s = meshStatus([ctrl(controller({ clients: [client('node-1')] }))], [agent(dump('node-1')), { node: 'node-2', ok: false, error: 'connect ECONNREFUSED 127.0.0.1:15000' }], NOW);
  assert.deepEqual(s.nodes[1], { node: 'node-2', agentReachable: false, nacked: 0, error: 'connect ECONNREFUSED 127.0.0.1:15000' });
  assert.deepEqual(s.problems, ['node node-2: agent unreachable: connect ECONNREFUSED 127.0.0.1:15000']);
  assert.match(renderStatus(s, 'table'), /^node-2\s+unreachable\s+-\s+-\s+-\s+-\s+-\s+0$/m);
});

test('NACKed resources, enrolment failures, a disconnected agent and translation problems are listed', () => {
  const rejected = [{ kind: 'Service', key: 'shop/web.shop.svc.cluster.local', version: '8', error: 'ports[0].port: must be 1-65535' }];
  const s = meshStatus(
    [ctrl(controller({ version: '8', clients: [client('node-1', { rejected, lastSentVersion: '8', lastAckedVersion: '7', lastNackedVersion: '8' })], problems: [{ kind: 'PeerAuthentication', key: 'shop/strict', message: 'unknown mode "STRICTER"' }] }))],
    [
      agent(dump('node-1', { failures: [{ uid: 'uid-web', error: 'iptables-restore failed', at: '2025-01-01T11:59:00.000Z' }] })),
      agent(dump('node-2', { ready: false, controller: { address: '10.96.0.10:15012', connected: false, resources: 0, lastError: 'connect ETIMEDOUT' } })),
    ],
    NOW,
  );
  assert.deepEqual(s.rejected, [{ node: 'node-1', identity: client('node-1').identity, ...rejected[0]! }]);
  assert.equal(s.nodes[0]!.nacked, 1);
  assert.equal(s.controllers[0]!.problems, 1);
  assert.deepEqual(s.translationProblems, [{ kind: 'PeerAuthentication', key: 'shop/strict', message: 'unknown mode "STRICTER"' }]);
  assert.deepEqual(s.problems, [
    'translation: PeerAuthentication shop/strict: unknown mode "STRICTER"',
    'node node-1: agent has ACKed version 7, the controller is at 8',
    'node node-1: enrolment of shop/web failed at 2025-01-01T11:59:00.000Z: iptables-restore failed',
    'node node-1: NACKed Service shop/web.shop.svc.cluster.local (version 8): ports[0].port: must be 1-65535',
    'node node-2: agent not ready: no config from the controller yet (not connected, below)',
    'node node-2: agent not connected to the controller at 10.96.0.10:15012: connect ETIMEDOUT; it serves its last config',
  ]);
  const table = renderStatus(s, 'table');
  assert.match(table, /^NACKed resources/m);
  assert.match(table, /^node-1\s+Service\s+shop\/web\.shop\.svc\.cluster\.local\s+8\s+ports\[0\]\.port: must be 1-65535$/m);
  assert.match(table, /^problems:\n {2}- translation: /m);
});

test('no controller pod, or an unreachable one, is a problem; agents are still shown', () => {
  const none = meshStatus([], [agent(dump('node-1'))], NOW);
  assert.match(none.problems[0]!, /no controller pod found/);
  assert.match(renderStatus(none, 'table'), /no controller pod found/);
  const down = meshStatus([{ pod: 'ambient-controller-abc', address: '10.244.1.2:15020', ok: false, error: 'no answer within 3000 ms' }], [agent(dump('node-1'))], NOW);
  assert.deepEqual(down.controllers, [{ pod: 'ambient-controller-abc', address: '10.244.1.2:15020', reachable: false, error: 'no answer within 3000 ms' }]);
  assert.deepEqual(down.problems, ['controller ambient-controller-abc: unreachable: no answer within 3000 ms']);
  assert.equal(down.nodes[0]!.ackedAtController, undefined);
});

test('expired certificates and config warnings are problems; waypoint streams are shown apart', () => {
  const wp = client('node-1', { role: 'waypoint', identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', rejected: [{ kind: 'Policy', key: 'shop/p', version: '7', error: 'bad' }] });
  const s = meshStatus(
    [ctrl(controller({ clients: [client('node-1'), wp] }))],
    [agent(dump('node-1', { certificates: [{ identity: web.identity, serial: '0a', notBefore: '2024-12-31T00:00:00.000Z', notAfter: '2025-01-01T11:00:00.000Z' }], warnings: ['IP 10.244.1.5 is claimed by workloads a and b'] }))],
    NOW,
  );
  assert.deepEqual(s.waypoints, [{ identity: wp.identity, node: 'node-1', ackedAtController: '7', nacked: 1, synced: true }]);
  assert.deepEqual(s.problems, [
    `node node-1: certificate for ${web.identity} expired at 2025-01-01T11:00:00.000Z`,
    'node node-1: config warning: IP 10.244.1.5 is claimed by workloads a and b',
    `waypoint ${wp.identity} on node-1: 1 NACKed resources`,
  ]);
  assert.match(renderStatus(s, 'table'), /^WAYPOINT IDENTITY\s+NODE/m);
});

test('workloads: each once across agents, with its own node and whether that node enrolled it', () => {
  const d1 = dump('node-1', { enrolled: [{ uid: 'uid-web', name: 'web', namespace: 'shop', identity: web.identity, netns: 'pod-1', activeConnections: 2 }] });
  const d2 = dump('node-2', { enrolled: [{ uid: 'uid-cart', name: 'cart', namespace: 'shop', identity: cart.identity, netns: 'pod-2', activeConnections: 0 }] });
  const rows = workloadRows([d1, d2]);
  assert.deepEqual(rows.map((r) => [r.namespace, r.name, r.node, r.protocol, r.enrolled]), [
    ['default', 'legacy', 'node-2', 'TCP', false],
    ['shop', 'cart', 'node-2', 'HBONE', true],
    ['shop', 'web', 'node-1', 'HBONE', true],
  ]);
  // Asked only node-1: node-2's enrolment is unknown.
  const one = workloadRows([d1]);
  assert.equal(one.find((r) => r.name === 'cart')!.enrolled, undefined);
  const table = render(one, WORKLOAD_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NAMESPACE\s+NAME\s+NODE\s+IPS\s+PROTOCOL\s+IDENTITY\s+WAYPOINT\s+MTLS\s+ENROLLED$/);
  assert.match(table, /^shop\s+web\s+node-1\s+10\.244\.1\.5\s+HBONE\s+spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web\s+waypoint\.shop\.svc\.cluster\.local:15008\s+STRICT\s+yes$/m);
  assert.match(table, /^shop\s+cart\s+node-2\s+10\.244\.2\.7\s+HBONE\s+\S+\s+-\s+PERMISSIVE\s+-$/m);
  const json = JSON.parse(render(one, WORKLOAD_COLUMNS, 'json')) as Array<Record<string, unknown>>;
  assert.deepEqual(json.find((r) => r['name'] === 'web'), { namespace: 'shop', name: 'web', uid: 'uid-web', node: 'node-1', ips: ['10.244.1.5'], protocol: 'HBONE', identity: web.identity, waypoint: 'waypoint.shop.svc.cluster.local:15008', mtlsMode: 'STRICT', healthy: true, enrolled: true });
});

test('services: VIPs, ports, healthy/total endpoints and waypoint, each once', () => {
  const rows = serviceRows([dump('node-1'), dump('node-2')]);
  assert.deepEqual(rows, [
    { namespace: 'default', name: 'db', hostname: 'db.default.svc.cluster.local', vips: [], ports: ['5432:named/TCP'], endpoints: { healthy: 0, total: 0 } },
    { namespace: 'shop', name: 'web', hostname: 'web.shop.svc.cluster.local', vips: ['10.96.0.20'], ports: ['80:8080/TCP'], endpoints: { healthy: 1, total: 2 }, waypoint: 'waypoint.shop.svc.cluster.local:15008' },
  ]);
  const table = render(rows, SERVICE_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NAMESPACE\s+NAME\s+HOSTNAME\s+VIPS\s+PORTS\s+ENDPOINTS\s+WAYPOINT\s+HEALTH$/);
  assert.match(table, /^default\s+db\s+db\.default\.svc\.cluster\.local\s+None\s+5432:named\/TCP\s+0\/0\s+-\s+-$/m);
  assert.match(table, /^shop\s+web\s+\S+\s+10\.96\.0\.20\s+80:8080\/TCP\s+1\/2\s+waypoint\.shop\.svc\.cluster\.local:15008\s+-$/m);
  assert.equal(portText(tcpPort(9090, 9090)), '9090/TCP');
});

test('certificates: per node, with the time left', () => {
  const cert = (identity: string, notAfter: string) => ({ identity, serial: '3f2a', notBefore: '2025-01-01T00:00:00.000Z', notAfter });
  const rows = certificateRows([
    dump('node-2', { certificates: [cert(cart.identity, '2025-01-02T14:30:00.000Z')] }),
    dump('node-1', { certificates: [cert(web.identity, '2025-01-01T13:20:30.000Z'), cert(legacy.identity, '2025-01-01T11:00:00.000Z')] }),
  ], NOW);
  assert.deepEqual(rows.map((r) => [r.node, r.identity, r.secondsLeft]), [
    ['node-1', legacy.identity, -3600],
    ['node-1', web.identity, 4830],
    ['node-2', cart.identity, 95400],
  ]);
  const table = render(rows, CERTIFICATE_COLUMNS, 'table');
  assert.match(table.split('\n')[0]!, /^NODE\s+IDENTITY\s+SERIAL\s+NOT AFTER\s+TIME LEFT$/);
  assert.match(table, /^node-1\s+spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web\s+3f2a\s+2025-01-01T13:20:30\.000Z\s+1h20m$/m);
  assert.match(table, /^node-1\s+\S+legacy\s+3f2a\s+\S+\s+expired$/m);
  assert.match(table, /^node-2\s+\S+\s+3f2a\s+\S+\s+1d2h$/m);
});

test('timeLeft and splitProbes', () => {
  assert.deepEqual([0, -5, 45, 600, 3600, 86400, 90000].map(timeLeft), ['expired', 'expired', '45s', '10m', '1h', '1d', '1d1h']);
  const { dumps, unreachable } = splitProbes([agent(dump('node-1')), { node: 'node-2', ok: false, error: 'boom' }]);
  assert.deepEqual(dumps.map((d) => d.node), ['node-1']);
  assert.deepEqual(unreachable, ['node node-2: agent unreachable: boom']);
});
