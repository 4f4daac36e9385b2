// The node agent's three HTTP servers (DESIGN.md "Ports", the same numbers as ztunnel):
//   admin     127.0.0.1:15000  GET /config_dump, GET /authz/edges, GET|POST|PUT /logging, GET /healthz/ready
//                              (POST|PUT, which change the agent, need the admin token)
//   metrics   :15020           GET /metrics (Prometheus text), and the read-only JSON
//                              documents the program adds (`metricsJson`: a waypoint's
//                              GET /debug/endpoints)
//   readiness :15021           GET /healthz/ready (the kubelet's readiness probe)
// They listen in the agent's own (the node's) network namespace. Admin is localhost only by
// default: it can change the log level and shows every workload's config. The node's
// loopback is shared by every host-network pod and process on the node, so what changes
// the agent needs `Authorization: Bearer <admin token>` (admin-token.ts): 401 without it,
// 403 with another; reads stay open on loopback (DESIGN.md section 9: read-only without a
// token). A handler that throws answers 500; the process and the server carry on.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { AGENT_SERVER_DEFAULTS } from '../core/limits.js';
import type { Logger } from '../core/log.js';
import { MESH_PORTS } from '../core/ports.js';
import { socketFd } from '../core/socket-fd.js';
import { checkBearer } from './admin-token.js';
import type { HeldSocket } from './handover/plan.js';

export const AGENT_SERVER_PORTS = { admin: MESH_PORTS.admin, metrics: MESH_PORTS.metrics, readiness: MESH_PORTS.readiness } as const;

export type Readiness = { ready: true } | { ready: false; reason: string };

export interface ListenOptions {
  /** Default: 127.0.0.1 for admin, 0.0.0.0 for metrics and readiness. */
  host?: string;
  /** Default: AGENT_SERVER_PORTS; 0 picks a free port (tests). */
  port?: number;
  /** The listening socket handed over by the agent this one replaces (handover/): served
   * instead of binding host:port. */
  fd?: number;
}

export interface AgentServersOptions {
  /** Each server is started only when its entry is given. */
  admin?: ListenOptions;
  metrics?: ListenOptions;
  readiness?: ListenOptions;
  /** The agent's root logger: /logging reads and sets its level. pino children created from
   * it follow the change unless they were given a level of their own. */
  logger: Logger;
  /** What GET /metrics serves (AgentMetrics.registry). */
  registry?: Registry;
  ready: () => Readiness;
  /** The body of GET /config_dump, built by the caller (state, enrolled pods, certificates...). */
  configDump?: () => unknown;
  /** Read-only JSON documents served on the metrics server besides /metrics (GET, HEAD),
   * by path: what a component shows whoever may scrape its metrics (a waypoint's
   * /debug/endpoints). */
  metricsJson?: Record<string, () => unknown>;
  /** The body of GET /authz/edges (AuthzEdgesDump: the observed edges for `ambientctl authz suggest`). */
  authzEdges?: () => unknown;
  limits?: Partial<typeof AGENT_SERVER_DEFAULTS>;
  /** The bearer token the admin endpoints that change state require; none: they are
   * refused to everybody (fail closed). */
  adminToken?: string;
}

export interface AgentServers {
  admin?: AddressInfo;
  metrics?: AddressInfo;
  readiness?: AddressInfo;
  /** The listening sockets, for the agent replacing this one. */
  sockets(): HeldSocket[];
  /** Stops accepting (the next agent accepts on the same sockets); open requests finish. */
  stopAccepting(): void;
  close(): Promise<void>;
}

type Reply = { status: number; body: string; type?: string; headers?: Record<string, string> };
type Route = {
  methods: readonly string[];
  /** Methods that change state: they need the admin token. */
  guarded?: readonly string[];
  handle: (url: URL, method: string) => Reply | Promise<Reply>;
};
type Routes = Record<string, Route>;

const text = (status: number, body: string): Reply => ({ status, body: body.endsWith('\n') ? body : `${body}\n`, type: 'text/plain; charset=utf-8' });
const json = (status: number, value: unknown): Reply => ({ status, body: `${JSON.stringify(value, null, 2)}\n`, type: 'application/json' });

export async function startAgentServers(opts: AgentServersOptions): Promise<AgentServers> {
  const limits = { ...AGENT_SERVER_DEFAULTS, ...opts.limits };
  const log = opts.logger.child({ component: 'agent-servers' });

  const readyRoute: Route = {
    methods: ['GET', 'HEAD'],
    handle() {
      const r = opts.ready();
      return r.ready ? text(200, 'ready') : text(503, `not ready: ${r.reason}`);
    },
  };

  const adminRoutes: Routes = {
    '/config_dump': {
      methods: ['GET', 'HEAD'],
      async handle() {
        if (opts.configDump === undefined) return text(404, 'no config dump in this agent');
        return json(200, await opts.configDump());
      },
    },
    '/authz/edges': {
      // Read-only, like /config_dump: no token on loopback.
      methods: ['GET', 'HEAD'],
      handle() {
        if (opts.authzEdges === undefined) return text(404, 'no observed edges in this agent');
        return json(200, opts.authzEdges());
      },
    },
    '/logging': {
      // POST and PUT as Envoy's and ztunnel's admin take it: `POST /logging?level=debug`.
      methods: ['GET', 'HEAD', 'POST', 'PUT'],
      guarded: ['POST', 'PUT'],
      handle(url, method) {
        if (method === 'GET' || method === 'HEAD') return json(200, { level: opts.logger.level });
        const level = url.searchParams.get('level');
        const valid = validLevels(opts.logger);
        if (level === null || !valid.includes(level)) {
          const got = level === null ? 'no level given' : `unknown level ${JSON.stringify(level)}`;
          return text(400, `${got}; use ?level= one of ${valid.join(', ')}`);
        }
        const previous = opts.logger.level;
        opts.logger.level = level;
        log.warn({ previous, level }, 'log level changed through the admin server');
        return json(200, { level, previous });
      },
    },
    '/healthz/ready': readyRoute,
  };

  const metricsRoutes: Routes = {
    ...Object.fromEntries(
      Object.entries(opts.metricsJson ?? {}).map(([path, body]): [string, Route] => [
        path,
        {
          methods: ['GET', 'HEAD'],
          async handle() {
            return json(200, await body());
          },
        },
      ]),
    ),
    '/metrics': {
      methods: ['GET', 'HEAD'],
      async handle() {
        if (opts.registry === undefined) return text(404, 'no metrics in this agent');
        return { status: 200, body: await opts.registry.metrics(), type: opts.registry.contentType };
      },
    },
  };

  const started: Array<{ name: keyof typeof AGENT_SERVER_PORTS; server: http.Server }> = [];
  const out: AgentServers = {
    sockets: () =>
      started.flatMap(({ name, server }): HeldSocket[] => {
        const a = server.address();
        if (!server.listening || a === null || typeof a === 'string') return [];
        return [{ proto: 'tcp', host: a.address, port: a.port, role: name, fd: socketFd(server) }];
      }),
    stopAccepting: () => {
      for (const { server } of started) server.close();
    },
    async close() {
      await Promise.all(
        started.map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
  const plan: Array<[keyof typeof AGENT_SERVER_PORTS, ListenOptions | undefined, Routes, string]> = [
    ['admin', opts.admin, adminRoutes, '127.0.0.1'],
    ['metrics', opts.metrics, metricsRoutes, '0.0.0.0'],
    ['readiness', opts.readiness, { '/healthz/ready': readyRoute }, '0.0.0.0'],
  ];
  try {
    for (const [name, listen, routes, defaultHost] of plan) {
      if (listen === undefined) continue;
      const server = createServer(name, routes, log, limits, opts.adminToken);
      const host = listen.host ?? defaultHost;
      const port = listen.port ?? AGENT_SERVER_PORTS[name];
      await listenOn(server, name, host, port, listen.fd);
      started.push({ name, server });
      out[name] = server.address() as AddressInfo;
    }
  } catch (err) {
    await out.close();
    throw err;
  }
  return out;
}

/** pino's levels (and any custom ones the logger has), plus `silent`. */
function validLevels(logger: Logger): string[] {
  return [...Object.keys(logger.levels.values), 'silent'];
}

function createServer(name: string, routes: Routes, log: Logger, limits: typeof AGENT_SERVER_DEFAULTS, adminToken: string | undefined): http.Server {
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    // A body is never needed: drain it so the connection can be reused.
    req.resume();
    const send = (r: Reply) => {
      if (res.headersSent) return;
      const headers: Record<string, string> = { ...r.headers, 'content-type': r.type ?? 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
      res.writeHead(r.status, headers).end(method === 'HEAD' ? undefined : r.body);
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent.invalid');
    } catch {
      return send(text(400, 'bad request target'));
    }
    const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    if (route === undefined) return send(text(404, `not found: ${url.pathname} (${Object.keys(routes).join(', ')})`));
    if (!route.methods.includes(method)) {
      return send({ ...text(405, `method ${method} not allowed on ${url.pathname}`), headers: { allow: route.methods.join(', ') } });
    }
    if (route.guarded?.includes(method)) {
      const check = checkBearer(req.headers.authorization, adminToken);
      if (check !== 'ok') {
        log.warn({ server: name, path: url.pathname, method, remote: req.socket.remoteAddress, check }, 'agent server: state-changing request without the admin token refused');
        if (check === 'missing') {
          return send({ ...text(401, `${method} ${url.pathname} changes the agent and needs "Authorization: Bearer <admin token>" (the token file is described in docs/operations.md)`), headers: { 'www-authenticate': 'Bearer realm="ambient-node-agent"' } });
        }
        return send(text(403, `${method} ${url.pathname}: the admin token does not match`));
      }
    }
    // A route may throw or reject: answer 500 and keep serving (a broken config dump must
    // not take the metrics or probes with it).
    Promise.resolve()
      .then(() => route.handle(url, method))
      .then(send, (err: unknown) => {
        log.error({ server: name, path: url.pathname, err: (err as Error)?.message ?? String(err) }, 'agent server: handler failed');
        send(text(500, `internal error: ${(err as Error)?.message ?? String(err)}`));
      })
      .catch((err: unknown) => {
        // send itself failed (a body JSON cannot hold, a socket gone): never an unhandled rejection.
        log.error({ server: name, err: (err as Error)?.message }, 'agent server: reply failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  });
  server.keepAliveTimeout = limits.serverKeepAliveTimeoutMs;
  server.requestTimeout = limits.serverRequestTimeoutMs;
  server.headersTimeout = Math.min(server.headersTimeout, limits.serverRequestTimeoutMs);
  return server;
}

function listenOn(server: http.Server, name: string, host: string, port: number, fd?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new MeshError(
          ErrorCodes.AGENT_LISTEN_FAILED,
          `cannot listen on ${host}:${port} for the ${name} server: ${err.code ?? err.message}` +
            (err.code === 'EADDRINUSE' ? '; is another node agent or an Istio ztunnel running on this node?' : ''),
          { cause: err },
        ),
      );
    server.once('error', onError);
    server.listen(fd !== undefined ? { fd } : { host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
