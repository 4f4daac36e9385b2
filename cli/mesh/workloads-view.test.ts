// `ambientctl workloads` from the API's GET /workloads answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Workload } from '../../console/api-types.js';
import { render } from '../output.js';
import { WORKLOAD_COLUMNS, workloadRows } from './workloads-view.js';

const w = (namespace: string, name: string, over: Partial<Workload> = {}): Workload => ({
  namespace, name, identity: `spiffe://cluster.local/ns/${namespace}/sa/default`, node: 'node-1', ips: ['10.244.1.5'], enrolled: true, waypoint: null, labels: {}, protocol: 'HBONE', mtlsMode: 'STRICT', ...over,
});

test('rows sorted by namespace and name, with the columns users know', () => {
  const rows = workloadRows({ items: [w('shop', 'web', { waypoint: 'shop/waypoint' }), w('default', 'legacy', { protocol: 'TCP', enrolled: false, node: 'node-2', ips: [] })] });
  const table = render(rows, WORKLOAD_COLUMNS, 'table');
  const lines = table.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+NODE\s+IPS\s+PROTOCOL\s+IDENTITY\s+WAYPOINT\s+MTLS\s+ENROLLED$/);
  assert.match(lines[1]!, /^default\s+legacy\s+node-2\s+-\s+TCP\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/default\s+-\s+STRICT\s+no$/);
  assert.match(lines[2]!, /^shop\s+web\s+node-1\s+10\.244\.1\.5\s+HBONE\s+\S+\s+shop\/waypoint\s+STRICT\s+yes$/);
});

test('json rows have the fields scripts read (protocol, identity, enrolled)', () => {
  const [row] = JSON.parse(render(workloadRows({ items: [w('shop', 'web')] }), WORKLOAD_COLUMNS, 'json')) as Array<Record<string, unknown>>;
  assert.deepEqual(row, { namespace: 'shop', name: 'web', node: 'node-1', ips: ['10.244.1.5'], protocol: 'HBONE', identity: 'spiffe://cluster.local/ns/shop/sa/default', mtlsMode: 'STRICT', enrolled: true });
});

test('a controller that does not say protocol or mTLS mode: -', () => {
  const { protocol: _p, mtlsMode: _m, ...bare } = w('shop', 'web');
  const table = render(workloadRows({ items: [bare] }), WORKLOAD_COLUMNS, 'table');
  assert.match(table, /^shop\s+web\s+node-1\s+10\.244\.1\.5\s+-\s+\S+\s+-\s+-\s+yes$/m);
});
