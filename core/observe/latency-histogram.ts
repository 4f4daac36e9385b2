// A latency histogram with fixed bucket bounds, so that histograms from any reporter and
// any time bucket merge by adding counts (what the controller's rolling window does).
// The bounds are Istio's for istio_request_duration_milliseconds, so a p99 read here and
// one read from Prometheus fall in the same buckets. Pure.

/** Upper bounds (ms, inclusive) of the buckets; one more bucket counts what is above the last. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

/** Counts per bucket: LATENCY_BUCKETS_MS.length + 1 entries (the last is +Inf). */
export type LatencyHistogram = number[];

export const HISTOGRAM_LENGTH = LATENCY_BUCKETS_MS.length + 1;

export function newHistogram(): LatencyHistogram {
  return new Array<number>(HISTOGRAM_LENGTH).fill(0);
}

/** The bucket a duration falls in (the first whose bound is >= ms). */
export function bucketOf(ms: number): number {
  if (!(ms >= 0)) return 0;
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]!) return i;
  return LATENCY_BUCKETS_MS.length;
}

export function observe(h: LatencyHistogram, ms: number, count = 1): void {
  h[bucketOf(ms)]! += count;
}

/** Adds `from` into `into` (same length: both are LatencyHistograms). */
export function mergeHistogram(into: LatencyHistogram, from: readonly number[]): void {
  for (let i = 0; i < HISTOGRAM_LENGTH; i++) into[i]! += from[i] ?? 0;
}

export function histogramCount(h: readonly number[]): number {
  let n = 0;
  for (const c of h) n += c;
  return n;
}

/**
 * The q-quantile (0 < q <= 1) as Prometheus' histogram_quantile estimates it: linear
 * interpolation inside the bucket holding the rank, from 0 for the first bucket; a rank in
 * the +Inf bucket answers the highest finite bound. Undefined when the histogram is empty.
 */
export function quantile(h: readonly number[], q: number): number | undefined {
  const total = histogramCount(h);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    const c = h[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}
