// A Rollout's state machine (Rollout.ambient.dev/v1, docs/traffic-management.md "Canary
// rollouts"), as one pure function: the object's spec and status, the clock and what the
// waypoints measured for the canary since the current step began, in; the status to write,
// the weights the Service's HTTPRoute must carry and when to look again, out. The driver
// (controller/rollout-driver.ts) does the I/O: it reads the waypoints' request metrics,
// patches the HTTPRoute and writes the status, leader only.
//
//                 gates hold for `interval`          last step done
//   (new) ──> Progressing ──────────────────> next step ─────────────> Succeeded (canary 100)
//                 │  ▲  │
//     spec.paused │  │  │ a gate fails (with at least minRequests), or spec.abort
//                 ▼  │  ▼
//               Paused   RolledBack (canary 0; the failing gate and the measured value)
//
// Everything that must survive a controller restart or a leader change lives in the
// object's status (phase, step, canary weight, the step's start and the spec revision it
// belongs to). What does not, the canary's measurements since the step began, is kept by the
// driver in memory: a new leader starts the step's window afresh (`resetWindow`), so a
// step lasts at most one interval longer, and a gate is never judged on numbers from before
// the step.
//
// Succeeded and RolledBack are final for the rollout they ended: a change of what is rolled
// out (service, stable, canary or steps) starts a new one from the first step. `abort`
// ends a running rollout in RolledBack at once; pausing holds the current weight.

export type RolloutPhase = 'Progressing' | 'Paused' | 'Succeeded' | 'RolledBack';
export type RolloutGate = 'minSuccessRate' | 'maxP99Latency';

export interface RolloutGates {
  /** Fraction of the canary's requests that must not be 5xx (0..1). */
  minSuccessRate?: number;
  /** The canary's p99 latency must stay at or under this. */
  maxP99LatencyMs?: number;
  /** Gates are judged, and a step may advance, only once the canary served this many
   * requests in the step. */
  minRequests: number;
}

/** A Rollout's spec, validated (controller/rollout-spec.ts). */
export interface RolloutSpec {
  service: string;
  stable: string;
  canary: string;
  /** Canary weights in percent, increasing, each 1..100. */
  steps: number[];
  intervalMs: number;
  gates: RolloutGates;
  paused: boolean;
  abort: boolean;
}

export interface RolloutStatus {
  phase: RolloutPhase;
  /** The canary's share of the Service's traffic, percent. */
  canaryWeight: number;
  /** Index into spec.steps of the current (or last) step. */
  step: number;
  message: string;
  /** When the current step began (ms since the epoch), for `rollout status`. */
  stepStartedAt: number;
  /** Which rollout this status belongs to (rolloutRevision of its spec). */
  revision: string;
  /** For RolledBack on a gate: which one, what was measured and the bound. */
  failedGate?: { gate: RolloutGate; measured: number; threshold: number };
}

/** What the waypoints measured for the canary since the step's window began. */
export interface CanaryWindow {
  /** When the driver began counting (ms since the epoch). */
  startedAt: number;
  requests: number;
  /** Requests answered with anything but 5xx. */
  successes: number;
  /** The window's p99 latency; undefined when there is no request. */
  p99Ms?: number;
}

export interface RolloutDecision {
  status: RolloutStatus;
  /** The weights the HTTPRoute's backendRefs must carry (they add up to 100). */
  weights: { stable: number; canary: number };
  /** The driver must start a new measurement window now (a new step, or none is held). */
  resetWindow: boolean;
  /** Look again after this long at the latest; undefined: nothing will change by itself. */
  wakeInMs?: number;
}

/** Identifies what is rolled out: a change of any of these starts a new rollout. */
export function rolloutRevision(spec: Pick<RolloutSpec, 'service' | 'stable' | 'canary' | 'steps'>): string {
  return JSON.stringify([spec.service, spec.stable, spec.canary, spec.steps]);
}

/** How often a Progressing rollout looks at its gates within a step (at most). */
export const ROLLOUT_GATE_CHECK_MS = 5_000;

function weights(canary: number): RolloutDecision['weights'] {
  return { stable: 100 - canary, canary };
}

function decide(status: RolloutStatus, resetWindow: boolean, wakeInMs?: number): RolloutDecision {
  return { status, weights: weights(status.canaryWeight), resetWindow, ...(wakeInMs === undefined ? {} : { wakeInMs }) };
}

function fmtRate(r: number): string {
  return `${(r * 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** The first gate the window fails, or undefined. Judged only with enough requests. */
export function failedGate(gates: RolloutGates, w: CanaryWindow): RolloutStatus['failedGate'] {
  if (w.requests < gates.minRequests || w.requests === 0) return undefined;
  if (gates.minSuccessRate !== undefined) {
    const rate = w.successes / w.requests;
    if (rate < gates.minSuccessRate) return { gate: 'minSuccessRate', measured: rate, threshold: gates.minSuccessRate };
  }
  if (gates.maxP99LatencyMs !== undefined && w.p99Ms !== undefined && w.p99Ms > gates.maxP99LatencyMs) {
    return { gate: 'maxP99Latency', measured: w.p99Ms, threshold: gates.maxP99LatencyMs };
  }
  return undefined;
}

function gateMessage(f: NonNullable<RolloutStatus['failedGate']>, w: CanaryWindow): string {
  return f.gate === 'minSuccessRate'
    ? `rolled back: canary success rate ${fmtRate(f.measured)} over ${w.requests} requests is under minSuccessRate ${fmtRate(f.threshold)}`
    : `rolled back: canary p99 latency ${Math.round(f.measured)}ms over ${w.requests} requests is over maxP99Latency ${f.threshold}ms`;
}

function start(spec: RolloutSpec, revision: string, now: number): RolloutDecision {
  const w = spec.steps[0] ?? 100;
  const phase: RolloutPhase = spec.paused ? 'Paused' : 'Progressing';
  const message = spec.paused ? `paused at step 1 of ${spec.steps.length} (canary ${w}%)` : `step 1 of ${spec.steps.length}: canary ${w}%`;
  return decide({ phase, canaryWeight: w, step: 0, message, stepStartedAt: now, revision }, true, spec.paused ? undefined : Math.min(spec.intervalMs, ROLLOUT_GATE_CHECK_MS));
}

/**
 * One step of the state machine. `window` is the driver's measurement since the step began,
 * undefined when it holds none (first look, or a new leader).
 */
export function planRollout(spec: RolloutSpec, previous: RolloutStatus | undefined, now: number, window: CanaryWindow | undefined): RolloutDecision {
  const revision = rolloutRevision(spec);
  const last = spec.steps.length - 1;
  if (previous === undefined || previous.revision !== revision) {
    if (spec.abort) return decide({ phase: 'RolledBack', canaryWeight: 0, step: 0, message: 'aborted before it started', stepStartedAt: now, revision }, false);
    return start(spec, revision, now);
  }
  const s = previous;
  if (s.phase === 'Succeeded' || s.phase === 'RolledBack') return decide(s, false);
  if (spec.abort) {
    return decide({ ...s, phase: 'RolledBack', canaryWeight: 0, message: `aborted at step ${s.step + 1} of ${spec.steps.length} (canary was ${s.canaryWeight}%)`, failedGate: undefined }, false);
  }
  if (spec.paused) {
    const message = `paused at step ${s.step + 1} of ${spec.steps.length} (canary ${s.canaryWeight}%)`;
    return decide({ ...s, phase: 'Paused', message }, false);
  }
  if (s.phase === 'Paused') {
    // Resumed: the step's interval and window start again, so what is judged is measured
    // after the resume.
    return decide({ ...s, phase: 'Progressing', message: `resumed at step ${s.step + 1} of ${spec.steps.length}: canary ${s.canaryWeight}%`, stepStartedAt: now }, true, Math.min(spec.intervalMs, ROLLOUT_GATE_CHECK_MS));
  }
  // Progressing.
  if (window === undefined || window.startedAt > now) {
    return decide(s, true, Math.min(spec.intervalMs, ROLLOUT_GATE_CHECK_MS));
  }
  const failed = failedGate(spec.gates, window);
  if (failed) return decide({ ...s, phase: 'RolledBack', canaryWeight: 0, message: gateMessage(failed, window), failedGate: failed }, false);
  const elapsed = now - window.startedAt;
  if (elapsed < spec.intervalMs) return decide(s, false, Math.min(spec.intervalMs - elapsed, ROLLOUT_GATE_CHECK_MS));
  if (window.requests < spec.gates.minRequests) {
    const message = `step ${s.step + 1} of ${spec.steps.length}: canary ${s.canaryWeight}%, waiting for ${spec.gates.minRequests} requests to the canary (${window.requests} so far)`;
    return decide({ ...s, message }, false, ROLLOUT_GATE_CHECK_MS);
  }
  if (s.step >= last) {
    return decide({ ...s, phase: 'Succeeded', canaryWeight: 100, message: `succeeded: canary ${spec.canary} takes all traffic`, failedGate: undefined }, false);
  }
  const step = s.step + 1;
  const w = spec.steps[step]!;
  return decide({ ...s, step, canaryWeight: w, message: `step ${step + 1} of ${spec.steps.length}: canary ${w}%`, stepStartedAt: now }, true, Math.min(spec.intervalMs, ROLLOUT_GATE_CHECK_MS));
}
