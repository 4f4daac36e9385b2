// Every limit, timeout and size the mesh's programs use, with its default, in one place;
// the local cluster's own are in local-cluster/limits.ts. docs/configuration.md documents
// each of them (a test checks that it does).

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const IDENTITY_DEFAULTS = {
  /** Lifetime of a workload certificate (Istio's default). */
  workloadCertTtlMs: 24 * HOUR,
  /** The longest lifetime a CSR may ask for. */
  workloadCertMaxTtlMs: 7 * DAY,
  /** Renew when this fraction of a certificate's lifetime has passed. */
  renewAtFraction: 0.5,
  /** First retry after a failed renewal; doubles up to renewRetryMaxMs. */
  renewRetryMinMs: 1 * SECOND,
  renewRetryMaxMs: 30 * SECOND,
  /** notBefore is backdated this much to absorb clock skew between nodes. */
  clockSkewMs: 1 * MINUTE,
  /** Lifetime of a self-signed root created by the controller. */
  rootTtlMs: 10 * 365 * DAY,
  /** Lifetime of an intermediate issued by `ambientctl ca intermediate`. */
  intermediateTtlMs: 365 * DAY,
} as const;

export const HBONE_DEFAULTS = {
  /** Streams a peer may open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: 1000,
  /** Per-stream flow-control window: bytes in flight per tunnel before the sender waits. */
  streamWindowBytes: 4 * 1024 * 1024,
  /** Per-connection flow-control window: bounds what one connection can buffer in total. */
  connectionWindowBytes: 16 * 1024 * 1024,
  /** Largest header block accepted (SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderListBytes: 16 * 1024,
  /** Header fields accepted per request. */
  maxHeaderPairs: 64,
  /** nghttp2 memory a session may hold, in MiB, before new streams are refused. */
  maxSessionMemoryMiB: 64,
  /** Streams a peer may reset before the server answered, per resetWindowMs (CVE-2023-44487). */
  maxEarlyResetsPerWindow: 200,
  resetWindowMs: 1000,
  /** Invalid frames and refused streams tolerated before the connection is closed. */
  maxInvalidFrames: 100,
  maxRejectedStreams: 100,
  /** TLS handshake must finish within this. */
  handshakeTimeoutMs: 10_000,
  /** Connecting to the upstream (server) or to the peer's 15008 and its 200 (client). */
  connectTimeoutMs: 10_000,
  /** A connection with no open stream is closed after this. */
  idleTimeoutMs: 60_000,
  /** Graceful drain: GOAWAY, then streams get this long to finish before a hard close. */
  drainTimeoutMs: 10_000,
  /** Both ends: an HTTP/2 PING is sent on an open connection this often... */
  pingIntervalMs: 30_000,
  /** ...and the connection is closed when its answer takes longer (a vanished peer; its tunnels end). */
  pingTimeoutMs: 10_000,
  /** Connections one source address (one pod) may hold open to one HBONE listener; more get GOAWAY ENHANCE_YOUR_CALM. */
  maxConnectionsPerAddress: 64,
  /** Connections one peer identity (all its replicas) may hold open to one HBONE listener. */
  maxConnectionsPerIdentity: 1_024,
  /** Tunnels one source address may have open at once on one listener, over all its connections; more get RST_STREAM REFUSED_STREAM. */
  maxStreamsPerAddress: 4_096,
  /** Tunnels one peer identity may have open at once on one listener. */
  maxStreamsPerIdentity: 16_384,
  /** Across connections (penalty box): streams a source address may reset before their answer (decaying score); beyond, the peer is refused for peerPenaltyMs. */
  peerMaxEarlyResets: 400,
  /** Across connections: streams a source address may open (decaying score) before it is refused for peerPenaltyMs (stream churn). */
  peerMaxNewStreams: 20_000,
  /** A peer identity's penalty-box budgets are this many times an address's (replicas share an identity). */
  peerIdentityFactor: 4,
  /** Penalty-box scores lose half their value every this often. */
  peerScoreHalfLifeMs: 2_000,
  /** How long a penalised source address or identity is refused (new connections, and its open ones are closed). */
  peerPenaltyMs: 30_000,
  /** Source addresses and identities the penalty box remembers at most (least recently seen forgotten first). */
  peerMaxTracked: 10_000,
  /** A peer's streams reset before their answer are recorded one by one (access log) while its decayed count is below this; beyond, only counted. */
  earlyResetsRecorded: 20,
  /** Refused streams and connections are logged in one summary line at most this often. */
  rejectLogIntervalMs: 10_000,
} as const;

export type HboneLimits = { -readonly [K in keyof typeof HBONE_DEFAULTS]: number };

export const SOCKET_DEFAULTS = {
  /** Connecting from inside a pod's network namespace. */
  netnsConnectTimeoutMs: 10_000,
  /** Listen backlog of sockets opened inside a pod's network namespace (Node's default). */
  listenBacklog: 511,
} as const;

/** The controller protocol on 15012 (controller/distribution, node-agent/controller-client). */
export const CONTROLLER_PROTOCOL_DEFAULTS = {
  /** Server: a TLS handshake must finish within this. */
  handshakeTimeoutMs: 10_000,
  /** Client: TCP, TLS and the server's HTTP/2 SETTINGS within this, else the attempt fails. */
  connectTimeoutMs: 10_000,
  /** Client: a certificate request must be answered within this (the server's TokenReview included). */
  requestTimeoutMs: 15_000,
  /** Server: a TokenReview must be answered within this, else 503. */
  tokenReviewTimeoutMs: 5_000,
  /** Server: how long an authenticated token is trusted without asking the API server again. */
  tokenCacheTtlMs: 30_000,
  /** Server: how long a rejected token stays rejected without asking again (bounds TokenReview load). */
  tokenCacheNegativeTtlMs: 5_000,
  /** Server: tokens remembered at most; the oldest are forgotten first. */
  tokenCacheMaxEntries: 10_000,
  /** Server: a config stream must send its hello within this. */
  helloTimeoutMs: 10_000,
  /** Server: longest line (one message) a client may send; the hello lists every resource it holds. */
  maxClientMessageBytes: 16 * 1024 * 1024,
  /** Client: longest line (one update) the controller may send; a full update holds every resource. */
  maxServerMessageBytes: 64 * 1024 * 1024,
  /** Server: largest certificate request body. */
  maxRequestBodyBytes: 64 * 1024,
  /** Client: largest certificate response body. */
  maxResponseBodyBytes: 1024 * 1024,
  /** Server: NACKed resources remembered per client (for status); more are counted, not kept. */
  maxRejectedPerClient: 1_000,
  /** Server: characters kept of one NACK error message. */
  maxErrorMessageChars: 1_024,
  /** Server: updates per client remembered while awaiting their ACK; older ones are forgotten. */
  maxUnackedUpdates: 64,
  /** Server: streams one client connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: 100,
  /** Largest request or response header block (SETTINGS_MAX_HEADER_LIST_SIZE); a token is ~1-2 KiB. */
  maxHeaderListBytes: 32 * 1024,
  /** Both ends: an HTTP/2 PING is sent on an open connection this often... */
  pingIntervalMs: 30_000,
  /** ...and the connection is closed when its answer takes longer than this. */
  pingTimeoutMs: 10_000,
  /** Server: a connection with no open stream is closed after this; client: its connection too. */
  idleTimeoutMs: 60_000,
  /** Server: a config stream is ended (gracefully, +-10% jitter) after this, so clients re-authenticate and spread over replicas. */
  maxStreamAgeMs: 30 * 60_000,
  /** Server: on close, open connections get this long after GOAWAY before they are torn down. */
  drainTimeoutMs: 10_000,
  /** Client: first reconnect delay; doubles per failed attempt (with jitter)... */
  reconnectMinMs: 500,
  /** ...up to this. */
  reconnectMaxMs: 30_000,
} as const;

export type ControllerProtocolLimits = { -readonly [K in keyof typeof CONTROLLER_PROTOCOL_DEFAULTS]: number };

/** The node agent's in-pod capture (node-agent/capture). */
export const CAPTURE_DEFAULTS = {
  /** One iptables-save or iptables-restore inside a pod's namespace. */
  commandTimeoutMs: 10_000,
  /** How long iptables-restore waits for the xtables lock (the legacy backend's lock is node-wide). */
  xtablesLockWaitSeconds: 5,
  /** Output kept from one command; a pod's nat table is a few KiB. */
  maxOutputBytes: 4 * 1024 * 1024,
} as const;

/** The node agent program (node-agent/agent.ts): enrolling pods and keeping them enrolled. */
export const AGENT_DEFAULTS = {
  /** How often every enrolled pod's capture is checked (and repaired), and pods whose netns was not found are looked for again. */
  repairIntervalMs: 30_000,
  /** Un-enrolling a pod: its listeners stop accepting at once; open connections get this long to finish, then are reset.
   * The agent stopping (SIGTERM): pods keep their capture and their listeners keep serving this long, then the rest is reset. */
  drainTimeoutMs: 5_000,
  /** Enrolling one pod (certificate, listeners, capture) must finish within this, or it is undone and retried. */
  enrolTimeoutMs: 15_000,
  /** Network namespaces under /var/run/netns inspected when looking for a pod's. */
  maxNetnsScan: 4_096,
  /** Between attempts to read the mesh's roots (ConfigMap ambient-ca-root) at start. */
  rootsRetryMs: 2_000,
  /** Observed (source principal, destination workload, port) edges kept for `ambientctl authz suggest` (GET /authz/edges); the least recently seen is evicted beyond. */
  maxObservedEdges: 4_096,
  /** Edges one source (a principal, or a plaintext client address) may hold in that table. */
  maxObservedEdgesPerSource: 256,
} as const;

/** Replacing a node agent without dropping connections (node-agent/handover/, docs/protocol.md). */
export const HANDOVER_DEFAULTS = {
  /** After handing its listeners over, the old agent serves its established connections
   * until they end or this passes, then resets the rest and exits. 30 minutes: long enough
   * for ordinary long-lived connections (database pools, streaming RPCs) to be recycled
   * by their clients (most recycle within 10-30 min), short enough that a rollout of a
   * large cluster finishes the same day. The DaemonSet's terminationGracePeriodSeconds
   * must be at least this (manifests/node-agent.yaml). `--drain-deadline` / AMBIENT_DRAIN_DEADLINE. */
  drainDeadlineMs: 30 * 60_000,
  /** The new agent: connecting to the old one and receiving every listener. */
  receiveTimeoutMs: 10_000,
  /** The new agent adopts the handed-over pods once its config has them; past this it
   * takes over with what it has and closes the rest (their pods are enrolled afresh). */
  adoptTimeoutMs: 60_000,
  /** The old agent waits this long for "taken-over" (a new agent stuck longer is abandoned:
   * the old one keeps serving as if nothing happened). */
  takeOverTimeoutMs: 90_000,
  /** The old agent's "released" after "taken-over". */
  releaseTimeoutMs: 10_000,
  /** One message's JSON body. */
  maxMessageBytes: 1024 * 1024,
  /** Sockets one handover carries in all (each a descriptor in the new agent). */
  maxSockets: 65_536,
} as const;

/** The controller program (controller/): watching the cluster and recomputing config. */
export const CONTROLLER_DEFAULTS = {
  /** Quiet time after a cluster change before config is recomputed (changes arriving together become one push). */
  translateDebounceMs: 50,
  /** A change waits at most this long before config is recomputed, however busy the cluster. */
  translateMaxDelayMs: 1_000,
  /** Lifetime of the controller's own serving certificate on 15012 (renewed at half-life). */
  servingCertTtlMs: 24 * 3_600_000,
} as const;

/**
 * The controller's leader election on the Lease ambient-system/ambient-controller
 * (controller/leader.ts). Same defaults as client-go's leaderelection users (15 s / 10 s /
 * 2 s); leaseDurationSeconds > renewDeadlineMs > 1.2 x retryPeriodMs, as client-go checks.
 */
export const LEADER_DEFAULTS = {
  /** How long a lease is honoured after a replica last SAW it change (whole seconds: the Lease field is an integer). */
  leaseDurationSeconds: 15,
  /** The leader gives up leadership when it could not renew within this. */
  renewDeadlineMs: 10_000,
  /** Between attempts to acquire or renew (acquire attempts are jittered up to +120%). */
  retryPeriodMs: 2_000,
  /** While leading, a failed publish of ConfigMap ambient-ca-root is retried with backoff up to this. */
  publishRetryMaxMs: 30_000,
  /** While leading, ConfigMap ambient-ca-root is checked this often and put back when deleted or changed. */
  rootsResyncMs: 30_000,
} as const;

export type LeaderLimits = { -readonly [K in keyof typeof LEADER_DEFAULTS]: number };

/** The node agent's DNS proxy on 127.0.0.1:15053 in each pod (node-agent/dns). */
export const DNS_DEFAULTS = {
  /** TTL of the A/AAAA records the proxy answers for mesh Services. */
  answerTtlSeconds: 30,
  /** One forwarded query waits this long for one upstream resolver, then the next is tried. */
  upstreamTimeoutMs: 2_500,
  /** Queries forwarded upstream at once (per proxy); more get SERVFAIL at once. */
  maxUpstreamInflight: 1_024,
  /** Largest UDP answer the proxy sends (and advertises in EDNS0), whatever the client advertises. */
  maxUdpPayloadBytes: 1_232,
  /** A client TCP connection with no query for this long is closed. */
  tcpIdleTimeoutMs: 10_000,
  /** Client TCP connections open at once; more are closed on accept. */
  maxTcpConnections: 256,
  /** Queries one TCP connection may have unanswered before the proxy stops reading it. */
  maxTcpQueriesPerConnection: 32,
  /** Nameservers taken from resolv.conf (glibc's MAXNS). */
  maxNameservers: 3,
  /** A pod's resolv.conf (where the proxy forwards what it does not answer) is re-read at most this often. */
  resolvConfRefreshMs: 5_000,
  /** The most of a pod's resolv.conf read (the file is the pod's: it may make it any size). */
  maxResolvConfBytes: 64 * 1024,
  /** Processes looked at in /proc when searching for one inside a pod's network namespace (to read its resolv.conf). */
  maxProcScan: 65_536,
} as const;

export type DnsLimits = { -readonly [K in keyof typeof DNS_DEFAULTS]: number };

/** The CNI plugin's hand-off of a pod to the node agent (node-agent/cni). */
export const CNI_DEFAULTS = {
  /**
   * One request line from the plugin: its stdin is at most 1 MiB, plus the CNI_* variables
   * (a few hundred bytes from a real runtime; escaped JSON). A longer line is cut off there.
   */
  maxRequestBytes: 1536 * 1024,
  /** Hand-offs served at once (kubelet starts pods in parallel, a few at a time); the next connection gets an ERR answer at once. */
  maxConnections: 32,
  /** At start, how long to wait for a socket left in the directory to answer (stale: refused at once). */
  staleProbeTimeoutMs: 1_000,
  /** The whole request line must arrive within this after the plugin connects. */
  requestTimeoutMs: 5_000,
  /** The agent's handler (enrolling or releasing the pod) must finish within this; the plugin itself gives up after 30 s. */
  handlerTimeoutMs: 20_000,
  /** The node's CNI configuration directory is checked (and the chain repaired) this often, besides on every change event. */
  chainCheckIntervalMs: 10_000,
  /** Change events arriving together (a plugin writing a temporary file and renaming it) become one check after this quiet time. */
  chainDebounceMs: 100,
} as const;

/** The node agent telling, at SIGTERM, an uninstall (its DaemonSet gone or being deleted) from a restart (node-agent/uninstall/). */
export const UNINSTALL_DEFAULTS = {
  /** Reading the agent's DaemonSet at SIGTERM must answer within this; otherwise what the agent's watch saw decides. */
  probeTimeoutMs: 2_000,
  /** When that read fails and the watch last saw the DaemonSet present, its DELETED event is waited for this long. */
  watchGraceMs: 1_000,
  /** Between attempts to read the agent's pod at start, and to watch its DaemonSet again. */
  watchRetryMs: 2_000,
  /** One watch event (one DaemonSet object); a longer line ends the watch. */
  maxWatchLineBytes: 1024 * 1024,
} as const;

/** The node agent's own HTTP servers: admin (15000), metrics (15020), readiness (15021). */
export const AGENT_SERVER_DEFAULTS = {
  /** An idle keep-alive connection from a scraper or probe is closed after this. */
  serverKeepAliveTimeoutMs: 5_000,
  /** A request (headers and body) must arrive within this, so a slow client cannot hold a socket. */
  serverRequestTimeoutMs: 10_000,
} as const;
