// Outlier detection, the circuit breaker (TrafficPolicy `outlierDetection`): which
// endpoints of one target (a Service port) are ejected, for how long, and when they come
// back. Envoy's outlier detector, as Istio's DestinationRule configures it:
//
// - consecutive 5xx: `consecutive5xxErrors` answers >= 500 in a row from one endpoint
//   eject it at once; consecutive gateway errors: `consecutiveGatewayErrors` answers
//   502/503/504 in a row. A connect failure, an upstream reset before the answer and a
//   per-try timeout count as gateway errors (and so as 5xx too), as Envoy counts
//   local-origin errors when it does not split them. Any answer below 500 resets both
//   counts; a 500 (not a gateway error) resets the gateway count.
// - success rate, once per `intervalMs`: among endpoints that saw at least
//   `requestVolume` requests in the interval, when there are at least `minimumHosts` of
//   them, an endpoint whose success rate is below mean - stdevFactor * stdev (population
//   standard deviation) is ejected.
// - the n-th ejection of an endpoint lasts n * baseEjectionMs, capped by maxEjectionMs
//   (or baseEjectionMs when that is larger); each interval an endpoint spends wholly back
//   in service lowers n by one, so an endpoint that stays healthy is forgiven.
// - at most maxEjectionPercent of the tracked endpoints are ejected at once, except that
//   one may always be ejected (Envoy's behaviour): (ejected + 1) * 100 / total must be
//   <= maxEjectionPercent, or nothing be ejected yet. A refused ejection is an event too.
// - an ejection ends exactly when its time has passed (at the first `tick` at or after
//   `ejectedUntil`; `nextDeadline()` says when to call it). The endpoint comes back with
//   `returnedAt` set, from which the balancer's slow start ramps its share up.
// - panic (Istio's minHealthPercent, Envoy's healthy panic threshold): when the healthy
//   percentage falls below minHealthPercent, `panic` is true and the balancer sends to
//   every endpoint, ejected or not. 0: never.
//
// Pure: times are passed in (ms, any monotonic clock), nothing is logged; every change
// is returned as an event (ejected, returned, ejection refused) for metrics and log lines.
import type { OutlierDetection } from '../../core/config/traffic-policy.js';
import { RESILIENCE_DEFAULTS } from './limits.js';

/** What one try against an endpoint ended with. */
export type EndpointOutcome =
  | { kind: 'response'; status: number }
  /** TCP or HBONE connect failed or timed out (flag UF). */
  | { kind: 'connect-failure' }
  /** The upstream reset or closed the stream before answering (flag UC). */
  | { kind: 'reset' }
  /** The try's timeout passed before the answer (flag UT). */
  | { kind: 'timeout' };

export type EjectionReason = 'consecutive-5xx' | 'consecutive-gateway-error' | 'success-rate';

export type OutlierEvent =
  | {
      type: 'ejected';
      endpoint: string;
      reason: EjectionReason;
      /** How long this ejection lasts. */
      durationMs: number;
      /** The endpoint's ejection multiplier after this one (1 on a first ejection). */
      ejections: number;
      at: number;
      /** Success rate: the endpoint's rate and the threshold it fell under, for the log line. */
      successRate?: number;
      threshold?: number;
    }
  | { type: 'returned'; endpoint: string; ejectedForMs: number; at: number }
  /** An ejection that maxEjectionPercent refused (Envoy's ejections_overflow). */
  | { type: 'ejection-refused'; endpoint: string; reason: EjectionReason; at: number };

/** One endpoint as the balancer sees it. */
export interface EndpointHealth {
  key: string;
  ejected: boolean;
  /** When the endpoint was first seen (the balancer's slow start for new endpoints). */
  since: number;
  /** When it last came back from an ejection (slow start for returning endpoints). */
  returnedAt?: number;
  /** While ejected: since when, and until when. */
  ejectedAt?: number;
  ejectedUntil?: number;
  /** While ejected: why (observability only). */
  ejectionReason?: EjectionReason;
  /** The ejection multiplier: the next ejection lasts (ejections + 1) * base. */
  ejections: number;
}

export interface OutlierSnapshot {
  endpoints: EndpointHealth[];
  ejectedCount: number;
  /** Endpoints not ejected, in percent of all tracked (100 when there are none). */
  healthyPercent: number;
  /** healthyPercent < minHealthPercent: balance over every endpoint, ejected or not. */
  panic: boolean;
}

interface State extends EndpointHealth {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** This interval's requests and successes (success-rate ejection). */
  total: number;
  ok: number;
}

/** Whether an outcome is a 5xx and whether it is a gateway error, for the detector. */
export function classifyOutcome(o: EndpointOutcome): { is5xx: boolean; isGateway: boolean } {
  if (o.kind !== 'response') return { is5xx: true, isGateway: true };
  const s = o.status;
  return { is5xx: s >= 500 && s <= 599, isGateway: s === 502 || s === 503 || s === 504 };
}

/** The n-th ejection's duration: n * base, capped by max (or base when base > max). */
export function ejectionDurationMs(cfg: Pick<OutlierDetection, 'baseEjectionMs' | 'maxEjectionMs'>, n: number): number {
  const cap = Math.max(cfg.maxEjectionMs, cfg.baseEjectionMs);
  return Math.min(cfg.baseEjectionMs * Math.max(1, n), cap);
}

/** Whether one more endpoint may be ejected: within maxEjectionPercent, or none is yet. */
export function mayEject(ejected: number, total: number, maxEjectionPercent: number): boolean {
  if (total <= 0) return false;
  if (ejected >= total) return false;
  if (ejected === 0) return true;
  return ((ejected + 1) * 100) / total <= maxEjectionPercent;
}

/** Envoy's success-rate outliers: the indices of rates below mean - factor * stdev, or
 * none when fewer than minimumHosts rates are given. Rates in [0, 1]. */
export function successRateOutliers(rates: readonly number[], minimumHosts: number, stdevFactor: number): { outliers: number[]; threshold?: number } {
  if (rates.length === 0 || rates.length < minimumHosts) return { outliers: [] };
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const variance = rates.reduce((a, r) => a + (r - mean) * (r - mean), 0) / rates.length;
  const threshold = mean - stdevFactor * Math.sqrt(variance);
  const outliers: number[] = [];
  rates.forEach((r, i) => {
    if (r < threshold) outliers.push(i);
  });
  return { outliers, threshold };
}

export class OutlierDetector {
  private cfg: OutlierDetection;
  private readonly endpoints = new Map<string, State>();
  private nextIntervalAt: number;
  private lastIntervalAt: number;
  private readonly maxEndpoints: number;

  constructor(cfg: OutlierDetection, now: number, opts: { maxEndpoints?: number } = {}) {
    this.cfg = cfg;
    this.lastIntervalAt = now;
    this.nextIntervalAt = now + Math.max(1, cfg.intervalMs);
    this.maxEndpoints = opts.maxEndpoints ?? RESILIENCE_DEFAULTS.outlierMaxEndpoints;
  }

  /** A new policy for the same target: counts and ejections are kept; the interval
   * restarts from `now` when its length changed. */
  updateConfig(cfg: OutlierDetection, now: number): void {
    const intervalChanged = cfg.intervalMs !== this.cfg.intervalMs;
    this.cfg = cfg;
    if (intervalChanged) this.nextIntervalAt = now + Math.max(1, cfg.intervalMs);
  }

  /** The target's endpoints now (keys such as `ip:port`). New ones are tracked from `now`
   * (their `since`); gone ones are forgotten, ejected or not (no event: they left). */
  setEndpoints(keys: Iterable<string>, now: number): void {
    const wanted = new Set(keys);
    for (const key of this.endpoints.keys()) if (!wanted.has(key)) this.endpoints.delete(key);
    for (const key of wanted) {
      if (this.endpoints.has(key)) continue;
      if (this.endpoints.size >= this.maxEndpoints) break;
      this.endpoints.set(key, { key, ejected: false, since: now, ejections: 0, consecutive5xx: 0, consecutiveGateway: 0, total: 0, ok: 0 });
    }
  }

  /** One try against `key` ended. Returns the ejection it caused, if any. Results of an
   * endpoint already ejected (requests that were in flight) are not counted. */
  record(key: string, outcome: EndpointOutcome, now: number): OutlierEvent[] {
    const e = this.endpoints.get(key);
    if (!e || e.ejected) return [];
    const { is5xx, isGateway } = classifyOutcome(outcome);
    e.total++;
    if (!is5xx) {
      e.ok++;
      e.consecutive5xx = 0;
      e.consecutiveGateway = 0;
      return [];
    }
    e.consecutive5xx++;
    e.consecutiveGateway = isGateway ? e.consecutiveGateway + 1 : 0;
    const c = this.cfg;
    // Envoy checks the gateway count first: it is the more specific reason.
    if (c.consecutiveGatewayErrors > 0 && e.consecutiveGateway >= c.consecutiveGatewayErrors) {
      return this.eject(e, 'consecutive-gateway-error', now);
    }
    if (c.consecutive5xxErrors > 0 && e.consecutive5xx >= c.consecutive5xxErrors) {
      return this.eject(e, 'consecutive-5xx', now);
    }
    return [];
  }

  /** Ends the ejections whose time has passed and runs the interval (success rate,
   * forgiveness) when it is due. Call at `nextDeadline()` (or more often: idempotent). */
  tick(now: number): OutlierEvent[] {
    const events: OutlierEvent[] = [];
    for (const e of this.endpoints.values()) {
      if (e.ejected && e.ejectedUntil !== undefined && e.ejectedUntil <= now) {
        events.push({ type: 'returned', endpoint: e.key, ejectedForMs: now - (e.ejectedAt ?? now), at: now });
        e.ejected = false;
        e.returnedAt = now;
        e.ejectedAt = undefined;
        e.ejectedUntil = undefined;
        e.ejectionReason = undefined;
        e.consecutive5xx = 0;
        e.consecutiveGateway = 0;
      }
    }
    if (now >= this.nextIntervalAt) {
      events.push(...this.runInterval(now));
      const step = Math.max(1, this.cfg.intervalMs);
      // Skip intervals missed while nobody called tick: one evaluation, not a burst.
      const behind = Math.floor((now - this.nextIntervalAt) / step) + 1;
      this.nextIntervalAt += behind * step;
    }
    return events;
  }

  /** When `tick` has something to do next: the next interval or the first ejection end. */
  nextDeadline(): number {
    let t = this.nextIntervalAt;
    for (const e of this.endpoints.values()) if (e.ejected && e.ejectedUntil !== undefined && e.ejectedUntil < t) t = e.ejectedUntil;
    return t;
  }

  health(key: string): EndpointHealth | undefined {
    const e = this.endpoints.get(key);
    return e ? publicView(e) : undefined;
  }

  snapshot(): OutlierSnapshot {
    const endpoints = [...this.endpoints.values()].map(publicView);
    const ejectedCount = endpoints.filter((e) => e.ejected).length;
    const total = endpoints.length;
    const healthyPercent = total === 0 ? 100 : ((total - ejectedCount) * 100) / total;
    const panic = this.cfg.minHealthPercent > 0 && healthyPercent < this.cfg.minHealthPercent;
    return { endpoints, ejectedCount, healthyPercent, panic };
  }

  private ejectedCount(): number {
    let n = 0;
    for (const e of this.endpoints.values()) if (e.ejected) n++;
    return n;
  }

  private eject(e: State, reason: EjectionReason, now: number, rate?: { successRate: number; threshold: number }): OutlierEvent[] {
    e.consecutive5xx = 0;
    e.consecutiveGateway = 0;
    if (!mayEject(this.ejectedCount(), this.endpoints.size, this.cfg.maxEjectionPercent)) {
      return [{ type: 'ejection-refused', endpoint: e.key, reason, at: now }];
    }
    e.ejections++;
    const durationMs = ejectionDurationMs(this.cfg, e.ejections);
    e.ejected = true;
    e.ejectedAt = now;
    e.ejectedUntil = now + durationMs;
    e.ejectionReason = reason;
    return [{ type: 'ejected', endpoint: e.key, reason, durationMs, ejections: e.ejections, at: now, ...(rate ?? {}) }];
  }

  private runInterval(now: number): OutlierEvent[] {
    const events: OutlierEvent[] = [];
    const intervalStart = this.lastIntervalAt;
    this.lastIntervalAt = now;
    const sr = this.cfg.successRate;
    if (sr) {
      const candidates = [...this.endpoints.values()].filter((e) => !e.ejected && e.total >= Math.max(1, sr.requestVolume));
      const rates = candidates.map((e) => e.ok / e.total);
      const { outliers, threshold } = successRateOutliers(rates, sr.minimumHosts, sr.stdevFactor);
      for (const i of outliers) {
        events.push(...this.eject(candidates[i]!, 'success-rate', now, { successRate: rates[i]!, threshold: threshold! }));
      }
    }
    for (const e of this.endpoints.values()) {
      // Forgiveness: a whole interval back in service (or never ejected) lowers the multiplier.
      if (!e.ejected && e.ejections > 0 && (e.returnedAt === undefined || e.returnedAt <= intervalStart)) e.ejections--;
      e.total = 0;
      e.ok = 0;
    }
    return events;
  }
}

function publicView(e: State): EndpointHealth {
  const v: EndpointHealth = { key: e.key, ejected: e.ejected, since: e.since, ejections: e.ejections };
  if (e.returnedAt !== undefined) v.returnedAt = e.returnedAt;
  if (e.ejectedAt !== undefined) v.ejectedAt = e.ejectedAt;
  if (e.ejectedUntil !== undefined) v.ejectedUntil = e.ejectedUntil;
  if (e.ejectionReason !== undefined) v.ejectionReason = e.ejectionReason;
  return v;
}
