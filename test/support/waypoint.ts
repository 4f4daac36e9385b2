// A waypoint on loopback for direct-tier tests: HBONE in with certificates from our CA,
// backends behind a real HboneServer (so the upstream leg is HBONE under the waypoint's
// identity) and plain TCP backends, fake Service VIPs resolved by an injected lookup.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { HboneServer, type HboneRequest } from '../../core/hbone/server.js';
import { HboneClient } from '../../core/hbone/client.js';
import type { SocketAddress } from '../../core/hbone/wire.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import type { CertificateAuthority } from '../../core/identity/ca.js';
import { WaypointProxy, type WaypointProxyOptions } from '../../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../../waypoint/http/chain.js';
import { socketLike } from '../../waypoint/upstream/connect.js';
import { issue, newCa, type Creds } from './pki.js';

export const TD = 'cluster.local';

let shared: { ca: CertificateAuthority; waypoint: Creds; client: Creds; backend: Creds } | undefined;
export async function pki() {
  if (!shared) {
    const ca = await newCa();
    shared = { ca, waypoint: await issue(ca, 'shop', 'waypoint'), client: await issue(ca, 'app', 'frontend'), backend: await issue(ca, 'shop', 'api') };
  }
  return shared;
}

/** A backend's HBONE listener (what its node agent is): records who connected. */
export interface MeshBackend {
  hbone: HboneServer;
  port: number;
  peers: string[];
  tunnels: HboneRequest[];
}

export async function meshBackend(): Promise<MeshBackend> {
  const p = await pki();
  const peers: string[] = [];
  const tunnels: HboneRequest[] = [];
  const hbone = new HboneServer({
    credentials: p.backend,
    trustBundle: p.ca.trustBundle,
    trustDomain: TD,
    authorize: (r) => {
      peers.push(formatSpiffeId(r.peer));
      tunnels.push(r);
      return { allow: true };
    },
  });
  const addr = await hbone.listen({ host: '127.0.0.1', port: 0 });
  return { hbone, port: addr.port, peers, tunnels };
}

export interface Services {
  /** VIP:port -> target */
  targets: Map<string, TunnelTarget>;
  /** service:port -> endpoints */
  endpoints: Map<string, UpstreamEndpoint[]>;
}

export async function startWaypoint(services: Services, hbonePort: number, extra: Partial<WaypointProxyOptions> = {}): Promise<{ proxy: WaypointProxy; addr: SocketAddress }> {
  const p = await pki();
  const proxy = new WaypointProxy({
    credentials: p.waypoint,
    trustBundle: p.ca.trustBundle,
    trustDomain: TD,
    identity: p.waypoint.identity,
    hbonePort,
    resolveTarget: (req) => services.targets.get(`${req.target.host}:${req.target.port}`) ?? { refused: `${req.target.host}:${req.target.port} is not served here` },
    endpoints: (service, port) => services.endpoints.get(`${service}:${port}`) ?? [],
    ...extra,
  });
  const addr = await proxy.listen({ host: '127.0.0.1', port: 0 });
  return { proxy, addr };
}

/** The client side: opens tunnels to the waypoint as app/frontend. */
export async function hboneClient(): Promise<HboneClient> {
  const p = await pki();
  return new HboneClient({ credentials: () => p.client, trustBundle: p.ca.trustBundle, trustDomain: TD });
}

export { socketLike };

/** An HTTP/1.1 keep-alive agent whose one connection is `stream`. The stream closes its
 * side when the waypoint closed its own, as a TCP client socket does (a node agent carries
 * the app's socket in the tunnel); an HTTP/2 stream alone would stay half-open. */
export function agentOver(stream: Duplex): http.Agent {
  stream.once('end', () => stream.end());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => socketLike(stream);
  return agent;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers?: Record<string, string | string[] | undefined>;
}

/** One HTTP/1.1 request; rejects after `timeoutMs`. */
export function request(agent: http.Agent, o: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; timeoutMs?: number }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: 'api.shop', method: o.method ?? 'GET', path: o.path ?? '/', headers: o.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('request timed out'));
    }, o.timeoutMs ?? 10_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(o.body);
  });
}

/** An HTTP/1.1 app: echoes method, path, headers and body as JSON; a few special paths. */
export async function echoApp(handlers: Record<string, http.RequestListener> = {}): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const special = handlers[req.url ?? ''];
    if (special) return special(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An h2c app (HTTP/2 cleartext): the handler gets each stream. */
export async function h2App(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    onStream(stream, headers);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Resolves with `p`, or rejects after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
