// A pod-wide injected fault for ambient-samples/echo: answer a share of requests with one
// status, after an optional delay, so resilience features (retries, outlier ejection,
// timeouts, canary rollback) can be shown against a real failing replica. Set at start
// from the environment (FAULT_STATUS, FAULT_PERCENT, FAULT_DELAY) and changed at run time
// through /_echo/fault (see samples/README.md). Pure: no I/O.
import { parseDuration } from '../shared/runtime.js';

export interface Fault {
  /** The status a faulty request is answered with, 200..599; 0 with delay alone. */
  status: number;
  /** Share of requests that get the fault, 0..100. */
  percent: number;
  /** Wait before a faulty answer, ms. */
  delayMs: number;
}

export const NO_FAULT: Fault = { status: 0, percent: 0, delayMs: 0 };
export const MAX_FAULT_DELAY_MS = 300_000;

/** Reads a fault from named values (the environment or a query); the reason on error. */
export function parseFault(get: (name: 'status' | 'percent' | 'delay') => string | null | undefined): Fault | string {
  const s = get('status');
  const p = get('percent');
  const d = get('delay');
  let status = 0;
  if (s !== null && s !== undefined && s !== '') {
    if (!/^\d{3}$/.test(s) || Number(s) < 200 || Number(s) > 599) return `invalid fault status ${JSON.stringify(s)}: want an integer 200..599`;
    status = Number(s);
  }
  let delayMs = 0;
  if (d !== null && d !== undefined && d !== '') {
    const ms = parseDuration(d, 'ms');
    if (ms === undefined || ms > MAX_FAULT_DELAY_MS) return `invalid fault delay ${JSON.stringify(d)}: want a duration up to ${MAX_FAULT_DELAY_MS / 1000}s, like 200ms or 5s`;
    delayMs = ms;
  }
  let percent = status > 0 || delayMs > 0 ? 100 : 0;
  if (p !== null && p !== undefined && p !== '') {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 100) return `invalid fault percent ${JSON.stringify(p)}: want an integer 0..100`;
    percent = Number(p);
  }
  return { status, percent, delayMs };
}

/**
 * Whether the n-th request (1-based, counted since the fault was set) gets the fault:
 * spread evenly, so `percent: 50` fails every second request and any window of 100
 * consecutive requests holds exactly `percent` faults. Deterministic, for tests.
 */
export function isFaulty(fault: Fault, n: number): boolean {
  if (fault.percent <= 0) return false;
  if (fault.percent >= 100) return true;
  return Math.floor((n * fault.percent) / 100) !== Math.floor(((n - 1) * fault.percent) / 100);
}
