// The controller's API server (docs/api.md): HTTPS on port 15014 with the controller's
// serving certificate, the thin layer around the pure parts. For /api/v1: match the route
// (routes.ts, match.ts), authenticate (authn.ts), apply the write rules (csrf.ts), authorize
// with a SubjectAccessReview (authz.ts), refuse writes on a follower, read a bounded JSON
// body, run the handler, answer JSON; errors as {"error": {code, message}}. Anything else:
// the console's static files (static.ts), served without credentials (they hold no data).
// Never a CORS header; OPTIONS is 405.
import { once } from 'node:events';
import { open, stat } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { ErrorCodes } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { TokenReviewer } from '../distribution/token-review.js';
import { accessAttributes } from './access.js';
import { ApiFailure, errorBody } from './api-error.js';
import { authenticate } from './authn.js';
import { controllerOnly, requireAccess, type AccessReviewer } from './authz.js';
import type { ApiContext } from './context.js';
import { writeRefusal } from './csrf.js';
import { matchRoute } from './match.js';
import { API_PREFIX, API_ROUTES } from './routes.js';
import { CONSOLE_NOT_BUILT_HTML, contentTypeOf, staticTarget } from './static.js';
import type { ApiUser, RouteDef } from './types.js';

export interface ApiServerOptions {
  context: ApiContext;
  credentials: { key: string; cert: string };
  tokens: TokenReviewer;
  access: AccessReviewer;
  /** The console's built files (index.html, assets/); absent or missing: the not-built page. */
  consoleDir?: string;
  /** Who leads (for AMB_API_NOT_LEADER), when this replica does not. */
  leaderName(): string | undefined;
  routes?: readonly RouteDef[];
  logger?: Logger;
}

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;
const PAGE_HEADERS = { ...SECURITY_HEADERS, 'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'" };

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export class ApiServer {
  readonly server: https.Server;
  readonly #o: ApiServerOptions;
  readonly #log: Logger;
  readonly #routes: readonly RouteDef[];

  constructor(o: ApiServerOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    this.#routes = o.routes ?? API_ROUTES;
    const l = o.context.limits;
    this.server = https.createServer({ key: o.credentials.key, cert: o.credentials.cert, minVersion: 'TLSv1.2' }, (req, res) => this.#serve(req, res));
    this.server.requestTimeout = l.requestTimeoutMs;
    this.server.headersTimeout = Math.min(l.requestTimeoutMs, 60_000);
    this.server.keepAliveTimeout = l.keepAliveTimeoutMs;
    this.server.maxConnections = l.maxConnections;
    this.server.on('tlsClientError', () => {});
  }

  setCredentials(c: { key: string; cert: string }): void {
    this.server.setSecureContext({ key: c.key, cert: c.cert });
  }

  async listen(o: { host: string; port: number }): Promise<{ host: string; port: number }> {
    this.server.listen({ host: o.host, port: o.port });
    await Promise.race([once(this.server, 'listening'), once(this.server, 'error').then(([e]) => Promise.reject(e as Error))]);
    const a = this.server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 1_000).unref();
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiFailure) return sendJson(res, err.status, errorBody(err.code, err.message), err.headers);
      this.#log.error({ err: (err as Error)?.message, method: req.method, url: req.url }, 'api: request failed');
      sendJson(res, 500, errorBody(ErrorCodes.API_INTERNAL, `internal error: ${(err as Error)?.message ?? String(err)}`));
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const raw = req.url ?? '/';
    const path = raw.split('?')[0]!;
    const query = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '');
    if (method === 'OPTIONS') throw new ApiFailure(405, ErrorCodes.API_METHOD_NOT_ALLOWED, 'OPTIONS is not served: the API answers no cross-origin requests (no CORS)', { headers: { allow: 'GET, HEAD, POST, PUT' } });
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) {
      if (path === '/api' || path.startsWith('/api/')) throw new ApiFailure(404, ErrorCodes.API_NOT_FOUND, `no such API path ${JSON.stringify(path.slice(0, 200))}: the API is under ${API_PREFIX}/ (see ${API_PREFIX}/openapi.json)`);
      return this.#static(method, path, res);
    }
    const m = matchRoute(this.#routes, method, path.slice(API_PREFIX.length));
    if (m.kind === 'not-found') throw new ApiFailure(404, ErrorCodes.API_NOT_FOUND, `no such API path ${JSON.stringify(path.slice(0, 200))} (see ${API_PREFIX}/openapi.json)`);
    if (m.kind === 'method-not-allowed') throw new ApiFailure(405, ErrorCodes.API_METHOD_NOT_ALLOWED, `${method} is not served at ${path}; it answers ${m.allow.join(', ')}`, { headers: { allow: m.allow.join(', ') } });
    const route = m.route;
    const ctx = this.#o.context;
    const { user, tokenHash } = await authenticate(this.#o.tokens, req.headers.authorization, ctx.limits.maxTokenBytes);
    const refusal = writeRefusal(method, req.headers);
    if (refusal) throw new ApiFailure(403, ErrorCodes.API_WRITE_REFUSED, refusal);
    if (route.access === 'controller') {
      const refused = controllerOnly(user, ctx.controllerNamespace, ctx.controllerServiceAccount ?? 'ambient-controller');
      if (refused) throw refused;
    } else if (route.access !== 'authenticated') await requireAccess(this.#o.access, user, tokenHash, accessAttributes(route.access, m.params, query, ctx.controllerNamespace));
    if (route.write && !ctx.isLeader()) {
      const leader = this.#o.leaderName();
      throw new ApiFailure(503, ErrorCodes.API_NOT_LEADER, `this controller replica is not the leader; writes are made by the leader${leader ? ` (${leader})` : ' (none elected now: retry shortly)'}`, { headers: { 'retry-after': '1' } });
    }
    const body = method === 'POST' || method === 'PUT' ? await readJson(req, ctx.limits.maxRequestBodyBytes) : undefined;
    const answer = await route.handler(
      {
        params: m.params,
        query,
        body,
        user,
        authorize: (a) => requireAccess(this.#o.access, user, tokenHash, a),
        audit: (w) => this.#audit(user, w),
      },
      ctx,
    );
    if (answer.stream) return answer.stream(req, res);
    sendJson(res, answer.status ?? 200, answer.body, answer.headers);
  }

  #audit(user: ApiUser, w: { verb: string; object: string; detail?: Record<string, unknown> }): void {
    this.#log.info({ user: user.username, groups: user.groups, verb: w.verb, object: w.object, ...w.detail }, 'api: write');
  }

  async #static(method: string, path: string, res: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') throw new ApiFailure(405, ErrorCodes.API_METHOD_NOT_ALLOWED, `${method} is not served at ${path}: the console's files are read-only`, { headers: { allow: 'GET, HEAD' } });
    const t = staticTarget(path);
    if (t.kind === 'not-found') throw new ApiFailure(404, ErrorCodes.API_NOT_FOUND, `no such page or file ${JSON.stringify(path.slice(0, 200))}`);
    const dir = this.#o.consoleDir;
    const rel = t.kind === 'index' ? 'index.html' : t.relative;
    const file = dir ? await readFileBounded(join(dir, rel), this.#o.context.limits.maxStaticFileBytes) : undefined;
    if (!file) {
      if (t.kind === 'index') {
        res.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(CONSOLE_NOT_BUILT_HTML) });
        res.end(method === 'HEAD' ? undefined : CONSOLE_NOT_BUILT_HTML);
        return;
      }
      throw new ApiFailure(404, ErrorCodes.API_NOT_FOUND, `no such file ${JSON.stringify(path.slice(0, 200))}`);
    }
    res.writeHead(200, { ...PAGE_HEADERS, ...(t.kind === 'asset' ? { 'cache-control': 'public, max-age=300' } : {}), 'content-type': contentTypeOf(rel), 'content-length': file.length });
    res.end(method === 'HEAD' ? undefined : file);
  }
}

/** A regular file's bytes, or undefined when absent, not a regular file, or bigger than `max`. */
async function readFileBounded(file: string, max: number): Promise<Buffer | undefined> {
  try {
    const s = await stat(file);
    if (!s.isFile() || s.size > max) return undefined;
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(s.size);
      const { bytesRead } = await fh.read(buf, 0, s.size, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** A request body as JSON, at most `max` bytes (413 beyond, 400 when not JSON). An empty body is {}. */
async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new ApiFailure(413, ErrorCodes.API_BODY_TOO_LARGE, `the request body is ${declared} bytes; at most ${max} are read`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new ApiFailure(413, ErrorCodes.API_BODY_TOO_LARGE, `the request body is over ${max} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiFailure(400, ErrorCodes.API_BAD_REQUEST, `the request body is not JSON: ${(err as Error).message}`);
  }
}
