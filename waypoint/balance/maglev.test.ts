import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash53 } from './hash.js';
import { BALANCE_LIMITS } from './limits.js';
import { buildMaglev, isPrime, maglevLookup, maglevTableSize } from './maglev.js';
import { keys, sharesWithin, tally } from './test-helpers.js';

const eps = (n: number, weight: (i: number) => number = () => 1) => Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i + 1}:8080`, weight: weight(i) }));
const route = (list: ReturnType<typeof eps>, ks: string[], size = 65537) => {
  const t = buildMaglev(list, size);
  return ks.map((k) => list[maglevLookup(t, hash53(k))]!.key);
};
const KEYS = keys(10_000);

test('maglev_fills_every_slot_and_splits_them_within_one', () => {
  const t = buildMaglev(eps(7), 65537);
  assert.ok(!t.includes(-1));
  const counts = [...tally(t).values()];
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, counts.join(','));
});

test('maglev_spreads_keys_evenly', () => {
  const t = tally(route(eps(10), KEYS));
  assert.deepEqual(sharesWithin(t, Object.fromEntries(eps(10).map((e) => [e.key, 0.1])), 0.1), []);
});

test('maglev_respects_weights', () => {
  const list = eps(3, (i) => i + 1);
  const slots = tally(buildMaglev(list, 65537));
  assert.deepEqual([0, 1, 2].map((i) => Math.round((slots.get(i)! / 65537) * 60)), [10, 20, 30]);
  const t = tally(route(list, KEYS));
  assert.deepEqual(sharesWithin(t, { [list[0]!.key]: 1 / 6, [list[1]!.key]: 2 / 6, [list[2]!.key]: 3 / 6 }, 0.1), []);
});

test('maglev_maps_the_same_keys_whatever_the_endpoint_order_for_most_keys', () => {
  // Turn order decides contested slots, so order matters a little (the paper's tables are
  // built in a fixed order too; the balancer keeps the Service's order).
  const list = eps(8);
  const a = route(list, KEYS), b = route([...list].reverse(), KEYS);
  const differ = a.filter((k, i) => k !== b[i]).length;
  assert.ok(differ / KEYS.length < 0.1, `${differ} differ`);
});

test('maglev_adding_one_endpoint_to_ten_moves_about_one_eleventh_of_keys', () => {
  const before = route(eps(10), KEYS);
  const after = route(eps(11), KEYS);
  let moved = 0, toNew = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (after[i] === '10.0.0.11:8080') toNew++;
  }
  assert.ok(moved / KEYS.length <= 1 / 11 + 0.03, `moved ${moved}`);
  assert.ok(toNew / moved > 0.9, `${toNew} of ${moved} moved to the new endpoint`);
});

test('maglev_removing_one_endpoint_moves_its_keys_and_few_others', () => {
  const list = eps(10);
  const before = route(list, KEYS);
  const after = route(list.filter((_, i) => i !== 3), KEYS);
  let others = 0;
  for (let i = 0; i < KEYS.length; i++) if (before[i] !== '10.0.0.4:8080' && after[i] !== before[i]) others++;
  assert.ok(others / KEYS.length < 0.03, `${others} keys of other endpoints moved`);
  assert.ok(!after.includes('10.0.0.4:8080'));
});

test('maglev_of_no_endpoints_is_an_empty_table', () => assert.equal(buildMaglev([], 65537).length, 0));

test('maglev_table_size_must_be_a_prime_within_bounds', () => {
  assert.equal(isPrime(65537), true);
  assert.equal(isPrime(65536), false);
  assert.equal(isPrime(1), false);
  assert.equal(isPrime(2), true);
  assert.equal(maglevTableSize(251, BALANCE_LIMITS), 251);
  assert.equal(maglevTableSize(1000, BALANCE_LIMITS), 65537, 'not prime');
  assert.equal(maglevTableSize(7, BALANCE_LIMITS), 65537, 'too small');
  assert.equal(maglevTableSize(1_000_003, BALANCE_LIMITS), 65537, 'too large');
});
