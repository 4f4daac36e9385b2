// `ambientctl status` from the API's GET /status answer (console/api-types.d.ts MeshStatus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshStatus } from '../../console/api-types.js';
import { MAX_LISTED_TRANSLATION_PROBLEMS, renderStatus, statusView } from './status-view.js';

type Agent = MeshStatus['agents'][number];
const agent = (node: string, over: Partial<Agent> = {}): Agent => ({ node, connected: true, ackedVersion: '7', nacks: [], problems: [], identity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-node-agent', synced: true, rejected: [], enrolled: 1, ...over });

function status(over: Partial<MeshStatus> = {}): MeshStatus {
  return {
    controller: { leader: 'ambient-controller-a', replicas: [{ name: 'ambient-controller-b', node: 'node-2', ready: true, leader: false, version: '0.1.0' }, { name: 'ambient-controller-a', node: 'node-1', ready: true, leader: true, version: '0.1.0' }] },
    configVersion: '7',
    agents: [agent('node-2'), agent('node-1')],
    waypoints: [],
    waypointStreams: [],
    problems: [],
    ...over,
  };
}

test('a healthy mesh: replicas, every node at the controller\'s version, no problems', () => {
  const v = statusView(status());
  assert.deepEqual(v.problems, []);
  assert.deepEqual(v.nodes.map((n) => [n.node, n.connected, n.acked, n.enrolled, n.nacked]), [['node-1', true, '7', 1, 0], ['node-2', true, '7', 1, 0]]);
  const table = renderStatus(v, 'table');
  assert.match(table, /^config version: 7$/m);
  assert.match(table, /^CONTROLLER\s+NODE\s+READY\s+LEADER\s+VERSION$/m);
  assert.match(table, /^ambient-controller-a\s+node-1\s+yes\s+yes\s+0\.1\.0$/m);
  assert.match(table, /^NODE\s+CONNECTED\s+SYNCED\s+ACKED\s+ENROLLED\s+NACKED$/m);
  assert.match(table, /^node-1\s+yes\s+yes\s+7\s+1\s+0$/m);
  assert.match(table, /^problems: none$/m);
});

test('an agent streaming from another replica is judged by that replica\'s version, not the answering one\'s', () => {
  const v = statusView(status({ agents: [agent('node-1', { ackedVersion: '12', controllerVersion: '12' }), agent('node-2', { ackedVersion: '11', controllerVersion: '12' })] }));
  assert.deepEqual(v.problems, ['node node-2: agent has ACKed version 11, its controller replica is at 12']);
  assert.deepEqual(v.nodes.map((n) => [n.node, n.acked, n.controllerVersion]), [['node-1', '12', '12'], ['node-2', '11', '12']]);
});

test('an agent behind the controller, NACKed resources and a NACKing waypoint are rows and problems', () => {
  const rejected = [{ kind: 'Policy', key: 'shop/p', version: '7', error: 'unknown field' }];
  const v = statusView(status({
    agents: [agent('node-1', { ackedVersion: '6', rejected, nacks: [{ version: '7', message: 'Policy shop/p: unknown field' }] }), agent('node-2', { ackedVersion: null, synced: false })],
    waypointStreams: [{ identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', node: 'node-2', ackedVersion: '7', synced: true, rejected: [{ kind: 'Route', key: 'shop/r', version: '7', error: 'bad' }] }],
  }));
  assert.deepEqual(v.problems, [
    'node node-1: agent has ACKed version 6, its controller replica is at 7',
    'node node-1: NACKed Policy shop/p (version 7): unknown field',
    'node node-2: agent not synced: the controller has no config to send it yet',
    'waypoint spiffe://cluster.local/ns/shop/sa/waypoint on node-2: 1 NACKed resources',
  ]);
  assert.deepEqual(v.rejected.map((r) => [r.node, r.kind, r.key]), [['node-1', 'Policy', 'shop/p'], ['node-2', 'Route', 'shop/r']]);
  const table = renderStatus(v, 'table');
  assert.match(table, /^NACKed resources/m);
  assert.match(table, /^node-2\s+yes\s+no\s+-\s+1\s+0$/m, 'no ACK yet: -');
  assert.match(table, /^WAYPOINT IDENTITY\s+NODE\s+SYNCED\s+ACKED\s+NACKED$/m);
});

test('no leader, a replica not ready, no agent, translation problems (the first 20 listed)', () => {
  const many = Array.from({ length: MAX_LISTED_TRANSLATION_PROBLEMS + 3 }, (_, i) => `Policy shop/p${i}: bad`);
  const v = statusView(status({ controller: { leader: null, replicas: [{ name: 'c-0', node: '', ready: false, leader: false, version: '' }] }, agents: [], problems: many }));
  assert.equal(v.problems[0], 'controller c-0: not ready');
  assert.match(v.problems[1]!, /no replica holds the leader Lease/);
  assert.match(v.problems[2]!, /no node agent holds a config stream/);
  assert.equal(v.problems.filter((p) => p.startsWith('translation: Policy')).length, MAX_LISTED_TRANSLATION_PROBLEMS);
  assert.equal(v.problems.at(-1), 'translation: 3 more problems (-o json lists them all)');
  assert.match(renderStatus(v, 'table'), /^\(no node agent connected\)$/m);
});

test('an answer from a controller without per-node details still renders', () => {
  const old = status({ agents: [{ node: 'node-1', connected: true, ackedVersion: '7', nacks: [{ version: '8', message: 'Policy shop/p: bad' }], problems: [] }] });
  delete old.waypointStreams;
  const v = statusView(old);
  assert.deepEqual(v.nodes, [{ node: 'node-1', connected: true, acked: '7', controllerVersion: '7', nacked: 1 }]);
  assert.deepEqual(v.problems, ['node node-1: NACKed version 8: Policy shop/p: bad']);
});

test('-o json and -o yaml carry the whole view', () => {
  const v = statusView(status());
  assert.deepEqual(JSON.parse(renderStatus(v, 'json')), JSON.parse(JSON.stringify(v)));
  assert.match(renderStatus(v, 'yaml'), /^configVersion: "7"$/m);
});
