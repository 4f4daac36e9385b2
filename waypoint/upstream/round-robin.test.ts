import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobin } from './round-robin.js';

const ep = (ip: string) => ({ ip, port: 80, mesh: true, identity: 'spiffe://cluster.local/ns/a/sa/b' });

test('round_robin_cycles_through_endpoints_per_key', () => {
  const rr = new RoundRobin();
  const eps = [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3')];
  assert.deepEqual([1, 2, 3, 4].map(() => rr.pick('s:80', eps)!.ip), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
  assert.equal(rr.pick('other:80', eps)!.ip, '10.0.0.1');
});

test('round_robin_with_no_endpoints_gives_none', () => assert.equal(new RoundRobin().pick('s:80', []), undefined));

test('round_robin_survives_the_endpoint_list_shrinking', () => {
  const rr = new RoundRobin();
  rr.pick('s', [ep('a'), ep('b'), ep('c')]);
  rr.pick('s', [ep('a'), ep('b'), ep('c')]);
  assert.equal(rr.pick('s', [ep('a')])!.ip, 'a');
});
