// Outlier detection in the waypoint: one OutlierDetector (outlier.ts) per target (Service
// port) whose TrafficPolicy has `outlierDetection`, fed by a layer that sits just above
// `forward` (below `retry`, so every try counts), read by the balancer (`view`: ejected
// flags, `returnedAt` for slow start, `panic`), ticked by one timer at the next deadline
// (an ejection's end or an interval). Events go to the metrics and to `onEvent` (the
// waypoint's log line per ejection and return).
import type { OutlierDetection, TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { Layer, RequestRecord } from '../http/chain.js';
import type { ResilienceMetrics } from './metrics.js';
import { OutlierDetector, type EndpointOutcome, type OutlierEvent, type OutlierSnapshot } from './outlier.js';
import { serviceHost } from './ratelimit-layer.js';

export interface OutlierRegistryOptions {
  policyFor: (service: string, port: number) => TrafficPolicy | undefined;
  /** Monotonic ms (performance.now). */
  now?: () => number;
  metrics?: ResilienceMetrics;
  /** Each event, with the Service key, for the log line (metrics.ts outlierLogFields). */
  onEvent?: (service: string, e: OutlierEvent) => void;
}

/** What the try recorded, as the detector counts it; undefined: nothing to count (no
 * endpoint was tried, or the client went away). */
export function outcomeOf(r: RequestRecord, clientGone: boolean): EndpointOutcome | undefined {
  if (!r.upstream) return undefined;
  if (r.flags.includes('UF')) return { kind: 'connect-failure' };
  if (r.flags.includes('UC')) return { kind: 'reset' };
  if (r.flags.includes('UT')) return { kind: 'timeout' };
  if (clientGone) return undefined;
  return r.status !== undefined ? { kind: 'response', status: r.status } : undefined;
}

interface Entry {
  detector: OutlierDetector;
  cfg: OutlierDetection;
  service: string;
}

export class OutlierRegistry {
  private readonly targets = new Map<string, Entry>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly o: OutlierRegistryOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** The detector of a target, made or reconfigured from its policy; undefined when the
   * policy has no outlierDetection (a detector whose policy lost it is dropped). */
  private entry(service: string, port: number): Entry | undefined {
    const id = `${service}:${port}`;
    const cfg = this.o.policyFor(service, port)?.outlierDetection;
    let e = this.targets.get(id);
    if (!cfg) {
      if (e) this.targets.delete(id);
      return undefined;
    }
    if (!e) {
      e = { detector: new OutlierDetector(cfg, this.now()), cfg, service };
      this.targets.set(id, e);
      this.schedule();
    } else if (e.cfg !== cfg) {
      e.detector.updateConfig(cfg, this.now());
      e.cfg = cfg;
      this.schedule();
    }
    return e;
  }

  /** For the balancer: the target's endpoints (`ip:port` keys) with their health, and
   * whether it is in panic. undefined: no outlier detection for it. */
  view(service: string, port: number, endpointKeys: Iterable<string>): OutlierSnapshot | undefined {
    const e = this.entry(service, port);
    if (!e) return undefined;
    e.detector.setEndpoints(endpointKeys, this.now());
    return e.detector.snapshot();
  }

  /** For observability: the target's detector state as it is, without tracking new
   * endpoints or creating a detector (view() does both); undefined: no detector (yet). */
  peek(service: string, port: number): OutlierSnapshot | undefined {
    return this.targets.get(`${service}:${port}`)?.detector.snapshot();
  }

  /** One try against `endpoint` ended. */
  record(service: string, port: number, endpoint: string, outcome: EndpointOutcome): void {
    const e = this.entry(service, port);
    if (!e) return;
    this.emit(e.service, e.detector.record(endpoint, outcome, this.now()));
    this.schedule();
  }

  /** Runs every detector's due work now (the timer calls it). */
  tick(): void {
    const now = this.now();
    for (const e of this.targets.values()) this.emit(e.service, e.detector.tick(now));
    this.schedule();
  }

  /** Ejected endpoints per destination_service, for the gauge. */
  *ejectedCounts(): Iterable<[string, number]> {
    const per = new Map<string, number>();
    for (const e of this.targets.values()) {
      const host = serviceHost(e.service);
      per.set(host, (per.get(host) ?? 0) + e.detector.snapshot().ejectedCount);
    }
    yield* per;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private emit(service: string, events: OutlierEvent[]): void {
    if (events.length === 0) return;
    this.o.metrics?.outlier(serviceHost(service), events);
    for (const ev of events) this.o.onEvent?.(service, ev);
  }

  private schedule(): void {
    if (this.closed) return;
    let at = Infinity;
    for (const e of this.targets.values()) at = Math.min(at, e.detector.nextDeadline());
    if (at === Infinity || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.tick();
    }, Math.max(0, at - this.now()));
    this.timer.unref();
  }
}

/** The layer: after the try below it, counts its outcome against the endpoint it went to. */
export function outlierLayer(registry: OutlierRegistry): Layer {
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      const a = ctx.action;
      if (a?.kind === 'forward' && a.service !== undefined) {
        const outcome = outcomeOf(ctx.record, ctx.signal.aborted && !ctx.record.flags.includes('UT'));
        if (outcome) registry.record(a.service, a.port, ctx.record.upstream!, outcome);
      }
    }
  };
}
