// The layer comparison's configurations (waypoint-variants.ts): each variant's TrafficPolicy
// goes through the controller's compiler and turns on exactly its layers, never-triggering;
// and the small helpers the table is computed with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrafficPolicy } from '../../core/config/traffic-policy-compile.js';
import {
  DEFAULT_LAYER_VARIANTS,
  LAYER_VARIANTS,
  MAX_LAYER_RATE,
  NEVER_TRIGGERING_GLOBAL_LIMIT,
  flowStyle,
  middle,
  needsRedis,
  pairedRatio,
  parseVariants,
  roundOrder,
  variantObject,
  type LayerVariant,
} from './waypoint-variants.js';

function compiled(v: LayerVariant) {
  const o = variantObject(v, 'bw-b', 'bench');
  assert.ok(o, `${v} has a policy`);
  const r = compileTrafficPolicy(o);
  assert.ok(r.ok, r.ok ? '' : r.message);
  assert.deepEqual(r.refs.map((x) => x.name), ['bench']);
  return r.policy;
}

test('bare_variant_has_no_traffic_policy', () => {
  assert.equal(variantObject('bare', 'bw-b', 'bench'), undefined);
  assert.equal(needsRedis('bare'), false);
});

test('every_variant_with_a_policy_compiles_without_warnings', () => {
  for (const v of LAYER_VARIANTS.filter((x) => x !== 'bare')) {
    const r = compileTrafficPolicy(variantObject(v, 'bw-b', 'bench'));
    assert.ok(r.ok, `${v}: ${r.ok ? '' : r.message}`);
    assert.deepEqual(r.warnings, [], v);
  }
});

test('each_single_layer_variant_turns_on_only_its_layer', () => {
  const on = (v: LayerVariant) => {
    const p = compiled(v);
    return { retries: !!p.retries, outlier: !!p.outlierDetection, global: !!p.rateLimits?.global, local: !!p.rateLimits?.local, pool: !!p.connectionPool };
  };
  const none = { retries: false, outlier: false, global: false, local: false, pool: false };
  assert.deepEqual(on('policy'), none);
  assert.deepEqual(on('retries'), { ...none, retries: true });
  assert.deepEqual(on('outlier'), { ...none, outlier: true });
  assert.deepEqual(on('global-limit'), { ...none, global: true });
  assert.deepEqual(on('all'), { ...none, retries: true, outlier: true, global: true });
});

test('retries_variant_would_retry_the_benchs_post_requests', () => {
  const r = compiled('retries').retries!;
  assert.equal(r.retryNonIdempotent, true);
  assert.equal(r.attempts, 3);
});

test('global_limit_variant_is_far_above_any_bench_rate_and_lets_requests_through_without_redis', () => {
  const g = compiled('global-limit').rateLimits!.global!;
  assert.equal(g.requests, NEVER_TRIGGERING_GLOBAL_LIMIT);
  assert.equal(g.perMs, 1000);
  assert.ok(g.requests / (g.perMs / 1000) >= 100 * MAX_LAYER_RATE, 'at least 100x the highest --rate the bench accepts');
  assert.equal(g.failureMode, 'allow');
  assert.equal(needsRedis('global-limit'), true);
  assert.equal(needsRedis('all'), true);
  assert.equal(needsRedis('retries'), false);
});

test('parse_variants_defaults_to_bare_each_layer_and_all', () => {
  assert.deepEqual(parseVariants(undefined), [...DEFAULT_LAYER_VARIANTS]);
  assert.deepEqual(DEFAULT_LAYER_VARIANTS, ['bare', 'retries', 'outlier', 'global-limit', 'all']);
});

test('parse_variants_keeps_table_order_and_rejects_unknown_or_no_bare', () => {
  assert.deepEqual(parseVariants('all, bare,retries'), ['bare', 'retries', 'all']);
  assert.throws(() => parseVariants('bare,local'), /--variants: unknown "local"/);
  assert.throws(() => parseVariants('retries'), /must include bare/);
  assert.throws(() => parseVariants(' , '), /empty/);
});

test('flow_style_writes_policies_as_the_issue_does', () => {
  assert.equal(flowStyle({ retries: { attempts: 3, retryOn: ['5xx', 'reset'], perTryTimeout: '2s' } }), '{retries: {attempts: 3, retryOn: [5xx, reset], perTryTimeout: 2s}}');
  assert.equal(flowStyle({ group: '', ok: true }), '{group: "", ok: true}');
});

test('flow_style_quotes_strings_that_would_read_as_other_types_or_break_the_line', () => {
  assert.equal(flowStyle(['true', '100', 'a b', 'x: y']), '["true", "100", "a b", "x: y"]');
});

test('paired_ratio_is_the_median_of_per_round_ratios', () => {
  assert.equal(pairedRatio([2, 3, 12], [1, 1, 4]), 3);
  assert.equal(pairedRatio([2, 4], [1, 1]), 3);
});

test('paired_ratio_skips_rounds_missing_either_side_or_with_no_base', () => {
  assert.equal(pairedRatio([2, undefined, 9, 5], [1, 1, undefined, 0]), 2);
  assert.equal(pairedRatio([undefined], [1]), undefined);
  assert.equal(pairedRatio([], []), undefined);
  assert.equal(pairedRatio([NaN, 6], [1, 2]), 3);
});

test('middle_is_the_median_of_finite_values', () => {
  assert.equal(middle([5, 1, 3]), 3);
  assert.equal(middle([4, 1, undefined, 2, 3]), 2.5);
  assert.equal(middle([undefined, NaN]), undefined);
});

test('round_order_rotates_by_one_each_round', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder([], 2), []);
});
