// The resilience layers' metrics, in the waypoint's registry (/metrics on 15020), labelled
// with Istio's `destination_service` (the Service's host name) like istio_requests_total:
//
//   ambient_retries_total{destination_service, reason}            retries made, by retryOn condition
//   ambient_retries_refused_total{destination_service, why}       retriable failures not retried (attempts-exhausted, budget-exhausted, ...)
//   ambient_outlier_ejections_total{destination_service, reason}  ejections (consecutive-5xx, consecutive-gateway-error, success-rate)
//   ambient_outlier_ejections_refused_total{destination_service, reason}  ejections maxEjectionPercent refused
//   ambient_outlier_returns_total{destination_service}            ejected endpoints back in service
//   ambient_outlier_ejected_endpoints{destination_service}        endpoints ejected now (gauge)
//   ambient_ratelimit_decisions_total{destination_service, mode, result}
//       mode: local | global; result: allowed | denied | failure_allowed | failure_denied
//   ambient_ratelimit_redis_connected                             1 while the global limiter's Redis connection is up
//   ambient_waypoint_endpoint_active_requests{destination_service, endpoint}
//       requests in flight to each endpoint (`ip:port`) the waypoint holds now (gauge, read
//       on each scrape: an endpoint that left the config leaves it)
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutlierEvent } from './outlier.js';
import type { EndpointActive } from '../upstream/endpoint-activity.js';

export type RateLimitMode = 'local' | 'global';
export type RateLimitResult = 'allowed' | 'denied' | 'failure_allowed' | 'failure_denied';

export interface ResilienceMetricsOptions {
  registry: Registry;
  /** Endpoints ejected now, per destination_service (read on each scrape). */
  ejectedNow?: () => Iterable<[service: string, count: number]>;
  /** The global limiter's connection (read on each scrape); absent: no gauge. */
  redisConnected?: () => boolean;
  /** Requests in flight per held endpoint (read on each scrape); absent: no gauge. */
  endpointActive?: () => Iterable<EndpointActive>;
}

export class ResilienceMetrics {
  readonly retries: Counter<'destination_service' | 'reason'>;
  readonly retriesRefused: Counter<'destination_service' | 'why'>;
  readonly ejections: Counter<'destination_service' | 'reason'>;
  readonly ejectionsRefused: Counter<'destination_service' | 'reason'>;
  readonly returns: Counter<'destination_service'>;
  readonly rateLimitDecisions: Counter<'destination_service' | 'mode' | 'result'>;

  constructor(o: ResilienceMetricsOptions) {
    const registers = [o.registry];
    this.retries = new Counter({ name: 'ambient_retries_total', help: 'Retries the waypoint made, by the retryOn condition that matched.', labelNames: ['destination_service', 'reason'], registers });
    this.retriesRefused = new Counter({ name: 'ambient_retries_refused_total', help: 'Retriable failures answered without a retry, by why (attempts-exhausted, budget-exhausted, non-idempotent, body-not-replayable, deadline).', labelNames: ['destination_service', 'why'], registers });
    this.ejections = new Counter({ name: 'ambient_outlier_ejections_total', help: 'Endpoints ejected by outlier detection, by reason.', labelNames: ['destination_service', 'reason'], registers });
    this.ejectionsRefused = new Counter({ name: 'ambient_outlier_ejections_refused_total', help: 'Ejections outlier detection wanted but maxEjectionPercent refused.', labelNames: ['destination_service', 'reason'], registers });
    this.returns = new Counter({ name: 'ambient_outlier_returns_total', help: 'Ejected endpoints returned to service (then ramped up by slow start).', labelNames: ['destination_service'], registers });
    this.rateLimitDecisions = new Counter({ name: 'ambient_ratelimit_decisions_total', help: 'Rate limit decisions by mode (local, global) and result (allowed, denied, failure_allowed, failure_denied).', labelNames: ['destination_service', 'mode', 'result'], registers });
    const ejectedNow = o.ejectedNow;
    if (ejectedNow) {
      new Gauge({
        name: 'ambient_outlier_ejected_endpoints',
        help: 'Endpoints ejected by outlier detection now.',
        labelNames: ['destination_service'],
        registers,
        collect() {
          this.reset();
          for (const [service, n] of ejectedNow()) this.set({ destination_service: service }, n);
        },
      });
    }
    const endpointActive = o.endpointActive;
    if (endpointActive) {
      new Gauge({
        name: 'ambient_waypoint_endpoint_active_requests',
        help: 'Requests in flight from the waypoint to each endpoint it holds now.',
        labelNames: ['destination_service', 'endpoint'],
        registers,
        collect() {
          this.reset();
          for (const e of endpointActive()) this.set({ destination_service: serviceHostOf(e.service), endpoint: e.endpoint }, e.active);
        },
      });
    }
    const redisConnected = o.redisConnected;
    if (redisConnected) {
      new Gauge({
        name: 'ambient_ratelimit_redis_connected',
        help: '1 while the global rate limiter is connected to Redis.',
        registers,
        collect() {
          this.set(redisConnected() ? 1 : 0);
        },
      });
    }
  }

  outlier(service: string, events: readonly OutlierEvent[]): void {
    for (const e of events) {
      if (e.type === 'ejected') this.ejections.inc({ destination_service: service, reason: e.reason });
      else if (e.type === 'returned') this.returns.inc({ destination_service: service });
      else this.ejectionsRefused.inc({ destination_service: service, reason: e.reason });
    }
  }

  rateLimit(service: string, mode: RateLimitMode, result: RateLimitResult): void {
    this.rateLimitDecisions.inc({ destination_service: service, mode, result });
  }
}

/** `<namespace>/<hostname>` -> the hostname (Istio's destination_service). */
function serviceHostOf(serviceKey: string): string {
  const i = serviceKey.indexOf('/');
  return i < 0 ? serviceKey : serviceKey.slice(i + 1);
}

/** The log line's fields for an outlier event (the layer's logger writes them). */
export function outlierLogFields(service: string, e: OutlierEvent): Record<string, unknown> {
  switch (e.type) {
    case 'ejected':
      return { event: 'outlier_ejected', service, endpoint: e.endpoint, reason: e.reason, durationMs: e.durationMs, ejections: e.ejections, ...(e.successRate !== undefined && { successRate: e.successRate, threshold: e.threshold }) };
    case 'returned':
      return { event: 'outlier_returned', service, endpoint: e.endpoint, ejectedForMs: e.ejectedForMs };
    case 'ejection-refused':
      return { event: 'outlier_ejection_refused', service, endpoint: e.endpoint, reason: e.reason, cause: 'maxEjectionPercent' };
  }
}
