import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateText, phaseText, renderRolloutStatus, stepText, type RolloutObject } from './rollout-view.js';

const RO: RolloutObject = {
  metadata: { name: 'echo', namespace: 'shop', generation: 2 },
  spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [5, 25, 50, 100] },
  status: { phase: 'RolledBack', canaryWeight: 0, step: 1, message: 'rolled back: ...', observedGeneration: 2, failedGate: { gate: 'minSuccessRate', measured: 0.875, threshold: 0.99 } },
};

test('step_is_one_based_of_the_steps', () => {
  assert.equal(stepText(RO), '2 of 4');
  assert.equal(stepText({ spec: RO.spec }), '-');
});

test('gate_text_formats_rates_as_percent_and_latency_as_ms', () => {
  assert.equal(gateText(RO.status!.failedGate), 'minSuccessRate: measured 87.5%, bound 99%');
  assert.equal(gateText({ gate: 'maxP99Latency', measured: 812.4, threshold: 500 }), 'maxP99Latency: measured 812ms, bound 500ms');
  assert.equal(gateText(null), '');
});

test('phase_says_when_the_spec_changed_since_the_status', () => {
  assert.equal(phaseText(RO), 'RolledBack');
  assert.equal(phaseText({ ...RO, metadata: { ...RO.metadata, generation: 3 } }), 'RolledBack (spec changed; the controller has not acted on it yet)');
  assert.equal(phaseText({ spec: RO.spec }), 'Pending');
});

test('status_block_lists_phase_step_weight_message_and_failed_gate', () => {
  const out = renderRolloutStatus(RO);
  assert.match(out, /^Rollout:\s+shop\/echo$/m);
  assert.match(out, /^Service:\s+echo \(stable echo-v1, canary echo-v2\)$/m);
  assert.match(out, /^Phase:\s+RolledBack$/m);
  assert.match(out, /^Step:\s+2 of 4 \(steps 5, 25, 50, 100\)$/m);
  assert.match(out, /^Canary weight:\s+0%$/m);
  assert.match(out, /^Failed gate:\s+minSuccessRate: measured 87.5%, bound 99%$/m);
});

test('a_rollout_not_yet_seen_says_so', () => {
  const out = renderRolloutStatus({ metadata: { name: 'x', namespace: 'shop' }, spec: RO.spec });
  assert.match(out, /^Phase:\s+Pending$/m);
  assert.match(out, /the controller has not looked at this rollout yet/);
});
