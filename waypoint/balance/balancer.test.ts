import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LbAlgorithm, LoadBalancer } from '../../core/config/traffic-policy.js';
import { Balancer, type PickResult } from './balancer.js';
import { extractHashKey, formatSetCookie } from './hash-key.js';
import type { EndpointInput } from './endpoint-set.js';
import type { Locality } from './locality.js';
import { seededRandom } from './random.js';
import { input, inputs, keyOf, keys, policy, sharesWithin, tally } from './test-helpers.js';

const ALL: LbAlgorithm[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];

function make(p: LoadBalancer, eps: EndpointInput[], o: { minHealthPercent?: number; local?: Locality; seed?: number } = {}) {
  const clock = { t: 1_000 };
  const b = new Balancer({ policy: p, now: () => clock.t, random: seededRandom(o.seed ?? 1), ...(o.minHealthPercent !== undefined && { minHealthPercent: o.minHealthPercent }), ...(o.local && { local: o.local }) });
  b.update(eps);
  return { b, clock };
}
const picked = (r: PickResult): string => {
  assert.ok(r.endpoint, `no endpoint: ${JSON.stringify(r)}`);
  return r.key;
};
/** n picks; hash algorithms get a distinct key per pick. */
const run = (b: Balancer, n: number) => Array.from({ length: n }, (_, i) => picked(b.pick(`user-${i}`)));
const even = (n: number, of = n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [keyOf(i), 1 / of]));

for (const a of ALL) {
  test(`${a.toLowerCase()}_spreads_evenly_over_equal_endpoints`, () => {
    const { b } = make(policy(a), inputs(5));
    assert.deepEqual(sharesWithin(tally(run(b, 10_000)), even(5), a === 'RING_HASH' ? 0.25 : 0.1), []);
  });

  test(`${a.toLowerCase()}_respects_weights`, () => {
    const { b } = make(policy(a, { ringSize: 16_384 }), inputs(3, (i) => ({ weight: i + 1 })));
    assert.deepEqual(sharesWithin(tally(run(b, 12_000)), { [keyOf(0)]: 1 / 6, [keyOf(1)]: 2 / 6, [keyOf(2)]: 3 / 6 }, 0.15), []);
  });

  test(`${a.toLowerCase()}_with_no_endpoints_says_empty`, () => {
    const { b } = make(policy(a), []);
    assert.deepEqual(b.pick('k'), { endpoint: undefined, reason: 'empty' });
  });

  test(`${a.toLowerCase()}_with_one_endpoint_always_picks_it`, () => {
    const { b } = make(policy(a), inputs(1));
    assert.deepEqual(new Set(run(b, 50)), new Set([keyOf(0)]));
  });

  test(`${a.toLowerCase()}_with_all_ejected_and_no_panic_says_no_healthy`, () => {
    const { b } = make(policy(a), inputs(3, () => ({ ejected: true })));
    assert.deepEqual(b.pick('k'), { endpoint: undefined, reason: 'no_healthy' });
  });

  test(`${a.toLowerCase()}_never_picks_an_ejected_endpoint`, () => {
    const { b } = make(policy(a), inputs(4));
    b.setEjected(keyOf(2), true);
    const t = tally(run(b, 2_000));
    assert.equal(t.get(keyOf(2)), undefined);
    assert.equal(t.size, 3);
  });

  test(`${a.toLowerCase()}_in_panic_mode_picks_among_all_endpoints`, () => {
    const { b } = make(policy(a), inputs(10, (i) => ({ ejected: i < 7 })), { minHealthPercent: 50 });
    const r = b.pick('k');
    assert.equal(r.endpoint && r.tier, 'panic');
    assert.equal(tally(run(b, 5_000)).size, 10);
  });
}

test('panic_mode_ends_when_enough_endpoints_heal', () => {
  const { b } = make(policy('ROUND_ROBIN'), inputs(4, (i) => ({ ejected: i < 3 })), { minHealthPercent: 50 });
  assert.equal(tally(run(b, 40)).size, 4);
  b.setEjected(keyOf(0), false); // 2 of 4 healthy: 50 % is not below 50 %
  const t = tally(run(b, 40));
  assert.deepEqual([...t.keys()].sort(), [keyOf(0), keyOf(3)]);
});

test('all_ejected_with_panic_mode_still_routes', () => {
  const { b } = make(policy('LEAST_REQUEST'), inputs(3, () => ({ ejected: true })), { minHealthPercent: 1 });
  assert.equal(tally(run(b, 300)).size, 3);
});

test('consistent_hash_sends_a_key_to_the_same_endpoint_on_every_replica', () => {
  for (const a of ['RING_HASH', 'MAGLEV'] as const) {
    const r1 = make(policy(a), inputs(20), { seed: 1 }).b;
    const r2 = make(policy(a), inputs(20), { seed: 99 }).b;
    for (const k of keys(500)) {
      const x = r1.pick(k), y = r2.pick(k);
      assert.equal(picked(x), picked(y));
      assert.equal(x.endpoint && x.hashed, true);
      assert.equal(picked(r1.pick(k)), picked(x), 'and again on the same replica');
    }
  }
});

test('consistent_hash_without_a_key_picks_at_random', () => {
  for (const a of ['RING_HASH', 'MAGLEV'] as const) {
    const { b } = make(policy(a), inputs(4));
    const results = Array.from({ length: 4_000 }, () => b.pick());
    assert.ok(results.every((r) => r.endpoint && !r.hashed));
    assert.deepEqual(sharesWithin(tally(results.map(picked)), even(4), 0.1), []);
  }
});

test('consistent_hash_moves_only_an_ejected_endpoints_keys_on_a_ring', () => {
  const { b } = make(policy('RING_HASH'), inputs(10));
  const ks = keys(5_000);
  const before = ks.map((k) => picked(b.pick(k)));
  b.setEjected(keyOf(4), true);
  const during = ks.map((k) => picked(b.pick(k)));
  ks.forEach((_, i) => before[i] !== keyOf(4) && assert.equal(during[i], before[i]));
  b.setEjected(keyOf(4), false);
  assert.deepEqual(ks.map((k) => picked(b.pick(k))), before, 'keys come back when it returns');
});

test('consistent_hash_adding_an_endpoint_moves_about_one_in_n_plus_one_keys', () => {
  for (const a of ['RING_HASH', 'MAGLEV'] as const) {
    const { b } = make(policy(a), inputs(10));
    const ks = keys(10_000);
    const before = ks.map((k) => picked(b.pick(k)));
    b.update(inputs(11));
    const moved = ks.filter((k, i) => picked(b.pick(k)) !== before[i]).length / ks.length;
    assert.ok(moved <= 1 / 11 + 0.03, `${a}: moved ${moved}`);
  }
});

test('hash_tables_are_rebuilt_only_when_the_candidates_change', () => {
  for (const a of ['RING_HASH', 'MAGLEV'] as const) {
    const { b } = make(policy(a), inputs(5));
    b.pick('x');
    assert.equal(b.stats.tableBuilds, 1);
    b.update(inputs(5)); // a new snapshot with the same endpoints
    b.configure({ ...policy(a) }); // an equal policy
    b.pick('y');
    assert.equal(b.stats.tableBuilds, 1);
    b.update(inputs(6));
    b.pick('z');
    assert.equal(b.stats.tableBuilds, 2);
    b.configure(policy(a, { ringSize: 4096, maglevTableSize: 251 }));
    b.pick('z');
    assert.equal(b.stats.tableBuilds, 3, 'a new size rebuilds');
  }
});

test('least_request_prefers_the_less_loaded_endpoint', () => {
  const { b } = make(policy('LEAST_REQUEST'), inputs(3));
  const releases = Array.from({ length: 5 }, () => b.track(keyOf(0)));
  const t = tally(run(b, 3_000));
  assert.equal(t.get(keyOf(0)), undefined, 'the busy endpoint loses every pair it is drawn in');
  releases.forEach((r) => r());
  assert.equal(tally(run(b, 3_000)).size, 3);
});

test('least_request_balances_in_flight_requests', () => {
  // Picks that are held open: the in-flight counts stay within one of each other.
  const { b } = make(policy('LEAST_REQUEST'), inputs(4));
  for (let i = 0; i < 400; i++) b.track(picked(b.pick()));
  const active = b.view().map((v) => v.active);
  assert.ok(Math.max(...active) - Math.min(...active) <= 10, active.join(','));
});

test('weighted_least_request_uses_weight_over_active_plus_one', () => {
  const { b } = make(policy('LEAST_REQUEST'), [input(0, { weight: 1 }), input(1, { weight: 3 })]);
  for (let i = 0; i < 5; i++) b.track(keyOf(1)); // 3 / 6 against 1 / 1
  const t = tally(run(b, 300));
  assert.equal(t.get(keyOf(0)), 200);
  assert.equal(t.get(keyOf(1)), 100);
});

test('track_release_counts_once_and_an_unknown_key_counts_nothing', () => {
  const { b } = make(policy('LEAST_REQUEST'), inputs(1));
  const release = b.track(keyOf(0));
  assert.equal(b.view()[0]!.active, 1);
  release();
  release();
  assert.equal(b.view()[0]!.active, 0);
  b.track('10.9.9.9:1')();
});

test('in_flight_counts_survive_a_config_update', () => {
  const { b } = make(policy('LEAST_REQUEST'), inputs(3));
  b.track(keyOf(1));
  b.update(inputs(5));
  b.configure(policy('LEAST_REQUEST', { warmupMs: 10 }));
  assert.equal(b.view().find((v) => v.key === keyOf(1))!.active, 1);
});

// Slow start: endpoint 1 joins at t0 next to a warm endpoint 0; warmup 30 s.
for (const a of ['ROUND_ROBIN', 'LEAST_REQUEST'] as const) {
  test(`${a.toLowerCase()}_slow_start_ramps_a_new_endpoints_share`, () => {
    const { b, clock } = make(policy(a, { warmupMs: 30_000 }), inputs(1));
    b.update(inputs(2));
    const shareOfNew = () => (tally(run(b, 2_200)).get(keyOf(1)) ?? 0) / 2_200;
    const expect = (f: number) => f / (1 + f);
    assert.ok(Math.abs(shareOfNew() - expect(0.1)) < 0.01, 'at 0 %: the 10 % floor');
    clock.t += 15_000;
    assert.ok(Math.abs(shareOfNew() - expect(0.5)) < 0.01, 'at 50 %: half weight');
    clock.t += 15_000;
    assert.ok(Math.abs(shareOfNew() - 0.5) < 0.01, 'at 100 %: full weight');
  });
}

test('slow_start_applies_to_an_endpoint_returning_from_ejection', () => {
  const { b, clock } = make(policy('ROUND_ROBIN', { warmupMs: 10_000 }), inputs(2));
  b.setEjected(keyOf(1), true);
  clock.t += 60_000;
  b.setEjected(keyOf(1), false);
  const v = b.view().find((x) => x.key === keyOf(1))!;
  assert.equal(v.warming, true);
  assert.equal(v.effectiveWeight, 0.1);
  const share = (tally(run(b, 1_100)).get(keyOf(1)) ?? 0) / 1_100;
  assert.ok(Math.abs(share - 0.1 / 1.1) < 0.01, `share ${share}`);
});

test('slow_start_does_not_apply_to_random_or_consistent_hashing', () => {
  for (const a of ['RANDOM', 'RING_HASH', 'MAGLEV'] as const) {
    const { b } = make(policy(a, { warmupMs: 30_000 }), inputs(1));
    b.update(inputs(2));
    assert.equal(b.view()[1]!.warming, false);
    assert.deepEqual(sharesWithin(tally(run(b, 4_000)), even(2), 0.12), [], a);
  }
});

test('endpoints_present_at_the_start_are_not_warming', () => {
  const { b } = make(policy('ROUND_ROBIN', { warmupMs: 30_000 }), inputs(3));
  assert.ok(b.view().every((v) => !v.warming && v.effectiveWeight === 1));
});

test('locality_failover_node_then_zone_then_any', () => {
  const eps = inputs(6, (i) => ({ node: `n${(i >> 1) + 1}`, zone: i < 4 ? 'a' : 'b' }));
  for (const a of ALL) {
    const { b } = make(policy(a), eps, { local: { node: 'n1', zone: 'a' } });
    const tiersAndKeys = () => {
      const rs = Array.from({ length: 200 }, (_, i) => b.pick(`k${i}`));
      return { tier: rs[0]!.endpoint && rs[0]!.tier, keys: [...new Set(rs.map(picked))].sort() };
    };
    assert.deepEqual(tiersAndKeys(), { tier: 'node', keys: [keyOf(0), keyOf(1)] }, a);
    b.setEjected(keyOf(0), true);
    b.setEjected(keyOf(1), true);
    assert.deepEqual(tiersAndKeys(), { tier: 'zone', keys: [keyOf(2), keyOf(3)] }, a);
    b.setEjected(keyOf(2), true);
    b.setEjected(keyOf(3), true);
    assert.deepEqual(tiersAndKeys(), { tier: 'any', keys: [keyOf(4), keyOf(5)] }, a);
  }
});

test('locality_preference_off_spreads_over_every_node', () => {
  const { b } = make(policy('ROUND_ROBIN', { localityPreference: false }), inputs(4, (i) => ({ node: `n${i}` })), { local: { node: 'n0' } });
  assert.equal(tally(run(b, 40)).size, 4);
});

test('changing_the_algorithm_keeps_the_endpoints', () => {
  const { b } = make(policy('ROUND_ROBIN'), inputs(3));
  run(b, 5);
  b.configure(policy('MAGLEV'));
  assert.equal(b.policy.algorithm, 'MAGLEV');
  assert.equal(tally(run(b, 300)).size, 3);
});

test('min_health_percent_out_of_range_is_clamped', () => {
  const { b } = make(policy('ROUND_ROBIN'), inputs(2, () => ({ ejected: true })), { minHealthPercent: 500 });
  assert.equal(b.pick().endpoint !== undefined, true, 'clamped to 100: panic');
  b.configure(policy('ROUND_ROBIN'), Number.NaN);
  assert.deepEqual(b.pick(), { endpoint: undefined, reason: 'no_healthy' });
});

test('cookie_affinity_the_first_request_and_the_ones_with_its_cookie_reach_the_same_endpoint', () => {
  const spec = { type: 'cookie', name: 'echo-session', ttlMs: 3_600_000, path: '/' } as const;
  for (const a of ['RING_HASH', 'MAGLEV'] as const) {
    const { b } = make(policy(a), inputs(8));
    const random = seededRandom(9);
    for (let client = 0; client < 50; client++) {
      const first = extractHashKey(spec, { headers: {}, path: '/' }, random, 1024);
      assert.ok(first.setCookie);
      const served = picked(b.pick(first.key));
      const cookieHeader = formatSetCookie(first.setCookie).split(';')[0]!; // what the client sends back
      const next = extractHashKey(spec, { headers: { cookie: `other=1; ${cookieHeader}` }, path: '/' }, random, 1024);
      assert.equal(next.setCookie, undefined);
      assert.equal(picked(b.pick(next.key)), served);
    }
  }
});
