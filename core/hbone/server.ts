// The HBONE server: HTTP/2 CONNECT over mutual TLS (DESIGN.md "HBONE on the wire").
// Per stream: validate the request (400), ask the decision callback (401), connect the
// upstream (503), answer 200 only once the upstream is connected, then copy bytes both
// ways with half-close and backpressure. Every tunnel is reported exactly once.
//
// Abuse (docs/protocol.md "Abuse protection"): per-connection limits from HTTP/2 itself;
// per-peer limits (connections and streams per source address and identity) on this
// listener; and the penalty box (guard.ts), shared across connections and listeners, that
// refuses a peer for a while when it resets or churns streams faster than any real client.
// What is refused is counted and summarised, never logged a line per stream.
import http2, { type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import { decisionHeaders } from './decision-headers.js';
import { ErrorCodes, MeshError } from '../errors.js';
import { HBONE_DEFAULTS, type HboneLimits } from '../limits.js';
import { silentLogger, type Logger } from '../log.js';
import { formatSpiffeId, type SpiffeId } from '../identity/spiffe.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import { startKeepalive } from '../http2/keepalive.js';
import { PeerGuard } from './guard.js';
import type { HboneServerMetrics } from './metrics.js';
import { PeerCounts } from './peer-counts.js';
import type { Penalty, PeerKeys } from './penalty-box.js';
import { peerIdentity } from './peer.js';
import { pipeTunnel, type TunnelBytes } from './tunnel.js';
import { normalizeTracestate } from '../trace/context.js';
import { addressKey, headerListSize, parseAuthority, parseBaggage, parseForwardedFor, parseTraceparent, type SocketAddress } from './wire.js';

const { constants: C } = http2;

/** After a hard close, how long a session may take to flush its TLS close before its socket is cut. */
const CLOSE_FLUSH_MS = 1_000;

export interface ServerCredentials {
  key: string;
  /** Leaf then intermediates, PEM. */
  cert: string;
}

/** What the decision callback and the tunnel record see of a request. */
export interface HboneRequest {
  peer: SpiffeId;
  target: SocketAddress;
  /** The original client, from `forwarded: for=`. */
  forwardedFor?: SocketAddress;
  traceparent?: string;
  /** W3C `tracestate` of the CONNECT (validated and cut to the spec's limits), with a traceparent only. */
  tracestate?: string;
  baggage: Record<string, string>;
  /** The TCP peer of the TLS connection (a node agent or a waypoint). */
  remote: SocketAddress;
}

/** The decision callback's answer. A denial is answered 401; `headers` (optional) go on
 * that answer, e.g. a reason for the source to log. Names that are not lower-case HTTP
 * tokens are dropped, values are cut to MAX_DECISION_HEADER_BYTES printable ASCII. */
export type Decision = { allow: true } | { allow: false; reason: string; headers?: Readonly<Record<string, string>> };


/** What the owner of an open tunnel can do with it (HboneServerOptions.onTunnelOpen). */
export interface TunnelControl {
  /**
   * Closes the tunnel now: the stream is reset (CONNECT_ERROR, as for a TCP reset), the
   * upstream socket reset, and the tunnel's record says `error` rather than what the
   * teardown reports. For a tunnel a policy no longer allows.
   */
  close(error: string): void;
}

/** An allowed tunnel handed to HboneServerOptions.serveTunnel. */
export interface ServedTunnel {
  stream: ServerHttp2Stream;
  request: HboneRequest;
  /** Counted by the owner; read when the tunnel is reported. */
  bytes: TunnelBytes;
  control: TunnelControl;
}

export interface TunnelRecord {
  request?: HboneRequest;
  status: number;
  /** Why the tunnel ended badly, when it did. */
  error?: string;
  bytes: TunnelBytes;
  startedAt: Date;
  durationMs: number;
}

export interface HboneServerOptions {
  credentials: ServerCredentials;
  trustBundle: TrustBundle;
  trustDomain: string;
  /** L4 authorization; default allows every verified peer. */
  authorize?: (req: HboneRequest) => Decision | Promise<Decision>;
  /** Opens the upstream connection; default `net.connect` (the node agent enters the pod's netns). */
  connectUpstream?: (target: SocketAddress, req: HboneRequest) => Promise<net.Socket>;
  /**
   * Serves an allowed tunnel in-process instead of connecting an upstream (the waypoint
   * parses HTTP inside it): called after `authorize` allowed it, with the 200 already sent.
   * The stream is the tunnel's bytes; `tunnel.bytes` is for the owner to count into, and
   * the tunnel is reported (onTunnelEnd) when the stream closes. `connectUpstream` is not
   * used when this is set.
   */
  serveTunnel?: (tunnel: ServedTunnel) => void;
  /** Called once per stream when it is over. */
  onTunnelEnd?: (record: TunnelRecord) => void;
  /** Called when a stream's upstream connected and it was answered 200 (the tunnel is open);
   * `control` closes it later. */
  onTunnelOpen?: (request: HboneRequest, startedAt: Date, control: TunnelControl) => void;
  limits?: Partial<HboneLimits>;
  logger?: Logger;
  /**
   * The penalty box and refusal counters; share one across the listeners of a process so
   * that a peer penalised at one is refused at all. Default: this server's own (with `metrics`).
   */
  guard?: PeerGuard;
  /** Counters for a guard the server makes itself. */
  metrics?: HboneServerMetrics;
}

function connectTcp(target: SocketAddress, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new MeshError(ErrorCodes.HBONE_CONNECT_TIMEOUT, `upstream ${target.host}:${target.port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

interface SessionState {
  peer?: SpiffeId;
  keys: PeerKeys;
  /** Holds a place in the per-peer connection count (released on close). */
  counted: boolean;
  /** Closed for abuse: its streams are refused. */
  refused?: boolean;
  active: number;
  earlyResets: number;
  windowStart: number;
  idleTimer?: NodeJS.Timeout;
}

const OPEN_STREAM = Object.freeze({ endStream: false });
const END_STREAM = Object.freeze({ endStream: true });

export class HboneServer {
  readonly server: http2.Http2SecureServer;
  readonly limits: HboneLimits;
  readonly #opts: HboneServerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<Http2Session, SessionState>();
  /** Every accepted TCP socket, for the last resort of close(). */
  readonly #sockets = new Set<net.Socket>();
  readonly #guard: PeerGuard;
  readonly #ownGuard: boolean;
  readonly #connections: PeerCounts;
  readonly #streams: PeerCounts;
  readonly #unsubscribe: () => void;
  #credentials: ServerCredentials;
  #draining = false;

  constructor(opts: HboneServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...HBONE_DEFAULTS, ...opts.limits };
    this.#credentials = opts.credentials;
    const l = this.limits;
    this.#ownGuard = !opts.guard;
    this.#guard = opts.guard ?? new PeerGuard({ limits: l, logger: this.#log, ...(opts.metrics && { metrics: opts.metrics }) });
    this.#connections = new PeerCounts({ perAddress: l.maxConnectionsPerAddress, perIdentity: l.maxConnectionsPerIdentity });
    this.#streams = new PeerCounts({ perAddress: l.maxStreamsPerAddress, perIdentity: l.maxStreamsPerIdentity });
    this.server = http2.createSecureServer({
      ...this.#tlsOptions(),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
      allowHTTP1: false,
      handshakeTimeout: l.handshakeTimeoutMs,
      unknownProtocolTimeout: 1,
      maxSessionMemory: l.maxSessionMemoryMiB,
      maxHeaderListPairs: l.maxHeaderPairs,
      maxSessionInvalidFrames: l.maxInvalidFrames,
      maxSessionRejectedStreams: l.maxRejectedStreams,
      settings: {
        maxConcurrentStreams: l.maxConcurrentStreams,
        initialWindowSize: l.streamWindowBytes,
        maxHeaderListSize: l.maxHeaderListBytes,
        enablePush: false,
      },
    });
    // A client that negotiated no h2 is not an HBONE peer: close at once.
    this.server.on('unknownProtocol', (sock: TLSSocket) => sock.destroy());
    this.server.on('tlsClientError', (err: Error) => this.#log.debug({ err: err.message }, 'hbone: TLS handshake failed'));
    this.server.on('session', (session: Http2Session) => this.#onSession(session));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
      this.#onStream(stream, headers, rawHeaders),
    );
    // A penalised address is refused before its TLS handshake costs us anything: the TLS
    // server's own 'connection' handler runs only for sockets that pass. Works for
    // listen() and for sockets handed over with emit('connection') (the node agent's).
    const handlers = this.server.listeners('connection') as Array<(socket: net.Socket) => void>;
    this.server.removeAllListeners('connection');
    this.server.on('connection', (socket: net.Socket) => {
      const address = addressKey(socket.remoteAddress);
      if (this.#guard.penalty({ address })?.by === 'address') {
        this.#guard.refuseConnection('peer_penalised', { address });
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      for (const h of handlers) h.call(this.server, socket);
    });
    // Roots added or removed apply to the next handshake at once.
    this.#unsubscribe = opts.trustBundle.onChange(() => this.reloadTrustBundle());
  }

  listen(options: net.ListenOptions): Promise<SocketAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** New handshakes use these; open connections keep the certificate they started with. */
  setCredentials(creds: ServerCredentials): void {
    this.#credentials = creds;
    this.server.setSecureContext(this.#tlsOptions());
  }

  /**
   * The trust bundle changed (called by the bundle itself): new handshakes verify against
   * the new roots, and connections whose peer no longer chains to a trusted root get
   * GOAWAY (their open tunnels get drainTimeoutMs to finish).
   */
  reloadTrustBundle(): void {
    this.server.setSecureContext(this.#tlsOptions());
    for (const [session, state] of this.#sessions) {
      if (!state.peer || session.closed || session.destroyed) continue;
      // A chain that cannot be read or checked counts as untrusted (fail closed), and the
      // sweep goes on to the other sessions.
      let trusted = false;
      try {
        const chain = peerChain(session.socket as TLSSocket);
        trusted = chain.length > 0 && this.#opts.trustBundle.verifies(chain);
      } catch {
        trusted = false;
      }
      if (trusted) continue;
      this.#log.warn({ peer: formatSpiffeId(state.peer) }, 'hbone: peer no longer chains to a trusted root; closing its connection');
      this.#goaway(session);
      setTimeout(() => session.destroy(), this.limits.drainTimeoutMs).unref();
    }
  }

  /** The penalty box this server consults (its own, or the one it was given): what the
   * tunnels carry may be scored against their peer too (the waypoint's inner HTTP/2). */
  get guard(): PeerGuard {
    return this.#guard;
  }

  get stats(): { connections: number; streams: number } {
    let streams = 0;
    for (const s of this.#sessions.values()) streams += s.active;
    return { connections: this.#sessions.size, streams };
  }

  /**
   * Graceful drain: stop accepting, send GOAWAY so peers open no new stream here, let
   * open tunnels finish until the deadline, then close whatever is left.
   */
  async drain(timeoutMs = this.limits.drainTimeoutMs): Promise<void> {
    this.#draining = true;
    const listening = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : undefined;
    const sessions = [...this.#sessions.keys()];
    const gone = sessions.map((s) => (s.destroyed ? undefined : new Promise((resolve) => s.once('close', resolve))));
    for (const session of sessions) this.#goaway(session);
    let lastResort: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      for (const session of this.#sessions.keys()) session.destroy();
      // A destroyed session still flushes its TLS close first; a peer that stopped reading
      // (vanished, frozen) never lets that finish, so its socket is cut outright.
      lastResort = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
      }, CLOSE_FLUSH_MS);
    }, timeoutMs);
    await Promise.all([listening, ...gone]);
    clearTimeout(deadline);
    clearTimeout(lastResort);
    this.#unsubscribe();
    if (this.#ownGuard) this.#guard.close();
  }

  /** Immediate close: every connection is torn down. */
  async close(): Promise<void> {
    return this.drain(0);
  }

  /** Everything setSecureContext replaces: it resets a minVersion the options leave out,
   * so TLS 1.3 is part of every context, not only the first one. */
  #tlsOptions() {
    return { key: this.#credentials.key, cert: this.#credentials.cert, ca: this.#opts.trustBundle.pems(), minVersion: 'TLSv1.3' as const };
  }

  #goaway(session: Http2Session): void {
    if (session.closed || session.destroyed) return;
    session.goaway(C.NGHTTP2_NO_ERROR);
    session.close();
  }

  #onSession(session: Http2Session): void {
    const socket = session.socket as TLSSocket;
    const state: SessionState = { keys: { address: addressKey(socket.remoteAddress) }, counted: false, active: 0, earlyResets: 0, windowStart: Date.now() };
    this.#sessions.set(session, state);
    session.on('close', () => {
      if (state.idleTimer) clearTimeout(state.idleTimer);
      if (state.counted) this.#connections.release(state.keys);
      this.#sessions.delete(session);
    });
    session.on('error', (err) => {
      if (!state.refused) this.#log.debug({ err: err.message }, 'hbone: session error'); // refusals are counted and summarised
    });
    try {
      state.peer = peerIdentity(socket.getPeerCertificate(), this.#opts.trustDomain);
    } catch (err) {
      // TLS verified the chain; the identity is not one of ours. INADEQUATE_SECURITY is
      // the HTTP/2 code for "this TLS connection is not acceptable" (RFC 9113 section 7).
      this.#log.warn({ err: (err as Error).message, remote: socket.remoteAddress }, 'hbone: peer identity rejected');
      session.destroy(err as Error, C.NGHTTP2_INADEQUATE_SECURITY);
      return;
    }
    state.keys.identity = formatSpiffeId(state.peer);
    if (this.#guard.penalty(state.keys)) return this.#refuse(session, state, 'peer_penalised');
    if (this.#connections.acquire(state.keys)) return this.#refuse(session, state, 'peer_connection_limit');
    state.counted = true;
    session.setLocalWindowSize(this.limits.connectionWindowBytes);
    // A peer that vanished (powered off, its flow dropped by a NAT) stops answering PINGs:
    // its connection is closed, and with it the tunnels and upstream sockets it held.
    startKeepalive(session, {
      intervalMs: this.limits.pingIntervalMs,
      timeoutMs: this.limits.pingTimeoutMs,
      onTimeout: () => {
        this.#log.warn({ peer: state.keys.identity, remote: state.keys.address }, 'hbone: peer did not answer PING; closing the connection');
        this.#cutLater(session);
      },
    });
    if (this.#draining) this.#goaway(session);
    this.#armIdle(session, state);
  }

  /** A destroyed session whose peer stopped reading never finishes its TLS close: cut its socket. */
  #cutLater(session: Http2Session): void {
    const remote = { address: session.socket?.remoteAddress, port: session.socket?.remotePort };
    setTimeout(() => {
      if (!this.#sessions.has(session)) return;
      for (const socket of this.#sockets) if (socket.remoteAddress === remote.address && socket.remotePort === remote.port) socket.destroy();
    }, CLOSE_FLUSH_MS).unref();
  }

  /**
   * Closes a connection for abuse: GOAWAY ENHANCE_YOUR_CALM ("excessive load", RFC 9113
   * section 7), counted and summarised instead of a log line each.
   */
  #refuse(session: Http2Session, state: SessionState, reason: 'peer_penalised' | 'peer_connection_limit' | 'rapid_reset'): void {
    if (session.destroyed) return;
    state.refused = true;
    this.#guard.refuseConnection(reason, state.keys);
    session.destroy(new Error(`hbone: connection refused (${reason})`), C.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** A penalty was imposed: every connection of that address or identity here is closed. */
  #enforce(p: Penalty): void {
    for (const [session, state] of this.#sessions) {
      if (state.refused) continue;
      if (p.by === 'address' ? state.keys.address === p.key : state.keys.identity === p.key) this.#refuse(session, state, 'peer_penalised');
    }
  }

  #armIdle(session: Http2Session, state: SessionState): void {
    if (state.idleTimer) clearTimeout(state.idleTimer);
    state.idleTimer = undefined;
    if (state.active > 0) return;
    state.idleTimer = setTimeout(() => this.#goaway(session), this.limits.idleTimeoutMs);
    state.idleTimer.unref();
  }

  /** CVE-2023-44487: a peer that keeps cancelling streams before they are answered is cut off. */
  #countEarlyReset(session: Http2Session, state: SessionState): void {
    const now = Date.now();
    if (now - state.windowStart > this.limits.resetWindowMs) {
      state.windowStart = now;
      state.earlyResets = 0;
    }
    if (++state.earlyResets > this.limits.maxEarlyResetsPerWindow && !state.refused) this.#refuse(session, state, 'rapid_reset');
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): void {
    const session = stream.session!;
    // A stream we reset ourselves (REFUSED_STREAM...) emits 'error'; reported through 'close'.
    stream.on('error', () => {});
    const state = this.#sessions.get(session);
    if (!state?.peer || state.refused) {
      stream.close(C.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const keys = state.keys;
    // Penalised meanwhile (on another connection, or at another listener sharing the guard).
    if (this.#guard.penalty(keys)) {
      stream.close(C.NGHTTP2_REFUSED_STREAM);
      this.#guard.rejectStream('peer_penalised', keys);
      return this.#refuse(session, state, 'peer_penalised');
    }
    // What SETTINGS_MAX_HEADER_LIST_SIZE advertised is enforced here too: nghttp2 applies
    // it only once the peer acknowledged our SETTINGS, and a request sent before that (any
    // client may send one at once) was held to 64 KiB. ENHANCE_YOUR_CALM is what Node
    // itself resets such a stream with after the acknowledgement (RFC 9113 section 10.5.1).
    if (headerListSize(rawHeaders ?? []) > this.limits.maxHeaderListBytes) {
      stream.close(C.NGHTTP2_ENHANCE_YOUR_CALM);
      this.#guard.rejectStream('header_list_too_large', keys);
      return;
    }
    const churn = this.#guard.record(keys, 'newStream');
    if (churn) {
      stream.close(C.NGHTTP2_REFUSED_STREAM);
      this.#guard.rejectStream('peer_penalised', keys);
      return this.#enforce(churn);
    }
    if (this.#streams.acquire(keys)) {
      // REFUSED_STREAM: not processed, safe to retry (RFC 9113 section 8.7), e.g. once
      // another of the peer's tunnels ended.
      stream.close(C.NGHTTP2_REFUSED_STREAM);
      this.#guard.rejectStream('peer_stream_limit', keys);
      return;
    }
    const startedAt = new Date();
    const bytes: TunnelBytes = { fromPeer: 0, toPeer: 0 };
    let request: HboneRequest | undefined;
    let status = 0;
    let answered = false;
    let reported = false;
    let upstream: net.Socket | undefined;
    /** Set when the owner closed the tunnel on purpose (TunnelControl.close). */
    let closedWith: string | undefined;
    state.active++;
    this.#armIdle(session, state);

    const report = (error?: string) => {
      if (reported) return;
      reported = true;
      const record: TunnelRecord = { status, bytes, startedAt, durationMs: Date.now() - startedAt.getTime() };
      if (request) record.request = request;
      const why = closedWith ?? error;
      if (why) record.error = why;
      this.#opts.onTunnelEnd?.(record);
    };
    stream.once('close', () => {
      state.active--;
      this.#streams.release(keys);
      this.#armIdle(session, state);
      if (!answered) {
        upstream?.destroy();
        // (Streams ended by our own closing of the connection are not the peer's resets.)
        if (status === 0 && stream.rstCode !== C.NGHTTP2_NO_ERROR && !session.destroyed) {
          // Reset before any answer: a client that gave up, or a rapid-reset flood. A few
          // get their record; a flood is counted and summarised (a record each made 64 MB
          // of access log in one attack), and its peer heads for the penalty box.
          const individually = this.#guard.recordsEarlyReset(keys);
          this.#guard.rejectStream('reset_before_answer', keys, individually);
          this.#countEarlyReset(session, state);
          const p = this.#guard.record(keys, 'earlyReset');
          if (p) this.#enforce(p);
          if (!individually) {
            reported = true;
            return;
          }
        }
        report('stream reset by peer before the upstream connected');
      } else if (stream.rstCode !== C.NGHTTP2_NO_ERROR && stream.rstCode !== undefined) {
        report(`stream reset (HTTP/2 error ${stream.rstCode})`);
      }
    });

    const control: TunnelControl = {
      close: (error) => {
        if (reported) return;
        closedWith ??= error;
        if (!stream.destroyed && !stream.closed) stream.close(C.NGHTTP2_CONNECT_ERROR);
        // A socket whose FIN is already queued cannot be reset (libuv: EINVAL); close it.
        if (upstream && !upstream.destroyed) upstream.writableEnded ? upstream.destroy() : upstream.resetAndDestroy();
      },
    };
    const answer = (code: number, extra?: Readonly<Record<string, string>>) => {
      status = code;
      if (stream.destroyed || stream.closed) return;
      answered = code === 200;
      // The common answer (200, nothing extra) builds no header object beyond its own.
      stream.respond(extra === undefined ? { ':status': code } : { ...decisionHeaders(extra), ':status': code }, code === 200 ? OPEN_STREAM : END_STREAM);
      if (answered && request) this.#opts.onTunnelOpen?.(request, startedAt, control);
    };

    const remote = { host: session.socket?.remoteAddress ?? '', port: session.socket?.remotePort ?? 0 };
    const target = parseAuthority(headers[':authority']);
    if (headers[':method'] !== 'CONNECT' || !target) {
      answer(400);
      report(headers[':method'] !== 'CONNECT' ? `method ${headers[':method']} is not CONNECT` : `bad :authority ${headers[':authority']}`);
      return;
    }
    request = {
      peer: state.peer,
      target,
      baggage: parseBaggage(headers['baggage'] as string | undefined),
      remote,
    };
    const fwd = parseForwardedFor(headers['forwarded'] as string | undefined);
    if (fwd) request.forwardedFor = fwd;
    const tp = parseTraceparent(headers['traceparent'] as string | undefined);
    if (tp) {
      request.traceparent = tp;
      const ts = normalizeTracestate(headers['tracestate'] as string | undefined);
      if (ts !== undefined) request.tracestate = ts;
    }
    const req = request;

    // Decided on the next turn of the event loop: a rapid-reset flood sends HEADERS and
    // RST_STREAM in one read, and nghttp2 hands us both before that turn, so a stream reset
    // at once costs neither an authorization nor an upstream connection.
    setImmediate(() => void (async () => {
      if (stream.destroyed || stream.closed) return;
      let decision: Decision;
      try {
        decision = (await this.#opts.authorize?.(req)) ?? { allow: true };
      } catch (err) {
        decision = { allow: false, reason: `authorization failed: ${(err as Error).message}` }; // fail closed
      }
      if (!decision.allow) {
        answer(401, decision.headers);
        report(`denied: ${decision.reason}`);
        return;
      }
      if (stream.destroyed) return;
      const serve = this.#opts.serveTunnel;
      if (serve) {
        answer(200);
        if (!answered) return;
        // (A reset is reported by the close handler above, with its code.)
        stream.once('close', () => report());
        try {
          serve({ stream, request: req, bytes, control });
        } catch (err) {
          control.close(`serving the tunnel failed: ${(err as Error).message}`);
        }
        return;
      }
      try {
        const connect = this.#opts.connectUpstream ?? ((t: SocketAddress) => connectTcp(t, this.limits.connectTimeoutMs));
        upstream = await connect(target, req);
      } catch (err) {
        answer(503);
        report(`upstream ${target.host}:${target.port} unreachable: ${(err as Error).message}`);
        return;
      }
      if (stream.destroyed || stream.closed) {
        upstream.destroy();
        return;
      }
      answer(200);
      pipeTunnel(stream, upstream, bytes, (error) => report(error));
    })());
  }
}

/** The peer's chain as PEM (leaf first, up to the root TLS verified it against). */
function peerChain(socket: TLSSocket): string[] {
  const pems: string[] = [];
  let cert: DetailedPeerCertificate | undefined;
  try {
    cert = socket.getPeerCertificate(true);
  } catch {
    return pems;
  }
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256) && pems.length < 10) {
    seen.add(cert.fingerprint256);
    pems.push(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`);
    cert = cert.issuerCertificate;
  }
  return pems;
}
