// The controller's Prometheus metrics and health endpoint on port 15020 (DESIGN.md
// "Ports"): GET /metrics, GET /healthz/ready (200 once the informers are synced and the
// first config was computed, else 503). Gauges are read from their sources when scraped.
// GET /debug/status (every connected client, node and identity, translation problems, the
// CA's source) and GET /debug/config (the latest translation: every resource, policy
// status and problem; what `ambientctl authz check` evaluates) are answered only to the
// loopback: from the pod itself, or through `kubectl port-forward`, which the API server
// authenticates and authorizes.
import { isLoopback } from '../core/ip.js';
import http from 'node:http';
import type net from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CertificateRequestOutcome, ControllerStatus } from './distribution/server.js';

export interface ControllerMetricsSources {
  /** The distribution server's status. */
  status: () => ControllerStatus;
  /** Translation problems now (objects left out, in whole or part). */
  problems: () => number;
  /** This replica holds the leader Lease. */
  leader?: () => boolean;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly configPushes: Counter;
  readonly csrTotal: Counter<'result'>;
  readonly csrDuration: Histogram;

  constructor(sources: ControllerMetricsSources) {
    const registers = [this.registry];
    this.configPushes = new Counter({ name: 'ambient_controller_config_pushes_total', help: 'Config versions computed and pushed to connected clients.', registers });
    this.csrTotal = new Counter({ name: 'ambient_controller_csr_total', help: 'Certificate requests on 15012, by result (issued, refused, error).', labelNames: ['result'], registers });
    this.csrDuration = new Histogram({
      name: 'ambient_controller_csr_duration_seconds',
      help: 'Time to answer a certificate request, TokenReview and signing included.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'ambient_controller_connected_clients',
      help: 'Config streams open now (node agents and waypoints).',
      registers,
      collect() {
        this.set(sources.status().clients.length);
      },
    });
    new Gauge({
      name: 'ambient_controller_rejected_resources',
      help: 'Objects translation left out (problems) plus resources a client NACKed and still does not hold.',
      registers,
      collect() {
        const nacked = sources.status().clients.reduce((n, c) => n + c.rejected.length, 0);
        this.set(sources.problems() + nacked);
      },
    });
    new Gauge({
      name: 'ambient_controller_config_version',
      help: 'The global config version (0 until the first config was computed).',
      registers,
      collect() {
        this.set(Number(sources.status().version) || 0);
      },
    });
    new Gauge({
      name: 'ambient_controller_leader',
      help: 'Whether this replica holds the leader Lease and does the leader-only work (1) or not (0).',
      registers,
      collect() {
        this.set(sources.leader?.() ? 1 : 0);
      },
    });
    // Initialise the result labels so that a zero is visible before the first request.
    for (const r of ['issued', 'refused', 'error']) this.csrTotal.inc({ result: r }, 0);
  }

  /** For ControllerServerOptions.onCertificateRequest. */
  readonly onCertificateRequest = (o: CertificateRequestOutcome): void => {
    this.csrTotal.inc({ result: o.result });
    this.csrDuration.observe(o.durationSeconds);
  };
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** The 15020 listener: /metrics, /healthz/ready, /debug/status (what `ambientctl status` shows) and /debug/config (loopback only). */
export async function startMetricsServer(opts: {
  metrics: ControllerMetrics;
  ready: () => boolean;
  /** The body of /debug/status: the distribution status and translation problems. */
  debugStatus?: () => unknown;
  /** The body of /debug/config: the latest translation (resources, policy statuses, problems). */
  debugConfig?: () => unknown;
  host?: string;
  port?: number;
}): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      opts.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz/ready') {
      const ok = opts.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready: informers not synced or no config computed yet\n');
      return;
    }
    const debug = path === '/debug/status' ? opts.debugStatus : path === '/debug/config' ? opts.debugConfig : undefined;
    if (debug) {
      if (!isLoopback(req.socket.remoteAddress)) {
        res
          .writeHead(403, { 'content-type': 'text/plain' })
          .end(`${path} is served only on the loopback: use kubectl port-forward to the controller pod (or ambientctl status)\n`);
        return;
      }
      let body: string;
      try {
        body = `${JSON.stringify(debug(), null, 2)}\n`;
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host ?? '0.0.0.0', port: opts.port ?? 15020 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
