// The HTTP/1.1 upstream pool: one node:http Agent with keep-alive, whose connections are
// HBONE tunnels (mesh endpoints) or TCP sockets, opened by the connector. Pools are per
// endpoint (the Agent's per-origin pools, keyed by endpoint and transport), bounded
// (maxConnectionsPerEndpoint open, maxIdleConnectionsPerEndpoint idle), and an idle
// connection is closed after upstreamIdleTimeoutMs.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { ConnectExtra, Connector } from './connect.js';
import { ErrorCodes } from '../../core/errors.js';
import { WAYPOINT_DEFAULTS } from '../limits.js';
import { newPoolStats, type PoolStats } from './stats.js';

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
}

const USES = Symbol('requests carried');

class TunnelAgent extends http.Agent {
  constructor(
    private readonly pool: Http1Pool,
    opts: http.AgentOptions,
  ) {
    super(opts);
  }
  override getName(options: http.ClientRequestArgs & { endpoint?: UpstreamEndpoint }): string {
    const ep = options.endpoint;
    return ep ? `${ep.mesh ? 'hbone' : 'tcp'}:${ep.ip}:${ep.port}:${ep.identity}` : super.getName(options);
  }
  // Asynchronous form (the Agent waits for the callback): the tunnel's 200 comes first.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const o = options as EndpointRequestOptions;
    this.pool.open(o.endpoint, o.connectExtra).then(
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
  async open(endpoint: UpstreamEndpoint, extra?: ConnectExtra): Promise<Duplex> {
    let socket: Duplex;
    try {
      socket = await this.#opts.connect(endpoint, extra);
    } catch (err) {
      this.stats.connectFailures++;
      throw err;
    }
    this.stats.opened++;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.stats.closed++;
      this.#sockets.delete(socket);
    });
    return socket;
  }

  /** A request to `endpoint`; the caller writes the body and handles 'response' and 'error'.
   * `extra` goes on the connection when this request is the one that opens it. */
  request(endpoint: UpstreamEndpoint, method: string, path: string, headers: http.OutgoingHttpHeaders, extra?: ConnectExtra): http.ClientRequest {
    const options: EndpointRequestOptions = { agent: this.#agent, endpoint, host: endpoint.ip, port: endpoint.port, method, path, headers, setHost: false, ...(extra && { connectExtra: extra }) };
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
    req.once('socket', (socket: Duplex & { [USES]?: number }) => {
      const uses = socket[USES] ?? 0;
      if (uses > 0) this.stats.reused++;
      socket[USES] = uses + 1;
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
