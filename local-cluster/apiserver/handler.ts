// The HTTP face of the API server: one request handler, usable on any listener. It
// authenticates, routes (discovery, health, OpenAPI, resources), reads and parses the
// body, calls the verb, and answers JSON, a Table for kubectl's human output, or a watch
// stream. Every error becomes a Kubernetes Status; nothing a client sends can throw out
// of here.
//
// Authentication: `Authorization: Bearer <token>` with the cluster admin's token
// (admin-token.ts) or a service-account token from TokenRequest whose audience includes
// the API server's; a token that is neither is 401, wherever it comes from. Only a request
// with no Authorization header, from a loopback address on a listener that trusts loopback
// (an API server started without an admin token, as the tests' in-process ones), is the
// admin without a credential.
// /healthz, /livez, /readyz and /version are open to all, as on a real cluster.
// Authorization (authorize.ts) then decides what that ServiceAccount may do to the
// resource: by RBAC (rbac.ts) for the mesh's ServiceAccounts, else also by built-in rules
// (no Secrets of other namespaces, no writes outside its own namespace).
// Requests that switch protocols (pods/portforward, a WebSocket) go through
// createUpgradeHandler: the same authentication and authorization, then port-forward.ts.
import { STATUS_CODES as STATUS_TEXT } from 'node:http';
import { isLoopback } from '../../core/ip.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/log.js';
import { authorize, forbiddenFor, requesterFor, type RbacView, type Requester } from './authorize.js';
import { ApiError, badRequest, internalError, methodNotSupported, pathNotFound, unauthorized } from './api-errors.js';
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, openApiV3GroupVersion, openApiV3Root, versionInfo } from './discovery.js';
import { parseJson, parseObjectBody, readBody, sendError, sendJson, sendText } from './http-io.js';
import { apiVersionOf, kindByResource, type KObject, type KindInfo, type KindRegistry } from './kinds.js';
import type { ApiServerLimits } from './limits.js';
import { isApplyPatch, patchTypeOf } from './patch-types.js';
import { applyParams, parseApplyBody } from './apply-request.js';
import { parseRequestPath } from './request-path.js';
import { requestAttributes, watchQuery } from './request-attributes.js';
import type { DeleteOptions, Resources, WriteOptions } from './resources.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import type { ObjectStore } from './store.js';
import { toTable, wantsTable, type IncludeObject } from './table.js';
import type { WatchHub } from './watch-hub.js';
import { serveWatch } from './watch-stream.js';
import { reviewSelfSubjectAccess, reviewSubjectAccess } from './subject-access-review.js';
import type { PortForwarder } from './port-forward.js';
import { chooseProtocol, offeredProtocols, parsePorts, BASE64_PROTOCOL, BINARY_PROTOCOL } from './port-forward-protocol.js';

export interface HandlerDeps {
  /** The kinds served: built-in and CRD-defined. */
  kinds: KindRegistry;
  resources: Resources;
  tokens: ServiceAccountTokens;
  store: ObjectStore;
  hub: WatchHub;
  limits: ApiServerLimits;
  logger: Logger;
  now: () => Date;
  /** The RBAC objects, held in memory (rbac-cache.ts). */
  rbac: RbacView;
  /** Is this connection one whose loopback peers are trusted as admin? */
  trustsLoopback: (socket: Socket) => boolean;
  /** pods/portforward; absent where the server has no pods' network namespaces to reach. */
  portForward?: { forwarder: PortForwarder; netnsOf: (pod: KObject) => string };
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = Date.now();
    res.on('finish', () => deps.logger.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }, 'request'));
    handle(deps, req, res).catch((err: unknown) => {
      if (err instanceof ApiError) return sendError(res, err);
      deps.logger.error({ err, method: req.method, url: req.url }, 'request failed');
      sendError(res, internalError((err as Error)?.message ?? String(err)));
    });
  };
}

async function handle(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://apiserver');
  } catch {
    throw badRequest(`malformed request URL ${JSON.stringify(req.url)}`);
  }
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const base = path.split('/').slice(0, 2).join('/');
  const who: Requester = PUBLIC_PATHS.has(base) ? { kind: 'admin' } : await authenticate(deps, req);

  switch (base) {
    case '/healthz':
    case '/livez':
    case '/readyz':
      return sendText(res, 200, 'ok');
    case '/version':
      return sendJson(res, 200, versionInfo());
    case '/openapi': {
      if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Root(deps.kinds));
      const m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      const doc = m ? (m[1] ? openApiV3GroupVersion(deps.kinds, '', m[1]) : openApiV3GroupVersion(deps.kinds, m[2]!, m[3]!)) : undefined;
      if (doc) return sendJson(res, 200, doc);
      throw pathNotFound();
    }
  }

  const parsed = parseRequestPath(path, (g, v, p) => deps.kinds.byResource(g, v, p) !== undefined);
  if (parsed.type === 'unknown') throw pathNotFound();
  if (parsed.type === 'discovery') {
    if (req.method !== 'GET') throw methodNotSupported(path, req.method ?? '');
    const doc =
      parsed.what === 'api'
        ? apiVersions(req.headers.host ?? '127.0.0.1')
        : parsed.what === 'apis'
          ? apiGroupList(deps.kinds)
          : parsed.what === 'group'
            ? apiGroupDoc(deps.kinds, parsed.group)
            : apiResourceList(deps.kinds, parsed.group, parsed.version);
    if (!doc) throw pathNotFound();
    return sendJson(res, 200, doc);
  }

  const k = deps.kinds.byResource(parsed.group, parsed.version, parsed.plural);
  if (!k) throw pathNotFound();
  if (!k.namespaced && parsed.namespace !== undefined) throw pathNotFound();
  return serveResource(deps, req, res, url, k, parsed, who);
}

async function authenticate(deps: HandlerDeps, req: IncomingMessage): Promise<Requester> {
  const header = req.headers.authorization;
  if (header === undefined && isLoopback(req.socket.remoteAddress) && deps.trustsLoopback(req.socket)) return { kind: 'admin' };
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  const user = m ? await deps.tokens.authenticate(m[1]!) : undefined;
  // The admin's token and ServiceAccounts' are all there is; anyone else is nobody we can authorize.
  const who = user ? requesterFor(user) : undefined;
  if (who) return who;
  throw unauthorized();
}

interface ResourcePath {
  namespace?: string;
  name?: string;
  subresource?: string;
  watch: boolean;
}

async function serveResource(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, url: URL, k: KindInfo, p: ResourcePath, who: Requester): Promise<void> {
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  const attrs = requestAttributes(method, { ...p, group: k.group, resource: k.plural, virtual: k.virtual }, q);
  // A method no verb names is refused before anything else runs: nothing goes unauthorized.
  if (!attrs) throw methodNotSupported(`${k.plural}${p.subresource ? `/${p.subresource}` : ''}`, method);
  {
    const decision = authorize(who, attrs, deps.rbac);
    if (!decision.allowed) {
      deps.logger.debug({ who: who.kind === 'admin' ? (who.username ?? 'admin') : who.username, ...attrs, why: decision.reason }, 'forbidden');
      throw forbiddenFor(who, attrs);
    }
  }
  const { resources } = deps;
  const ns = p.namespace;
  const dryRun = q.get('dryRun') === 'All';
  const write: WriteOptions = { dryRun, fieldValidation: fieldValidationOf(q.get('fieldValidation')), warnings: [] };
  const body = async (): Promise<string> => readBody(req, res, deps.limits);
  const what = `${k.plural}${p.subresource ? `/${p.subresource}` : ''}`;
  const unsupported = (): never => {
    throw methodNotSupported(what, method);
  };
  const out = (code: number, obj: KObject) => {
    // kube-apiserver's warnings: `299 - "<text>"`, one header line each (kubectl prints them as `Warning: <text>`).
    if (write.warnings!.length) res.setHeader('Warning', write.warnings!.map((w) => `299 - ${JSON.stringify(w)}`));
    return sendObject(deps, req, res, url, k, code, obj);
  };

  if (k.virtual) {
    // TokenReview, (Self)SubjectAccessReview: create only, never stored.
    if (method !== 'POST' || p.name !== undefined) return unsupported();
    const request = parseObjectBody(await body(), req.headers['content-type']);
    if (k.kind === 'SubjectAccessReview') return sendJson(res, 201, reviewSubjectAccess(request, deps.rbac));
    if (k.kind === 'SelfSubjectAccessReview') return sendJson(res, 201, reviewSelfSubjectAccess(request, who, deps.rbac));
    const review = await deps.tokens.review(request);
    return sendJson(res, 201, review);
  }

  if (p.subresource !== undefined) {
    const name = p.name!;
    switch (p.subresource) {
      case 'status':
        if (!k.status) throw pathNotFound();
        if (method === 'GET') return out(200, await resources.get(k, ns, name));
        if (method === 'PUT') return out(200, await resources.update(k, ns, name, parseObjectBody(await body(), req.headers['content-type']), 'status', write));
        if (method === 'PATCH') return out(200, await resources.patch(k, ns, name, patchTypeOf(req.headers['content-type'], k), parseJson(await body()), 'status', write));
        return unsupported();
      case 'scale':
        if (!k.scale || ns === undefined) throw pathNotFound();
        if (method === 'GET') return sendJson(res, 200, await resources.getScale(ns, name));
        if (method === 'PUT') return sendJson(res, 200, await resources.updateScale(ns, name, parseObjectBody(await body(), req.headers['content-type']), { dryRun }));
        if (method === 'PATCH') return sendJson(res, 200, await resources.patchScale(ns, name, patchTypeOf(req.headers['content-type'], k), parseJson(await body()), { dryRun }));
        return unsupported();
      case 'token': {
        if (k.kind !== 'ServiceAccount' || ns === undefined) throw pathNotFound();
        if (method !== 'POST') return unsupported();
        const text = await body();
        const tr = await deps.tokens.request(ns, name, text.trim() ? parseObjectBody(text, req.headers['content-type']) : undefined);
        return sendJson(res, 201, tr);
      }
      case 'binding':
        if (k.kind !== 'Pod' || ns === undefined) throw pathNotFound();
        if (method !== 'POST') return unsupported();
        await resources.bind(ns, name, parseObjectBody(await body(), req.headers['content-type']));
        return sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      case 'portforward':
        if (k.kind !== 'Pod' || ns === undefined) throw pathNotFound();
        throw badRequest(`Upgrade request required: pods/portforward is a WebSocket (${BINARY_PROTOCOL} or ${BASE64_PROTOCOL})`);
      default:
        throw pathNotFound();
    }
  }

  const watch = p.watch || watchQuery(q);
  if (p.name !== undefined) {
    const name = p.name;
    if (watch && method === 'GET') {
      const fieldSelector = [q.get('fieldSelector'), `metadata.name=${name}`].filter(Boolean).join(',');
      return startWatch(deps, req, res, url, k, ns, fieldSelector);
    }
    switch (method) {
      case 'GET':
        return out(200, await resources.get(k, ns, name));
      case 'PUT':
        return out(200, await resources.update(k, ns, name, parseObjectBody(await body(), req.headers['content-type']), 'main', write));
      case 'PATCH':
        if (isApplyPatch(req.headers['content-type'])) {
          const r = await resources.apply(k, ns, name, parseApplyBody(await body()), applyParams(q), write);
          return out(r.created ? 201 : 200, r.object);
        }
        return out(200, await resources.patch(k, ns, name, patchTypeOf(req.headers['content-type'], k), parseJson(await body()), 'main', write));
      case 'DELETE':
        return out(200, await resources.delete(k, ns, name, deleteOptions(await body(), q)));
      default:
        return unsupported();
    }
  }

  switch (method) {
    case 'GET': {
      if (watch) return startWatch(deps, req, res, url, k, ns, q.get('fieldSelector') ?? undefined);
      const list = await resources.list(k, { namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined });
      return sendList(deps, req, res, url, k, list.items, list.rv);
    }
    case 'POST':
      return out(201, await resources.create(k, ns, parseObjectBody(await body(), req.headers['content-type']), write));
    case 'DELETE': {
      const items = await resources.deleteCollection(
        k,
        { namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined },
        deleteOptions(await body(), q),
      );
      return sendList(deps, req, res, url, k, items, deps.hub.lastRv);
    }
    default:
      return unsupported();
  }
}

/** The fieldValidation query parameter: Strict, Warn (the default) or Ignore. */
function fieldValidationOf(v: string | null): WriteOptions['fieldValidation'] {
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of Strict, Warn or Ignore, not ${JSON.stringify(v)}`);
}

function deleteOptions(text: string, q: URLSearchParams): DeleteOptions {
  const b = text.trim() ? parseJson(text) : {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('DeleteOptions must be a JSON object');
  const o = b as { propagationPolicy?: string; orphanDependents?: boolean; preconditions?: DeleteOptions['preconditions']; dryRun?: string[] };
  const policy = q.get('propagationPolicy') ?? o.propagationPolicy ?? (o.orphanDependents ? 'Orphan' : undefined);
  if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw badRequest(`propagationPolicy must be Background, Foreground or Orphan, not ${JSON.stringify(policy)}`);
  }
  return {
    ...(policy ? { propagationPolicy: policy as DeleteOptions['propagationPolicy'] } : {}),
    ...(o.preconditions ? { preconditions: o.preconditions } : {}),
    dryRun: q.get('dryRun') === 'All' || (Array.isArray(o.dryRun) && o.dryRun.includes('All')),
  };
}

function includeObject(url: URL): IncludeObject {
  const v = url.searchParams.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function sendObject(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, url: URL, k: KindInfo, code: number, obj: KObject): void {
  if (req.method === 'GET' && wantsTable(req.headers.accept)) {
    return sendJson(res, code, toTable(k, [obj], { now: deps.now(), include: includeObject(url) }));
  }
  sendJson(res, code, obj);
}

function sendList(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, url: URL, k: KindInfo, items: KObject[], rv: number): void {
  if (wantsTable(req.headers.accept)) {
    return sendJson(res, 200, toTable(k, items, { now: deps.now(), resourceVersion: String(rv), include: includeObject(url) }));
  }
  sendJson(res, 200, { kind: `${k.kind}List`, apiVersion: apiVersionOf(k), metadata: { resourceVersion: String(rv) }, items });
}

async function startWatch(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, url: URL, k: KindInfo, ns: string | undefined, fieldSelector: string | undefined): Promise<void> {
  const q = url.searchParams;
  const filter = deps.resources.filter(k, { namespace: ns, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector });
  const t = q.get('timeoutSeconds');
  const timeoutSeconds = t !== null && /^\d+$/.test(t) && Number(t) > 0 ? Number(t) : deps.limits.watchTimeoutSeconds;
  const table = wantsTable(req.headers.accept);
  await serveWatch(
    { store: deps.store, hub: deps.hub },
    {
      kind: k,
      filter,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      allowBookmarks: q.get('allowWatchBookmarks') === 'true',
      sendInitialEvents: q.get('sendInitialEvents') === 'true',
      timeoutSeconds,
      bookmarkIntervalMs: deps.limits.bookmarkIntervalMs,
      maxBufferedBytes: deps.limits.watchMaxBufferedBytes,
      ...(table ? { encode: (o: KObject) => toTable(k, [o], { now: deps.now(), include: includeObject(url) }) } : {}),
    },
    res,
  );
}

/**
 * Requests that switch protocols (Node's 'upgrade' event): pods/portforward only, as a
 * WebSocket. Authenticated and authorized as any request (create pods/portforward) before
 * the handshake; a refusal is a Status answered on the raw connection, which then closes.
 */
export function createUpgradeHandler(deps: HandlerDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', (err) => deps.logger.debug({ err: err.message, url: req.url }, 'upgrade connection error'));
    upgrade(deps, req, socket, head).catch((err: unknown) => {
      if (!(err instanceof ApiError)) deps.logger.error({ err, method: req.method, url: req.url }, 'upgrade failed');
      refuseUpgrade(socket, err instanceof ApiError ? err : internalError((err as Error)?.message ?? String(err)), deps.limits.closeLingerMs);
    });
  };
}

async function upgrade(deps: HandlerDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://apiserver');
  } catch {
    throw badRequest(`malformed request URL ${JSON.stringify(req.url)}`);
  }
  const parsed = parseRequestPath(url.pathname.replace(/\/+$/, ''));
  if (parsed.type !== 'resource' || parsed.group !== '' || parsed.plural !== 'pods' || parsed.namespace === undefined || parsed.name === undefined || parsed.subresource !== 'portforward' || parsed.watch) {
    throw badRequest(`this server switches protocols for pods/portforward only, not for ${url.pathname}`);
  }
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw badRequest(`pods/portforward is served as a WebSocket (${BINARY_PROTOCOL} or ${BASE64_PROTOCOL}), not ${JSON.stringify(req.headers.upgrade ?? '')} (SPDY is not supported)`);
  }
  if (req.method !== 'GET') throw methodNotSupported('pods/portforward', req.method ?? '');
  const who = await authenticate(deps, req);
  const attrs = { verb: 'create' as const, group: '', resource: 'pods', subresource: 'portforward', namespace: parsed.namespace, name: parsed.name };
  const decision = authorize(who, attrs, deps.rbac);
  if (!decision.allowed) {
    deps.logger.debug({ who: who.kind === 'admin' ? 'admin' : who.username, ...attrs, why: decision.reason }, 'forbidden');
    throw forbiddenFor(who, attrs);
  }
  const pf = deps.portForward;
  if (!pf) throw new ApiError(503, 'ServiceUnavailable', 'this API server reaches no pods: it runs without a local cluster, so pods/portforward is not available');
  pf.forwarder.checkCapacity();
  const ports = parsePorts(url.searchParams, deps.limits.portForwardMaxPorts);
  const chosen = chooseProtocol(offeredProtocols(req.headers['sec-websocket-protocol']));
  if (!chosen) throw badRequest(`none of the offered WebSocket subprotocols (${req.headers['sec-websocket-protocol']}) is supported: pods/portforward speaks ${BINARY_PROTOCOL} and ${BASE64_PROTOCOL}`);
  const pod = await deps.resources.get(kindByResource('', 'v1', 'pods')!, parsed.namespace, parsed.name);
  const spec = (pod.spec ?? {}) as { nodeName?: string };
  const status = (pod.status ?? {}) as { phase?: string };
  const podName = `${parsed.namespace}/${parsed.name}`;
  if (!spec.nodeName) throw badRequest(`pod ${podName} does not have a host assigned`);
  if (status.phase !== 'Running') throw badRequest(`unable to port-forward to pod ${podName}: it is not running (phase ${status.phase ?? 'unknown'})`);
  let netnsPath: string;
  try {
    netnsPath = pf.netnsOf(pod);
  } catch (err) {
    throw badRequest(`unable to port-forward to pod ${podName}: ${(err as Error).message}`);
  }
  if (socket.destroyed) return;
  pf.forwarder.upgrade(req, socket, head, chosen.protocol, { pod: podName, uid: pod.metadata?.uid ?? '', netnsPath, ports, encoding: chosen.encoding });
}

/** A Status as the answer to a refused upgrade; the connection closes after it. */
function refuseUpgrade(socket: Duplex, err: ApiError, lingerMs: number): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(err.toStatus());
  const reason = STATUS_TEXT[err.code] ?? 'Error';
  socket.end(`HTTP/1.1 ${err.code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-cache, private\r\nconnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
