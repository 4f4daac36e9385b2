// Direct tier: HTTP/2 by upgrade from HTTP/1.1 (`Upgrade: h2c`, RFC 7540 section 3.2)
// through the waypoint, with a real client doing the upgrade: curl --http2 (nghttp2),
// whose bytes a small loopback bridge carries into an HBONE tunnel to the waypoint, as a
// source node agent does. The upgraded request is answered on stream 1 over HTTP/2 and
// the connection carries further requests; on a port not declared HTTP/2 the Upgrade is
// declined and HTTP/1.1 answers. An Upgrade request that is not switched gets its body
// upstream whole.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import http2 from 'node:http2';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { echoApp, h2App, hboneClient, meshBackend, pki, startWaypoint, TD, type MeshBackend } from './support/waypoint.js';

const run = promisify(execFile);
const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });
const H2C_VIP = { host: '10.96.0.30', port: 80 };
const HTTP_VIP = { host: '10.96.0.31', port: 80 };

let backend: MeshBackend;
let h2: Awaited<ReturnType<typeof h2App>>;
let app: Awaited<ReturnType<typeof echoApp>>;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const bridges: net.Server[] = [];
/** What the HTTP/2 backend saw: each request's method, path and protocol. */
const h2Seen: Array<{ method: string; path: string }> = [];

before(async () => {
  await pki();
  backend = await meshBackend();
  h2 = await h2App((stream, headers) => {
    h2Seen.push({ method: String(headers[':method']), path: String(headers[':path']) });
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(`h2 backend: ${headers[':method']} ${headers[':path']} ua=${headers['user-agent']}`);
    });
  });
  app = await echoApp();
  const targets = new Map<string, TunnelTarget>([
    ['10.96.0.30:80', { address: H2C_VIP, service: 'shop/h2c', port: 80, appProtocol: 'kubernetes.io/h2c' }],
    ['10.96.0.31:80', { address: HTTP_VIP, service: 'shop/http', port: 80, appProtocol: 'http' }],
  ]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([
    ['shop/h2c:80', [mesh(h2.port)]],
    ['shop/http:80', [mesh(app.port)]],
  ]);
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port));
  client = await hboneClient();
});

after(async () => {
  for (const b of bridges) b.close();
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  await Promise.all([h2.close(), app.close()]);
});

/** A loopback port whose connections are carried in HBONE tunnels to `target` at the waypoint. */
async function bridge(target: SocketAddress): Promise<number> {
  const p = await pki();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => {});
    sock.pause();
    client.connect({ source: p.client.identity, peer: addr, target }).then(
      (t) => {
        t.stream.on('error', () => sock.destroy());
        sock.on('close', () => t.stream.destroy());
        sock.pipe(t.stream);
        t.stream.pipe(sock);
        sock.resume();
      },
      () => sock.destroy(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  bridges.push(server);
  return (server.address() as net.AddressInfo).port;
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '20', ...args], { timeout: 30_000 });
  return stdout;
}

test('curl_h2c_upgrade_is_answered_over_http2_and_the_connection_serves_more_streams', async () => {
  const port = await bridge(H2C_VIP);
  const before = h2Seen.length;
  const out = await curl(['--http2', '-A', 'upgrader', '-w', '|%{http_version}|%{response_code}|%{num_connects}\n', `http://127.0.0.1:${port}/first?x=1`, `http://127.0.0.1:${port}/second`]);
  const lines = out.trim().split('\n');
  assert.deepEqual(lines, [
    'h2 backend: GET /first?x=1 ua=upgrader|2|200|1',
    // The second request on the same (upgraded) connection: no new connect.
    'h2 backend: GET /second ua=upgrader|2|200|0',
  ]);
  assert.deepEqual(h2Seen.slice(before), [
    { method: 'GET', path: '/first?x=1' },
    { method: 'GET', path: '/second' },
  ]);
});

test('h2c_upgrade_on_a_port_not_declared_http2_is_declined_and_served_as_http1', async () => {
  const port = await bridge(HTTP_VIP);
  const out = await curl(['--http2', '-w', '|%{http_version}|%{response_code}\n', `http://127.0.0.1:${port}/plain`]);
  assert.match(out, /\|1\.1\|200\n$/, 'answered over HTTP/1.1');
  const body = out.slice(0, out.lastIndexOf('|', out.lastIndexOf('|') - 1));
  const seen = JSON.parse(body) as { path: string; headers: Record<string, string> };
  assert.equal(seen.path, '/plain');
  assert.equal(seen.headers['upgrade'], undefined, 'the Upgrade is not passed on');
  assert.equal(seen.headers['http2-settings'], undefined);
});

test('upgrade_request_not_switched_sends_its_body_upstream_whole', async () => {
  // An Upgrade node:http does not read the body of: the waypoint reads its Content-Length's
  // worth, so the pooled upstream connection never gets a head announcing a body that
  // does not follow (which would make the next request on it the body).
  const port = await bridge(HTTP_VIP);
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.write('POST /with-body HTTP/1.1\r\nHost: api.shop\r\nConnection: Upgrade\r\nUpgrade: something\r\nContent-Length: 11\r\n\r\nhello');
  sock.end(' world');
  await once(sock, 'close');
  const answer = Buffer.concat(chunks).toString();
  assert.match(answer, /^HTTP\/1\.1 200 /);
  const seen = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { path: string; body: string };
  assert.equal(seen.path, '/with-body');
  assert.equal(seen.body, 'hello world');
  // The pooled connection is in step: the next request gets its own answer.
  const out = await curl(['-w', '|%{response_code}', `http://127.0.0.1:${port}/after`]);
  assert.equal((JSON.parse(out.slice(0, out.lastIndexOf('|'))) as { path: string }).path, '/after');
});

test('h2c_upgrade_followed_by_bytes_that_are_not_http2_closes_that_connection_only', async () => {
  const port = await bridge(H2C_VIP);
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.write(`GET / HTTP/1.1\r\nHost: api.shop\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n`);
  await new Promise<void>((r) => {
    const check = () => (Buffer.concat(chunks).includes('\r\n\r\n') ? r() : sock.once('data', check));
    check();
  });
  assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  sock.write('GET / HTTP/1.1\r\n\r\n');
  await once(sock, 'close');
  // The waypoint goes on: a prior-knowledge HTTP/2 client on a new connection is served.
  const port2 = await bridge(H2C_VIP);
  const session = http2.connect(`http://127.0.0.1:${port2}`);
  session.on('error', () => {});
  try {
    const req = session.request({ ':path': '/still-there' });
    req.end();
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    await once(req, 'end');
    assert.match(Buffer.concat(parts).toString(), /GET \/still-there/);
  } finally {
    session.destroy();
  }
});
