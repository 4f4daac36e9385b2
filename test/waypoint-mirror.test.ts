// Direct tier: RequestMirror through the waypoint's data path on loopback (HBONE in, HBONE
// out under the waypoint's identity, our CA), with the real route function: the copy
// reaches the mirror Service's endpoint with the filtered headers and the body; the
// mirror's slowness or failure never delays or fails the client's answer; percent 0 never
// mirrors; a body over the limit is not mirrored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { MirrorTarget, Route, RouteFilter, RouteRule } from '../core/config/routes.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { routeFunction } from '../waypoint/http/route-action.js';
import { closedPort, waitFor } from './support/net.js';
import { agentOver, echoApp, hboneClient, meshBackend, pki, request, startWaypoint, TD, type MeshBackend } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });
const ECHO = 'shop/echo';
const BODY_LIMIT = 1024;

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let backend: MeshBackend;
let app: Awaited<ReturnType<typeof echoApp>>;
let mirrorServer: http.Server;
let slowServer: http.Server;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const mirrored: Seen[] = [];
const slowSeen: Seen[] = [];

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return (server.address() as { port: number }).port;
}

const mirror = (service: string, percent = 100): RouteFilter => ({ type: 'RequestMirror', mirror: { service, port: 80, percent } satisfies MirrorTarget });
const rule = (prefix: string, filters: RouteFilter[]): RouteRule => ({ matches: [{ path: { type: 'PathPrefix', value: prefix } }], filters, backends: [{ service: ECHO, port: 80, weight: 1, filters: [] }] });
const ROUTE: Route = {
  key: 'shop/HTTPRoute/mirror',
  routeKind: 'HTTPRoute',
  name: 'mirror',
  namespace: 'shop',
  created: '2026-01-01T00:00:00Z',
  parents: [{ service: ECHO }],
  hostnames: [],
  rules: [
    rule('/mirrored', [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-filtered', value: 'yes' }], remove: ['x-drop'] } }, mirror('shop/mirror')]),
    rule('/slow', [mirror('shop/slow-mirror'), mirror('shop/dead-mirror')]),
    rule('/never', [mirror('shop/mirror', 0)]),
  ],
};

before(async () => {
  await pki();
  backend = await meshBackend();
  app = await echoApp();
  const record = (into: Seen[], answer: (res: http.ServerResponse) => void) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      into.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      answer(res);
    });
  };
  // The mirror answers 500: the client never sees it.
  mirrorServer = http.createServer(record(mirrored, (res) => res.writeHead(500).end('mirror failed')));
  // The slow mirror never answers.
  slowServer = http.createServer(record(slowSeen, () => {}));
  const mirrorPort = await listen(mirrorServer);
  const slowPort = await listen(slowServer);
  const dead = await closedPort();
  const targets = new Map<string, TunnelTarget>([['10.96.0.20:80', { address: { host: '10.96.0.20', port: 80 }, service: ECHO, port: 80, appProtocol: 'http' }]]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([
    [`${ECHO}:80`, [mesh(app.port)]],
    ['shop/mirror:80', [mesh(mirrorPort)]],
    ['shop/slow-mirror:80', [mesh(slowPort)]],
    ['shop/dead-mirror:80', [mesh(dead)]],
  ]);
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port, {
    limits: { mirrorMaxBodyBytes: BODY_LIMIT, mirrorTimeoutMs: 60_000 },
    route: routeFunction(() => ({ serviceByKey: () => undefined, routesFor: (k) => (k === ECHO ? [ROUTE] : []) })),
  }));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  mirrorServer.closeAllConnections();
  slowServer.closeAllConnections();
  await Promise.all([app.close(), new Promise((r) => mirrorServer.close(r)), new Promise((r) => slowServer.close(r))]);
});

async function withAgent<T>(fn: (agent: http.Agent) => Promise<T>): Promise<T> {
  const p = await pki();
  const t = await client.connect({ source: p.client.identity, peer: addr, target: { host: '10.96.0.20', port: 80 } });
  const agent = agentOver(t.stream);
  try {
    return await fn(agent);
  } finally {
    agent.destroy();
  }
}

test('mirrored_request_reaches_the_mirror_backend_with_the_filtered_headers_and_body', async () => {
  const before = mirrored.length;
  const answer = await withAgent((agent) => request(agent, { method: 'POST', path: '/mirrored/x?q=1', body: 'hello mirror', headers: { 'x-drop': 'secret', 'content-type': 'text/plain' } }));
  assert.equal(answer.status, 200, 'the client gets the backend answer, not the mirror 500');
  const seen = JSON.parse(answer.body) as Seen;
  assert.equal(seen.headers['x-filtered'], 'yes');
  await waitFor(() => mirrored.length > before, 10_000, 'the copy to reach the mirror');
  const copy = mirrored[before]!;
  assert.equal(copy.method, 'POST');
  assert.equal(copy.path, '/mirrored/x?q=1');
  assert.equal(copy.body, 'hello mirror');
  assert.equal(copy.headers['x-filtered'], 'yes', 'the copy carries the request as filtered');
  assert.equal(copy.headers['x-drop'], undefined);
  assert.equal(copy.headers['content-type'], 'text/plain');
  assert.equal(copy.headers['content-length'], String('hello mirror'.length));
  await waitFor(() => proxy.stats.mirrors.answered >= 1, 10_000, 'the mirror answer to be discarded');
});

test('slow_and_failing_mirrors_do_not_delay_or_fail_the_main_response', async () => {
  const failedBefore = proxy.stats.mirrors.failed;
  const answer = await withAgent((agent) => request(agent, { method: 'POST', path: '/slow', body: 'payload' }));
  // The slow mirror has not answered (it never does), the dead one refused: the client's answer is whole.
  assert.equal(answer.status, 200);
  assert.equal((JSON.parse(answer.body) as Seen).body, 'payload');
  await waitFor(() => slowSeen.length >= 1, 10_000, 'the slow mirror to receive its copy');
  assert.ok(proxy.stats.mirrors.active >= 1, 'the slow copy is still in flight after the client got its answer');
  await waitFor(() => proxy.stats.mirrors.failed > failedBefore, 10_000, 'the copy to the dead mirror to fail');
});

test('percent_zero_never_mirrors', async () => {
  const before = { mirrored: mirrored.length, sent: proxy.stats.mirrors.sent };
  await withAgent(async (agent) => {
    for (let i = 0; i < 20; i++) assert.equal((await request(agent, { path: `/never/${i}` })).status, 200);
  });
  assert.equal(proxy.stats.mirrors.sent, before.sent);
  assert.equal(mirrored.length, before.mirrored);
});

test('a_body_over_the_mirror_limit_is_forwarded_whole_but_not_mirrored', async () => {
  const before = { tooLarge: proxy.stats.mirrors.tooLarge, sent: proxy.stats.mirrors.sent };
  const big = 'z'.repeat(BODY_LIMIT * 4);
  const answer = await withAgent((agent) => request(agent, { method: 'POST', path: '/mirrored/big', body: big }));
  assert.equal(answer.status, 200);
  assert.equal((JSON.parse(answer.body) as Seen).body.length, big.length, 'the backend gets the whole body');
  await waitFor(() => proxy.stats.mirrors.tooLarge > before.tooLarge, 10_000, 'the oversized body to be counted');
  assert.equal(proxy.stats.mirrors.sent, before.sent);
});
