// The HTTP/2 upstream pool: one multiplexed h2c session per endpoint, over an HBONE tunnel
// (mesh endpoints) or a TCP socket, carrying every HTTP/2 and gRPC request to it. A session
// that got GOAWAY, failed or closed leaves the pool (its open streams finish); the next
// request dials anew. A session with no stream for upstreamIdleTimeoutMs is closed.
//
// A request to a target whose TrafficPolicy has a connectionPool (target-pool.ts) goes on
// a session of that target alone, dialled with the policy's connectTimeout, closed after
// its idleTimeout without a stream, and retired (no new streams; closed once its open
// ones finish) after maxRequestsPerConnection streams. Requests waiting for the target's
// sessions being dialled are at most maxPendingRequests; one more is refused (flag UO).
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { ConnectExtra, Connector } from './connect.js';
import { newPoolStats, type PoolStats } from './stats.js';
import { mayReuse, mayWaitForSession, overflowMessage } from './pool-limits.js';
import { overflowError, type PoolTarget } from './target-pool.js';

export interface H2PoolOptions {
  connect: Connector;
  idleTimeoutMs: number;
  maxHeaderListBytes: number;
}

interface Entry {
  ready: Promise<ClientHttp2Session>;
  session?: ClientHttp2Session;
  active: number;
  used: number;
  idle?: NodeJS.Timeout;
  idleTimeoutMs: number;
  /** Out of the pool (maxRequestsPerConnection reached): closed once its streams end. */
  retired?: boolean;
}

const key = (ep: UpstreamEndpoint) => `${ep.mesh ? 'hbone' : 'tcp'}:${ep.ip}:${ep.port}:${ep.identity}`;

export class H2Pool {
  readonly stats: PoolStats = newPoolStats();
  readonly #opts: H2PoolOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #all = new Set<ClientHttp2Session>();

  constructor(opts: H2PoolOptions) {
    this.#opts = opts;
  }

  /** Opens a stream to `endpoint` (dialling its session when there is none). Rejects when
   * the endpoint cannot be reached; the stream's own errors are the caller's. `extra` goes
   * on the session's connection when this request is the one that dials it. */
  async request(endpoint: UpstreamEndpoint, headers: OutgoingHttpHeaders, extra?: ConnectExtra, options?: { waitForTrailers?: boolean; target?: PoolTarget }): Promise<ClientHttp2Stream> {
    const target = options?.target;
    const k = target ? `${target.id}|${key(endpoint)}` : key(endpoint);
    let entry = this.#entries.get(k);
    if (!entry) {
      entry = this.#dial(k, endpoint, target ? { ...extra, connectTimeoutMs: target.limits.connectTimeoutMs } : extra, target?.limits.idleTimeoutMs ?? this.#opts.idleTimeoutMs);
      this.#entries.set(k, entry);
    }
    let session: ClientHttp2Session;
    if (target && !entry.session) {
      // Waiting for the session being dialled: a pending request of the target.
      if (!mayWaitForSession(target.counts, target.limits)) {
        this.stats.overflowed++;
        throw overflowError(overflowMessage('max-pending-requests', target.id, target.limits), 'max-pending-requests');
      }
      target.counts.pending++;
      try {
        session = await entry.ready;
      } finally {
        target.counts.pending--;
      }
    } else session = await entry.ready;
    const stream = session.request(headers, { endStream: false, ...(options?.waitForTrailers && { waitForTrailers: true }) });
    this.stats.requests++;
    if (entry.used++ > 0) this.stats.reused++;
    if (target && !mayReuse(entry.used, target.limits) && !entry.retired) {
      entry.retired = true;
      if (this.#entries.get(k) === entry) this.#entries.delete(k);
    }
    this.stats.active++;
    entry.active++;
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    const e = entry;
    stream.once('close', () => {
      this.stats.active--;
      if (--e.active === 0 && e.retired) e.session?.close();
      else if (e.active === 0 && this.#entries.get(k) === e) {
        e.idle = setTimeout(() => {
          if (this.#entries.get(k) === e) this.#entries.delete(k);
          e.session?.close();
        }, e.idleTimeoutMs);
        e.idle.unref();
      }
    });
    return stream;
  }

  #dial(k: string, endpoint: UpstreamEndpoint, extra: ConnectExtra | undefined, idleTimeoutMs: number): Entry {
    const entry: Entry = { active: 0, used: 0, ready: undefined as never, idleTimeoutMs };
    const forget = () => {
      if (this.#entries.get(k) === entry) this.#entries.delete(k);
      if (entry.idle) clearTimeout(entry.idle);
    };
    entry.ready = (async () => {
      let transport;
      try {
        transport = await this.#opts.connect(endpoint, extra);
      } catch (err) {
        this.stats.connectFailures++;
        forget();
        throw err;
      }
      const session = http2.connect(`http://${endpoint.ip.includes(':') ? `[${endpoint.ip}]` : endpoint.ip}:${endpoint.port}`, {
        createConnection: () => transport,
        settings: { enablePush: false, maxHeaderListSize: this.#opts.maxHeaderListBytes },
      });
      this.stats.opened++;
      this.#all.add(session);
      entry.session = session;
      session.on('error', () => {}); // reported to each stream; the session just leaves the pool
      session.once('goaway', forget);
      session.once('close', () => {
        forget();
        this.#all.delete(session);
        this.stats.closed++;
        transport.destroy();
      });
      return session;
    })();
    entry.ready.catch(() => {});
    return entry;
  }

  /** Graceful: sessions take no new streams, open ones finish. */
  close(): void {
    this.#entries.clear();
    for (const s of this.#all) if (!s.closed) s.close();
  }

  destroy(): void {
    this.#entries.clear();
    for (const s of this.#all) s.destroy();
  }
}
