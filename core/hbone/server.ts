// The HBONE server: HTTP/2 CONNECT over mutual TLS (DESIGN.md "HBONE on the wire").
// Per stream: validate the request (400), ask the decision callback (401), connect the
// upstream (503), answer 200 only once the upstream is connected, then copy bytes both
// ways with half-close and backpressure. Every tunnel is reported exactly once.
import http2, { type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ErrorCodes, MeshError } from '../errors.js';
import { HBONE_DEFAULTS, type HboneLimits } from '../limits.js';
import { silentLogger, type Logger } from '../log.js';
import { formatSpiffeId, type SpiffeId } from '../identity/spiffe.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import { peerIdentity } from './peer.js';
import { pipeTunnel, type TunnelBytes } from './tunnel.js';
import { parseAuthority, parseBaggage, parseForwardedFor, parseTraceparent, type SocketAddress } from './wire.js';

const { constants: C } = http2;

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
  baggage: Record<string, string>;
  /** The TCP peer of the TLS connection (a node agent or a waypoint). */
  remote: SocketAddress;
}

export type Decision = { allow: true } | { allow: false; reason: string };

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
  /** Called once per stream when it is over. */
  onTunnelEnd?: (record: TunnelRecord) => void;
  /** Called when a stream's upstream connected and it was answered 200 (the tunnel is open). */
  onTunnelOpen?: (request: HboneRequest, startedAt: Date) => void;
  limits?: Partial<HboneLimits>;
  logger?: Logger;
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
  active: number;
  earlyResets: number;
  windowStart: number;
  idleTimer?: NodeJS.Timeout;
}

export class HboneServer {
  readonly server: http2.Http2SecureServer;
  readonly limits: HboneLimits;
  readonly #opts: HboneServerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<Http2Session, SessionState>();
  #credentials: ServerCredentials;
  #draining = false;

  constructor(opts: HboneServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...HBONE_DEFAULTS, ...opts.limits };
    this.#credentials = opts.credentials;
    const l = this.limits;
    this.server = http2.createSecureServer({
      ...this.#tlsOptions(),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
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
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#onStream(stream, headers));
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

  /** Call after the trust bundle changed (a root added or removed). */
  reloadTrustBundle(): void {
    this.server.setSecureContext(this.#tlsOptions());
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
    const deadline = setTimeout(() => {
      for (const session of this.#sessions.keys()) session.destroy();
    }, timeoutMs);
    await Promise.all([listening, ...gone]);
    clearTimeout(deadline);
  }

  /** Immediate close: every connection is torn down. */
  async close(): Promise<void> {
    return this.drain(0);
  }

  #tlsOptions() {
    return { key: this.#credentials.key, cert: this.#credentials.cert, ca: this.#opts.trustBundle.pems() };
  }

  #goaway(session: Http2Session): void {
    if (session.closed || session.destroyed) return;
    session.goaway(C.NGHTTP2_NO_ERROR);
    session.close();
  }

  #onSession(session: Http2Session): void {
    const state: SessionState = { active: 0, earlyResets: 0, windowStart: Date.now() };
    this.#sessions.set(session, state);
    session.on('close', () => {
      if (state.idleTimer) clearTimeout(state.idleTimer);
      this.#sessions.delete(session);
    });
    session.on('error', (err) => this.#log.debug({ err: err.message }, 'hbone: session error'));
    const socket = session.socket as TLSSocket;
    try {
      state.peer = peerIdentity(socket.getPeerCertificate(), this.#opts.trustDomain);
    } catch (err) {
      // TLS verified the chain; the identity is not one of ours. INADEQUATE_SECURITY is
      // the HTTP/2 code for "this TLS connection is not acceptable" (RFC 9113 section 7).
      this.#log.warn({ err: (err as Error).message, remote: socket.remoteAddress }, 'hbone: peer identity rejected');
      session.destroy(err as Error, C.NGHTTP2_INADEQUATE_SECURITY);
      return;
    }
    session.setLocalWindowSize(this.limits.connectionWindowBytes);
    if (this.#draining) this.#goaway(session);
    this.#armIdle(session, state);
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
    if (++state.earlyResets > this.limits.maxEarlyResetsPerWindow && !session.destroyed) {
      this.#log.warn(
        { peer: state.peer && formatSpiffeId(state.peer), resets: state.earlyResets },
        'hbone: too many streams reset before their answer (rapid reset); closing the connection',
      );
      session.destroy(new Error('rapid reset'), C.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const session = stream.session!;
    const state = this.#sessions.get(session);
    if (!state?.peer) {
      stream.close(C.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const startedAt = new Date();
    const bytes: TunnelBytes = { fromPeer: 0, toPeer: 0 };
    let request: HboneRequest | undefined;
    let status = 0;
    let answered = false;
    let reported = false;
    let upstream: net.Socket | undefined;
    state.active++;
    this.#armIdle(session, state);

    const report = (error?: string) => {
      if (reported) return;
      reported = true;
      const record: TunnelRecord = { status, bytes, startedAt, durationMs: Date.now() - startedAt.getTime() };
      if (request) record.request = request;
      if (error) record.error = error;
      this.#opts.onTunnelEnd?.(record);
    };
    stream.on('error', () => {}); // reported through 'close' below
    stream.once('close', () => {
      state.active--;
      this.#armIdle(session, state);
      if (!answered) {
        upstream?.destroy();
        if (stream.rstCode !== C.NGHTTP2_NO_ERROR) this.#countEarlyReset(session, state);
        report('stream reset by peer before the upstream connected');
      } else if (stream.rstCode !== C.NGHTTP2_NO_ERROR && stream.rstCode !== undefined) {
        report(`stream reset (HTTP/2 error ${stream.rstCode})`);
      }
    });

    const answer = (code: number) => {
      status = code;
      if (stream.destroyed || stream.closed) return;
      answered = code === 200;
      stream.respond({ ':status': code }, { endStream: code !== 200 });
      if (answered && request) this.#opts.onTunnelOpen?.(request, startedAt);
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
    if (tp) request.traceparent = tp;
    const req = request;

    void (async () => {
      let decision: Decision;
      try {
        decision = (await this.#opts.authorize?.(req)) ?? { allow: true };
      } catch (err) {
        decision = { allow: false, reason: `authorization failed: ${(err as Error).message}` }; // fail closed
      }
      if (!decision.allow) {
        answer(401);
        report(`denied: ${decision.reason}`);
        return;
      }
      if (stream.destroyed) return;
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
    })();
  }
}
