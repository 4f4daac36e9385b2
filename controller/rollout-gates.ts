// What a Rollout's gates are judged on: the canary's requests, successes and p99 latency
// since the step began, from the waypoints' own Istio request metrics (reporter
// "waypoint"): `istio_requests_total` and `istio_request_duration_milliseconds`. Pure: the
// driver scrapes each waypoint pod's /metrics and passes the text here.
//
// Which requests are the canary's: those to the rolled-out Service
// (destination_service_name/namespace) whose endpoint is one of the canary's workloads
// (destination_workload/destination_workload_namespace). Istio's labels name the Service
// called, not the backendRef chosen, so the canary is told apart by its pods' workloads,
// which the controller knows from the canary Service's endpoints.
//
// Counters are kept per waypoint pod: a pod that restarted (its counters went down) counts
// from zero, as Prometheus' rate() does, and a pod that appeared mid-window counts from
// zero too. The p99 comes from the histogram's bucket deltas, interpolated linearly within
// the bucket as Prometheus' histogram_quantile() does.
import type { Sample } from '../core/observe/prom-text.js';
import type { CanaryWindow } from './rollout-plan.js';

export interface CanarySelector {
  /** The rolled-out Service's name and namespace. */
  service: string;
  namespace: string;
  /** The canary's workloads, as `<namespace>/<workload name>`. */
  workloads: ReadonlySet<string>;
}

/** One waypoint pod's cumulative counters for the canary. */
export interface CanaryCounters {
  requests: number;
  successes: number;
  /** Cumulative histogram buckets: upper bound (ms, Infinity for +Inf) -> count. */
  buckets: Map<number, number>;
}

function isCanary(l: Record<string, string>, sel: CanarySelector): boolean {
  return (
    l['reporter'] === 'waypoint' &&
    l['destination_service_name'] === sel.service &&
    l['destination_service_namespace'] === sel.namespace &&
    sel.workloads.has(`${l['destination_workload_namespace'] ?? ''}/${l['destination_workload'] ?? ''}`)
  );
}

/** The canary's counters in one pod's samples. */
export function canaryCounters(samples: readonly Sample[], sel: CanarySelector): CanaryCounters {
  const c: CanaryCounters = { requests: 0, successes: 0, buckets: new Map() };
  for (const s of samples) {
    if (!Number.isFinite(s.value) || s.value < 0) continue;
    if (s.name === 'istio_requests_total') {
      if (!isCanary(s.labels, sel)) continue;
      c.requests += s.value;
      if (!(s.labels['response_code'] ?? '').startsWith('5')) c.successes += s.value;
    } else if (s.name === 'istio_request_duration_milliseconds_bucket') {
      if (!isCanary(s.labels, sel)) continue;
      const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
      if (Number.isNaN(le)) continue;
      c.buckets.set(le, (c.buckets.get(le) ?? 0) + s.value);
    }
  }
  return c;
}

/** now - before for one pod; a pod whose counters went down restarted and counts from zero. */
function delta(before: CanaryCounters | undefined, now: CanaryCounters): CanaryCounters {
  if (before === undefined || now.requests < before.requests) return now;
  const buckets = new Map<number, number>();
  for (const [le, n] of now.buckets) buckets.set(le, Math.max(0, n - (before.buckets.get(le) ?? 0)));
  return { requests: now.requests - before.requests, successes: Math.max(0, now.successes - before.successes), buckets };
}

/** The q-quantile of cumulative buckets, histogram_quantile()'s way; undefined when empty. */
export function bucketQuantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      // The highest finite bound is what Prometheus answers for the +Inf bucket.
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket <= 0 ? le : prevLe + (le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/**
 * The canary's window from per-pod counters at the window's start and now (pods keyed by
 * name). Pods gone since the start take their requests with them: the window only counts
 * what can still be read.
 */
export function canaryWindow(startedAt: number, before: ReadonlyMap<string, CanaryCounters>, now: ReadonlyMap<string, CanaryCounters>): CanaryWindow {
  let requests = 0;
  let successes = 0;
  const buckets = new Map<number, number>();
  for (const [pod, counters] of now) {
    const d = delta(before.get(pod), counters);
    requests += d.requests;
    successes += d.successes;
    for (const [le, n] of d.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  }
  const p99Ms = bucketQuantile(0.99, buckets);
  return { startedAt, requests, successes: Math.min(successes, requests), ...(p99Ms === undefined ? {} : { p99Ms }) };
}
