// GET /status's agent and waypoint-stream rows from the config streams' table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigClientStatus } from '../../distribution/server.js';
import { agentRows, waypointStreamRows } from './status-nodes.js';

function client(node: string, over: Partial<ConfigClientStatus> = {}): ConfigClientStatus {
  return {
    id: 1, node, identity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-node-agent', role: 'node-agent', remote: '10.243.0.2:40000',
    connectedAt: '2025-01-01T11:00:00.000Z', lastSentVersion: '7', lastAckedVersion: '7', rejected: [], resources: 5, pending: false,
    coalesced: 0, bufferedBytes: 0, updatesSent: 3, synced: true, ...over,
  };
}

const workloads = [
  { node: 'node-1', protocol: 'HBONE' as const },
  { node: 'node-1', protocol: 'HBONE' as const },
  { node: 'node-2', protocol: 'TCP' as const },
];

test('one row per node, with the acked version, the enrolled workloads of its node, sorted', () => {
  const rows = agentRows([client('node-2'), client('node-1')], workloads);
  assert.deepEqual(rows.map((r) => [r.node, r.connected, r.ackedVersion, r.synced, r.enrolled, r.rejected]), [
    ['node-1', true, '7', true, 2, []],
    ['node-2', true, '7', true, 0, []],
  ]);
});

test("a node's newest stream speaks for it (a reconnect overlapping the old one)", () => {
  const rows = agentRows([client('node-1', { connectedAt: '2025-01-01T12:00:00.000Z', lastAckedVersion: '8' }), client('node-1', { lastAckedVersion: '6' })], []);
  assert.deepEqual(rows.map((r) => r.ackedVersion), ['8']);
});

test('refused resources are rows and problems; the NACKed version is summarized', () => {
  const rejected = [{ kind: 'Policy', key: 'shop/deny-all', version: '8', error: 'unknown field' }];
  const [row] = agentRows([client('node-1', { lastNackedVersion: '8', rejected, pending: true })], []);
  assert.deepEqual(row!.rejected, rejected);
  assert.deepEqual(row!.nacks, [{ version: '8', message: 'Policy shop/deny-all: unknown field' }]);
  assert.deepEqual(row!.problems, ['refuses Policy shop/deny-all at version 8: unknown field', 'slow: changes wait for it to drain its stream']);
});

test("before its first ACK, an agent's version is null; waypoints' streams are apart", () => {
  const clients = [client('node-1', { lastAckedVersion: undefined, synced: false }), client('node-2', { role: 'waypoint', identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', rejected: [{ kind: 'Route', key: 'shop/r', version: '7', error: 'bad' }] })];
  const [row] = agentRows(clients, []);
  assert.equal(row!.ackedVersion, null);
  assert.match(row!.problems.join('\n'), /not synced/);
  assert.equal(agentRows(clients, []).length, 1);
  assert.deepEqual(waypointStreamRows(clients), [{ identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', node: 'node-2', ackedVersion: '7', synced: true, rejected: [{ kind: 'Route', key: 'shop/r', version: '7', error: 'bad' }] }]);
});
