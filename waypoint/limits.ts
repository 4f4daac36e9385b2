// The waypoint's limits and defaults, each documented in docs/configuration.md.

// ---- Telemetry (waypoint/observe/) ----
export const WAYPOINT_TELEMETRY_DEFAULTS = {
  /** Request keys (a source workload, destination Service, backend workload and outcome)
   * resolved to metric label sets kept per config snapshot; beyond, the map is emptied and
   * refills. The label sets themselves are bounded by the metrics' own cardinality. */
  metricKeysPerSnapshot: 4096,
  /** The `source_cluster` / `destination_cluster` label value: Istio's default cluster id. */
  clusterName: 'Kubernetes',
} as const;

// ---------------------------------------------------------------------------------------
// L7 authorization and request authentication (waypoint/http/authz*.ts, authn.ts, jwt.ts,
// jwks.ts): docs/configuration.md, "The waypoint's request authentication
// (`WAYPOINT_AUTH_DEFAULTS`)".
export const WAYPOINT_AUTH_DEFAULTS = {
  /** Leeway on a JWT's `exp` and `nbf` for clocks that disagree (Envoy jwt_authn's clock_skew_seconds default). */
  jwtClockSkewSeconds: 60,
  /** The longest token accepted; a longer one is invalid (401), never decoded. */
  maxTokenBytes: 16 * 1024,
  /** A jwksUri is fetched again after this long (Istio's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL default). */
  jwksRefreshIntervalMs: 20 * 60 * 1000,
  /** One JWKS fetch is abandoned after this long (a rule's `timeout` overrides it). */
  jwksFetchTimeoutMs: 5_000,
  /** The largest JWKS document read from a jwksUri; a larger one is a failed fetch. */
  maxJwksBytes: 256 * 1024,
  /** Keys kept from one JWKS (the first ones); the rest are ignored. */
  maxJwksKeys: 64,
  /** jwksUris whose keys are cached at once; the least recently used is dropped first. */
  maxJwksUris: 256,
  /** A token whose key id is not in the cached keys makes a refetch at most this often per
   * jwksUri (key rotation), and a failed fetch is retried no sooner than this. */
  jwksRefetchCooldownMs: 30_000,
  /** Characters of the `ambient-authz-reason` / `ambient-authz-policy` answer headers. */
  maxReasonHeaderChars: 256,
  /** Characters of a CONNECT `forwarded` header read for the client's address. */
  maxForwardedHeaderChars: 512,
} as const;

export type WaypointAuthLimits = { -readonly [K in keyof typeof WAYPOINT_AUTH_DEFAULTS]: number };
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
  /** HTTP/1.1 pool: connections open at once to one endpoint; more requests wait for one (bounded: maxPendingRequestsPerEndpoint, upstreamPendingTimeoutMs). */
  maxConnectionsPerEndpoint: 256,
  /** HTTP/1.1 pool: requests waiting for a connection to one endpoint (all busy); beyond, 503 with flag UO (Envoy's max_pending_requests default). */
  maxPendingRequestsPerEndpoint: 1_024,
  /** HTTP/1.1 pool: a request waiting this long for a connection to its endpoint gets 503 with flag UO. */
  upstreamPendingTimeoutMs: 10_000,
  /** Downstream HTTP/1.1: a request body with no byte for this long ends the request (408, or a reset once answered), freeing its upstream connection. */
  requestBodyIdleTimeoutMs: 60_000,
  /** TrafficPolicy connectionPool: targets (Service ports) whose pool state (counts, wait queue) is kept; beyond, the quiet ones are forgotten. */
  maxPoolTargets: 4_096,
  /** HTTP/1.1 pool: idle keep-alive connections kept per endpoint. */
  maxIdleConnectionsPerEndpoint: 64,
  /** Both pools: an idle upstream connection (HTTP/1.1) or session with no stream (HTTP/2) is closed after this. */
  upstreamIdleTimeoutMs: 60_000,
  /** Downstream HTTP/1.1: an idle keep-alive connection inside a tunnel is closed after this. */
  downstreamKeepAliveTimeoutMs: 60_000,
  /** Downstream HTTP/1.1: a request head must be complete within this from its first byte, else 408 and close (slowloris; http-front.ts times it, node:http's own check never runs there). */
  headersTimeoutMs: 30_000,
  /** Downstream HTTP/1.1 and HTTP/2: largest request header block. */
  maxHeaderBytes: 16 * 1024,
  /** Downstream HTTP/2: streams one client connection may have open at once. */
  maxConcurrentStreams: 1_000,
  /** close(): in-flight requests get this long to finish before everything is torn down. */
  drainTimeoutMs: 10_000,
  /** RequestMirror: a copy is abandoned after this long (its answer is discarded anyway). */
  mirrorTimeoutMs: 10_000,
  /** RequestMirror: copies in flight at once per waypoint; beyond, a copy is not sent. */
  maxConcurrentMirrors: 256,
  /** RequestMirror: the most request body bytes held for the copies; a larger body is not mirrored. */
  mirrorMaxBodyBytes: 64 * 1024,
} as const;

export type WaypointLimits = { -readonly [K in keyof typeof WAYPOINT_DEFAULTS]: number };
