// The local cluster's limits, timeouts and sizes, with their defaults (the mesh's own are
// in core/limits.ts). docs/configuration.md documents each of them (a test checks that).

/** `ambientctl cluster up|down` (local-cluster/lifecycle.ts, processes.ts). */
export const LOCAL_CLUSTER_DEFAULTS = {
  /** `cluster up` gives up when Redis, the API server or the nodes are not up within this. */
  clusterUpTimeoutMs: 60_000,
  /** Between probes of a piece that is coming up. */
  clusterUpPollMs: 200,
  /** `cluster down`: processes get SIGTERM, then SIGKILL after this. */
  stopGraceMs: 8_000,
  // A year, like kube-apiserver's extended expiration for kubelet-requested tokens: the
  // local cluster's nodes hold one token for the cluster's life.
  /** Lifetime of the nodes' (kubelets') ServiceAccount token. */
  nodeTokenExpirationSeconds: 365 * 24 * 3_600,
} as const;

/** The local cluster's network layer (local-cluster/network). */
export const LOCAL_NETWORK_DEFAULTS = {
  /** One `ip`, `sysctl` or `iptables` command. */
  commandTimeoutMs: 15_000,
  /** One CNI plugin invocation (ADD/DEL/CHECK), including its IPAM plugin. */
  cniPluginTimeoutMs: 30_000,
  /** Output kept per stream; more is dropped (a plugin's result is a few KiB). */
  maxOutputBytes: 4 * 1024 * 1024,
} as const;

/** The local cluster's API server (local-cluster/apiserver). */
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
  /** Largest object stored (etcd's default request limit, which Kubernetes objects live under); larger ones get 413. */
  maxObjectBytes: 1.5 * 1024 * 1024,
  /**
   * After a 413, this much more of the refused body is read and discarded so that the
   * client, still sending, reads the answer instead of a reset ("broken pipe"); a client
   * that sends more has its connection closed.
   */
  maxDiscardBytes: 16 * 1024 * 1024,
  /** ...and the discarding ends (connection closed) after this long. */
  discardTimeoutMs: 30_000,
  /** A connection closed that way is half-closed first, and reset only this long after (so the client reads the answer). */
  closeLingerMs: 500,
  /** How long an event that arrived ahead of a missing predecessor waits for it before fan-out. */
  eventGapWaitMs: 100,
  /**
   * A deleted namespace stays Terminating this long before its contents and then itself are
   * deleted (kube's namespace controller takes seconds too); `kubectl delete -f` of a
   * manifest that lists its Namespace first relies on the objects outliving that request.
   */
  namespaceCleanupDelayMs: 1_000,
  /** Read-modify-write retries when a concurrent write got in between (then 409 Conflict). */
  updateRetries: 10,
  /** TokenRequest: lifetime when none is asked for, and the bounds on what may be asked. */
  tokenDefaultExpirationSeconds: 3_600,
  tokenMinExpirationSeconds: 600,
  // A year, like kube-apiserver's extended expiration for kubelet-requested tokens: the
  // local cluster's nodes hold one token for the cluster's life.
  tokenMaxExpirationSeconds: 365 * 24 * 3_600,
  /** Waiting for Redis to answer at start-up before giving up. */
  redisConnectTimeoutMs: 10_000,
  /** On close, open connections get this long to finish their requests. */
  shutdownGraceMs: 2_000,
  /** pods/portforward: WebSockets open at once; more get 429 TooManyRequests. */
  portForwardMaxConcurrent: 64,
  /** ...ports one request may name (?ports=). */
  portForwardMaxPorts: 8,
  /** ...largest message a client may send; a larger one closes the WebSocket (1009). */
  portForwardMaxMessageBytes: 1024 * 1024,
  /** ...bytes queued toward the client, or sent before the pod's port accepted, before that side is paused (or, before the connection, refused). */
  portForwardMaxBufferedBytes: 4 * 1024 * 1024,
  /** ...opening the connection to 127.0.0.1:<port> inside the pod. */
  portForwardConnectTimeoutMs: 5_000,
  /** ...a forward that carried nothing either way for this long is closed. */
  portForwardIdleTimeoutMs: 30 * 60_000,
} as const;

/** The local cluster's kubelet (local-cluster/runtime/kubelet.ts). */
export const KUBELET_DEFAULTS = {
  /**
   * A pod whose network setup (CNI ADD) failed is tried again after this, the delay
   * doubling after each failure (as the kubelet retries a failed pod sandbox)...
   */
  sandboxRetryInitialMs: 1_000,
  /** ...up to this; it keeps retrying at this pace until ADD succeeds or the pod is deleted. */
  sandboxRetryMaxMs: 30_000,
  /** Longest CNI error kept in the pod's status message; longer ones are cut (a plugin's message is a line or two). */
  sandboxErrorMaxChars: 1_024,
} as const;
