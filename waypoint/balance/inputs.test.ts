import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../state/served.js';
import { endpointInputs } from './inputs.js';

const backend = (uid: string, ip: string, healthy = true): Backend => ({ workloadUid: uid, ip, port: 8080, mesh: true, identity: `spiffe://cluster.local/ns/shop/sa/${uid}`, healthy });

test('endpoint_inputs_leave_out_not_ready_endpoints_and_keep_the_order', () => {
  const got = endpointInputs([backend('b', '10.0.0.2'), backend('a', '10.0.0.1', false), backend('c', '10.0.0.3')], () => undefined);
  assert.deepEqual(got.map((e) => e.endpoint.ip), ['10.0.0.2', '10.0.0.3']);
  assert.deepEqual(got[0], { endpoint: { ip: '10.0.0.2', port: 8080, mesh: true, identity: 'spiffe://cluster.local/ns/shop/sa/b', workloadUid: 'b' } });
});

test('endpoint_inputs_carry_node_and_zone_when_known', () => {
  const got = endpointInputs([backend('a', '10.0.0.1'), backend('b', '10.0.0.2')], (uid) => (uid === 'a' ? { node: 'n1', zone: 'z1' } : { node: 'n2' }));
  assert.deepEqual(got.map((e) => [e.node, e.zone]), [['n1', 'z1'], ['n2', undefined]]);
  assert.equal('zone' in got[1]!, false);
});

test('endpoint_inputs_never_mark_ejection_so_the_balancer_keeps_outlier_decisions', () => {
  assert.ok(endpointInputs([backend('a', '10.0.0.1')], () => undefined).every((e) => e.ejected === undefined));
});
