// The HBONE client: opens CONNECT tunnels over pooled HTTP/2 connections. Connections are
// pooled per (source identity, peer address, expected peer identity); each carries up to
// the peer's SETTINGS_MAX_CONCURRENT_STREAMS tunnels, after which a new one is opened.
// A tunnel the peer did not process because its connection was going away (GOAWAY
// racing the request, RFC 9113 sections 6.8 and 8.7) is opened again on another
// connection: a graceful drain (an agent handing over, an idle timeout) fails no tunnel.
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type net from 'node:net';
import { ErrorCodes, MeshError } from '../errors.js';
import { HBONE_DEFAULTS, type HboneLimits } from '../limits.js';
import { silentLogger, type Logger } from '../log.js';
import { formatSpiffeId, type SpiffeId } from '../identity/spiffe.js';
import type { TrustBundle } from '../identity/trust-bundle.js';
import { dialHttp2, type DialFailure } from '../http2/connect.js';
import { peerIdentity } from './peer.js';
import { formatAuthority, formatBaggage, formatForwarded, newTraceparent, type SocketAddress } from './wire.js';

const { constants: C } = http2;

export interface ClientCredentials {
  key: string;
  cert: string;
}

export interface TunnelRequest {
  /** Whose certificate the connection presents. */
  source: SpiffeId;
  /** The peer's HBONE listener (a pod's or a waypoint's 15008). */
  peer: SocketAddress;
  /** The peer must be one of these (empty: any identity of the trust domain). */
  expectedIdentities?: readonly SpiffeId[];
  /** What the peer should connect to: CONNECT's `:authority`. */
  target: SocketAddress;
  /** The original client, sent as `forwarded: for=`. */
  forwardedFor?: SocketAddress;
  traceparent?: string;
  /** W3C `tracestate` sent with `traceparent` (only with one given; the caller validated it). */
  tracestate?: string;
  baggage?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Tunnel {
  stream: ClientHttp2Stream;
  /** The verified identity of the peer. */
  peer: SpiffeId;
  traceparent: string;
}

export interface HboneClientOptions {
  /** The certificate to present for a source identity (e.g. CertificateManager#get). */
  credentials: (source: SpiffeId) => Promise<ClientCredentials> | ClientCredentials;
  trustBundle: TrustBundle;
  trustDomain: string;
  /** Opens the TCP connection to a peer; default `net.connect` (the node agent uses the pod's netns). */
  connectTransport?: (peer: SocketAddress) => net.Socket | Promise<net.Socket>;
  limits?: Partial<HboneLimits>;
  logger?: Logger;
}

interface Pooled {
  key: string;
  session?: ClientHttp2Session;
  ready: Promise<ClientHttp2Session>;
  peer?: SpiffeId;
  /** Streams open or promised to callers. */
  active: number;
  maxStreams: number;
  /** The peer's SETTINGS arrived, so maxStreams is its real limit. */
  settled: boolean;
  usable: boolean;
  idleTimer?: NodeJS.Timeout;
  /** The last-stream-id of the peer's GOAWAY: streams above it were not processed. */
  goawayLastStreamId?: number;
}

/** Attempts at opening one tunnel when the peer did not process it (it was going away). */
const MAX_UNPROCESSED_ATTEMPTS = 3;

/** The peer did not process the stream: it may be opened again on another connection. */
class UnprocessedStreamError extends MeshError {}

/** Streams assumed available before the peer's SETTINGS arrive (RFC 9113 recommends >= 100). */
const ASSUMED_MAX_STREAMS = 100;

/** A failed dial as the HBONE error a caller sees. */
function dialError(f: DialFailure, where: string, port: number): MeshError {
  switch (f.kind) {
    case 'identity':
      return f.cause instanceof MeshError ? f.cause : new MeshError(ErrorCodes.HBONE_PEER_IDENTITY, f.detail);
    case 'timeout':
      return new MeshError(ErrorCodes.HBONE_CONNECT_TIMEOUT, `HBONE connection to ${where} ${f.detail}; is a NetworkPolicy blocking port ${port}?`);
    case 'alpn':
      return new MeshError(ErrorCodes.HBONE_PROTOCOL, `peer ${where} did not negotiate ALPN h2; is it an HBONE listener?`);
    default: {
      const hint = f.code === 'ECONNREFUSED' ? ' (nothing listens there: is the node agent running?)' : '';
      return new MeshError(ErrorCodes.HBONE_CONNECT_FAILED, `HBONE connection to ${where} failed: ${f.detail}${hint}`, f.cause === undefined ? undefined : { cause: f.cause });
    }
  }
}

/** The response header in which a destination names why it answered 401 (the policy and
 * rule that denied, docs/protocol.md); what the source agent logs as "destination denied: ...". */
export const AUTHZ_REASON_HEADER = 'ambient-authz-reason';

/** The longest reason kept from a peer's answer (it is the peer's word, logged as text). */
const MAX_PEER_REASON = 512;

/** A 401 from the destination: `reason` is what its reason header said, when it said anything. */
export class TunnelDeniedError extends MeshError {
  readonly reason: string | undefined;
  constructor(message: string, reason: string | undefined) {
    super(ErrorCodes.HBONE_DENIED, message);
    this.reason = reason;
  }
}

/** The peer's reason header as printable text, bounded; undefined when absent or empty. */
function peerReason(headers: http2.IncomingHttpHeaders): string | undefined {
  const raw = headers[AUTHZ_REASON_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string') return undefined;
  const clean = value.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_PEER_REASON).trim();
  return clean === '' ? undefined : clean;
}

function statusError(status: number, req: TunnelRequest, headers: http2.IncomingHttpHeaders = {}): MeshError {
  const where = `${formatAuthority(req.target)} via ${formatAuthority(req.peer)}`;
  switch (status) {
    case 401: {
      const reason = peerReason(headers);
      return new TunnelDeniedError(`tunnel to ${where} denied by the destination's authorization policy (401)${reason === undefined ? '' : `: ${reason}`}`, reason);
    }
    case 400:
      return new MeshError(ErrorCodes.HBONE_BAD_REQUEST, `tunnel to ${where} rejected as malformed (400)`);
    case 503:
      return new MeshError(
        ErrorCodes.HBONE_UPSTREAM_UNAVAILABLE,
        `tunnel to ${where}: the destination could not reach ${formatAuthority(req.target)} (503); is the app listening on that port?`,
      );
    default:
      return new MeshError(ErrorCodes.HBONE_PROTOCOL, `tunnel to ${where}: unexpected status ${status}`);
  }
}

export class HboneClient {
  readonly limits: HboneLimits;
  readonly #opts: HboneClientOptions;
  readonly #log: Logger;
  readonly #pools = new Map<string, Pooled[]>();
  /** Every live connection, pooled or draining after the peer's GOAWAY (destroy() ends them all). */
  readonly #sessions = new Set<ClientHttp2Session>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(opts: HboneClientOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...HBONE_DEFAULTS, ...opts.limits };
    // A root added or removed: new tunnels go over connections verified with the new roots
    // (open tunnels finish on the old ones).
    this.#unsubscribe = opts.trustBundle.onChange(() => {
      for (const list of [...this.#pools.values()]) {
        for (const p of list) {
          this.#drop(p); // a connection still in set-up is dialled anew by its waiters
          if (p.settled && p.session && !p.session.closed) p.session.close();
        }
      }
    });
  }

  get stats(): { connections: number; streams: number } {
    let connections = 0;
    let streams = 0;
    for (const list of this.#pools.values()) {
      connections += list.length;
      for (const p of list) streams += p.active;
    }
    return { connections, streams };
  }

  /** Opens a tunnel; resolves once the peer answered 200 (its upstream is connected). */
  async connect(req: TunnelRequest): Promise<Tunnel> {
    if (this.#closed) throw new MeshError(ErrorCodes.HBONE_POOL_CLOSED, 'HBONE client is closed');
    const key = [formatSpiffeId(req.source), formatAuthority(req.peer), (req.expectedIdentities ?? []).map(formatSpiffeId).sort().join('|')].join(' ');
    for (let attempt = 1; ; attempt++) {
      const pooled = await this.#reserve(key, req);
      try {
        return await this.#open(pooled, req);
      } catch (err) {
        if (!(err instanceof UnprocessedStreamError) || attempt >= MAX_UNPROCESSED_ATTEMPTS || this.#closed || req.signal?.aborted) throw err;
        this.#log.debug({ peer: formatAuthority(req.peer), attempt, err: err.message }, 'hbone: the peer was going away; opening the tunnel on another connection');
      }
    }
  }

  /** Graceful: no new tunnels; open ones finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    const all = [...this.#pools.values()].flat();
    this.#pools.clear();
    await Promise.all(
      all.map(async (p) => {
        const session = await p.ready.catch(() => undefined);
        if (!session || session.closed) return;
        await new Promise<void>((resolve) => session.close(() => resolve()));
      }),
    );
  }

  /** Immediate: every connection torn down. */
  destroy(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const session of this.#sessions) session.destroy();
    for (const list of this.#pools.values()) for (const p of list) p.session?.destroy();
    this.#pools.clear();
  }

  async #reserve(key: string, req: TunnelRequest): Promise<Pooled> {
    // A stream is only ever promised on a connection whose peer limit is known: callers
    // that find a connection still being set up wait for it, then look again; one caller
    // at a time dials when every connection is full. Bounded by the connect timeout.
    const deadline = Date.now() + this.limits.connectTimeoutMs;
    for (let round = 0; round < 10_000 && Date.now() <= deadline; round++) {
      const list = this.#pools.get(key) ?? [];
      const room = list.find((p) => p.usable && p.settled && p.active < p.maxStreams);
      if (room) {
        room.active++;
        this.#clearIdle(room);
        return room;
      }
      const dialing = list.find((p) => p.usable && !p.settled);
      if (dialing) {
        await dialing.ready.catch(() => undefined);
        continue;
      }
      const fresh = this.#dial(key, req);
      this.#pools.set(key, [...list, fresh]);
      fresh.active++; // the dialer's own stream
      try {
        await fresh.ready;
      } catch (err) {
        this.#release(fresh);
        throw err;
      }
      if (fresh.usable && fresh.active <= fresh.maxStreams) return fresh;
      this.#release(fresh);
    }
    throw new MeshError(ErrorCodes.HBONE_CONNECT_TIMEOUT, `no HBONE connection to ${formatAuthority(req.peer)} had room for a stream within ${this.limits.connectTimeoutMs} ms`);
  }

  #release(pooled: Pooled): void {
    pooled.active = Math.max(0, pooled.active - 1);
    if (pooled.active === 0 && pooled.session && !pooled.session.closed) {
      pooled.idleTimer = setTimeout(() => {
        this.#drop(pooled);
        pooled.session?.close();
      }, this.limits.idleTimeoutMs);
      pooled.idleTimer.unref();
    }
  }

  #clearIdle(pooled: Pooled): void {
    if (pooled.idleTimer) clearTimeout(pooled.idleTimer);
    pooled.idleTimer = undefined;
  }

  #drop(pooled: Pooled): void {
    pooled.usable = false;
    const list = this.#pools.get(pooled.key);
    if (!list) return;
    const rest = list.filter((p) => p !== pooled);
    if (rest.length) this.#pools.set(pooled.key, rest);
    else this.#pools.delete(pooled.key);
  }

  #dial(key: string, req: TunnelRequest): Pooled {
    const pooled: Pooled = { key, active: 0, maxStreams: ASSUMED_MAX_STREAMS, settled: false, usable: true, ready: undefined as never };
    pooled.ready = this.#handshake(pooled, req);
    pooled.ready.catch(() => this.#drop(pooled));
    return pooled;
  }

  async #handshake(pooled: Pooled, req: TunnelRequest): Promise<ClientHttp2Session> {
    const l = this.limits;
    const creds = await this.#opts.credentials(req.source);
    const where = formatAuthority(req.peer);
    const connectTransport = this.#opts.connectTransport;
    const { session, peer, remoteSettings } = await dialHttp2({
      address: req.peer,
      ...(connectTransport && { transport: () => connectTransport(req.peer) }),
      credentials: creds,
      roots: this.#opts.trustBundle.pems(),
      verifyPeer: (cert) => peerIdentity(cert, this.#opts.trustDomain, req.expectedIdentities),
      connectTimeoutMs: l.connectTimeoutMs,
      session: {
        maxSessionMemory: l.maxSessionMemoryMiB,
        maxHeaderListPairs: l.maxHeaderPairs,
        settings: { enablePush: false, initialWindowSize: l.streamWindowBytes, maxHeaderListSize: l.maxHeaderListBytes },
      },
      keepalive: {
        intervalMs: l.pingIntervalMs,
        timeoutMs: l.pingTimeoutMs,
        onTimeout: () => this.#log.warn({ peer: where }, 'hbone: peer did not answer PING; closing the connection'),
      },
      toError: (f) => dialError(f, where, req.peer.port),
      onSession: (s) => {
        pooled.session = s;
        this.#sessions.add(s);
        // Registered at once so that a connection lost at any time leaves the pool.
        s.once('close', () => {
          this.#sessions.delete(s);
          this.#drop(pooled);
        });
        s.on('goaway', (code, lastStreamId) => {
          this.#log.debug({ peer: where, code, lastStreamId }, 'hbone: peer sent GOAWAY');
          pooled.goawayLastStreamId = Math.min(pooled.goawayLastStreamId ?? lastStreamId, lastStreamId);
          this.#drop(pooled);
        });
      },
      onError: (err) => this.#log.debug({ peer: where, err: err.message }, 'hbone: connection error'),
    });
    pooled.peer = peer;
    pooled.maxStreams = remoteSettings.maxConcurrentStreams ?? ASSUMED_MAX_STREAMS;
    pooled.settled = true;
    session.setLocalWindowSize(l.connectionWindowBytes);
    return session;
  }

  #open(pooled: Pooled, req: TunnelRequest): Promise<Tunnel> {
    const session = pooled.session!;
    const traceparent = req.traceparent ?? newTraceparent();
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'CONNECT',
      ':authority': formatAuthority(req.target),
      traceparent,
    };
    if (req.forwardedFor) headers['forwarded'] = formatForwarded(req.forwardedFor);
    if (req.traceparent !== undefined && req.tracestate) headers['tracestate'] = req.tracestate;
    if (req.baggage && Object.keys(req.baggage).length) headers['baggage'] = formatBaggage(req.baggage);
    // The reservation is released exactly once: when the stream closes, or here when no
    // stream could be made.
    return new Promise<Tunnel>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = session.request(headers, { endStream: false, ...(req.signal ? { signal: req.signal } : {}) });
      } catch (err) {
        this.#drop(pooled);
        this.#release(pooled);
        // The connection closed between the reservation and the request (GOAWAY, lost):
        // nothing reached the peer.
        const Failure = session.closed || session.destroyed ? UnprocessedStreamError : MeshError;
        reject(new Failure(ErrorCodes.HBONE_CONNECT_FAILED, `cannot open a stream to ${formatAuthority(req.peer)}: ${(err as Error).message}`));
        return;
      }
      // Refused because the connection was going away: above the GOAWAY's last-stream-id.
      const unprocessed = () =>
        stream.rstCode === C.NGHTTP2_REFUSED_STREAM && pooled.goawayLastStreamId !== undefined && stream.id !== undefined && stream.id > pooled.goawayLastStreamId;
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        stream.close(C.NGHTTP2_CANCEL);
        reject(new MeshError(ErrorCodes.HBONE_CONNECT_TIMEOUT, `no answer from ${formatAuthority(req.peer)} for ${formatAuthority(req.target)} within ${this.limits.connectTimeoutMs} ms`));
      }, this.limits.connectTimeoutMs);
      stream.once('close', () => {
        this.#release(pooled);
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          const Failure = unprocessed() ? UnprocessedStreamError : MeshError;
          reject(new Failure(ErrorCodes.HBONE_CONNECT_FAILED, `stream to ${formatAuthority(req.peer)} closed before an answer (HTTP/2 error ${stream.rstCode})`));
        }
      });
      // Kept for the stream's life: an error after the answer belongs to whoever pipes it.
      stream.on('error', (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const Failure = unprocessed() ? UnprocessedStreamError : MeshError;
        reject(new Failure(ErrorCodes.HBONE_CONNECT_FAILED, `stream to ${formatAuthority(req.peer)} failed: ${err.message}`, { cause: err }));
      });
      stream.once('response', (h) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const status = Number(h[':status']);
        if (status === 200) resolve({ stream, peer: pooled.peer!, traceparent });
        else {
          stream.close(C.NGHTTP2_NO_ERROR);
          reject(statusError(status, req, h));
        }
      });
    });
  }
}
