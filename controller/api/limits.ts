// The controller API's limits (docs/configuration.md, "Controller API"): every bound the
// server, its caches and its outbound calls keep.
export const API_DEFAULTS = {
  /** The largest request body (JSON) read; more is 413. */
  maxRequestBodyBytes: 64 * 1024,
  /** A request's head and body must arrive within this (slow clients are cut off). */
  requestTimeoutMs: 15_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** Concurrent connections accepted; more are refused at accept. */
  maxConnections: 512,
  /** The longest bearer token accepted (before any review is made). */
  maxTokenBytes: 16 * 1024,
  /** TokenReview: how long an answer is reused (positive: at most until the token's exp). */
  tokenCacheTtlMs: 30_000,
  tokenCacheNegativeTtlMs: 5_000,
  tokenCacheMaxEntries: 2_048,
  /** SubjectAccessReview: how long an answer for (token, attributes) is reused. */
  accessCacheTtlMs: 10_000,
  accessCacheNegativeTtlMs: 5_000,
  accessCacheMaxEntries: 4_096,
  /** A TokenReview or SubjectAccessReview must answer within this, else 503. */
  reviewTimeoutMs: 5_000,
  /** A write to the Kubernetes API (split, rollout actions) or a list of Rollouts. */
  kubeRequestTimeoutMs: 10_000,
  /** GET /debug/endpoints on a waypoint pod (service detail): its time and size. */
  endpointsFetchTimeoutMs: 1_500,
  maxEndpointsBytes: 1024 * 1024,
  /** Waypoint pods asked for one service's endpoint health. */
  maxEndpointsPods: 8,
  /** GET /flows?limit=: the default and the most. */
  defaultFlowsLimit: 100,
  maxFlowsLimit: 1_000,
  /** GET /flows/stream: a comment line this often keeps idle proxies from closing the stream. */
  flowStreamHeartbeatMs: 15_000,
  /** The other controller replicas (GET /api/v1/internal/replica): each must answer within
   * peerTimeoutMs with at most maxPeerAnswerBytes, else the answer is partial; at most maxPeers asked. */
  peerTimeoutMs: 2_000,
  maxPeerAnswerBytes: 32 * 1024 * 1024,
  maxPeers: 16,
  /** GET /flows/stream: how often the peers are asked for their new flows while a stream is open. */
  peerFlowPollMs: 1_000,
  /** Console files: the largest served (bigger ones are 404: the console's bundle is far smaller). */
  maxStaticFileBytes: 16 * 1024 * 1024,
} as const;

export type ApiLimits = { -readonly [K in keyof typeof API_DEFAULTS]: number };
