// A TrafficPolicy's `connectionPool` as the upstream pools apply it to its target (one
// Service port), with Envoy's circuit-breaker semantics (cluster circuit breakers:
// max_connections, max_pending_requests, max_requests, max_requests_per_connection; Istio's
// DestinationRule connectionPool names them maxConnections, http1MaxPendingRequests,
// http2MaxRequests, maxRequestsPerConnection). Pure: the decisions read counts and limits
// and return what to do; target-pool.ts keeps the counts and the wait queue.
//
// - maxConcurrentRequests (Envoy's max_requests): requests in flight to the target, either
//   protocol; one more is refused at once (503, flag UO).
// - maxConnections: connections to all endpoints of the target together. An HTTP/1.1
//   connection carries one request at a time, so a request finding them all busy waits
//   for one (pending); HTTP/2 multiplexes on one session per endpoint and, as Envoy does
//   when the limit is reached but an endpoint has no connection at all, always opens that
//   one session, so the limit never refuses an HTTP/2 request.
// - maxPendingRequests: requests waiting (for an HTTP/1.1 connection, or for an HTTP/2
//   session being dialled); one more is refused at once (UO), and a wait longer than the
//   waypoint's upstreamPendingTimeoutMs ends with UO too.
// - maxRequestsPerConnection: a connection is closed after serving this many (0: never).
// - idleTimeout, connectTimeout: per connection of the target, instead of the waypoint's.
import type { ConnectionPool } from '../../core/config/traffic-policy.js';

export interface PoolLimits {
  /** Infinity: unlimited. */
  maxConnections: number;
  /** Infinity: unlimited. */
  maxPendingRequests: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  /** Infinity: unlimited. */
  maxConcurrentRequests: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** How long a request may wait for a connection (the waypoint's upstreamPendingTimeoutMs). */
  pendingTimeoutMs: number;
}

/** The waypoint's own values a policy leaves unset. */
export interface PoolDefaults {
  upstreamIdleTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  upstreamPendingTimeoutMs: number;
}

export function poolLimitsOf(cp: ConnectionPool, d: PoolDefaults): PoolLimits {
  const max = (v: number | undefined) => (v === undefined ? Infinity : v);
  return {
    maxConnections: max(cp.maxConnections),
    maxPendingRequests: max(cp.maxPendingRequests),
    maxRequestsPerConnection: cp.maxRequestsPerConnection,
    maxConcurrentRequests: max(cp.maxConcurrentRequests),
    idleTimeoutMs: cp.idleTimeoutMs ?? d.upstreamIdleTimeoutMs,
    connectTimeoutMs: cp.connectTimeoutMs ?? d.upstreamConnectTimeoutMs,
    pendingTimeoutMs: d.upstreamPendingTimeoutMs,
  };
}

/** What one target has now. */
export interface TargetCounts {
  /** Requests admitted and not yet done (both protocols). */
  active: number;
  /** HTTP/1.1 requests admitted and not yet done: each holds one connection. */
  busy: number;
  /** Requests waiting (for an HTTP/1.1 connection, or an HTTP/2 session being dialled). */
  pending: number;
}

export type OverflowReason = 'max-concurrent-requests' | 'max-pending-requests' | 'pending-timeout';

export type Admission = { kind: 'go' } | { kind: 'wait' } | { kind: 'overflow'; reason: OverflowReason };

/** A new request to the target. `oneConnectionEach`: it holds a connection of its own
 * while in flight (HTTP/1.1, an upgrade); false: multiplexed (HTTP/2). */
export function admit(c: TargetCounts, l: PoolLimits, oneConnectionEach: boolean): Admission {
  if (c.active >= l.maxConcurrentRequests) return { kind: 'overflow', reason: 'max-concurrent-requests' };
  if (!oneConnectionEach || c.busy < l.maxConnections) return { kind: 'go' };
  if (c.pending < l.maxPendingRequests) return { kind: 'wait' };
  return { kind: 'overflow', reason: 'max-pending-requests' };
}

/** Whether the first waiting request may start now (a connection was freed). */
export function mayStart(c: TargetCounts, l: PoolLimits): boolean {
  return c.busy < l.maxConnections && c.active < l.maxConcurrentRequests;
}

/** Whether a request may wait for an HTTP/2 session being dialled. */
export function mayWaitForSession(c: TargetCounts, l: PoolLimits): boolean {
  return c.pending < l.maxPendingRequests;
}

/** Whether a connection that served `uses` requests may carry another. */
export function mayReuse(uses: number, l: Pick<PoolLimits, 'maxRequestsPerConnection'>): boolean {
  return l.maxRequestsPerConnection <= 0 || uses < l.maxRequestsPerConnection;
}

/** Whether a connection just freed is kept idle: it may carry more, and the target's open
 * connections (this one included) are within maxConnections. */
export function keepIdle(uses: number, openToTarget: number, l: Pick<PoolLimits, 'maxRequestsPerConnection' | 'maxConnections'>): boolean {
  return mayReuse(uses, l) && openToTarget <= l.maxConnections;
}

/** Whether opening one more connection to the target should first close an idle one (of
 * another endpoint): the target's open connections would exceed maxConnections. */
export function mustMakeRoom(openToTarget: number, l: Pick<PoolLimits, 'maxConnections'>): boolean {
  return openToTarget >= l.maxConnections;
}

export function overflowMessage(reason: OverflowReason, target: string, l: PoolLimits): string {
  switch (reason) {
    case 'max-concurrent-requests':
      return `${target}: ${l.maxConcurrentRequests} requests already in flight (connectionPool.maxConcurrentRequests)`;
    case 'max-pending-requests':
      return `${target}: all ${l.maxConnections} connections busy and ${l.maxPendingRequests} requests already waiting (connectionPool.maxPendingRequests)`;
    case 'pending-timeout':
      return `${target}: no connection free within ${l.pendingTimeoutMs} ms (connectionPool.maxConnections ${l.maxConnections})`;
  }
}
