// The HTTP/1.1 upstream pool: one node:http Agent with keep-alive, whose connections are
// HBONE tunnels (mesh endpoints) or TCP sockets, opened by the connector. Pools are per
// endpoint (the Agent's per-origin pools, keyed by endpoint and transport), bounded
// (maxConnectionsPerEndpoint open, maxIdleConnectionsPerEndpoint idle), and an idle
// connection is closed after upstreamIdleTimeoutMs.
//
// A request to a target whose TrafficPolicy has a connectionPool (target-pool.ts) goes on
// connections of that target alone (the Agent's pool name starts with the target), which
// take the policy's connect and idle timeouts, are closed after maxRequestsPerConnection
// requests, and are kept idle only while the target's open connections stay within
// maxConnections (opening one beyond first closes an idle one of another endpoint). The
// forward layer's permit (target-pool.ts) already bounds its busy connections.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { ConnectExtra, Connector } from './connect.js';
import { ErrorCodes } from '../../core/errors.js';
import { WAYPOINT_DEFAULTS } from '../limits.js';
import { newPoolStats, type PoolStats } from './stats.js';
import { keepIdle, mayReuse, mustMakeRoom } from './pool-limits.js';
import type { PoolTarget } from './target-pool.js';

/** Named as TrafficPolicy's connectionPool (core/config/traffic-policy.ts) reads, so a
 * policy can set them: its maxPendingRequests is this pool's per endpoint. */
export interface Http1PoolOptions {
  connect: Connector;
  maxConnectionsPerEndpoint: number;
  maxIdleConnectionsPerEndpoint: number;
  idleTimeoutMs: number;
  /** Requests waiting for a connection to one endpoint; beyond, the request fails with
   * AMB_WAYPOINT_UPSTREAM_OVERFLOW (503, flag UO). */
  maxPendingRequests?: number;
  /** A request waiting this long for a connection fails the same way. */
  pendingTimeoutMs?: number;
}

/** Whether one more request may wait for a connection (pure). */
export function mayQueue(waiting: number, maxPendingRequests: number): boolean {
  return waiting < maxPendingRequests;
}

function overflow(message: string): Error {
  return Object.assign(new Error(message), { code: ErrorCodes.WAYPOINT_UPSTREAM_OVERFLOW });
}

interface EndpointRequestOptions extends http.RequestOptions {
  endpoint: UpstreamEndpoint;
  /** For the connection, when this request opens one (the Agent passes its options on). */
  connectExtra?: ConnectExtra;
  /** The target's pool state when its policy has a connectionPool. */
  poolTarget?: PoolTarget;
}

const USES = Symbol('requests carried');
const TARGET = Symbol('pool target');

type PooledSocket = Duplex & { [USES]?: number; [TARGET]?: PoolTarget };

class TunnelAgent extends http.Agent {
  constructor(
    private readonly pool: Http1Pool,
    opts: http.AgentOptions,
  ) {
    super(opts);
  }
  override getName(options: http.ClientRequestArgs & { endpoint?: UpstreamEndpoint; poolTarget?: PoolTarget }): string {
    const ep = options.endpoint;
    if (!ep) return super.getName(options);
    const name = `${ep.mesh ? 'hbone' : 'tcp'}:${ep.ip}:${ep.port}:${ep.identity}`;
    return options.poolTarget ? `${options.poolTarget.id}|${name}` : name;
  }
  // A target's connection is kept idle only within its policy (and with its idle timeout).
  override keepSocketAlive(socket: Duplex): boolean {
    const t = (socket as PooledSocket)[TARGET];
    if (t && !keepIdle((socket as PooledSocket)[USES] ?? 0, t.open, t.limits)) return false;
    const keep = (super.keepSocketAlive as (s: Duplex) => boolean)(socket);
    if (keep && t) (socket as Duplex & { setTimeout(ms: number): void }).setTimeout(t.limits.idleTimeoutMs);
    return keep;
  }
  // Asynchronous form (the Agent waits for the callback): the tunnel's 200 comes first.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const o = options as EndpointRequestOptions;
    this.pool.open(o.endpoint, o.connectExtra, o.poolTarget).then(
      (socket) => callback!(null, socket),
      (err: Error) => callback!(err, undefined as never),
    );
    return undefined;
  }
}

export class Http1Pool {
  readonly stats: PoolStats = newPoolStats();
  readonly #agent: TunnelAgent;
  readonly #opts: Http1PoolOptions;
  readonly #sockets = new Set<Duplex>();

  constructor(opts: Http1PoolOptions) {
    this.#opts = opts;
    this.#agent = new TunnelAgent(this, {
      keepAlive: true,
      maxSockets: opts.maxConnectionsPerEndpoint,
      maxFreeSockets: opts.maxIdleConnectionsPerEndpoint,
      timeout: opts.idleTimeoutMs,
      scheduling: 'lifo',
    });
  }

  /** @internal the Agent's way to a new connection. */
  async open(endpoint: UpstreamEndpoint, extra?: ConnectExtra, target?: PoolTarget): Promise<Duplex> {
    let socket: PooledSocket;
    if (target) {
      if (mustMakeRoom(target.open, target.limits)) this.#closeIdle(target);
      target.open++;
    }
    try {
      socket = await this.#opts.connect(endpoint, target ? { ...extra, connectTimeoutMs: target.limits.connectTimeoutMs } : extra);
    } catch (err) {
      if (target) target.open--;
      this.stats.connectFailures++;
      throw err;
    }
    this.stats.opened++;
    this.#sockets.add(socket);
    if (target) socket[TARGET] = target;
    socket.once('close', () => {
      if (target) target.open--;
      this.stats.closed++;
      this.#sockets.delete(socket);
    });
    return socket;
  }

  /** Closes one idle connection of `target` (the oldest of the first endpoint that has one). */
  #closeIdle(target: PoolTarget): void {
    const prefix = `${target.id}|`;
    const free = this.#agent.freeSockets as unknown as Record<string, Duplex[] | undefined>;
    for (const [name, list] of Object.entries(free)) {
      if (!name.startsWith(prefix)) continue;
      const s = list?.find((x) => !x.destroyed);
      if (s) return void s.destroy();
    }
  }

  /** A request to `endpoint`; the caller writes the body and handles 'response' and 'error'.
   * `extra` goes on the connection when this request is the one that opens it. */
  request(endpoint: UpstreamEndpoint, method: string, path: string, headers: http.OutgoingHttpHeaders, extra?: ConnectExtra, target?: PoolTarget): http.ClientRequest {
    const options: EndpointRequestOptions = { agent: this.#agent, endpoint, host: endpoint.ip, port: endpoint.port, method, path, headers, setHost: false, ...(extra && { connectExtra: extra }), ...(target && { poolTarget: target }) };
    const req = http.request(options);
    this.stats.requests++;
    // The Agent queued it (every connection to the endpoint busy): bounded in number and time.
    const queue = this.#agent.requests[this.#agent.getName(options)];
    const at = queue ? (queue as unknown as http.ClientRequest[]).indexOf(req) : -1;
    const maxPending = this.#opts.maxPendingRequests ?? WAYPOINT_DEFAULTS.maxPendingRequestsPerEndpoint;
    const pendingMs = this.#opts.pendingTimeoutMs ?? WAYPOINT_DEFAULTS.upstreamPendingTimeoutMs;
    if (at >= 0) {
      if (!mayQueue(at, maxPending)) {
        this.#refuse(req, overflow(`${at} requests already wait for a connection to ${endpoint.ip}:${endpoint.port} (maxPendingRequests ${maxPending})`));
      } else {
        const timer = setTimeout(() => {
          this.#refuse(req, overflow(`no connection to ${endpoint.ip}:${endpoint.port} free within ${pendingMs} ms (all ${this.#opts.maxConnectionsPerEndpoint} busy)`));
        }, pendingMs);
        const stop = () => clearTimeout(timer);
        req.once('socket', stop);
        req.once('close', stop);
      }
    }
    this.stats.active++;
    let counted = true;
    req.once('socket', (socket: PooledSocket) => {
      const uses = socket[USES] ?? 0;
      if (uses > 0) this.stats.reused++;
      socket[USES] = uses + 1;
      // Its last request (maxRequestsPerConnection): closed after the answer, never reused.
      const t = socket[TARGET];
      if (t && !mayReuse(uses + 1, t.limits)) req.shouldKeepAlive = false;
    });
    req.once('close', () => {
      if (counted) this.stats.active--;
      counted = false;
    });
    return req;
  }

  /** A request still waiting in the Agent's queue fails: out of the queue (no connection
   * ever comes to it), then its 'error' and 'close', which a queued request's destroy()
   * would emit only once a connection came. */
  #refuse(req: http.ClientRequest, err: Error): void {
    this.stats.overflowed++;
    const requests = this.#agent.requests as unknown as Record<string, http.ClientRequest[] | undefined>;
    for (const [name, queue] of Object.entries(requests)) {
      const i = queue?.indexOf(req) ?? -1;
      if (i < 0) continue;
      queue!.splice(i, 1);
      if (queue!.length === 0) delete requests[name];
    }
    req.destroy(err);
    process.nextTick(() => {
      req.emit('error', err);
      req.emit('close');
    });
  }

  /** Every connection closed at once (after the drain). */
  destroy(): void {
    this.#agent.destroy();
    for (const s of this.#sockets) s.destroy();
  }
}
