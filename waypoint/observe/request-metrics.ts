// The waypoint's request metrics: Istio's istio_requests_total and its three request
// histograms, with Istio's names, help texts, buckets and labels (request-labels.ts), so
// that Istio's, Kiali's and Grafana's queries work unchanged.
//
// Cheap per request (DESIGN.md section 10, "metric children bound per workload pair"): a
// request's label set is resolved once per (source, destination Service, backend, outcome)
// key and config snapshot, and then counting is a few additions on that entry. prom-client
// would hash and validate a 25-label object on every inc() and observe(); here the entries
// are written into the registry's text only when it is scraped, through metric objects that
// implement prom-client's collector interface (name, help, type, get()).
import type { Metric, Registry } from 'prom-client';
import { WAYPOINT_TELEMETRY_DEFAULTS } from '../limits.js';
import { REQUEST_LABELS, requestLabelKey, requestMetricLabels, type LabelState, type RequestLabel } from './request-labels.js';
import type { RequestRecord } from './request-record.js';

/**
 * istio_request_duration_milliseconds: Envoy's default histogram buckets, which Istio's
 * proxies use for it (Envoy: HistogramSettings default buckets; Istio metrics reference).
 */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** istio_request_bytes / istio_response_bytes: Istio's size buckets, 1 B to 10 MB by powers of ten. */
export const SIZE_BUCKETS_BYTES: readonly number[] = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

interface Hist {
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  counts: number[];
  sum: number;
}

interface Entry {
  labels: Readonly<Record<RequestLabel, string>>;
  requests: number;
  duration: Hist;
  requestBytes: Hist;
  responseBytes: Hist;
}

const newHist = (buckets: readonly number[]): Hist => ({ counts: new Array<number>(buckets.length + 1).fill(0), sum: 0 });

function observe(h: Hist, buckets: readonly number[], v: number): void {
  let i = 0;
  while (i < buckets.length && v > buckets[i]!) i++;
  h.counts[i]!++;
  h.sum += v;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface RequestMetricsOptions {
  /** The registry the four metrics are registered in (the waypoint's /metrics). */
  registry: Registry;
  /** source_cluster / destination_cluster; default WAYPOINT_TELEMETRY_DEFAULTS.clusterName. */
  cluster?: string;
}

export class RequestMetrics {
  readonly #cluster: string;
  readonly #entries = new Map<string, Entry>();
  #resolved = new WeakMap<object, Map<string, Entry>>();

  constructor(opts: RequestMetricsOptions) {
    this.#cluster = opts.cluster ?? WAYPOINT_TELEMETRY_DEFAULTS.clusterName;
    const entries = () => this.#entries.values();
    const reset = () => {
      this.#entries.clear();
      this.#resolved = new WeakMap();
    };
    opts.registry.registerMetric(
      collector('istio_requests_total', 'This is a COUNTER incremented for every request handled by an Istio proxy.', 'counter', reset, () => {
        const values: MetricValue[] = [];
        for (const e of entries()) values.push({ value: e.requests, labels: e.labels });
        return values;
      }),
    );
    const histogram = (name: string, help: string, buckets: readonly number[], pick: (e: Entry) => Hist) =>
      opts.registry.registerMetric(
        collector(name, help, 'histogram', reset, () => {
          const values: MetricValue[] = [];
          for (const e of entries()) {
            const h = pick(e);
            let cumulative = 0;
            for (let i = 0; i < buckets.length; i++) {
              cumulative += h.counts[i]!;
              values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...e.labels, le: buckets[i]! } });
            }
            cumulative += h.counts[buckets.length]!;
            values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...e.labels, le: '+Inf' } });
            values.push({ metricName: `${name}_sum`, value: h.sum, labels: e.labels });
            values.push({ metricName: `${name}_count`, value: cumulative, labels: e.labels });
          }
          return values;
        }),
      );
    histogram('istio_request_duration_milliseconds', 'This is a HISTOGRAM which measures the duration of requests.', DURATION_BUCKETS_MS, (e) => e.duration);
    histogram('istio_request_bytes', 'This is a HISTOGRAM which measures the size of HTTP request bodies.', SIZE_BUCKETS_BYTES, (e) => e.requestBytes);
    histogram('istio_response_bytes', 'This is a HISTOGRAM which measures the size of HTTP response bodies.', SIZE_BUCKETS_BYTES, (e) => e.responseBytes);
  }

  /** Counts one finished request. `state` is the config snapshot its names resolve against. */
  record(r: RequestRecord, state: LabelState): void {
    const e = this.#entry(r, state);
    e.requests++;
    observe(e.duration, DURATION_BUCKETS_MS, r.durationMs);
    observe(e.requestBytes, SIZE_BUCKETS_BYTES, r.requestBytes);
    observe(e.responseBytes, SIZE_BUCKETS_BYTES, r.responseBytes);
  }

  #entry(r: RequestRecord, state: LabelState): Entry {
    let byKey = this.#resolved.get(state);
    if (byKey === undefined) {
      byKey = new Map();
      this.#resolved.set(state, byKey);
    }
    const key = requestLabelKey(r);
    let e = byKey.get(key);
    if (e === undefined) {
      const labels = requestMetricLabels(r, state, this.#cluster);
      const id = REQUEST_LABELS.map((n) => labels[n]).join('\u0000');
      e = this.#entries.get(id);
      if (e === undefined) {
        e = { labels, requests: 0, duration: newHist(DURATION_BUCKETS_MS), requestBytes: newHist(SIZE_BUCKETS_BYTES), responseBytes: newHist(SIZE_BUCKETS_BYTES) };
        this.#entries.set(id, e);
      }
      if (byKey.size >= WAYPOINT_TELEMETRY_DEFAULTS.metricKeysPerSnapshot) byKey.clear();
      byKey.set(key, e);
    }
    return e;
  }
}

/** A metric in prom-client's collector shape: the registry reads name, help and type, calls
 * get() on a scrape and reset() on resetMetrics(); nothing else (prom-client's Registry). */
function collector(name: string, help: string, type: 'counter' | 'histogram', reset: () => void, values: () => MetricValue[]): Metric {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset,
  };
  return metric as unknown as Metric;
}
