import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BalancerCache, balancerKey } from './cache.js';
import { seededRandom } from './random.js';
import { inputs, keyOf, policy } from './test-helpers.js';

const cache = (maxBalancers?: number) => new BalancerCache({ now: () => 0, random: seededRandom(3), ...(maxBalancers && { limits: { maxBalancers } }) });

test('balancer_key_is_service_and_port', () => assert.equal(balancerKey('shop/echo.shop.svc.cluster.local', 80), 'shop/echo.shop.svc.cluster.local:80'));

test('cache_returns_the_same_balancer_per_service_port_with_its_state', () => {
  const c = cache();
  const b = c.get('shop/echo', 80, policy('LEAST_REQUEST'));
  b.update(inputs(3));
  b.track(keyOf(0));
  const again = c.get('shop/echo', 80, policy('LEAST_REQUEST', { warmupMs: 5_000 }));
  assert.equal(again, b);
  assert.equal(again.policy.warmupMs, 5_000, 'reconfigured');
  assert.equal(again.view()[0]!.active, 1, 'counters kept');
  assert.notEqual(c.get('shop/echo', 81, policy('LEAST_REQUEST')), b, 'another port, another balancer');
});

test('cache_is_bounded_and_drops_the_least_recently_used', () => {
  const c = cache(2);
  const a = c.get('s/a', 80, policy('ROUND_ROBIN'));
  c.get('s/b', 80, policy('ROUND_ROBIN'));
  c.get('s/a', 80, policy('ROUND_ROBIN')); // a used last
  c.get('s/c', 80, policy('ROUND_ROBIN'));
  assert.equal(c.size, 2);
  assert.equal(c.peek('s/b', 80), undefined);
  assert.equal(c.peek('s/a', 80), a);
});

test('cache_retain_forgets_service_ports_no_longer_configured', () => {
  const c = cache();
  c.get('s/a', 80, policy('ROUND_ROBIN'));
  c.get('s/a', 81, policy('ROUND_ROBIN'));
  c.retain((service, port) => service === 's/a' && port === 81);
  assert.equal(c.size, 1);
  assert.ok(c.peek('s/a', 81));
});

test('cache_seeds_balancers_reproducibly', () => {
  const picks = () => {
    const b = cache().get('s/a', 80, policy('RANDOM'));
    b.update(inputs(10));
    return Array.from({ length: 20 }, () => b.pick().endpoint?.ip);
  };
  assert.deepEqual(picks(), picks());
});
