// A FIXTURE API for the console's front-end tests (not the controller's API): an HTTP server
// on 127.0.0.1 that serves the built console (dist/console) the way the API server does
// (index.html for every page path, files under /assets/) and answers the /api/v1 routes the
// console reads with fixture data (test/support/browser-fixtures.ts) shaped by
// console/api-types.d.ts. It applies the write rules of the real API (JSON content type and
// `X-Ambient-Request: 1`, else 403) and records every write so tests can check what the
// console sent; `pushFlow` sends a `flow` event to the open /api/v1/flows/stream clients.
// `failGet`, `setUnanswered` and `holdStreams` play a failing API, a replica that did not
// answer, and a stream slow to answer.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthzCheckRequest, Flow, Graph, Rollout } from '../../console/api-types.js';
import {
  FIXTURE_POLICIES, FIXTURE_SERVICES, FIXTURE_WORKLOADS, fixtureAuthzCheck, fixtureCertificates, fixtureFlows, fixtureGraph, fixtureHttpRoute,
  fixtureRollout, fixtureServiceDetail, fixtureStatus, fixtureWorkloadDetail,
} from './browser-fixtures.js';

/** Where `npm run build:console` writes the console (this file runs from dist/test/support/). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console', import.meta.url));
/** The largest write body the fixture reads. */
const MAX_BODY_BYTES = 64 * 1024;

const PAGE_PREFIXES = ['/graph', '/workloads', '/services', '/policies', '/flows', '/mesh'];
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

export interface RecordedWrite {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface FixtureApi {
  url: string;
  writes: RecordedWrite[];
  /** Sends one `flow` event to every open stream. */
  pushFlow(f: Flow): void;
  /** Open /api/v1/flows/stream connections. */
  streamClients(): number;
  /** What GET /graph answers from now on (for the scale test). */
  setGraph(g: Graph | undefined): void;
  /** GET /api/v1/<route> answers 503 AMB_API_UNAVAILABLE while set (undefined: answers again). */
  failGet(route: string | undefined): void;
  /** The mesh-wide answers (status, certificates, graph, flows) are partial, missing these replicas. */
  setUnanswered(u: Array<{ replica: string; reason: string }> | undefined): void;
  /** While on, a new flows stream gets no answer (no headers) until turned off. */
  holdStreams(on: boolean): void;
  /** GET /api/v1/<route> is answered only once this is called again with another route or undefined. */
  holdGet(route: string | undefined): void;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s), 'cache-control': 'no-store' });
  res.end(s);
}

function fail(res: ServerResponse, status: number, code: string, message: string) {
  json(res, status, { error: { code, message } });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startFixtureApi(opts: { consoleDir?: string } = {}): Promise<FixtureApi> {
  const dir = opts.consoleDir ?? CONSOLE_DIR;
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`fixture API: no console build at ${dir}/index.html: run \`npm run build:console\` first`);
  const writes: RecordedWrite[] = [];
  const streams = new Set<ServerResponse>();
  let weights: Record<string, number> = { 'echo-v1': 50, 'echo-v2': 50 };
  let routeGeneration = 1;
  let rollout: Rollout = fixtureRollout();
  let graphOverride: Graph | undefined;
  let failing: string | undefined;
  let unanswered: Array<{ replica: string; reason: string }> | undefined;
  let holding = false;
  const held = new Set<ServerResponse>();
  let holdingGet: string | undefined;
  const heldGets: Array<() => void> = [];
  const flows = fixtureFlows();
  const openStream = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    streams.add(res);
  };
  const partial = <T extends object>(body: T) => (unanswered ? { ...body, partial: true, unanswered } : body);

  const graphFor = (ns: string | null, window: string): Graph => {
    const g = graphOverride ?? fixtureGraph(window);
    if (!ns) return { ...g, window };
    const nodes = g.nodes.filter((n) => n.namespace === ns);
    const ids = new Set(nodes.map((n) => n.id));
    return { ...g, window, nodes, edges: g.edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const path = url.pathname.slice('/api/v1'.length);
    const ns = url.searchParams.get('namespace');
    const byNs = <T extends { namespace: string }>(items: T[]) => ({ items: ns ? items.filter((i) => i.namespace === ns) : items });
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'OPTIONS') return fail(res, 405, 'AMB_API_METHOD', 'no CORS preflight: the API is same-origin only');
    if (req.method === 'POST' || req.method === 'PUT') {
      const ct = req.headers['content-type'] ?? '';
      if (!ct.startsWith('application/json') || req.headers['x-ambient-request'] !== '1') {
        return fail(res, 403, 'AMB_API_WRITE_HEADERS', 'writes need Content-Type: application/json and X-Ambient-Request: 1');
      }
      let body: unknown;
      try {
        body = await readBody(req);
      } catch (e) {
        return fail(res, 400, 'AMB_API_BAD_BODY', `the body is not JSON: ${(e as Error).message}`);
      }
      writes.push({ method: req.method, path: url.pathname, headers: req.headers, body });
      if (req.method === 'POST' && path === '/authz/check') {
        const b = body as Partial<AuthzCheckRequest> | undefined;
        if (!b || typeof b.from !== 'string' || typeof b.to !== 'string' || typeof b.port !== 'number' || !Number.isInteger(b.port)) {
          return fail(res, 400, 'AMB_API_BAD_BODY', 'from, to (strings) and port (an integer) are required');
        }
        return json(res, 200, fixtureAuthzCheck(b as AuthzCheckRequest));
      }
      if (req.method === 'PUT' && parts[0] === 'services' && parts.length === 4 && parts[3] === 'split') {
        if (parts[1] !== 'shop' || parts[2] !== 'echo') return fail(res, 404, 'AMB_API_NOT_FOUND', `service ${parts[1]}/${parts[2]} has no route to split in the fixture`);
        const b = body as { weights?: Record<string, number>; to?: string } | undefined;
        if (b?.to !== undefined) weights = Object.fromEntries(Object.keys(weights).map((k) => [k, k === b.to ? 100 : 0]));
        else if (b?.weights && typeof b.weights === 'object') weights = { ...b.weights };
        else return fail(res, 400, 'AMB_API_BAD_BODY', 'weights (an object of backend: integer) or to (a backend) is required');
        routeGeneration++;
        return json(res, 200, fixtureHttpRoute(weights, routeGeneration));
      }
      if (req.method === 'POST' && parts[0] === 'rollouts' && parts.length === 4) {
        if (parts[1] !== rollout.metadata.namespace || parts[2] !== rollout.metadata.name) return fail(res, 404, 'AMB_API_NOT_FOUND', `rollout ${parts[1]}/${parts[2]} not found`);
        const action = parts[3];
        if (action === 'pause') rollout = { ...rollout, spec: { ...rollout.spec, paused: true } };
        else if (action === 'resume') rollout = { ...rollout, spec: { ...rollout.spec, paused: false } };
        else if (action === 'abort') rollout = { ...rollout, spec: { ...rollout.spec, abort: true }, status: { ...rollout.status, phase: 'Aborted', canaryWeight: 0, message: 'aborted by the user' } };
        else return fail(res, 404, 'AMB_API_NOT_FOUND', `no action ${action}`);
        return json(res, 200, rollout);
      }
      return fail(res, 404, 'AMB_API_NOT_FOUND', `no route ${req.method} ${url.pathname}`);
    }
    if (req.method !== 'GET') return fail(res, 405, 'AMB_API_METHOD', `${req.method} is not allowed`);
    if (holdingGet !== undefined && parts[0] === holdingGet && parts[1] !== 'stream') await new Promise<void>((r) => heldGets.push(r));
    if (failing !== undefined && parts[0] === failing && parts[1] !== 'stream') return fail(res, 503, 'AMB_API_UNAVAILABLE', `the fixture fails GET /api/v1/${failing}`);
    const graph = graphFor(null, url.searchParams.get('window') ?? '5m');
    switch (parts[0]) {
      case 'status':
        return json(res, 200, partial(fixtureStatus()));
      case 'certificates':
        return json(res, 200, partial(fixtureCertificates()));
      case 'policies':
        return json(res, 200, byNs(FIXTURE_POLICIES));
      case 'rollouts':
        return json(res, 200, { items: [rollout] });
      case 'waypoints':
        return json(res, 200, { items: fixtureStatus().waypoints });
      case 'graph':
        return json(res, 200, partial(graphFor(ns, url.searchParams.get('window') ?? '5m')));
      case 'flows': {
        if (parts[1] === 'stream') {
          res.on('close', () => {
            streams.delete(res);
            held.delete(res);
          });
          if (holding) held.add(res);
          else openStream(res);
          return;
        }
        const items = flows.filter((f) => !ns || f.source.namespace === ns || f.destination.namespace === ns);
        return json(res, 200, partial({ items: items.slice(-Number(url.searchParams.get('limit') ?? 100)).reverse() }));
      }
      case 'workloads': {
        if (parts.length === 1) return json(res, 200, byNs(FIXTURE_WORKLOADS));
        const w = FIXTURE_WORKLOADS.find((x) => x.namespace === parts[1] && x.name === parts[2]);
        return w ? json(res, 200, fixtureWorkloadDetail(w, graph)) : fail(res, 404, 'AMB_API_NOT_FOUND', `workload ${parts[1]}/${parts[2]} not found`);
      }
      case 'services': {
        if (parts.length === 1) return json(res, 200, byNs(FIXTURE_SERVICES));
        const s = FIXTURE_SERVICES.find((x) => x.namespace === parts[1] && x.name === parts[2]);
        return s ? json(res, 200, fixtureServiceDetail(s, weights, [rollout])) : fail(res, 404, 'AMB_API_NOT_FOUND', `service ${parts[1]}/${parts[2]} not found`);
      }
      default:
        return fail(res, 404, 'AMB_API_NOT_FOUND', `no route GET ${url.pathname}`);
    }
  };

  const staticFile = (res: ServerResponse, file: string) => {
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'x-content-type-options': 'nosniff' });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (url.pathname.startsWith('/api/v1/')) {
      api(req, res, url).catch((e: Error) => !res.headersSent && fail(res, 500, 'AMB_API_INTERNAL', e.message));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'AMB_API_METHOD', `${req.method} is not allowed`);
    if (url.pathname.startsWith('/assets/')) {
      const file = normalize(join(dir, url.pathname));
      if (!file.startsWith(join(dir, 'assets') + sep) || !existsSync(file)) return fail(res, 404, 'AMB_API_NOT_FOUND', `no asset ${url.pathname}`);
      return staticFile(res, file);
    }
    if (url.pathname === '/' || PAGE_PREFIXES.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`))) return staticFile(res, join(dir, 'index.html'));
    return fail(res, 404, 'AMB_API_NOT_FOUND', `no page ${url.pathname}`);
  });
  await new Promise<void>((ok, ko) => server.once('error', ko).listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    writes,
    pushFlow(f) {
      flows.push(f);
      for (const s of streams) s.write(`event: flow\ndata: ${JSON.stringify(f)}\n\n`);
    },
    streamClients: () => streams.size,
    setGraph(g) {
      graphOverride = g;
    },
    failGet(route) {
      failing = route;
    },
    setUnanswered(u) {
      unanswered = u;
    },
    holdGet(route) {
      holdingGet = route;
      for (const release of heldGets.splice(0)) release();
    },
    holdStreams(on) {
      holding = on;
      if (on) return;
      for (const res of held) openStream(res);
      held.clear();
    },
    async close() {
      for (const release of heldGets.splice(0)) release();
      for (const s of [...streams, ...held]) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
