// A Rollout.ambient.dev/v1 object's spec, checked and read into the RolloutSpec the state
// machine takes (controller/rollout-plan.ts), or a fault naming the field and its value.
// Pure. Defaults (docs/traffic-management.md "Canary rollouts"):
//   steps [10, 50, 100], interval 1m,
//   gates.minSuccessRate 0.99, gates.maxP99Latency not judged, gates.minRequests 20,
//   paused false, abort false.
// Durations are Istio's strings ("30s", "500ms"), 1ms..1h.
import { ISTIO_DURATION, parseDuration } from '../core/duration.js';
import { quoteValue } from '../core/quote-value.js';
import type { RolloutSpec } from './rollout-plan.js';

export const ROLLOUT_SPEC_DEFAULTS = {
  steps: [10, 50, 100] as readonly number[],
  intervalMs: 60_000,
  minSuccessRate: 0.99,
  minRequests: 20,
} as const;

/** At most this many steps (each is an integer percent 1..100 and they increase). */
export const ROLLOUT_MAX_STEPS = 100;
/** minRequests at most this (a larger number would hold a step forever on most services). */
export const ROLLOUT_MAX_MIN_REQUESTS = 1_000_000;

export type RolloutSpecResult = { ok: true; spec: RolloutSpec } | { ok: false; field: string; message: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

class Fault extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const show = (v: unknown): string => quoteValue(v, 80);

function fault(field: string, value: unknown, why: string): Fault {
  return new Fault(field, `${field}: ${show(value)} ${why}`);
}

function serviceName(field: string, v: unknown): string {
  if (typeof v !== 'string' || !DNS_LABEL.test(v)) throw fault(field, v, 'is not a Service name (a DNS label)');
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw fault(field, v, 'is not true or false');
  return v;
}

function duration(field: string, v: unknown): number {
  return parseDuration(field, v, { ...ISTIO_DURATION, min: 1, max: 3_600_000, show, error: (f, why) => new Fault(f, `${f}: ${why}`) });
}

function steps(v: unknown): number[] {
  if (v === undefined || v === null) return [...ROLLOUT_SPEC_DEFAULTS.steps];
  if (!Array.isArray(v) || v.length === 0) throw fault('spec.steps', v, 'is not a non-empty list of canary weights (e.g. [5, 25, 50, 100])');
  if (v.length > ROLLOUT_MAX_STEPS) throw fault('spec.steps', v.length, `steps: at most ${ROLLOUT_MAX_STEPS}`);
  let last = 0;
  return v.map((s: unknown, i) => {
    const f = `spec.steps[${i}]`;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > 100) throw fault(f, s, 'is not an integer percent from 1 to 100');
    if (s <= last) throw fault(f, s, `is not greater than the step before it (${last}): steps increase`);
    last = s;
    return s;
  });
}

/** Reads a Rollout's spec; a fault names the field and the value. */
export function readRolloutSpec(spec: unknown): RolloutSpecResult {
  try {
    if (!isObj(spec)) throw fault('spec', spec, 'is not an object');
    const service = serviceName('spec.service', spec['service']);
    const stable = serviceName('spec.stable', spec['stable']);
    const canary = serviceName('spec.canary', spec['canary']);
    if (canary === stable) throw fault('spec.canary', canary, 'is also spec.stable: the canary must be another Service');
    const g = spec['gates'] ?? {};
    if (!isObj(g)) throw fault('spec.gates', g, 'is not an object');
    let minSuccessRate: number = ROLLOUT_SPEC_DEFAULTS.minSuccessRate;
    if (g['minSuccessRate'] !== undefined && g['minSuccessRate'] !== null) {
      const r = g['minSuccessRate'];
      if (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r > 1) throw fault('spec.gates.minSuccessRate', r, 'is not a fraction from 0 to 1 (e.g. 0.99)');
      minSuccessRate = r;
    }
    const maxP99 = g['maxP99Latency'];
    const maxP99LatencyMs = maxP99 === undefined || maxP99 === null ? undefined : duration('spec.gates.maxP99Latency', maxP99);
    let minRequests: number = ROLLOUT_SPEC_DEFAULTS.minRequests;
    if (g['minRequests'] !== undefined && g['minRequests'] !== null) {
      const n = g['minRequests'];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > ROLLOUT_MAX_MIN_REQUESTS) throw fault('spec.gates.minRequests', n, `is not an integer from 0 to ${ROLLOUT_MAX_MIN_REQUESTS}`);
      minRequests = n;
    }
    const interval = spec['interval'];
    const intervalMs = interval === undefined || interval === null ? ROLLOUT_SPEC_DEFAULTS.intervalMs : duration('spec.interval', interval);
    return {
      ok: true,
      spec: {
        service,
        stable,
        canary,
        steps: steps(spec['steps']),
        intervalMs,
        gates: { minSuccessRate, ...(maxP99LatencyMs !== undefined ? { maxP99LatencyMs } : {}), minRequests },
        paused: bool('spec.paused', spec['paused']),
        abort: bool('spec.abort', spec['abort']),
      },
    };
  } catch (err) {
    if (err instanceof Fault) return { ok: false, field: err.field, message: err.message };
    return { ok: false, field: 'spec', message: `spec: could not be read (${(err as Error)?.message ?? String(err)})` };
  }
}
