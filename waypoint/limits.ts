// The waypoint's data-path limits, each with its default (docs/configuration.md,
// "The waypoint's data path (`WAYPOINT_DEFAULTS`)"; a test checks each is documented).
// HBONE's own limits (both legs) are core/limits.ts HBONE_DEFAULTS.

export const WAYPOINT_DEFAULTS = {
  /** Protocol detection: the most bytes read from a tunnel before deciding HTTP/1, HTTP/2 or TCP. */
  sniffMaxBytes: 8 * 1024,
  /** Protocol detection: a client that sends nothing (or not enough to tell) for this long is carried as TCP. */
  sniffTimeoutMs: 5_000,
  /** A request with no route timeout: 0 = none (Istio's default; streams and WebSockets live long). */
  requestTimeoutMs: 0,
  /** Connecting to an endpoint (TCP, or the HBONE tunnel and its 200) must finish within this, else 503. */
  upstreamConnectTimeoutMs: 10_000,
  /** HTTP/1.1 pool: connections open at once to one endpoint; more requests wait for one. */
  maxConnectionsPerEndpoint: 256,
  /** HTTP/1.1 pool: idle keep-alive connections kept per endpoint. */
  maxIdleConnectionsPerEndpoint: 64,
  /** Both pools: an idle upstream connection (HTTP/1.1) or session with no stream (HTTP/2) is closed after this. */
  upstreamIdleTimeoutMs: 60_000,
  /** Downstream HTTP/1.1: an idle keep-alive connection inside a tunnel is closed after this. */
  downstreamKeepAliveTimeoutMs: 60_000,
  /** Downstream HTTP/1.1: the request headers must arrive within this (slowloris). */
  headersTimeoutMs: 30_000,
  /** Downstream HTTP/1.1 and HTTP/2: largest request header block. */
  maxHeaderBytes: 16 * 1024,
  /** Downstream HTTP/2: streams one client connection may have open at once. */
  maxConcurrentStreams: 1_000,
  /** close(): in-flight requests get this long to finish before everything is torn down. */
  drainTimeoutMs: 10_000,
} as const;

export type WaypointLimits = { -readonly [K in keyof typeof WAYPOINT_DEFAULTS]: number };
