// `ambientctl dashboard [--port P] [--no-open]`: a local HTTP proxy on 127.0.0.1:P to the
// controller's API and console (HTTPS, 15014), adding the user's bearer token as
// `kubectl proxy` adds credentials. The thin socket layer; every decision (which Host and
// Origin are accepted, which headers pass) is in cli/dashboard-proxy.ts.
//
// How it reaches the controller (one fresh stream per proxied request, TLS verified, the
// kubeconfig's client certificate presented when it has one): cli/controller-link.ts.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Command } from 'commander';
import { ErrorCodes } from '../core/errors.js';
import type { ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { controllerHost, openControllerLink } from './controller-link.js';
import {
  DASHBOARD_LIMITS,
  dashboardUrl,
  downstreamResponseHeaders,
  isEventStream,
  LOOPBACK_HOST,
  parsePort,
  parseServiceAccount,
  requestVerdict,
  upstreamRequestHeaders,
} from './dashboard-proxy.js';

export { CONTROLLER_HOST, tlsTo } from './controller-link.js';

export interface DashboardProxyOptions {
  /** 0: any free port. */
  port: number;
  /** A connected TLS socket to the controller's API (verified), one per request. */
  connect: () => Promise<Duplex>;
  /** The bearer token to add (asked per request; cache inside); none when the client certificate on the TLS stream is the credential. */
  token: () => Promise<string | undefined>;
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
          headers: upstreamRequestHeaders(req.headers, token, o.controllerHost ?? controllerHost()),
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
    .option('--service-account <ns/name>', "act as this ServiceAccount (a token is requested for it) instead of the kubeconfig's user: for a user with a client certificate only, or to see what that ServiceAccount may do")
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
      const link = await openControllerLink(g, { ...(sa && { serviceAccount: sa }) });
      // Fail now, not on the first click: one connection.
      (await link.connect()).destroy();
      const proxy = await startDashboardProxy({ port, connect: link.connect, token: async () => (await link.credentials()).token, onProblem: (m) => process.stderr.write(`dashboard: ${m}\n`) });
      process.stdout.write(`${proxy.url}\n`);
      process.stderr.write(`dashboard: forwarding to the controller's API and console (${link.via}); Ctrl-C to stop\n`);
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
