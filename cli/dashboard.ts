// `ambientctl dashboard [--port P] [--no-open]`: a local HTTP proxy on 127.0.0.1:P to the
// controller's API and console (HTTPS, 15014), adding the user's bearer token as
// `kubectl proxy` adds credentials. The thin socket layer; every decision (which Host and
// Origin are accepted, which headers pass) is in cli/dashboard-proxy.ts.
//
// How it reaches the controller, one fresh connection per proxied request:
// - the local cluster: a TCP connection opened inside the controller pod's network
//   namespace to its pod IP:15014 (core/syscalls.ts connectInNetns), as cli/mesh/transport.ts
//   reaches the controller's debug port;
// - any other cluster: a port-forward to the controller pod through the API server
//   (@kubernetes/client-node PortForward, a WebSocket). The local API server serves no
//   port-forward, so this path is for real clusters only.
// Either way TLS is verified with the mesh's roots (ConfigMap ambient-system/ambient-ca-root)
// and the controller's name ambient-controller.ambient-system.svc: the proxy sends the
// token to the controller only.
import http from 'node:http';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MESH_PORTS } from '../core/ports.js';
import { ErrorCodes } from '../core/errors.js';
import { connectInNetns, netnsPath } from '../core/syscalls.js';
import { readRoots } from '../core/kube/controller-discovery.js';
import { kubeRequest } from '../core/kube/rest.js';
import { LEASE_NAME } from '../controller/leader.js';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord, type ClusterRecord } from '../local-cluster/state.js';
import { podNetnsName } from '../local-cluster/network/topology.js';
import { loadKubeConfig, type ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { CONTROLLER_NAMESPACE, CONTROLLER_SELECTOR } from './mesh/transport.js';
import {
  DASHBOARD_LIMITS,
  dashboardUrl,
  downstreamResponseHeaders,
  isEventStream,
  LOOPBACK_HOST,
  parsePort,
  parseServiceAccount,
  pickControllerPod,
  requestVerdict,
  upstreamRequestHeaders,
} from './dashboard-proxy.js';

/** The controller's name in its serving certificate (and the Host the proxy sends). */
export const CONTROLLER_HOST = `ambient-controller.${CONTROLLER_NAMESPACE}.svc`;

export interface DashboardProxyOptions {
  /** 0: any free port. */
  port: number;
  /** A connected TLS socket to the controller's API (verified), one per request. */
  connect: () => Promise<Duplex>;
  /** The bearer token to add (asked per request; cache inside). */
  token: () => Promise<string>;
  /** Host header sent to the controller. */
  controllerHost?: string;
  responseTimeoutMs?: number;
  /** Called with each refused or failed request (for the operator's terminal). */
  onProblem?: (message: string) => void;
}

export interface DashboardProxy {
  port: number;
  url: string;
  close(): Promise<void>;
}

function refuse(res: http.ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status === 403 ? ErrorCodes.DASHBOARD_REFUSED : ErrorCodes.DASHBOARD_UPSTREAM, message } });
  // connection: close: the request's body may be unread; the socket is not reused.
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', connection: 'close' });
  res.end(body);
}

/** Starts the proxy on 127.0.0.1 (loopback only). */
export async function startDashboardProxy(o: DashboardProxyOptions): Promise<DashboardProxy> {
  let port = o.port;
  const responseTimeoutMs = o.responseTimeoutMs ?? DASHBOARD_LIMITS.upstreamResponseTimeoutMs;
  const server = http.createServer((req, res) => {
    const verdict = requestVerdict(req.method ?? 'GET', req.headers, port);
    if (!verdict.ok) {
      o.onProblem?.(`${req.method} ${req.url}: ${verdict.reason}`);
      req.resume();
      refuse(res, verdict.status, verdict.reason);
      return;
    }
    void forward(req, res).catch((err: Error) => {
      o.onProblem?.(`${req.method} ${req.url}: ${err.message}`);
      refuse(res, 502, `the dashboard proxy could not reach the controller: ${err.message}`);
    });
  });
  async function forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const token = await o.token();
    const socket = await o.connect();
    if (res.destroyed) {
      socket.destroy();
      return;
    }
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => {
        up.destroy(new Error(`no answer from the controller within ${responseTimeoutMs} ms`));
      }, responseTimeoutMs);
      const up = http.request(
        {
          method: req.method,
          path: req.url,
          headers: upstreamRequestHeaders(req.headers, token, o.controllerHost ?? CONTROLLER_HOST),
          createConnection: () => socket as unknown as import('node:net').Socket,
        },
        (upRes) => {
          clearTimeout(timer);
          res.writeHead(upRes.statusCode ?? 502, downstreamResponseHeaders(upRes.headers));
          // Server-sent events: headers now, every chunk as it comes (no buffering anywhere).
          if (isEventStream(upRes.headers)) {
            res.flushHeaders();
            req.socket.setNoDelay(true);
          }
          upRes.pipe(res);
          upRes.on('error', () => res.destroy());
          upRes.on('end', () => done());
        },
      );
      up.on('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        if (res.headersSent) {
          res.destroy();
          done();
        } else fail(err);
      });
      // The browser went away (a closed page, an EventSource closed): close the upstream too.
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    });
  }
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host: LOOPBACK_HOST, port: o.port }, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as { port: number }).port;
  return {
    port,
    url: dashboardUrl(port),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The local cluster the options select, if they select one (else a real cluster). */
function selectedLocalCluster(g: ContextOptions): ClusterRecord | undefined {
  const name = g.cluster ?? DEFAULT_CLUSTER;
  const rec = readRecord(name);
  if (!rec) return undefined;
  if (g.kubeconfig && resolve(g.kubeconfig) !== resolve(kubeconfigPath(name))) return undefined;
  if (g.context && g.context !== `ambient-${name}`) return undefined;
  return rec;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

/** The controller pod to connect to: the leader (Lease ambient-controller's holder) when running, else the first running one. */
async function controllerPod(kc: KubeConfig): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = await withTimeout(core.listNamespacedPod({ namespace: CONTROLLER_NAMESPACE, labelSelector: CONTROLLER_SELECTOR }), DASHBOARD_LIMITS.upstreamConnectTimeoutMs, 'listing the controller pods');
  let holder: string | undefined;
  try {
    const lease = await withTimeout(kubeRequest<{ spec?: { holderIdentity?: string } }>(kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${CONTROLLER_NAMESPACE}/leases/${LEASE_NAME}`), DASHBOARD_LIMITS.upstreamConnectTimeoutMs, 'reading the leader Lease');
    holder = lease.spec?.holderIdentity;
  } catch {
    // No Lease readable: any replica serves reads; a write to a follower says who leads.
  }
  const rows = pods.items.map((p) => ({ pod: p, name: p.metadata?.name ?? '', ...(p.status?.phase !== undefined && { phase: p.status.phase }), ...(p.status?.podIP && { podIP: p.status.podIP }), deleting: !!p.metadata?.deletionTimestamp }));
  const chosen = pickControllerPod(rows, holder);
  if (!chosen) throw new CliError(`no running controller pod in ${CONTROLLER_NAMESPACE} (${CONTROLLER_SELECTOR}); is the mesh installed?`);
  return chosen.pod;
}

/** controllerPod, asked again at most every podChoiceCacheMs (a page loads many files at once). */
function cachedPod(kc: KubeConfig): () => Promise<V1Pod> {
  let cached: { pod: Promise<V1Pod>; at: number } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > DASHBOARD_LIMITS.podChoiceCacheMs) {
      const pod = controllerPod(kc);
      cached = { pod, at: Date.now() };
      pod.catch(() => (cached = undefined));
    }
    return cached.pod;
  };
}

/** TLS over `raw` to the controller, verified with the mesh's roots and the controller's name. */
export function tlsTo(raw: Duplex, roots: string): Promise<Duplex> {
  return new Promise((ok, fail) => {
    const s = tls.connect({ socket: raw, ca: roots, servername: CONTROLLER_HOST, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => s.destroy(new Error(`TLS handshake with the controller took longer than ${DASHBOARD_LIMITS.upstreamConnectTimeoutMs} ms`)), DASHBOARD_LIMITS.upstreamConnectTimeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      ok(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      raw.destroy();
      fail(new Error(`TLS to the controller failed (verified with ConfigMap ${CONTROLLER_NAMESPACE}/ambient-ca-root): ${err.message}`));
    });
  });
}

/** A raw stream to the controller pod's 15014: inside its network namespace (local cluster). */
function localConnector(rec: ClusterRecord, kc: KubeConfig): () => Promise<Duplex> {
  const pick = cachedPod(kc);
  return async () => {
    const pod = await pick();
    return connectInNetns(netnsPath(podNetnsName(rec.name, pod.metadata!.uid!)), { host: pod.status!.podIP!, port: MESH_PORTS.api, timeoutMs: DASHBOARD_LIMITS.upstreamConnectTimeoutMs });
  };
}

/** A raw stream to the controller pod's 15014 through the API server's port-forward (real clusters). */
function portForwardConnector(kc: KubeConfig): () => Promise<Duplex> {
  const pf = new PortForward(kc, true);
  const pick = cachedPod(kc);
  return async () => {
    const pod = await pick();
    const toPod = new PassThrough();
    const fromPod = new PassThrough();
    const errors = new PassThrough();
    let message = '';
    errors.on('data', (c: Buffer) => (message += c.toString('utf8')));
    let ws: unknown;
    try {
      ws = await withTimeout(pf.portForward(CONTROLLER_NAMESPACE, pod.metadata!.name!, [MESH_PORTS.api], fromPod, errors, toPod), DASHBOARD_LIMITS.upstreamConnectTimeoutMs, 'the port-forward to the controller');
    } catch (err) {
      throw new CliError(`cannot port-forward to ${CONTROLLER_NAMESPACE}/${pod.metadata!.name}:${MESH_PORTS.api} through the API server (does it serve pods/portforward, and may you create it?): ${(err as Error).message}`);
    }
    const duplex = Duplex.from({ readable: fromPod, writable: toPod });
    duplex.on('close', () => {
      const w = ws as { close?: () => void };
      if (typeof w?.close === 'function') w.close();
    });
    errors.on('end', () => {
      if (message) duplex.destroy(new Error(`port-forward: ${message.trim()}`));
    });
    return duplex;
  };
}

/** The bearer token to add: the kubeconfig user's, or a ServiceAccount token minted for --service-account. */
function tokenSource(kc: KubeConfig, serviceAccount: { namespace: string; name: string } | undefined): () => Promise<string> {
  let cached: { token: string; renewAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.renewAt) return cached.token;
    if (serviceAccount) {
      const core = kc.makeApiClient(CoreV1Api);
      const tr = await core.createNamespacedServiceAccountToken({ namespace: serviceAccount.namespace, name: serviceAccount.name, body: { spec: { audiences: [], expirationSeconds: DASHBOARD_LIMITS.tokenLifetimeSeconds } } });
      const token = tr.status?.token;
      if (!token) throw new CliError(`the API server issued no token for ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`);
      cached = { token, renewAt: Date.now() + (DASHBOARD_LIMITS.tokenLifetimeSeconds * 1000) / 2 };
      return token;
    }
    const opts: { headers?: Record<string, unknown> } = {};
    await kc.applyToHTTPSOptions(opts as never);
    const auth = opts.headers?.['Authorization'] ?? opts.headers?.['authorization'];
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) {
      throw new CliError(
        `the kubeconfig's user "${kc.getCurrentUser()?.name ?? '?'}" has no bearer token for the controller's API (client certificates cannot be passed on); ` +
          'use a context with a token, or --service-account NAMESPACE/NAME to act as that ServiceAccount (a token is requested for it)',
      );
    }
    cached = { token: m[1]!, renewAt: Date.now() + 60_000 };
    return m[1]!;
  };
}

/** Opens `url` in the desktop's browser when xdg-open exists; never fails. */
export function openBrowser(url: string): boolean {
  const found = (process.env['PATH'] ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'xdg-open')));
  if (!found) return false;
  try {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description("open the web console: a local proxy on 127.0.0.1 to the controller's API and console, adding your kubeconfig's token (docs/console.md)")
    .option('--port <port>', `local port (0: any free port)`, String(DASHBOARD_LIMITS.defaultPort))
    .option('--no-open', 'do not open a browser; only print the URL')
    .option('--service-account <ns/name>', "act as this ServiceAccount (a token is requested for it) when the kubeconfig's user has no token, as on the local cluster")
    .action(async (o: { port: string; open: boolean; serviceAccount?: string }) => {
      const g = program.opts<ContextOptions>();
      const port = parsePort(o.port);
      if (typeof port === 'string') throw new CliError(port);
      let sa: { namespace: string; name: string } | undefined;
      if (o.serviceAccount !== undefined) {
        const parsed = parseServiceAccount(o.serviceAccount);
        if (typeof parsed === 'string') throw new CliError(parsed);
        sa = parsed;
      }
      const kc = loadKubeConfig(g);
      const rec = selectedLocalCluster(g);
      const token = tokenSource(kc, sa);
      // Fail now, not on the first click: the token, the roots, one connection.
      await token();
      let roots: string;
      try {
        roots = await withTimeout(readRoots(kc, CONTROLLER_NAMESPACE), DASHBOARD_LIMITS.upstreamConnectTimeoutMs, 'reading the mesh roots');
      } catch (err) {
        throw new CliError(`cannot read the mesh's roots (ConfigMap ${CONTROLLER_NAMESPACE}/ambient-ca-root) to verify the controller: ${(err as Error).message}`);
      }
      const raw = rec ? localConnector(rec, kc) : portForwardConnector(kc);
      const connect = async () => tlsTo(await raw(), roots);
      (await connect()).destroy();
      const proxy = await startDashboardProxy({ port, connect, token, onProblem: (m) => process.stderr.write(`dashboard: ${m}\n`) });
      process.stdout.write(`${proxy.url}\n`);
      process.stderr.write(`dashboard: forwarding to the controller's API and console (${rec ? `local cluster "${rec.name}"` : 'port-forward through the API server'}); Ctrl-C to stop\n`);
      if (o.open && !openBrowser(proxy.url)) process.stderr.write('dashboard: no xdg-open here; open the URL above in a browser\n');
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void proxy.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
