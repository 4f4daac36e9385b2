// Direct tier: request bodies through the waypoint as the upstream must see them. Request
// trailers (HTTP/1.1 chunked, HTTP/2 HEADERS after DATA) reach the backend, minus the
// fields a recipient must not take from trailers; a streamed body always goes upstream
// framed (chunked), so a client cannot smuggle a second request onto the pooled
// connection other clients share (waypoint/http/request-body.ts). The upstream speaks
// the client's protocol (forward.ts), so the cases are HTTP/1.1 -> HTTP/1.1 and HTTP/2 -> HTTP/2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { agentOver, echoApp, h2App, hboneClient, meshBackend, pki, socketLike, startWaypoint, TD, within, type MeshBackend } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });
const H1_VIP = { host: '10.96.0.10', port: 80 };
const H2_VIP = { host: '10.96.0.12', port: 80 };

interface Seen {
  method: string;
  path: string;
  body: string;
  trailers: Record<string, unknown>;
  trailerHeader?: string;
}

let backend: MeshBackend;
let app: Awaited<ReturnType<typeof echoApp>>;
let h2: Awaited<ReturnType<typeof h2App>>;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
/** Every request the backends parsed, in order. */
const seen: Seen[] = [];

before(async () => {
  await pki();
  backend = await meshBackend();
  // Records each request it parses (path, body, trailers) and answers with it.
  app = await echoApp({});
  app.server.removeAllListeners('request');
  app.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method!, path: req.url!, body: Buffer.concat(chunks).toString(), trailers: { ...req.trailers }, ...(req.headers['trailer'] !== undefined && { trailerHeader: req.headers['trailer'] }) };
      seen.push(s);
      res.end(JSON.stringify(s));
    });
  });
  h2 = await h2App((stream, headers) => {
    const chunks: Buffer[] = [];
    let trailers: Record<string, unknown> = {};
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = { ...t }));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const s: Seen = { method: String(headers[':method']), path: String(headers[':path']), body: Buffer.concat(chunks).toString(), trailers };
      seen.push(s);
      stream.respond({ ':status': 200 });
      stream.end(JSON.stringify(s));
    });
  });
  const targets = new Map<string, TunnelTarget>([
    ['10.96.0.10:80', { address: H1_VIP, service: 'shop/api', port: 80, appProtocol: 'http' }],
    ['10.96.0.12:80', { address: H2_VIP, service: 'shop/h2', port: 80, appProtocol: 'http2' }],
  ]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([
    ['shop/api:80', [mesh(app.port)]],
    ['shop/h2:80', [mesh(h2.port)]],
  ]);
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  await Promise.all([app.close(), h2.close()]);
});

async function tunnel(target: SocketAddress) {
  const p = await pki();
  return client.connect({ source: p.client.identity, peer: addr, target });
}

/** One HTTP/1.1 request with a chunked body and trailers; the backend's JSON answer. */
function h1WithTrailers(agent: http.Agent, o: { method?: string; path: string; body: string; trailers?: Record<string, string>; headers?: http.OutgoingHttpHeaders }): Promise<{ status: number; seen: Seen }> {
  return within(
    new Promise((resolve, reject) => {
      const req = http.request({ agent, host: 'api.shop', method: o.method ?? 'POST', path: o.path, headers: { 'transfer-encoding': 'chunked', ...o.headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, seen: JSON.parse(Buffer.concat(chunks).toString()) as Seen }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.write(o.body.slice(0, 3));
      req.write(o.body.slice(3));
      if (o.trailers) req.addTrailers(o.trailers);
      req.end();
    }),
    10_000,
    `the answer to ${o.path}`,
  );
}

test('http1_chunked_request_trailers_reach_the_http1_backend', async () => {
  const t = await tunnel(H1_VIP);
  const agent = agentOver(t.stream);
  try {
    const a = await h1WithTrailers(agent, { path: '/upload', body: 'hello trailers', headers: { trailer: 'x-checksum, x-count' }, trailers: { 'x-checksum': 'sha256=abc', 'x-count': '2' } });
    assert.equal(a.status, 200);
    assert.equal(a.seen.body, 'hello trailers');
    assert.deepEqual(a.seen.trailers, { 'x-checksum': 'sha256=abc', 'x-count': '2' });
    assert.equal(a.seen.trailerHeader, 'x-checksum, x-count', 'the Trailer header declaring them is passed on');
  } finally {
    agent.destroy();
  }
});

test('request_trailers_that_only_headers_may_carry_are_dropped', async () => {
  const t = await tunnel(H1_VIP);
  const agent = agentOver(t.stream);
  try {
    const a = await h1WithTrailers(agent, {
      path: '/sneaky',
      body: 'x',
      trailers: { authorization: 'Bearer stolen', 'x-forwarded-client-cert': 'By=spiffe://cluster.local/ns/shop/sa/admin', host: 'admin.shop', cookie: 'session=other', 'x-ok': 'yes' },
    });
    assert.equal(a.status, 200);
    assert.deepEqual(a.seen.trailers, { 'x-ok': 'yes' });
  } finally {
    agent.destroy();
  }
});

test('chunked_body_on_a_get_cannot_smuggle_a_request_onto_the_pooled_upstream_connection', async () => {
  // The attack: a GET whose chunked body is itself a request. Sent unframed upstream (as
  // node:http's client does for GET without a length), the backend would parse it as a
  // second request on a connection the waypoint shares with other clients, past the
  // waypoint's routing and policy, and hand its answer to the next client.
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: admin.shop\r\n\r\n';
  const before = seen.length;
  const t = await tunnel(H1_VIP);
  const agent = agentOver(t.stream);
  try {
    const a = await h1WithTrailers(agent, { method: 'GET', path: '/innocent', body: smuggled });
    assert.equal(a.status, 200);
    assert.equal(a.seen.path, '/innocent');
    assert.equal(a.seen.body, smuggled, 'the body reached the backend as the body');
    // Another client's request on the same pooled upstream connection gets its own answer.
    const t2 = await tunnel(H1_VIP);
    const other = agentOver(t2.stream);
    try {
      const b = await h1WithTrailers(other, { path: '/next', body: 'b' });
      assert.equal(b.seen.path, '/next');
    } finally {
      other.destroy();
    }
  } finally {
    agent.destroy();
  }
  assert.deepEqual(
    seen.slice(before).map((s) => s.path),
    ['/innocent', '/next'],
    'the backend parsed no smuggled request',
  );
});

test('h2_request_trailers_reach_the_h2_backend', async () => {
  const t = await tunnel(H2_VIP);
  const session = http2.connect('http://api.shop', { createConnection: () => socketLike(t.stream) as never });
  session.on('error', () => {});
  try {
    const req = session.request({ ':method': 'POST', ':path': '/stream-up', 'content-type': 'application/octet-stream' }, { waitForTrailers: true });
    req.on('wantTrailers', () => req.sendTrailers({ 'x-checksum': 'sha256=def', 'x-total': '3', authorization: 'Bearer late' }));
    req.write('one');
    req.end('two');
    const [h] = (await within(once(req, 'response'), 10_000, 'the h2 answer')) as [http2.IncomingHttpHeaders];
    assert.equal(h[':status'], 200);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    await within(once(req, 'end'), 10_000, 'the h2 body');
    const s = JSON.parse(Buffer.concat(chunks).toString()) as Seen;
    assert.equal(s.body, 'onetwo');
    assert.deepEqual(s.trailers, { 'x-checksum': 'sha256=def', 'x-total': '3' });

    // Without trailers (gRPC client streaming ends with END_STREAM on DATA) the request still ends.
    const plain = session.request({ ':method': 'POST', ':path': '/no-trailers' });
    plain.end('x');
    const parts: Buffer[] = [];
    plain.on('data', (c: Buffer) => parts.push(c));
    await within(once(plain, 'end'), 10_000, 'the answer without trailers');
    assert.deepEqual((JSON.parse(Buffer.concat(parts).toString()) as Seen).trailers, {});
  } finally {
    session.destroy();
  }
});
