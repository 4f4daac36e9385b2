// The compiled form of TrafficPolicy.ambient.dev/v1: how a waypoint balances, pools,
// ejects, retries and rate-limits the requests it sends to one Service (or one of its
// ports). The fifth kind of resource on the 15012 stream, to waypoints only, like Route.
//
// The controller compiles each object (core/config/traffic-policy-compile.ts) into one
// TrafficPolicy resource with every default already filled in and every duration in
// milliseconds, so the waypoint's layers read numbers and never parse or guess. A section
// the object leaves out is absent here: that layer is off (no retries, no ejection, no
// limit), except `loadBalancer`, which is always present (ROUND_ROBIN with locality
// preference when the object says nothing).
//
// The defaults the compiler fills in (TRAFFIC_POLICY_DEFAULTS in ./traffic-policy-compile.ts,
// Istio's DestinationRule's and Envoy's) are given with each field below as "Default:".
//
// Names keep the object's spelling (`LEAST_REQUEST`, `consecutive5xxErrors`) so a config
// dump reads like the object it came from. Semantics follow Istio's DestinationRule and
// Envoy's cluster settings where those define them (docs/traffic-management.md).

export type LbAlgorithm = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

/** What a consistent hash (RING_HASH, MAGLEV) hashes. Exactly one per policy. */
export type HashKey =
  /** A request header, lower-case name. A request without it is balanced as RANDOM. */
  | { type: 'header'; name: string }
  /** A cookie; when the request has none, the waypoint sets one with this name, path and
   * TTL on the response (Envoy's generated cookie), so the client sticks from then on. */
  | { type: 'cookie'; name: string; ttlMs: number; path: string }
  /** The downstream peer's address (the source workload's IP). */
  | { type: 'sourceIP' }
  /** A query parameter, exact name. A request without it is balanced as RANDOM. */
  | { type: 'queryParameter'; name: string };

export interface LoadBalancer {
  /** Default: ROUND_ROBIN (Envoy's, and the waypoint's own without a policy). */
  algorithm: LbAlgorithm;
  /** Set exactly when algorithm is RING_HASH or MAGLEV. */
  consistentHash?: HashKey;
  /** Slow start: a new (or returning) endpoint's share ramps linearly from a low start to
   * full over this many ms. 0: off. Default: 0. */
  warmupMs: number;
  /** Locality preference: same node, then same zone (topology.kubernetes.io/zone), then any,
   * failing over to the next tier when a tier has no healthy endpoint. Default true. */
  localityPreference: boolean;
  /** RING_HASH: entries on the ring (Envoy's minimumRingSize). Default: 1024. */
  ringSize: number;
  /** MAGLEV: lookup table size, a prime. Default: 65537 (Envoy's). */
  maglevTableSize: number;
}

export interface ConnectionPool {
  /** Connections to all endpoints of the target together (HTTP/1.1: at most this many in
   * flight; HTTP/2: connections). */
  maxConnections?: number;
  /** Requests waiting for a connection; beyond: 503, response flag UO. */
  maxPendingRequests?: number;
  /** 0: unlimited. A connection is closed after serving this many. Default: 0. */
  maxRequestsPerConnection: number;
  /** Requests in flight to the target at once; beyond: 503, response flag UO. */
  maxConcurrentRequests?: number;
  /** An upstream connection idle this long is closed. Default: 1h (Istio's). */
  idleTimeoutMs?: number;
  /** Connecting (TCP or HBONE CONNECT) longer than this fails the try (response flag UF).
   * Default: 10s (Istio's). The max* limits default to unlimited (absent). */
  connectTimeoutMs?: number;
}

export interface OutlierDetection {
  /** Consecutive 5xx answers that eject an endpoint; 0: off. Default: 5. */
  consecutive5xxErrors: number;
  /** Consecutive 502/503/504 answers or connect failures that eject an endpoint; 0: off.
   * Default: 0. */
  consecutiveGatewayErrors: number;
  /** Success-rate ejection (Envoy's): each interval, endpoints whose success rate is below
   * mean - stdevFactor * stdev are ejected, when at least minimumHosts endpoints each saw
   * requestVolume requests. Absent: off. Defaults when present: 5, 100, 1.9 (Envoy's). */
  successRate?: { minimumHosts: number; requestVolume: number; stdevFactor: number };
  /** Default: 10s. */
  intervalMs: number;
  /** An endpoint's n-th ejection lasts n * baseEjectionMs (capped by maxEjectionMs).
   * Default: 30s. */
  baseEjectionMs: number;
  /** Default: 300s (Envoy's), at least baseEjectionMs. */
  maxEjectionMs: number;
  /** At most this percentage of the target's endpoints are ejected at once (at least one
   * may always be ejected, as Envoy does). Default: 10. */
  maxEjectionPercent: number;
  /** Panic mode: when fewer than this percentage of endpoints are healthy, requests go to
   * all endpoints, ejected or not (Envoy's healthy panic threshold). 0: never. Default: 0. */
  minHealthPercent: number;
}

/** retryOn conditions (Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on names). */
export type RetryCondition =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'connect-failure'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';

export interface Retries {
  /** Retries after the first try (Istio's `attempts`): 3 means up to 4 tries. Default: 2. */
  attempts: number;
  /** Each try's timeout; absent: the route's backendRequest timeout, if any. */
  perTryTimeoutMs?: number;
  /** Default: connect-failure, refused-stream, unavailable, cancelled,
   * retriable-status-codes (Istio's), with retriableStatusCodes [503]. */
  retryOn: RetryCondition[];
  /** With `retriable-status-codes` (or from an HTTPRoute's `retry.codes`). */
  retriableStatusCodes: number[];
  /** Exponential backoff with full jitter between tries: base * 2^n, capped by max.
   * Default: 25ms, 250ms (Envoy's; max defaults to 10 x base).
   * `minMs` (optional, added for HTTPRoute `retry.backoff`, which is a minimum): no retry
   * starts sooner than this; the jitter then spreads over [minMs, cap]. Absent: 0. */
  backoff: { baseMs: number; maxMs: number; minMs?: number };
  /** Retries in flight at most `percent` of active requests, with a floor of
   * `minRetriesPerSecond` retries per second (Envoy's retry budget). Default: 20, 3. */
  budget: { percent: number; minRetriesPerSecond: number };
  /** Retry requests whose method is not idempotent (POST, PATCH) too. Default false. */
  retryNonIdempotent: boolean;
}

export interface Timeouts {
  /** A request with no byte moving in either direction this long is ended (504, flag UT
   * before the response started; reset after). */
  idleMs?: number;
}

/** One part of a global limit's key. */
export type RateLimitKeyPart =
  | { type: 'sourcePrincipal' }
  | { type: 'sourceNamespace' }
  | { type: 'path' }
  /** Lower-case header name; a request without it counts under the empty value. */
  | { type: 'header'; name: string };

export interface LocalRateLimit {
  /** Token bucket per waypoint replica: `requests` tokens every `perMs`, holding at most
   * `burst` (default: requests). */
  requests: number;
  perMs: number;
  burst: number;
}

export interface GlobalRateLimit {
  /** Shared by every replica of the waypoint through Redis. */
  requests: number;
  perMs: number;
  /** Counters are kept per distinct key (a descriptor combining the parts). Empty: one
   * counter for the whole target. Default: empty. */
  key: RateLimitKeyPart[];
  /** Default: fixed. */
  window: 'fixed' | 'sliding';
  /** When Redis cannot answer: let the request through, or answer 429. Default: allow. */
  failureMode: 'allow' | 'deny';
}

export interface RateLimits {
  local?: LocalRateLimit;
  global?: GlobalRateLimit;
}

/** What a policy applies to: a Service, and one port of it when `sectionName` named one. */
export interface TrafficPolicyTarget {
  /** The Service's resource key (`<namespace>/<hostname>`). */
  service: string;
  /** The Service port `sectionName` named (resolved to its number); absent: every port. */
  port?: number;
}

/** A compiled TrafficPolicy: the resource waypoints receive. */
export interface TrafficPolicy {
  /** `<namespace>/<name>`: the resource key. */
  key: string;
  name: string;
  namespace: string;
  /** metadata.creationTimestamp: when two policies target the same Service port, the
   * older wins (then the name), as Gateway API policy attachment says; the other is
   * reported in its status as Conflicted. */
  created: string;
  targets: TrafficPolicyTarget[];
  loadBalancer: LoadBalancer;
  connectionPool?: ConnectionPool;
  outlierDetection?: OutlierDetection;
  retries?: Retries;
  timeouts?: Timeouts;
  rateLimits?: RateLimits;
}

export function trafficPolicyKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
