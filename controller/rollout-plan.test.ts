import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedGate, planRollout, rolloutRevision, ROLLOUT_GATE_CHECK_MS, type CanaryWindow, type RolloutSpec, type RolloutStatus } from './rollout-plan.js';

const T0 = Date.UTC(2026, 0, 1);
const S = 1000;

function spec(over: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    service: 'echo',
    stable: 'echo-v1',
    canary: 'echo-v2',
    steps: [5, 25, 50, 100],
    intervalMs: 30 * S,
    gates: { minSuccessRate: 0.99, maxP99LatencyMs: 500, minRequests: 20 },
    paused: false,
    abort: false,
    ...over,
  };
}

function healthy(startedAt: number, requests = 100): CanaryWindow {
  return { startedAt, requests, successes: requests, p99Ms: 40 };
}

/** Runs the machine from nothing to the status at `step`, each step healthy. */
function atStep(sp: RolloutSpec, step: number): RolloutStatus {
  let s = planRollout(sp, undefined, T0, undefined).status;
  let now = T0;
  for (let i = 0; i < step; i++) {
    const start = now;
    now += sp.intervalMs;
    s = planRollout(sp, s, now, healthy(start)).status;
  }
  return s;
}

test('a new rollout starts Progressing at the first step with its weight', () => {
  const d = planRollout(spec(), undefined, T0, undefined);
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.step, 0);
  assert.equal(d.status.canaryWeight, 5);
  assert.deepEqual(d.weights, { stable: 95, canary: 5 });
  assert.equal(d.resetWindow, true);
  assert.equal(d.status.stepStartedAt, T0);
  assert.equal(d.wakeInMs, ROLLOUT_GATE_CHECK_MS);
});

test('a new rollout created paused starts Paused at the first step', () => {
  const d = planRollout(spec({ paused: true }), undefined, T0, undefined);
  assert.equal(d.status.phase, 'Paused');
  assert.equal(d.status.canaryWeight, 5);
  assert.equal(d.wakeInMs, undefined);
});

test('a step does not advance before its interval passes', () => {
  const s = atStep(spec(), 0);
  const d = planRollout(spec(), s, T0 + 10 * S, healthy(T0));
  assert.equal(d.status.step, 0);
  assert.equal(d.resetWindow, false);
  assert.equal(d.wakeInMs, ROLLOUT_GATE_CHECK_MS);
});

test('a healthy step advances after its interval to the next weight and starts a new window', () => {
  const s = atStep(spec(), 0);
  const d = planRollout(spec(), s, T0 + 30 * S, healthy(T0));
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.step, 1);
  assert.deepEqual(d.weights, { stable: 75, canary: 25 });
  assert.equal(d.resetWindow, true);
  assert.equal(d.status.stepStartedAt, T0 + 30 * S);
  assert.match(d.status.message, /step 2 of 4: canary 25%/);
});

test('the last step done ends Succeeded with the canary at 100', () => {
  const s = atStep(spec(), 3);
  assert.equal(s.canaryWeight, 100);
  const d = planRollout(spec(), s, s.stepStartedAt + 30 * S, healthy(s.stepStartedAt));
  assert.equal(d.status.phase, 'Succeeded');
  assert.deepEqual(d.weights, { stable: 0, canary: 100 });
  assert.equal(d.wakeInMs, undefined);
});

test('steps that stop short of 100 still end with the canary taking all traffic', () => {
  const sp = spec({ steps: [10, 50] });
  const s = atStep(sp, 1);
  const d = planRollout(sp, s, s.stepStartedAt + 30 * S, healthy(s.stepStartedAt));
  assert.equal(d.status.phase, 'Succeeded');
  assert.equal(d.status.canaryWeight, 100);
});

test('a step waits for minRequests before it advances, and says how many it has', () => {
  const s = atStep(spec(), 0);
  const d = planRollout(spec(), s, T0 + 60 * S, healthy(T0, 7));
  assert.equal(d.status.step, 0);
  assert.equal(d.status.phase, 'Progressing');
  assert.match(d.status.message, /waiting for 20 requests to the canary \(7 so far\)/);
});

test('a failing success rate rolls back at once, before the interval ends, naming gate and value', () => {
  const s = atStep(spec(), 1);
  const w: CanaryWindow = { startedAt: s.stepStartedAt, requests: 50, successes: 40, p99Ms: 30 };
  const d = planRollout(spec(), s, s.stepStartedAt + 5 * S, w);
  assert.equal(d.status.phase, 'RolledBack');
  assert.deepEqual(d.weights, { stable: 100, canary: 0 });
  assert.deepEqual(d.status.failedGate, { gate: 'minSuccessRate', measured: 0.8, threshold: 0.99 });
  assert.match(d.status.message, /success rate 80% over 50 requests is under minSuccessRate 99%/);
});

test('a failing p99 latency rolls back naming the measured latency', () => {
  const s = atStep(spec(), 0);
  const d = planRollout(spec(), s, T0 + 5 * S, { startedAt: T0, requests: 30, successes: 30, p99Ms: 900 });
  assert.equal(d.status.phase, 'RolledBack');
  assert.deepEqual(d.status.failedGate, { gate: 'maxP99Latency', measured: 900, threshold: 500 });
  assert.match(d.status.message, /p99 latency 900ms over 30 requests is over maxP99Latency 500ms/);
});

test('gates are not judged on fewer than minRequests requests', () => {
  assert.equal(failedGate(spec().gates, { startedAt: T0, requests: 3, successes: 0, p99Ms: 9999 }), undefined);
  const s = atStep(spec(), 0);
  const d = planRollout(spec(), s, T0 + 5 * S, { startedAt: T0, requests: 3, successes: 0 });
  assert.equal(d.status.phase, 'Progressing');
});

test('a gate left out is never judged', () => {
  const gates = { minRequests: 1 };
  assert.equal(failedGate(gates, { startedAt: T0, requests: 10, successes: 0, p99Ms: 1e6 }), undefined);
});

test('a success rate exactly at the bound passes', () => {
  assert.equal(failedGate(spec().gates, { startedAt: T0, requests: 100, successes: 99, p99Ms: 500 }), undefined);
});

test('pause holds the current weight; resume starts the step afresh', () => {
  const s = atStep(spec(), 2);
  const paused = planRollout(spec({ paused: true }), s, s.stepStartedAt + 10 * S, healthy(s.stepStartedAt));
  assert.equal(paused.status.phase, 'Paused');
  assert.equal(paused.status.canaryWeight, 50);
  assert.equal(paused.wakeInMs, undefined);
  // A paused rollout does not advance however long it waits.
  const still = planRollout(spec({ paused: true }), paused.status, s.stepStartedAt + 600 * S, healthy(s.stepStartedAt));
  assert.equal(still.status.step, 2);
  const resumed = planRollout(spec(), still.status, s.stepStartedAt + 700 * S, healthy(s.stepStartedAt));
  assert.equal(resumed.status.phase, 'Progressing');
  assert.equal(resumed.status.step, 2);
  assert.equal(resumed.resetWindow, true);
  assert.equal(resumed.status.stepStartedAt, s.stepStartedAt + 700 * S);
});

test('abort rolls a running rollout back to the stable at once', () => {
  const s = atStep(spec(), 2);
  const d = planRollout(spec({ abort: true }), s, s.stepStartedAt + S, undefined);
  assert.equal(d.status.phase, 'RolledBack');
  assert.deepEqual(d.weights, { stable: 100, canary: 0 });
  assert.match(d.status.message, /aborted at step 3 of 4 \(canary was 50%\)/);
  assert.equal(d.status.failedGate, undefined);
});

test('Succeeded and RolledBack are final for the rollout they ended, whatever the window says', () => {
  const rolledBack: RolloutStatus = { phase: 'RolledBack', canaryWeight: 0, step: 1, message: 'x', stepStartedAt: T0, revision: rolloutRevision(spec()) };
  const d = planRollout(spec(), rolledBack, T0 + 600 * S, healthy(T0));
  assert.equal(d.status, rolledBack);
  assert.deepEqual(d.weights, { stable: 100, canary: 0 });
  const succeeded: RolloutStatus = { ...rolledBack, phase: 'Succeeded', canaryWeight: 100 };
  assert.deepEqual(planRollout(spec({ paused: true }), succeeded, T0, undefined).weights, { stable: 0, canary: 100 });
});

test('a new canary starts a new rollout from the first step, even after one ended', () => {
  const rolledBack: RolloutStatus = { phase: 'RolledBack', canaryWeight: 0, step: 1, message: 'x', stepStartedAt: T0, revision: rolloutRevision(spec()) };
  const d = planRollout(spec({ canary: 'echo-v3' }), rolledBack, T0 + S, undefined);
  assert.equal(d.status.phase, 'Progressing');
  assert.equal(d.status.step, 0);
  assert.equal(d.status.canaryWeight, 5);
  assert.equal(d.status.revision, rolloutRevision(spec({ canary: 'echo-v3' })));
});

test('after a controller restart the step keeps its weight and measures afresh', () => {
  const s = atStep(spec(), 1);
  // A new leader holds no window: it keeps step and weight and asks for a new window.
  const d = planRollout(spec(), s, s.stepStartedAt + 25 * S, undefined);
  assert.equal(d.status.step, 1);
  assert.equal(d.status.canaryWeight, 25);
  assert.equal(d.resetWindow, true);
  // The step then advances one interval after the new window began.
  const w = healthy(s.stepStartedAt + 25 * S);
  assert.equal(planRollout(spec(), d.status, s.stepStartedAt + 40 * S, w).status.step, 1);
  assert.equal(planRollout(spec(), d.status, s.stepStartedAt + 55 * S, w).status.step, 2);
});

test('an abort on a rollout that has not started leaves the stable alone', () => {
  const d = planRollout(spec({ abort: true }), undefined, T0, undefined);
  assert.equal(d.status.phase, 'RolledBack');
  assert.deepEqual(d.weights, { stable: 100, canary: 0 });
});

test('a short interval wakes the driver at the interval, not later', () => {
  const sp = spec({ intervalMs: 2 * S });
  const s = atStep(sp, 0);
  assert.equal(planRollout(sp, s, T0 + S, healthy(T0)).wakeInMs, S);
});
