// `ambientctl certificates` from the API's GET /certificates answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Certificates } from '../../console/api-types.js';
import { render } from '../output.js';
import { CERTIFICATE_COLUMNS, certificateRows } from './certificates-view.js';

const NOW = new Date('2025-01-01T12:00:00.000Z');
const summary = { subject: 'O=cluster.local', fingerprint: 'AA', notBefore: '2024-01-01T00:00:00.000Z', notAfter: '2034-01-01T00:00:00.000Z' };
const answer: Certificates = {
  roots: [summary],
  workloads: [
    { kind: 'workload', identity: 'spiffe://cluster.local/ns/shop/sa/web', namespace: 'shop', workload: 'web', pod: 'web-1', node: 'node-2', serial: '0b', notBefore: '2025-01-01T00:00:00.000Z', notAfter: '2025-01-02T03:30:00.000Z', issuer: null, reportedAt: '2025-01-01T11:00:00.000Z' },
    { kind: 'waypoint', identity: 'spiffe://cluster.local/ns/shop/sa/waypoint', namespace: 'shop', workload: 'waypoint', pod: null, node: 'node-1', serial: '0a', notBefore: '2025-01-01T00:00:00.000Z', notAfter: '2025-01-01T11:59:00.000Z', issuer: null, reportedAt: '2025-01-01T11:00:00.000Z' },
  ],
};

test('per node then identity, with the time left; an expired one says so', () => {
  const rows = certificateRows(answer, NOW);
  assert.deepEqual(rows.map((r) => [r.node, r.secondsLeft]), [['node-1', -60], ['node-2', 15.5 * 3600]]);
  const table = render(rows, CERTIFICATE_COLUMNS, 'table');
  assert.match(table, /^NODE\s+HOLDER\s+IDENTITY\s+SERIAL\s+NOT AFTER\s+TIME LEFT$/m);
  assert.match(table, /^node-1\s+waypoint shop\/waypoint\s+spiffe:\/\/cluster\.local\/ns\/shop\/sa\/waypoint\s+0a\s+2025-01-01T11:59:00\.000Z\s+expired$/m);
  assert.match(table, /^node-2\s+pod shop\/web-1\s+\S+\s+0b\s+\S+\s+15h30m$/m);
});

test('no workload certificates: no rows', () => {
  assert.deepEqual(certificateRows({ roots: [summary], workloads: [] }, NOW), []);
});
