// The resilience layers' own limits (waypoint/resilience/), each documented in
// docs/configuration.md, "The waypoint's resilience layers (`RESILIENCE_DEFAULTS`)"
// (waypoint/resilience/limits.test.ts checks that).

export const RESILIENCE_DEFAULTS = {
  /** Global rate limit: one Redis command (the limiter's script) must answer within this,
   * else the decision is the limit's `failureMode` (Envoy's ratelimit filter: 20 ms to its
   * service; Redis on the same network answers in well under 1 ms). */
  globalRateLimitCommandTimeoutMs: 100,
  /** Global rate limit: connecting to Redis gives up after this (then reconnects). */
  globalRateLimitConnectTimeoutMs: 1_000,
  /** Global rate limit: reconnection waits `n * step` after the n-th failed attempt... */
  globalRateLimitReconnectStepMs: 100,
  /** ...and never longer than this between attempts (reconnection never stops). */
  globalRateLimitReconnectMaxMs: 2_000,
  /** Global rate limit: the longest Redis key; a longer descriptor is replaced by its
   * SHA-256 (hex), so a long path or header cannot make huge keys. */
  globalRateLimitMaxKeyBytes: 256,
  /** Global rate limit: characters of one header or path value read for the key (the rest
   * is cut before hashing, so a client cannot make the waypoint hash megabytes). */
  globalRateLimitMaxKeyPartChars: 1_024,
  /** Local rate limit: token buckets kept per replica (one per policy and target); a
   * full map is emptied and refills (buckets start full). */
  localRateLimitMaxBuckets: 10_000,
  /** Retries: the most request body bytes held to send again; a larger body is forwarded
   * but never retried (Envoy's per-request buffer limit, smaller: bodies stay streamed). */
  retryMaxBufferedBodyBytes: 64 * 1024,
  /** Retry budgets kept (one per target); a full map is emptied and refills. */
  retryMaxBudgets: 10_000,
  /** Retry budget: retries started in the last second are remembered up to this many
   * timestamps (the floor `minRetriesPerSecond` is capped by it). */
  retryBudgetMaxFloorPerSecond: 10_000,
  /** Outlier detection: endpoints tracked per target; beyond, new endpoints are not
   * tracked (never ejected) until others go. */
  outlierMaxEndpoints: 10_000,
} as const;

export type ResilienceLimits = { -readonly [K in keyof typeof RESILIENCE_DEFAULTS]: number };
