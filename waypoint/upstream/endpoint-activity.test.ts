import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UpstreamEndpoint } from '../http/chain.js';
import { EndpointActivity } from './endpoint-activity.js';

const ep = (ip: string): UpstreamEndpoint => ({ ip, port: 8080, mesh: false, identity: '' });

test('requests_in_flight_are_counted_per_endpoint_and_end_once', () => {
  const held = new Map([['shop/a:80', [ep('10.0.0.1'), ep('10.0.0.2')]]]);
  const act = new EndpointActivity((s, p) => held.get(`${s}:${p}`) ?? []);
  const end1 = act.start('shop/a', 80, ep('10.0.0.1'));
  act.start('shop/a', 80, ep('10.0.0.1'));
  assert.deepEqual([...act.snapshot()], [
    { service: 'shop/a', endpoint: '10.0.0.1:8080', active: 2 },
    { service: 'shop/a', endpoint: '10.0.0.2:8080', active: 0 },
  ]);
  end1();
  end1();
  assert.equal([...act.snapshot()][0]!.active, 1, 'ending twice counts once');
});

test('an_endpoint_that_left_the_config_leaves_the_snapshot', () => {
  const held = new Map([['shop/a:80', [ep('10.0.0.1'), ep('10.0.0.2')]]]);
  const act = new EndpointActivity((s, p) => held.get(`${s}:${p}`) ?? []);
  act.start('shop/a', 80, ep('10.0.0.2'));
  held.set('shop/a:80', [ep('10.0.0.1')]);
  assert.deepEqual([...act.snapshot()].map((e) => e.endpoint), ['10.0.0.1:8080']);
});

test('a_service_with_no_endpoint_and_nothing_in_flight_is_forgotten', () => {
  const held = new Map([['shop/a:80', [ep('10.0.0.1')]]]);
  const act = new EndpointActivity((s, p) => held.get(`${s}:${p}`) ?? []);
  act.start('shop/a', 80, ep('10.0.0.1'))();
  held.delete('shop/a:80');
  assert.deepEqual([...act.snapshot()], []);
  held.set('shop/a:80', [ep('10.0.0.1')]);
  assert.deepEqual([...act.snapshot()], [], 'no longer listed until it is sent to again');
});
