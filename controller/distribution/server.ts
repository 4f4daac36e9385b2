// The controller's side of the controller protocol on port 15012 (docs/protocol.md):
// HTTP/2 over TLS 1.3 with the controller's serving certificate from the mesh CA. Every
// request carries a ServiceAccount token (checked by TokenReview) and the caller's node.
//
//   POST /v1/certificates   a CSR in, a signed chain out, for identities the caller may have
//   POST /v1/config         a long-lived stream of newline-delimited JSON: hello, then
//                           versioned incremental updates, each ACKed or NACKed
//
// One writer: setResources() is the only way config changes; it validates the whole set,
// bumps the global version once, and pushes to every client the difference between what
// that client holds and what it should hold now. A client that cannot keep up (its stream
// stops accepting writes) is not written to until it drains; by then its difference covers
// every change it missed, so a slow client costs one pending update, never a queue.
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, MeshError, isMeshError, type ErrorCode } from '../../core/errors.js';
import type { Resource, ResourceKind } from '../../core/config/model.js';
import type { CertificateAuthority } from '../../core/identity/ca.js';
import { formatSpiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { parseCsr } from '../../core/identity/x509.js';
import { CONTROLLER_PROTOCOL_DEFAULTS, type ControllerProtocolLimits } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import {
  DEFAULT_NODE_AGENT_SERVICE_ACCOUNT,
  authorizeCsr,
  callerFromReview,
  isNodeName,
  verifyCallerNode,
  type Caller,
  type PodRef,
  type ServiceAccountRef,
} from './authorize.js';
import { ResourceTable, applyDelta, computeDelta, type TableEntry } from './resync.js';
import { CachedTokenReviewer, kubeTokenReviewer, type TokenReviewer } from './token-review.js';
import {
  LineDecoder,
  NDJSON,
  NODE_HEADER,
  PATHS,
  encodeMessage,
  encodeUpdate,
  parseClientMessage,
  parseVersion,
  resourceId,
  type ClientMessage,
  type VersionedResource,
} from '../../core/config/wire.js';
import { startKeepalive } from '../../core/http2/keepalive.js';

const { constants: C } = http2;

export interface ServerCredentials {
  key: string;
  /** Leaf then intermediates, PEM: a workload certificate carrying the controller's SPIFFE ID. */
  cert: string;
}

/** The pods scheduled on a node and not finished (an informer's cache, normally). */
export type PodLister = (node: string) => readonly PodRef[] | Promise<readonly PodRef[]>;

/**
 * Which resources a client gets. Must return a subset of `resources` (the same objects).
 * Default: all of them -- the L4 agent routes to any Service and Workload in the mesh, and
 * enforces any policy that selects one of its pods, so it needs the whole set.
 */
export type ScopeFunction = (node: string, resources: readonly VersionedResource[], caller: Caller) => readonly VersionedResource[];

export interface ControllerServerOptions {
  credentials: ServerCredentials;
  trustDomain: string;
  ca: CertificateAuthority;
  /** Where TokenReviews go (the controller's own credentials for the API server). */
  kubeConfig?: KubeConfig;
  /** Instead of kubeConfig: any TokenReview implementation (it is cached all the same). */
  tokenReviewer?: TokenReviewer;
  /** TokenReview spec.audiences; default none (the API server's own audience). */
  audiences?: string[];
  podLister: PodLister;
  /** `namespace/name` or a ref; default ambient-system/ambient-node-agent. */
  nodeAgentServiceAccount?: ServiceAccountRef | string;
  scope?: ScopeFunction;
  logger?: Logger;
  limits?: Partial<ControllerProtocolLimits>;
  /** Told the outcome and duration of every certificate request (for metrics). */
  onCertificateRequest?: (outcome: CertificateRequestOutcome) => void;
}

/** One POST /v1/certificates, as onCertificateRequest reports it. */
export interface CertificateRequestOutcome {
  /** issued; refused (4xx: unauthenticated, forbidden, malformed); error (5xx). */
  result: 'issued' | 'refused' | 'error';
  durationSeconds: number;
}

export interface RejectedResource {
  kind: string;
  key: string;
  /** The version the client refused (the one it was sent). */
  version: string;
  error: string;
}

/** One connected config stream, as `ambientctl status` shows it. */
export interface ConfigClientStatus {
  id: number;
  node: string;
  identity: string;
  role: Caller['role'];
  remote: string;
  connectedAt: string;
  /** The last update sent, ACKed, NACKed (absent: none yet). */
  lastSentVersion?: string;
  lastAckedVersion?: string;
  lastNackedVersion?: string;
  /** Resources the client refused and still holds at another version (or not at all). */
  rejected: RejectedResource[];
  /** Resources the client holds (or has been sent). */
  resources: number;
  /** True when changes wait for the client to drain its stream (a slow client). */
  pending: boolean;
  /** Global versions folded into a later update because the client was slow. */
  coalesced: number;
  /** Bytes written to the stream and not yet taken by the peer's flow control. */
  bufferedBytes: number;
  updatesSent: number;
  /** The client sent its hello and is served; false while the controller has no config yet. */
  synced: boolean;
}

export interface ControllerStatus {
  /** The global config version. */
  version: string;
  /** False until setResources() was called once: streams wait for it. */
  ready: boolean;
  resources: number;
  clients: ConfigClientStatus[];
}

interface ConfigClient {
  id: number;
  caller: Caller;
  remote: string;
  connectedAt: Date;
  stream: ServerHttp2Stream;
  helloDone: boolean;
  /** `<kind>/<key>` -> version: what the client holds once it applied everything it was sent. */
  held: Map<string, string>;
  lastSentVersion?: number;
  lastAckedVersion?: number;
  lastNackedVersion?: number;
  /** Update version -> ids it upserted, until ACKed or NACKed (bounded). */
  inflight: Map<number, string[]>;
  rejected: Map<string, RejectedResource>;
  blocked: boolean;
  dirty: boolean;
  coalesced: number;
  updatesSent: number;
  closed: boolean;
  timers: NodeJS.Timeout[];
}

interface SessionState {
  streams: number;
  idleTimer?: NodeJS.Timeout;
}

/** A refusal with its HTTP status; its message is what the caller reads. */
class Refused extends MeshError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

function parseServiceAccount(v: ServiceAccountRef | string | undefined): ServiceAccountRef {
  if (v === undefined) return DEFAULT_NODE_AGENT_SERVICE_ACCOUNT;
  if (typeof v !== 'string') return v;
  const [namespace, name, ...rest] = v.split('/');
  if (!namespace || !name || rest.length) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, `node agent service account ${JSON.stringify(v)} is not "<namespace>/<name>"`);
  return { namespace, name };
}

function headerValue(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export class ControllerServer {
  readonly server: http2.Http2SecureServer;
  readonly limits: ControllerProtocolLimits;
  readonly #opts: ControllerServerOptions;
  readonly #log: Logger;
  readonly #reviewer: TokenReviewer;
  readonly #nodeAgentSa: ServiceAccountRef;
  readonly #table = new ResourceTable();
  readonly #clients = new Set<ConfigClient>();
  readonly #sessions = new Map<Http2Session, SessionState>();
  #current?: { version: number; entries: TableEntry[]; resources: VersionedResource[] };
  #nextId = 1;
  #draining = false;
  #closing?: Promise<void>;

  constructor(opts: ControllerServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...CONTROLLER_PROTOCOL_DEFAULTS, ...opts.limits };
    this.#nodeAgentSa = parseServiceAccount(opts.nodeAgentServiceAccount);
    const l = this.limits;
    let inner = opts.tokenReviewer;
    if (!inner) {
      if (!opts.kubeConfig) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, 'ControllerServer needs kubeConfig (for TokenReview) or a tokenReviewer');
      inner = kubeTokenReviewer(opts.kubeConfig, { timeoutMs: l.tokenReviewTimeoutMs, ...(opts.audiences ? { audiences: opts.audiences } : {}) });
    }
    this.#reviewer = new CachedTokenReviewer(inner, { ttlMs: l.tokenCacheTtlMs, negativeTtlMs: l.tokenCacheNegativeTtlMs, maxEntries: l.tokenCacheMaxEntries });
    this.server = http2.createSecureServer({
      key: opts.credentials.key,
      cert: opts.credentials.cert,
      // Clients have no certificate yet (they come here to get one): they prove who they
      // are with a ServiceAccount token instead.
      requestCert: false,
      minVersion: 'TLSv1.3',
      ALPNProtocols: ['h2'],
      allowHTTP1: false,
      handshakeTimeout: l.handshakeTimeoutMs,
      unknownProtocolTimeout: 1,
      maxHeaderListPairs: 64,
      settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListBytes, enablePush: false },
    });
    this.server.on('unknownProtocol', (sock: TLSSocket) => sock.destroy());
    this.server.on('tlsClientError', (err: Error) => this.#log.debug({ err: err.message }, 'controller: TLS handshake failed'));
    this.server.on('session', (s: Http2Session) => this.#onSession(s));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#onStream(stream, headers));
  }

  listen(options: { host?: string; port?: number }): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: options.host ?? '0.0.0.0', port: options.port ?? 15012 }, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        this.#log.info({ address: a.address, port: a.port }, 'controller protocol listening');
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** The serving certificate was renewed: new handshakes use it. */
  setCredentials(creds: ServerCredentials): void {
    this.server.setSecureContext({ key: creds.key, cert: creds.cert });
  }

  get version(): number {
    return this.#table.version;
  }

  /**
   * Replaces the whole set of resources. Throws (AMB_XDS_INVALID_RESOURCE, nothing
   * applied) on a duplicate or malformed resource. Returns the global version.
   */
  setResources(resources: readonly Resource[]): number {
    const r = this.#table.replace(resources);
    if (!r.changed) return r.version;
    this.#log.debug({ version: r.version, upserted: r.upserted.length, removed: r.removed.length }, 'controller: config changed');
    for (const c of this.#clients) {
      if (c.blocked) c.coalesced++;
      this.#flush(c);
    }
    return r.version;
  }

  /** Call when scope() would now answer differently for the same resources (e.g. pods moved): bumps the version and pushes. */
  rescope(): number {
    this.#table.bump();
    for (const c of this.#clients) this.#flush(c);
    return this.#table.version;
  }

  status(): ControllerStatus {
    return {
      version: String(this.#table.version),
      ready: this.#table.ready,
      resources: this.#table.size,
      clients: [...this.#clients].map((c) => {
        const s: ConfigClientStatus = {
          id: c.id,
          node: c.caller.node,
          identity: formatSpiffeId(c.caller.identity),
          role: c.caller.role,
          remote: c.remote,
          connectedAt: c.connectedAt.toISOString(),
          rejected: [...c.rejected.values()],
          resources: c.held.size,
          pending: c.dirty,
          coalesced: c.coalesced,
          bufferedBytes: c.stream.writableLength,
          updatesSent: c.updatesSent,
          synced: c.helloDone && c.lastSentVersion !== undefined,
        };
        if (c.lastSentVersion !== undefined) s.lastSentVersion = String(c.lastSentVersion);
        if (c.lastAckedVersion !== undefined) s.lastAckedVersion = String(c.lastAckedVersion);
        if (c.lastNackedVersion !== undefined) s.lastNackedVersion = String(c.lastNackedVersion);
        return s;
      }),
    };
  }

  /**
   * Graceful shutdown: stop accepting, end every config stream (clients reconnect, to
   * another replica or to our successor), GOAWAY every connection, and tear down what is
   * left after drainTimeoutMs.
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#draining = true;
      const listening = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : undefined;
      for (const c of this.#clients) this.#endStream(c);
      const sessions = [...this.#sessions.keys()];
      const gone = sessions.map((s) => (s.destroyed ? undefined : new Promise((resolve) => s.once('close', resolve))));
      for (const s of sessions) this.#goaway(s);
      let deadline: NodeJS.Timeout | undefined;
      // At the deadline what is left is torn down; a destroyed connection's 'close' can
      // come late (a dead peer), so the deadline also ends the wait.
      const torn = new Promise<void>((resolve) => {
        deadline = setTimeout(() => {
          for (const s of this.#sessions.keys()) s.destroy();
          setTimeout(resolve, 100);
        }, this.limits.drainTimeoutMs);
      });
      await Promise.race([Promise.all([listening, ...gone]), torn]);
      clearTimeout(deadline);
      this.#log.info('controller protocol stopped');
    })());
  }

  // --- connections -------------------------------------------------------------------

  #onSession(session: Http2Session): void {
    const st: SessionState = { streams: 0 };
    this.#sessions.set(session, st);
    session.on('error', (err) => this.#log.debug({ err: err.message }, 'controller: connection error'));
    session.on('close', () => {
      clearTimeout(st.idleTimer);
      this.#sessions.delete(session);
    });
    if (this.#draining) {
      this.#goaway(session);
      return;
    }
    // A peer that vanished is noticed within pingInterval + pingTimeout; its stream is released.
    startKeepalive(session, {
      intervalMs: this.limits.pingIntervalMs,
      timeoutMs: this.limits.pingTimeoutMs,
      onTimeout: () => this.#log.info({ remote: session.socket?.remoteAddress }, 'controller: peer did not answer PING; closing its connection'),
    });
    this.#armIdle(session, st);
  }

  #armIdle(session: Http2Session, st: SessionState): void {
    clearTimeout(st.idleTimer);
    st.idleTimer = undefined;
    if (st.streams > 0) return;
    st.idleTimer = setTimeout(() => this.#goaway(session), this.limits.idleTimeoutMs);
    st.idleTimer.unref();
  }

  #goaway(session: Http2Session): void {
    if (session.closed || session.destroyed) return;
    try {
      session.goaway(C.NGHTTP2_NO_ERROR);
    } catch {
      // already going away
    }
    session.close();
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const session = stream.session;
    const st = session ? this.#sessions.get(session) : undefined;
    if (st) {
      st.streams++;
      this.#armIdle(session!, st);
      stream.once('close', () => {
        st.streams--;
        this.#armIdle(session!, st);
      });
    }
    stream.on('error', (err) => this.#log.debug({ err: err.message }, 'controller: stream error'));
    const method = headerValue(headers, ':method');
    const path = (headerValue(headers, ':path') ?? '').split('?')[0];
    const route = path === PATHS.certificates ? 'certificates' : path === PATHS.config ? 'config' : undefined;
    if (!route) return this.#respondError(stream, new Refused(404, ErrorCodes.CTRL_BAD_REQUEST, `no such endpoint ${JSON.stringify(path)}: use POST ${PATHS.config} or POST ${PATHS.certificates}`));
    if (method !== 'POST') return this.#respondError(stream, new Refused(405, ErrorCodes.CTRL_BAD_REQUEST, `${path} takes POST, not ${method}`));
    if (this.#draining) return this.#respondError(stream, new Refused(503, ErrorCodes.CTRL_UNAVAILABLE, 'the controller is shutting down; retry'));
    if (route === 'certificates') void this.#serveCertificate(stream, headers);
    else void this.#serveConfig(stream, headers);
  }

  #respondError(stream: ServerHttp2Stream, err: unknown): void {
    const refused =
      err instanceof Refused
        ? err
        : isMeshError(err)
          ? new Refused(500, err.code, err.message)
          : new Refused(500, ErrorCodes.CTRL_UNAVAILABLE, `internal error: ${(err as Error)?.message ?? String(err)}`);
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      stream.end();
      return;
    }
    stream.respond({ ':status': refused.status, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ code: refused.code, message: refused.message }), () => {
      // The answer is complete; a body still being uploaded is not wanted (RFC 9113 8.1).
      if (!stream.readableEnded && !stream.closed) stream.close(C.NGHTTP2_NO_ERROR);
    });
  }

  // --- authentication ----------------------------------------------------------------

  async #authenticate(headers: IncomingHttpHeaders): Promise<{ caller: Caller; pods: readonly PodRef[] }> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(headers, 'authorization') ?? '');
    if (!m) throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, 'no bearer token: send "authorization: Bearer <ServiceAccount token>"');
    const node = headerValue(headers, NODE_HEADER) ?? '';
    if (!isNodeName(node)) throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, `header ${NODE_HEADER} must name the caller's node (a DNS-1123 subdomain), got ${JSON.stringify(node.slice(0, 80))}`);
    let review;
    try {
      review = await this.#reviewer.review(m[1]!);
    } catch (err) {
      throw new Refused(503, ErrorCodes.CTRL_AUTH_UNAVAILABLE, (err as Error).message);
    }
    if (!review.authenticated) throw new Refused(401, ErrorCodes.CTRL_UNAUTHENTICATED, `token rejected by the API server: ${review.error}`);
    const who = callerFromReview(review.user, node, { trustDomain: this.#opts.trustDomain, nodeAgentServiceAccount: this.#nodeAgentSa });
    if (!who.ok) throw new Refused(who.status, who.code, who.reason);
    let pods: readonly PodRef[];
    try {
      pods = await this.#opts.podLister(node);
    } catch (err) {
      throw new Refused(503, ErrorCodes.CTRL_AUTH_UNAVAILABLE, `cannot list the pods of node ${node}: ${(err as Error).message}`);
    }
    const placed = verifyCallerNode(who.caller, pods);
    if (!placed.ok) {
      this.#log.warn({ caller: formatSpiffeId(who.caller.identity), node, pod: who.caller.pod?.name, reason: placed.reason }, 'controller: caller refused');
      throw new Refused(placed.status, placed.code, placed.reason);
    }
    return { caller: who.caller, pods };
  }

  // --- POST /v1/certificates ---------------------------------------------------------

  async #serveCertificate(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    let caller: Caller | undefined;
    let requested: SpiffeId | undefined;
    // A request that never finishes sending its body does not hold the stream forever.
    stream.setTimeout(this.limits.requestTimeoutMs, () => stream.close(C.NGHTTP2_CANCEL));
    const started = process.hrtime.bigint();
    const report = (result: CertificateRequestOutcome['result']) => {
      try {
        this.#opts.onCertificateRequest?.({ result, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9 });
      } catch {
        // a metrics hook never fails a request
      }
    };
    try {
      const auth = await this.#authenticate(headers);
      caller = auth.caller;
      const body = await readBody(stream, this.limits.maxRequestBodyBytes);
      let req: { csr?: unknown; ttlSeconds?: unknown };
      try {
        req = JSON.parse(body) as typeof req;
      } catch {
        throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, 'the body must be JSON {"csr": "<PEM>", "ttlSeconds": <optional integer>}');
      }
      if (typeof req !== 'object' || req === null || typeof req.csr !== 'string') throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, 'the body must be JSON {"csr": "<PEM>", "ttlSeconds": <optional integer>}');
      const ttl = req.ttlSeconds;
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0)) throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, 'ttlSeconds must be a positive integer');
      try {
        requested = parseCsr(req.csr).identity;
      } catch (err) {
        throw new Refused(400, isMeshError(err) ? err.code : ErrorCodes.CSR_INVALID, (err as Error).message);
      }
      const decision = authorizeCsr(caller, requested, auth.pods);
      if (!decision.ok) {
        this.#log.warn(
          { caller: formatSpiffeId(caller.identity), role: caller.role, node: caller.node, identity: formatSpiffeId(requested), reason: decision.reason },
          'controller: certificate request refused',
        );
        throw new Refused(403, ErrorCodes.CTRL_CSR_DENIED, `certificate for ${formatSpiffeId(requested)} refused: ${decision.reason}`);
      }
      let issued;
      try {
        issued = this.#opts.ca.sign(req.csr, { identity: requested, ...(typeof ttl === 'number' ? { ttlMs: ttl * 1000 } : {}) });
      } catch (err) {
        if (isMeshError(err, ErrorCodes.CSR_IDENTITY_MISMATCH)) throw new Refused(403, err.code, err.message);
        if (isMeshError(err)) throw new Refused(400, err.code, err.message);
        throw err;
      }
      this.#log.info({ caller: formatSpiffeId(caller.identity), node: caller.node, identity: formatSpiffeId(requested), serial: issued.serial }, 'controller: certificate issued');
      report('issued');
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(
        JSON.stringify({
          chain: issued.chain,
          roots: issued.roots,
          serial: issued.serial,
          notBefore: issued.notBefore.toISOString(),
          notAfter: issued.notAfter.toISOString(),
        }),
      );
    } catch (err) {
      if (!(err instanceof Refused)) this.#log.error({ err, caller: caller && formatSpiffeId(caller.identity) }, 'controller: certificate request failed');
      report(err instanceof Refused && err.status < 500 ? 'refused' : 'error');
      this.#respondError(stream, err);
    }
  }

  // --- POST /v1/config ---------------------------------------------------------------

  async #serveConfig(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    let caller: Caller;
    try {
      caller = (await this.#authenticate(headers)).caller;
    } catch (err) {
      this.#respondError(stream, err);
      return;
    }
    if (stream.destroyed || stream.closed) return;
    if (this.#draining) return this.#respondError(stream, new Refused(503, ErrorCodes.CTRL_UNAVAILABLE, 'the controller is shutting down; retry'));
    stream.respond({ ':status': 200, 'content-type': NDJSON });
    const socket = stream.session?.socket;
    const c: ConfigClient = {
      id: this.#nextId++,
      caller,
      remote: `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? ''}`,
      connectedAt: new Date(),
      stream,
      helloDone: false,
      held: new Map(),
      inflight: new Map(),
      rejected: new Map(),
      blocked: false,
      dirty: false,
      coalesced: 0,
      updatesSent: 0,
      closed: false,
      timers: [],
    };
    this.#clients.add(c);
    const who = { client: c.id, node: caller.node, identity: formatSpiffeId(caller.identity) };
    this.#log.info(who, 'controller: config stream opened');
    stream.once('close', () => {
      c.closed = true;
      for (const t of c.timers) clearTimeout(t);
      this.#clients.delete(c);
      this.#log.info({ ...who, lastAcked: c.lastAckedVersion }, 'controller: config stream closed');
    });
    const hello = setTimeout(
      () => this.#abort(c, new MeshError(ErrorCodes.XDS_HELLO_TIMEOUT, `no hello within ${this.limits.helloTimeoutMs} ms`)),
      this.limits.helloTimeoutMs,
    );
    // Ended gracefully at a jittered age, so that streams re-authenticate and rebalance
    // across replicas without all reconnecting at once.
    const age = setTimeout(() => this.#endStream(c), this.limits.maxStreamAgeMs * (0.9 + Math.random() * 0.2));
    age.unref();
    c.timers.push(hello, age);

    const decoder = new LineDecoder(this.limits.maxClientMessageBytes);
    // Errors are handled inside the loop: leaving a for-await early destroys the stream,
    // and the client should first read why it is being disconnected.
    try {
      for await (const chunk of stream) {
        if (c.closed) continue; // ended by us: what the client still sends is discarded
        try {
          for (const line of decoder.push(chunk as Buffer)) {
            this.#onMessage(c, parseClientMessage(line));
            if (c.closed) break;
          }
        } catch (err) {
          if (!isMeshError(err)) throw err;
          this.#abort(c, err);
        }
      }
      this.#endStream(c); // the client ended its side: end ours
    } catch (err) {
      this.#log.debug({ ...who, err: (err as Error).message }, 'controller: config stream broke');
      if (!stream.destroyed) stream.destroy();
    }
  }

  #onMessage(c: ConfigClient, m: ClientMessage): void {
    if (m.type === 'hello') {
      if (c.helloDone) throw new MeshError(ErrorCodes.XDS_MALFORMED, 'a second hello on the same stream');
      if (m.node !== c.caller.node) throw new MeshError(ErrorCodes.XDS_MALFORMED, `hello names node ${m.node} but the request's ${NODE_HEADER} is ${c.caller.node}`);
      clearTimeout(c.timers[0]);
      c.held = new Map(Object.entries(m.versions));
      c.helloDone = true;
      this.#flush(c);
      return;
    }
    if (!c.helloDone) throw new MeshError(ErrorCodes.XDS_MALFORMED, `${m.type} before hello`);
    const v = parseVersion(m.version)!;
    if (c.lastSentVersion === undefined || v > c.lastSentVersion) {
      throw new MeshError(ErrorCodes.XDS_MALFORMED, `${m.type} for version ${v}, which was never sent (last sent: ${c.lastSentVersion ?? 'none'})`);
    }
    const ids = c.inflight.get(v);
    c.inflight.delete(v);
    if (m.type === 'ack') {
      c.lastAckedVersion = Math.max(c.lastAckedVersion ?? 0, v);
      for (const id of ids ?? []) c.rejected.delete(id);
      return;
    }
    c.lastNackedVersion = Math.max(c.lastNackedVersion ?? 0, v);
    const refused = new Set<string>();
    for (const e of m.errors) {
      const id = resourceId(e.kind as ResourceKind, e.key);
      refused.add(id);
      if (!c.rejected.has(id) && c.rejected.size >= this.limits.maxRejectedPerClient) continue;
      c.rejected.set(id, { kind: e.kind, key: e.key, version: c.held.get(id) ?? '', error: e.error.slice(0, this.limits.maxErrorMessageChars) });
    }
    for (const id of ids ?? []) if (!refused.has(id)) c.rejected.delete(id);
    this.#log.warn(
      { client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), version: v, errors: m.errors.slice(0, 10) },
      'controller: client rejected resources (NACK)',
    );
  }

  /** The table as arrays, made once per version and shared by every client's flush. */
  #snapshot(): { version: number; entries: TableEntry[]; resources: VersionedResource[] } {
    if (this.#current?.version !== this.#table.version) {
      const entries = [...this.#table.entries()];
      this.#current = { version: this.#table.version, entries, resources: entries.map((e) => e.resource) };
    }
    return this.#current;
  }

  /** The resources a client should hold now. */
  #desired(c: ConfigClient): TableEntry[] {
    const snap = this.#snapshot();
    const scope = this.#opts.scope;
    if (!scope) return snap.entries;
    const out: TableEntry[] = [];
    for (const r of scope(c.caller.node, snap.resources, c.caller)) {
      const e = this.#table.get(resourceId(r.kind, r.key));
      if (e) out.push(e);
    }
    return out;
  }

  /** Sends the client what it lacks, unless it is still draining the last update (then later, coalesced). */
  #flush(c: ConfigClient): void {
    if (c.closed || !c.helloDone || !this.#table.ready) return;
    if (c.blocked) {
      c.dirty = true;
      return;
    }
    c.dirty = false;
    const full = c.lastSentVersion === undefined;
    const delta = computeDelta(c.held, this.#desired(c));
    if (!full && delta.upserts.length === 0 && delta.removes.length === 0) return;
    // Each update on a stream has a new version, so that an ACK names exactly one update.
    if (c.lastSentVersion !== undefined && this.#table.version <= c.lastSentVersion) this.#table.bump();
    const version = this.#table.version;
    const line = encodeUpdate(version, full, delta.upserts.map((e) => e.wire), delta.removes);
    applyDelta(c.held, delta);
    for (const r of delta.removes) c.rejected.delete(resourceId(r.kind, r.key));
    c.inflight.set(version, delta.upserts.map((e) => e.id));
    while (c.inflight.size > this.limits.maxUnackedUpdates) c.inflight.delete(c.inflight.keys().next().value!);
    c.lastSentVersion = version;
    c.updatesSent++;
    if (!c.stream.write(line)) {
      c.blocked = true;
      c.stream.once('drain', () => {
        c.blocked = false;
        if (c.dirty) this.#flush(c);
      });
    }
  }

  /** Ends a config stream with an error message (the client reads why), then closes it. */
  #abort(c: ConfigClient, err: MeshError): void {
    if (c.closed) return;
    this.#log.warn({ client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), code: err.code, err: err.message }, 'controller: config stream closed on a protocol error');
    if (!c.stream.destroyed && c.stream.writable) c.stream.write(encodeMessage({ type: 'error', code: err.code, message: err.message }));
    this.#endStream(c);
  }

  #endStream(c: ConfigClient): void {
    c.closed = true;
    const s = c.stream;
    if (s.destroyed || s.closed) return;
    if (!s.writableEnded) s.end();
    // The client ends its side on seeing ours end; one that does not is cut off.
    const t = setTimeout(() => {
      if (!s.closed && !s.destroyed) s.close(C.NGHTTP2_CANCEL);
    }, this.limits.drainTimeoutMs);
    t.unref();
    c.timers.push(t);
  }
}

/** Reads a request body of at most `limit` bytes (413 beyond, leaving the stream open for the answer). */
function readBody(stream: ServerHttp2Stream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      if (err) {
        stream.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(new Refused(413, ErrorCodes.CTRL_BAD_REQUEST, `request body larger than ${limit} bytes`));
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onClose = () => done(new Error('the client closed the stream before its body ended'));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onClose);
  });
}
