// Unit tests of when the local kubelet tries a pod's network setup again, and what it says meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KUBELET_DEFAULTS } from '../limits.js';
import { decideSandboxRetry, sandboxFailureMessage, sandboxRetryDelayMs, SANDBOX_RETRY_LIMITS } from './sandbox-retry.js';

test('sandbox_retry_backs_off_doubling_to_the_cap', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => sandboxRetryDelayMs(n));
  assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
});

test('sandbox_retry_uses_the_named_limits', () => {
  assert.deepEqual(SANDBOX_RETRY_LIMITS, { initialMs: KUBELET_DEFAULTS.sandboxRetryInitialMs, maxMs: KUBELET_DEFAULTS.sandboxRetryMaxMs });
  assert.equal(sandboxRetryDelayMs(1), KUBELET_DEFAULTS.sandboxRetryInitialMs);
  assert.equal(sandboxRetryDelayMs(100), KUBELET_DEFAULTS.sandboxRetryMaxMs);
});

test('sandbox_retry_stays_at_the_cap_after_a_long_outage', () => {
  // 2^(n-1) would overflow to Infinity; the delay never exceeds the cap.
  for (const n of [1_100, 1e6, Number.MAX_SAFE_INTEGER, Infinity]) assert.equal(sandboxRetryDelayMs(n), 30_000, String(n));
});

test('sandbox_retry_treats_odd_failure_counts_as_the_first', () => {
  for (const n of [0, -3, 0.5, NaN]) assert.equal(sandboxRetryDelayMs(n), 1_000, String(n));
});

test('sandbox_retry_with_custom_limits_doubles_from_its_initial_delay', () => {
  const limits = { initialMs: 100, maxMs: 350 };
  assert.deepEqual([1, 2, 3, 4].map((n) => sandboxRetryDelayMs(n, limits)), [100, 200, 350, 350]);
  // A cap below the initial delay is the initial delay.
  assert.equal(sandboxRetryDelayMs(5, { initialMs: 500, maxMs: 10 }), 500);
});

test('sandbox_retry_continues_while_the_pod_exists', () => {
  assert.deepEqual(decideSandboxRetry({ failures: 1, podDeleted: false, kubeletStopping: false }), { retry: true, delayMs: 1_000 });
  assert.deepEqual(decideSandboxRetry({ failures: 50, podDeleted: false, kubeletStopping: false }), { retry: true, delayMs: 30_000 });
});

test('sandbox_retry_stops_when_the_pod_is_deleted', () => {
  assert.deepEqual(decideSandboxRetry({ failures: 3, podDeleted: true, kubeletStopping: false }), { retry: false, why: 'pod deleted' });
  assert.deepEqual(decideSandboxRetry({ failures: 3, podDeleted: true, kubeletStopping: true }), { retry: false, why: 'pod deleted' });
});

test('sandbox_retry_stops_when_the_kubelet_stops', () => {
  assert.deepEqual(decideSandboxRetry({ failures: 1, podDeleted: false, kubeletStopping: true }), { retry: false, why: 'kubelet stopping' });
});

test('sandbox_failure_message_names_the_error_attempts_and_next_delay', () => {
  const err = 'pod network ADD for pod default/a failed: CNI plugin "ambient-cni" ADD failed (code 11): the node agent is not answering';
  assert.equal(sandboxFailureMessage(err, 1, 1_000), `Failed to create pod sandbox: ${err} (1 attempt failed; next in 1s)`);
  assert.match(sandboxFailureMessage(err, 4, 8_000), /\(4 attempts failed; next in 8s\)$/);
  assert.match(sandboxFailureMessage(err, 1, 250), /next in 0\.3s\)$/);
});

test('sandbox_failure_message_is_one_bounded_line', () => {
  const long = `first line\n${'x'.repeat(10_000)}`;
  const m = sandboxFailureMessage(long, 2, 2_000);
  assert.ok(!m.includes('\n'));
  assert.ok(m.length < KUBELET_DEFAULTS.sandboxErrorMaxChars + 100, `length ${m.length}`);
  assert.match(m, /^Failed to create pod sandbox: first line x+\.\.\. \(2 attempts failed; next in 2s\)$/);
  assert.equal(sandboxFailureMessage('  ', 1, 1_000), 'Failed to create pod sandbox: network setup failed (1 attempt failed; next in 1s)');
});
