// Starting and stopping the local API server in-process: Redis connection, store, watch
// fan-out, the kinds served (built-in, and those of the CRDs in the store, followed as CRDs
// are written), the system namespaces, and an HTTP server on a loopback port (HTTPS with `tls`:
// Kubernetes clients, kubectl among them, send bearer tokens only over TLS). More listeners
// (e.g. one opened inside a network namespace with listenInNetns) can be attached: the
// same handler serves connections from any net.Server.
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../../core/log.js';
import { tooLarge } from './api-errors.js';
import { createRequestHandler, createUpgradeHandler } from './handler.js';
import { CRD_KIND, KindRegistry, resourceKey, type KObject } from './kinds.js';
import { kindOfCrd } from './crd.js';
import { PortForwarder, type PodDialer } from './port-forward.js';
import { sendError } from './http-io.js';
import { APISERVER_DEFAULTS, SYSTEM_NAMESPACES, type ApiServerLimits } from './limits.js';
import { Resources } from './resources.js';
import { ServiceAccountTokens } from './service-account-tokens.js';
import { RbacCache } from './rbac-cache.js';
import { ObjectStore, type StoredEvent } from './store.js';
import { WatchHub } from './watch-hub.js';

export interface ApiServerOptions extends Partial<ApiServerLimits> {
  /** redis://host:port[/db]; or `redis`. */
  redisUrl?: string;
  redis?: { host: string; port: number };
  /** Key prefix in Redis (default "k8s:"). */
  prefix?: string;
  /** Listen address (default 127.0.0.1) and port (default 0: any free port). */
  host?: string;
  port?: number;
  /** Further listeners to serve, as attach() does (loopback peers on them are not trusted). */
  listeners?: net.Server[];
  /**
   * The cluster admin's bearer token (admin-token.ts), authenticated as user ambient-admin
   * in group system:masters. With one, no peer is trusted for its address: every request
   * but /healthz, /livez, /readyz and /version needs a token, as on a real cluster. Without
   * one (the tests' in-process servers), a loopback peer of the main listener that sends
   * no Authorization header is the admin.
   */
  adminToken?: string;
  /** Serve the main listener over TLS with this key and certificate (url then https://). */
  tls?: { key: string; cert: string };
  logger?: Logger;
  /** The clock (tests). */
  now?: () => Date;
  /**
   * The network namespace (a path) a pod's ports are reached in: serves pods/portforward.
   * Without it, pods/portforward answers 503 (no pods to reach).
   */
  podNetns?: (pod: KObject) => string;
  /** How a port-forward connects inside that namespace (default: connectInNetns to 127.0.0.1:port). */
  podDialer?: PodDialer;
}

export interface ApiServer {
  /** http(s)://host:port of the main listener. */
  url: string;
  port: number;
  server: http.Server;
  /**
   * Serves the connections another listening net.Server accepts. A loopback peer there is
   * admin only with `trustLoopback` (it would otherwise be any process in that netns), and
   * never on a server with an admin token.
   * Returns a function that stops serving it (the listener itself stays its owner's).
   */
  attach(listener: net.Server, opts?: { trustLoopback?: boolean; event?: 'connection' | 'secureConnection' }): () => void;
  /** Ends watches, stops accepting, lets requests in flight finish (briefly), closes Redis. */
  close(): Promise<void>;
}

function redisClient(opts: ApiServerOptions, logger: Logger): Redis {
  const common = { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: false } as const;
  const r = opts.redisUrl ? new Redis(opts.redisUrl, common) : new Redis({ host: opts.redis?.host ?? '127.0.0.1', port: opts.redis?.port ?? 6379, ...common });
  // ioredis reconnects by itself; without a listener an 'error' event would crash the process.
  r.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  return r;
}

const CRD_KEY = resourceKey(CRD_KIND);

/** Serves (or stops serving) the kind a stored CRD defines. */
function serveCrd(kinds: KindRegistry, crd: KObject, deleted: boolean, logger: Logger): void {
  const name = crd.metadata?.name ?? '';
  const kind = deleted ? undefined : kindOfCrd(crd);
  if (!deleted && !kind) logger.warn({ crd: name }, 'stored CustomResourceDefinition defines no servable kind; not serving it');
  kinds.setCustom(name, kind);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const logger = opts.logger ?? silentLogger;
  const limits: ApiServerLimits = { ...APISERVER_DEFAULTS };
  for (const key of Object.keys(APISERVER_DEFAULTS) as (keyof ApiServerLimits)[]) {
    const v = opts[key];
    if (v !== undefined) limits[key] = v;
  }
  const now = opts.now ?? (() => new Date());
  const redis = redisClient(opts, logger);
  try {
    await withTimeout(redis.connect(), limits.redisConnectTimeoutMs, 'connecting to redis');
    await withTimeout(redis.ping(), limits.redisConnectTimeoutMs, 'redis PING');
  } catch (err) {
    redis.disconnect();
    throw err;
  }

  let hub: WatchHub | undefined;
  const kinds = new KindRegistry();
  // Authorization reads RBAC from memory, kept current from every commit (rbac-cache.ts).
  const rbac = new RbacCache();
  // Every write goes through this process (it owns the prefix), so following committed CRD
  // events keeps the kinds served in step with the stored CRDs, before the write's answer.
  const onCommit = (ev: StoredEvent): void => {
    if (ev.resource === CRD_KEY) serveCrd(kinds, ev.object, ev.type === 'DELETED', logger);
    rbac.apply(ev);
    hub?.publish(ev);
  };
  const store = new ObjectStore(redis, { prefix: opts.prefix ?? 'k8s:', historySize: limits.historySize, onCommit });
  hub = new WatchHub(await store.currentRv(), limits.eventGapWaitMs);
  for (const i of (await store.list(CRD_KIND)).items) serveCrd(kinds, i.object, false, logger);
  await rbac.load(store);
  const resources = new Resources(store, {
    kinds,
    updateRetries: limits.updateRetries,
    maxObjectBytes: limits.maxObjectBytes,
    namespaceCleanupDelayMs: limits.namespaceCleanupDelayMs,
    now,
    onBackgroundError: (err, what) => logger.error({ err, what }, 'background work failed'),
  });
  const tokens = new ServiceAccountTokens(resources, await store.signingKey(), limits, now, opts.adminToken);
  await resources.ensureNamespaces(SYSTEM_NAMESPACES);
  await resources.resumeNamespaceCleanup();

  const untrusted = new WeakSet<net.Socket>();
  const trustLoopback = opts.adminToken === undefined;
  const forwarder = opts.podNetns ? new PortForwarder(limits, logger, opts.podDialer) : undefined;
  const deps = { kinds, resources, tokens, store, hub, limits, logger, now, rbac, trustsLoopback: (s: net.Socket) => trustLoopback && !untrusted.has(s), ...(forwarder && { portForward: { forwarder, netnsOf: opts.podNetns! } }) };
  const handler = createRequestHandler(deps);
  const server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
  server.on('upgrade', createUpgradeHandler(deps));
  // `Expect: 100-continue`: a body announced as too large is refused before it is sent.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBodyBytes) {
      res.setHeader('connection', 'close');
      sendError(res, tooLarge(limits.maxBodyBytes));
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  server.on('clientError', (err, socket) => {
    logger.debug({ err: err.message }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // With TLS, a tls.Server listens and hands its decrypted sockets to the HTTP server, as
  // attach() does for other listeners: one request path whichever way a request came.
  const secure = opts.tls ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' }) : undefined;
  secure?.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
  const listening: net.Server = secure ?? server;
  listening.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  try {
    await once(listening, 'listening');
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const address = listening.address() as net.AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const detachers = new Set<() => void>();
  // A tls.Server hands over its sockets on 'secureConnection', once the handshake is done.
  const attach = (listener: net.Server, o: { trustLoopback?: boolean; event?: 'connection' | 'secureConnection' } = {}) => {
    const event = o.event ?? 'connection';
    const onConnection = (socket: net.Socket) => {
      if (!o.trustLoopback) untrusted.add(socket);
      server.emit('connection', socket);
    };
    listener.on(event, onConnection);
    const detach = () => {
      listener.off(event, onConnection);
      detachers.delete(detach);
    };
    detachers.add(detach);
    return detach;
  };
  if (secure) attach(secure, { trustLoopback, event: 'secureConnection' });
  for (const l of opts.listeners ?? []) attach(l);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const d of [...detachers]) d();
      resources.stop();
      hub!.closeAll();
      forwarder?.closeAll();
      // The listener stops accepting and calls back once its connections are gone (idle
      // ones closed now, the rest after the grace period).
      const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), limits.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await redis.quit().catch(() => redis.disconnect());
      logger.info('api server stopped');
    })());

  const url = `${secure ? 'https' : 'http'}://${host}:${address.port}`;
  logger.info({ url, historySize: limits.historySize, loopbackTrusted: trustLoopback }, 'api server listening');
  return { url, port: address.port, server, attach, close };
}
