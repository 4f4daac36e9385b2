// The dashboard proxy with real sockets: a stand-in controller (HTTPS with a serving
// certificate from our own CA, recording what reaches it) behind the proxy on loopback.
// The attacks: a page of another origin, a DNS-rebound host name, a controller whose
// certificate the mesh roots do not verify; none of them gets the token through.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { newCa } from '../test/support/pki.js';
import { spiffeId } from '../core/identity/spiffe.js';
import { issueServingCertificate } from '../controller/serving-cert.js';
import { CONTROLLER_HOST, startDashboardProxy, tlsTo, type DashboardProxy } from './dashboard.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

const seen: Seen[] = [];
const strangerSeen: Seen[] = [];
let controller: https.Server;
let stranger: https.Server;
let proxy: DashboardProxy;
let strangerProxy: DashboardProxy;
let releaseStream: (() => void) | undefined;

function listen(s: net.Server): Promise<number> {
  return new Promise((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as net.AddressInfo).port)));
}

before(async () => {
  const ca = await newCa();
  const other = await newCa();
  const identity = spiffeId('ambient-system', 'ambient-controller', ca.trustDomain);
  const serving = await issueServingCertificate(ca, { dnsName: CONTROLLER_HOST, identity, ttlMs: 3_600_000 });
  const forged = await issueServingCertificate(other, { dnsName: CONTROLLER_HOST, identity: spiffeId('ambient-system', 'ambient-controller', other.trustDomain), ttlMs: 3_600_000 });
  controller = https.createServer({ key: serving.key, cert: serving.cert }, (req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (req.url === '/api/v1/flows/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: {"n":1}\n\n');
      releaseStream = () => res.end('data: {"n":2}\n\n');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'x=y' });
      res.end(JSON.stringify({ echoed: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  stranger = https.createServer({ key: forged.key, cert: forged.cert }, (req, res) => {
    strangerSeen.push({ method: req.method!, url: req.url!, headers: req.headers });
    res.end('{}');
  });
  const [cport, sport] = await Promise.all([listen(controller), listen(stranger)]);
  const roots = ca.trustBundle.toPem();
  proxy = await startDashboardProxy({ port: 0, connect: () => tlsTo(net.connect(cport, '127.0.0.1'), roots), token: async () => 'the-token' });
  strangerProxy = await startDashboardProxy({ port: 0, connect: () => tlsTo(net.connect(sport, '127.0.0.1'), roots), token: async () => 'the-token' });
});

after(async () => {
  releaseStream?.();
  await Promise.all([proxy?.close(), strangerProxy?.close()]);
  controller?.closeAllConnections();
  stranger?.closeAllConnections();
  await Promise.all([new Promise((r) => controller?.close(r)), new Promise((r) => stranger?.close(r))]);
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(p: DashboardProxy, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((ok, fail) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, method, path, headers: { host: `127.0.0.1:${p.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

test('a_request_from_the_console_reaches_the_controller_with_the_token', async () => {
  const before = seen.length;
  const r = await call(proxy, 'GET', '/api/v1/status', { authorization: 'Bearer page-supplied', cookie: 'session=1' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['set-cookie'], undefined);
  const got = seen.slice(before);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.headers.authorization, 'Bearer the-token');
  assert.equal(got[0]!.headers.host, CONTROLLER_HOST);
  assert.equal(got[0]!.headers.cookie, undefined);
});

test('a_write_from_the_own_origin_passes_x_ambient_request_and_the_body', async () => {
  const before = seen.length;
  const body = JSON.stringify({ weights: { 'echo-v1': 50, 'echo-v2': 50 } });
  const r = await call(proxy, 'PUT', '/api/v1/services/apps/echo/split', { origin: `http://localhost:${proxy.port}`, host: `localhost:${proxy.port}`, 'content-type': 'application/json', 'x-ambient-request': '1' }, body);
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).echoed, body);
  const got = seen.slice(before);
  assert.equal(got[0]!.headers['x-ambient-request'], '1');
  assert.equal(got[0]!.headers.origin, undefined);
});

test('a_foreign_origin_is_refused_and_never_reaches_the_controller', async () => {
  const before = seen.length;
  for (const method of ['GET', 'PUT', 'POST']) {
    const r = await call(proxy, method, '/api/v1/services/apps/echo/split', { origin: 'http://evil.example', 'content-type': 'application/json', 'x-ambient-request': '1' }, '{"to":"echo-v2"}');
    assert.equal(r.status, 403, method);
    assert.equal(JSON.parse(r.body).error.code, 'AMB_DASHBOARD_REFUSED');
  }
  assert.equal(seen.length, before, 'nothing reached the controller');
});

test('a_dns_rebound_host_is_refused_and_never_reaches_the_controller', async () => {
  const before = seen.length;
  const r = await call(proxy, 'GET', '/api/v1/workloads', { host: `attacker.example:${proxy.port}` });
  assert.equal(r.status, 403);
  assert.match(JSON.parse(r.body).error.message, /Host "attacker.example/);
  const w = await call(proxy, 'POST', '/api/v1/rollouts/apps/echo/abort', { host: `attacker.example:${proxy.port}`, origin: `http://attacker.example:${proxy.port}`, 'content-type': 'application/json', 'x-ambient-request': '1' }, '{}');
  assert.equal(w.status, 403);
  assert.equal(seen.length, before, 'nothing reached the controller');
});

test('a_write_without_origin_is_refused_and_never_reaches_the_controller', async () => {
  const before = seen.length;
  const r = await call(proxy, 'POST', '/api/v1/rollouts/apps/echo/abort', { 'content-type': 'application/json', 'x-ambient-request': '1' }, '{}');
  assert.equal(r.status, 403);
  assert.equal(seen.length, before);
});

test('a_controller_the_mesh_roots_do_not_verify_never_gets_the_token', async () => {
  const r = await call(strangerProxy, 'GET', '/api/v1/status');
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).error.code, 'AMB_DASHBOARD_UPSTREAM');
  assert.equal(strangerSeen.length, 0);
});

test('server_sent_events_are_passed_on_before_the_stream_ends', async () => {
  const first = await new Promise<{ res: http.IncomingMessage; chunk: string }>((ok, fail) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/api/v1/flows/stream', headers: { host: `127.0.0.1:${proxy.port}`, accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.once('data', (chunk: string) => ok({ res, chunk }));
    });
    req.on('error', fail);
    req.end();
  });
  // The controller still holds the stream open: the first event came through unbuffered.
  assert.equal(first.res.headers['content-type'], 'text/event-stream');
  assert.equal(first.chunk, 'data: {"n":1}\n\n');
  let rest = '';
  first.res.on('data', (c: string) => (rest += c));
  const ended = new Promise((r) => first.res.on('end', r));
  releaseStream!();
  await ended;
  assert.equal(rest, 'data: {"n":2}\n\n');
});
