// Every limit and default of the local API server, in one place (documented in README.md
// beside this file).

export const APISERVER_DEFAULTS = {
  /** Events kept in Redis for watches to resume from; an older resourceVersion gets 410 Gone. */
  historySize: 10_000,
  /** How often a watch that asked for bookmarks (allowWatchBookmarks=true) gets one. */
  bookmarkIntervalMs: 5_000,
  /** A watch without timeoutSeconds ends after this (kube-apiserver's --min-request-timeout). */
  watchTimeoutSeconds: 1_800,
  /** A watcher this far behind (bytes queued, unsent) is closed; it relists and watches again. */
  watchMaxBufferedBytes: 16 * 1024 * 1024,
  /** Largest request body (kube-apiserver's limit is 3 MiB); larger ones get 413. */
  maxBodyBytes: 3 * 1024 * 1024,
  /** How long an event that arrived ahead of a missing predecessor waits for it before fan-out. */
  eventGapWaitMs: 100,
  /** Read-modify-write retries when a concurrent write got in between (then 409 Conflict). */
  updateRetries: 10,
  /** TokenRequest: lifetime when none is asked for, and the bounds on what may be asked. */
  tokenDefaultExpirationSeconds: 3_600,
  tokenMinExpirationSeconds: 600,
  tokenMaxExpirationSeconds: 48 * 3_600,
  /** Waiting for Redis to answer at start-up before giving up. */
  redisConnectTimeoutMs: 10_000,
  /** On close, open connections get this long to finish their requests. */
  shutdownGraceMs: 2_000,
} as const;

export type ApiServerLimits = { -readonly [K in keyof typeof APISERVER_DEFAULTS]: number };

/** The issuer and default audience of the tokens the local cluster issues (a real cluster's default). */
export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Namespaces the API server makes at start-up if absent, as kube-apiserver does. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

/** Namespaces that may not be deleted (kube-apiserver's NamespaceLifecycle admission). */
export const UNDELETABLE_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);
