import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRolloutSpec } from './rollout-spec.js';

const BASE = { service: 'echo', stable: 'echo-v1', canary: 'echo-v2' };

function fails(spec: unknown): { field: string; message: string } {
  const r = readRolloutSpec(spec);
  assert.equal(r.ok, false, JSON.stringify(r));
  const { field, message } = r as { field: string; message: string };
  return { field, message };
}

test('the_issues_example_reads_into_the_state_machines_spec', () => {
  const r = readRolloutSpec({ ...BASE, steps: [5, 25, 50, 100], interval: '30s', gates: { minSuccessRate: 0.99, maxP99Latency: '500ms', minRequests: 20 } });
  assert.deepEqual(r, {
    ok: true,
    spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [5, 25, 50, 100], intervalMs: 30_000, gates: { minSuccessRate: 0.99, maxP99LatencyMs: 500, minRequests: 20 }, paused: false, abort: false },
  });
});

test('defaults_fill_steps_interval_and_gates', () => {
  const r = readRolloutSpec(BASE);
  assert.ok(r.ok);
  assert.deepEqual(r.spec.steps, [10, 50, 100]);
  assert.equal(r.spec.intervalMs, 60_000);
  assert.deepEqual(r.spec.gates, { minSuccessRate: 0.99, minRequests: 20 });
  assert.equal(r.spec.paused, false);
  assert.equal(r.spec.abort, false);
});

test('paused_and_abort_are_read', () => {
  const r = readRolloutSpec({ ...BASE, paused: true, abort: true });
  assert.ok(r.ok);
  assert.equal(r.spec.paused, true);
  assert.equal(r.spec.abort, true);
});

test('paused_must_be_a_boolean', () => {
  assert.deepEqual(fails({ ...BASE, paused: 'yes' }), { field: 'spec.paused', message: 'spec.paused: "yes" is not true or false' });
  assert.equal(fails({ ...BASE, abort: 1 }).field, 'spec.abort');
});

test('service_stable_and_canary_are_required_service_names', () => {
  assert.deepEqual(fails({ stable: 'a', canary: 'b' }), { field: 'spec.service', message: 'spec.service: nothing is not a Service name (a DNS label)' });
  assert.equal(fails({ ...BASE, stable: 'Echo_V1' }).field, 'spec.stable');
  assert.equal(fails({ ...BASE, canary: 3 }).field, 'spec.canary');
});

test('canary_must_differ_from_stable', () => {
  assert.match(fails({ ...BASE, canary: 'echo-v1' }).message, /spec.canary: "echo-v1" is also spec.stable/);
});

test('steps_must_increase', () => {
  assert.deepEqual(fails({ ...BASE, steps: [10, 10, 50] }), { field: 'spec.steps[1]', message: 'spec.steps[1]: 10 is not greater than the step before it (10): steps increase' });
  assert.equal(fails({ ...BASE, steps: [50, 25] }).field, 'spec.steps[1]');
});

test('steps_are_integers_from_1_to_100', () => {
  assert.equal(fails({ ...BASE, steps: [0, 50] }).field, 'spec.steps[0]');
  assert.equal(fails({ ...BASE, steps: [10, 101] }).field, 'spec.steps[1]');
  assert.equal(fails({ ...BASE, steps: [10.5] }).field, 'spec.steps[0]');
  assert.equal(fails({ ...BASE, steps: ['10'] }).field, 'spec.steps[0]');
});

test('steps_must_be_a_non_empty_list', () => {
  assert.equal(fails({ ...BASE, steps: [] }).field, 'spec.steps');
  assert.equal(fails({ ...BASE, steps: 50 }).field, 'spec.steps');
});

test('interval_is_a_duration', () => {
  assert.deepEqual(fails({ ...BASE, interval: '30' }), { field: 'spec.interval', message: 'spec.interval: "30" is not a duration such as "250ms" or "30s"' });
  assert.equal(fails({ ...BASE, interval: 30 }).field, 'spec.interval');
  const r = readRolloutSpec({ ...BASE, interval: '2m' });
  assert.ok(r.ok);
  assert.equal(r.spec.intervalMs, 120_000);
});

test('min_success_rate_is_a_fraction', () => {
  assert.deepEqual(fails({ ...BASE, gates: { minSuccessRate: 99 } }), { field: 'spec.gates.minSuccessRate', message: 'spec.gates.minSuccessRate: 99 is not a fraction from 0 to 1 (e.g. 0.99)' });
  assert.equal(fails({ ...BASE, gates: { minSuccessRate: -0.1 } }).field, 'spec.gates.minSuccessRate');
  assert.equal(fails({ ...BASE, gates: { minSuccessRate: '0.9' } }).field, 'spec.gates.minSuccessRate');
  const r = readRolloutSpec({ ...BASE, gates: { minSuccessRate: 1 } });
  assert.ok(r.ok);
  assert.equal(r.spec.gates.minSuccessRate, 1);
});

test('max_p99_latency_is_a_duration', () => {
  assert.equal(fails({ ...BASE, gates: { maxP99Latency: 'fast' } }).field, 'spec.gates.maxP99Latency');
  const r = readRolloutSpec({ ...BASE, gates: { maxP99Latency: '1.5s' } });
  assert.ok(r.ok);
  assert.equal(r.spec.gates.maxP99LatencyMs, 1500);
});

test('min_requests_is_a_non_negative_integer', () => {
  assert.equal(fails({ ...BASE, gates: { minRequests: -1 } }).field, 'spec.gates.minRequests');
  assert.equal(fails({ ...BASE, gates: { minRequests: 2.5 } }).field, 'spec.gates.minRequests');
  const r = readRolloutSpec({ ...BASE, gates: { minRequests: 0 } });
  assert.ok(r.ok);
  assert.equal(r.spec.gates.minRequests, 0);
});

test('gates_and_spec_must_be_objects', () => {
  assert.equal(fails({ ...BASE, gates: [] }).field, 'spec.gates');
  assert.equal(fails(undefined).field, 'spec');
  assert.equal(fails('x').field, 'spec');
});
