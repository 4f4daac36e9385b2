// Direct tier: the waypoint's data path on loopback. A client opens HBONE (mTLS, our CA)
// to the waypoint with a Service VIP as target; the waypoint parses HTTP in the tunnel and
// forwards over HBONE under its own identity to a backend whose HBONE listener is a real
// HboneServer (or over plain TCP to a backend outside the mesh).
import { test, before, after } from 'node:test';
import http from 'node:http';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { TunnelRecord } from '../core/hbone/server.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { RouteAction, TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { closedPort, echoServer, readAll, waitFor, type TcpServer } from './support/net.js';
import { agentOver, echoApp, h2App, hboneClient, meshBackend, pki, request, socketLike, startWaypoint, TD, within, type MeshBackend, type Services } from './support/waypoint.js';

const WAYPOINT_ID = `spiffe://${TD}/ns/shop/sa/waypoint`;
const API_ID = `spiffe://${TD}/ns/shop/sa/api`;

interface World {
  backend: MeshBackend;
  app: Awaited<ReturnType<typeof echoApp>>;
  plainApp: Awaited<ReturnType<typeof echoApp>>;
  grpc: Awaited<ReturnType<typeof h2App>>;
  tcpEcho: TcpServer;
  services: Services;
  proxy: WaypointProxy;
  addr: SocketAddress;
  client: HboneClient;
  /** Releases the held /hold responses. */
  release: Array<() => void>;
  /** route decisions by path prefix (tests add their own) */
  routes: Array<(path: string) => RouteAction | undefined>;
  /** HBONE-in tunnel records. */
  records: TunnelRecord[];
}

let w: World;

const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });
const plain = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: false, identity: '' });
const vip = (last: number, port = 80) => ({ host: `10.96.0.${last}`, port });

before(async () => {
  await pki();
  const release: Array<() => void> = [];
  const backend = await meshBackend();
  const app = await echoApp({
    '/hold': (_req, res) => {
      release.push(() => res.end('held and released'));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
    },
    '/never': () => {},
    '/reset': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    },
    '/chunked-count': (req, res) => {
      let n = 0;
      let chunks = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        chunks++;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes: n, te: req.headers['transfer-encoding'] ?? null, chunks })));
    },
  });
  // WebSocket-like upgrade: answers 101 and then echoes bytes, upper-cased.
  app.server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    if (req.headers['upgrade'] !== 'websocket') return socket.destroy();
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n');
    if (head.length) socket.write(head.toString().toUpperCase());
    socket.on('data', (c: Buffer) => socket.write(c.toString().toUpperCase()));
    socket.on('end', () => socket.end());
  });
  const plainApp = await echoApp();
  const grpc = await h2App((stream, headers) => {
    const path = headers[':path'];
    if (path === '/echo.Echo/Bidi') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'bidi done' }));
      stream.on('data', (c: Buffer) => stream.write(c));
      stream.on('end', () => stream.end());
      return;
    }
    if (path === '/echo.Echo/ResetMidway') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write('some;');
      setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
      return;
    }
    if (path === '/echo.Echo/Slow') return; // never answers
    if (path === '/echo.Echo/Missing') {
      // gRPC "trailers-only": an error in the response headers, no body.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': headers['content-type'] ?? 'text/plain', 'x-path': String(path), 'x-authority': String(headers[':authority']) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'fine' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  const tcpEcho = await echoServer();
  const refused = await closedPort();
  const targets = new Map<string, TunnelTarget>();
  const endpoints = new Map<string, UpstreamEndpoint[]>();
  const service = (last: number, key: string, eps: UpstreamEndpoint[], appProtocol?: string, port = 80) => {
    targets.set(`10.96.0.${last}:${port}`, { address: vip(last, port), service: key, port, ...(appProtocol && { appProtocol }) });
    endpoints.set(`${key}:${port}`, eps);
  };
  service(10, 'shop/api', [mesh(app.port)]); // sniffed
  service(11, 'shop/plain', [plain(plainApp.port)], 'http'); // outside the mesh
  service(12, 'shop/grpc', [mesh(grpc.port)], 'grpc');
  service(13, 'shop/h2', [mesh(grpc.port)]); // sniffed h2c
  service(14, 'shop/tcp', [mesh(tcpEcho.port)], 'tcp');
  service(15, 'shop/sniffed-tcp', [plain(tcpEcho.port)]);
  service(16, 'shop/refusing', [plain(refused)], 'http');
  service(17, 'shop/refusing-mesh', [mesh(refused)], 'http');
  service(18, 'shop/empty', [], 'http');
  const routes: World['routes'] = [];
  const records: TunnelRecord[] = [];
  const { proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port, {
    limits: { sniffTimeoutMs: 500 },
    onTunnelEnd: (r) => records.push(r),
    route: (ctx) => {
      for (const r of routes) {
        const a = r(ctx.path);
        if (a) return a;
      }
      return { kind: 'forward', service: ctx.target.service!, port: ctx.target.port };
    },
  });
  w = { backend, app, plainApp, grpc, tcpEcho, services: { targets, endpoints }, proxy, addr, client: await hboneClient(), release, routes, records };
});

after(async () => {
  for (const r of w.release) r();
  w.client.destroy();
  await w.proxy.close(1000);
  await w.backend.hbone.close();
  await Promise.all([w.app.close(), w.plainApp.close(), w.grpc.close(), w.tcpEcho.close()]);
});

async function tunnel(target: SocketAddress) {
  const p = await pki();
  return w.client.connect({ source: p.client.identity, peer: w.addr, target });
}

test('http1_requests_reuse_one_upstream_hbone_connection_under_the_waypoint_identity', async () => {
  const before = { ...w.proxy.stats.http1 };
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const get = await request(agent, { path: '/hello?x=1', headers: { 'x-test': 'a' } });
    assert.equal(get.status, 200, JSON.stringify(get));
    const seen = JSON.parse(get.body);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.path, '/hello?x=1');
    assert.equal(seen.headers['x-test'], 'a');
    assert.equal(get.headers['x-echo'], 'yes');
    for (let i = 0; i < 4; i++) {
      const post = await request(agent, { method: 'POST', path: `/post/${i}`, body: `body ${i}`, headers: { 'content-type': 'text/plain' } });
      assert.equal(post.status, 200, JSON.stringify(post));
      assert.equal(JSON.parse(post.body).body, `body ${i}`);
    }
  } finally {
    agent.destroy();
  }
  const s = w.proxy.stats.http1;
  assert.equal(s.requests - before.requests, 5);
  assert.equal(s.opened - before.opened, before.opened === 0 ? 1 : 0, 'one upstream connection carries all five');
  assert.equal(s.reused - before.reused, before.opened === 0 ? 4 : 5);
  // The upstream leg is HBONE under the waypoint's own identity, not the client's.
  assert.ok(w.backend.peers.length >= 1);
  assert.ok(w.backend.peers.every((p) => p === WAYPOINT_ID), `backend saw ${w.backend.peers.join(', ')}`);
});

test('http1_from_two_tunnels_shares_the_pooled_upstream_connection', async () => {
  const before = { ...w.proxy.stats.http1 };
  for (let i = 0; i < 2; i++) {
    const t = await tunnel(vip(10));
    const agent = agentOver(t.stream);
    try {
      assert.equal((await request(agent, { path: `/t${i}` })).status, 200);
    } finally {
      agent.destroy();
    }
  }
  assert.equal(w.proxy.stats.http1.opened, before.opened, 'no new upstream connection for a new client tunnel');
  assert.equal(w.proxy.stats.http1.reused - before.reused, 2);
});

test('http1_to_an_endpoint_outside_the_mesh_goes_over_plain_tcp', async () => {
  const peersBefore = w.backend.peers.length;
  const t = await tunnel(vip(11));
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/plain' });
    assert.equal(a.status, 200);
    assert.equal(JSON.parse(a.body).path, '/plain');
  } finally {
    agent.destroy();
  }
  assert.equal(w.backend.peers.length, peersBefore, 'no HBONE tunnel for a plain endpoint');
});

test('hop_by_hop_headers_do_not_reach_the_backend', async () => {
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/hop', headers: { connection: 'keep-alive, x-secret', 'x-secret': 'no', 'keep-alive': 'timeout=1', 'proxy-connection': 'x', te: 'trailers', 'x-kept': 'yes' } });
    const seen = JSON.parse(a.body).headers;
    assert.equal(seen['x-secret'], undefined);
    assert.equal(seen['proxy-connection'], undefined);
    assert.equal(seen['keep-alive'], undefined);
    assert.equal(seen['te'], 'trailers');
    assert.equal(seen['x-kept'], 'yes');
  } finally {
    agent.destroy();
  }
});

test('chunked_upload_is_streamed_to_the_backend_in_pieces', async () => {
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ agent, host: 'api.shop', method: 'POST', path: '/chunked-count' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      // Three writes a while apart: a proxy that buffered whole would still pass this, but
      // the backend sees chunked encoding (no length was known), so nothing was buffered to count.
      let i = 0;
      const tick = () => {
        if (i++ < 3) {
          req.write(Buffer.alloc(10_000, 1));
          setTimeout(tick, 20);
        } else req.end();
      };
      tick();
    });
    const r = JSON.parse(answer);
    assert.equal(r.bytes, 30_000);
    assert.equal(r.te, 'chunked');
  } finally {
    agent.destroy();
  }
});

test('expect_100_continue_is_relayed_from_the_backend', async () => {
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const result = await within(
      new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
        let continued = false;
        const req = http.request({ agent, host: 'api.shop', method: 'PUT', path: '/expect', headers: { expect: '100-continue', 'content-length': 5 } });
        req.on('continue', () => {
          continued = true;
          req.end('hello');
        });
        req.on('response', (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c));
          res.on('end', () => resolve({ continued, body: b }));
        });
        req.on('error', reject);
        req.flushHeaders();
      }),
      10_000,
      'expect 100-continue',
    );
    assert.equal(result.continued, true);
    assert.equal(JSON.parse(result.body).body, 'hello');
  } finally {
    agent.destroy();
  }
});

test('websocket_upgrade_passes_bytes_both_ways_after_101', async () => {
  const t = await tunnel(vip(10));
  const s = t.stream;
  s.write('GET /ws HTTP/1.1\r\nHost: api.shop\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString('latin1')));
  await waitFor(() => got.includes('\r\n\r\n'), 10_000, 'the 101');
  assert.match(got, /^HTTP\/1\.1 101 /);
  assert.match(got.toLowerCase(), /upgrade: websocket/);
  const afterHead = () => got.slice(got.indexOf('\r\n\r\n') + 4);
  s.write('hello websocket');
  await waitFor(() => afterHead() === 'HELLO WEBSOCKET', 10_000, 'echoed bytes');
  s.write(' again');
  await waitFor(() => afterHead() === 'HELLO WEBSOCKET AGAIN', 10_000, 'echoed bytes again');
  s.end();
  await within(once(s, 'close'), 10_000, 'tunnel closed after both ends');
});

test('h2c_prior_knowledge_is_detected_and_forwarded_over_h2', async () => {
  const t = await tunnel(vip(13));
  const session = http2.connect('http://api.shop', { createConnection: () => socketLike(t.stream) });
  session.on('error', () => {});
  try {
    const st = session.request({ ':method': 'POST', ':path': '/plain/h2', 'content-type': 'text/plain' });
    st.end('over h2c');
    const [headers] = (await within(once(st, 'response'), 10_000, 'h2 response')) as [http2.IncomingHttpHeaders];
    const body = await readAll(st, 10_000);
    assert.equal(headers[':status'], 200);
    assert.equal(headers['x-path'], '/plain/h2');
    assert.match(String(headers['x-authority']), /^api\.shop(:80)?$/, 'the client\'s :authority goes through');
    assert.equal(body.toString(), 'over h2c');
    assert.ok(w.proxy.stats.h2.opened >= 1);
  } finally {
    session.destroy();
  }
});

async function h2Session(target: SocketAddress) {
  const t = await tunnel(target);
  const session = http2.connect('http://grpc.shop', { createConnection: () => socketLike(t.stream) });
  session.on('error', () => {});
  return session;
}

test('grpc_unary_passes_trailers_and_reuses_the_upstream_session', async () => {
  const session = await h2Session(vip(12));
  const before = { ...w.proxy.stats.h2 };
  try {
    for (let i = 0; i < 3; i++) {
      const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', 'content-type': 'application/grpc', te: 'trailers' });
      let trailers: http2.IncomingHttpHeaders | undefined;
      st.on('trailers', (tr) => (trailers = tr));
      st.end(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
      const [headers] = (await within(once(st, 'response'), 10_000, 'grpc response')) as [http2.IncomingHttpHeaders];
      const body = await readAll(st, 10_000);
      assert.equal(headers[':status'], 200);
      assert.equal(headers['content-type'], 'application/grpc');
      assert.deepEqual([...body], [0, 0, 0, 0, 2, 0x68, 0x69]);
      assert.equal(trailers?.['grpc-status'], '0');
      assert.equal(trailers?.['grpc-message'], 'fine');
    }
  } finally {
    session.destroy();
  }
  const s = w.proxy.stats.h2;
  assert.equal(s.requests - before.requests, 3);
  assert.ok(s.opened - before.opened <= 1, 'one multiplexed session to the endpoint');
  assert.ok(s.reused - before.reused >= 2);
});

test('grpc_trailers_only_error_reaches_the_client', async () => {
  const session = await h2Session(vip(12));
  try {
    const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/Missing', 'content-type': 'application/grpc', te: 'trailers' });
    st.end();
    const [headers] = (await within(once(st, 'response'), 10_000, 'grpc response')) as [http2.IncomingHttpHeaders];
    let trailers: http2.IncomingHttpHeaders = {};
    st.on('trailers', (tr) => (trailers = tr));
    await readAll(st, 10_000);
    // Trailers-only upstream: the status may come in the head or in trailers; either is gRPC.
    assert.equal(headers['grpc-status'] ?? trailers['grpc-status'], '5');
    assert.equal(headers['grpc-message'] ?? trailers['grpc-message'], 'not found');
  } finally {
    session.destroy();
  }
});

test('bidirectional_h2_streaming_interleaves_messages', async () => {
  const session = await h2Session(vip(12));
  try {
    const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/Bidi', 'content-type': 'application/grpc', te: 'trailers' });
    let got = '';
    st.on('data', (c: Buffer) => (got += c.toString()));
    let trailers: http2.IncomingHttpHeaders | undefined;
    st.on('trailers', (tr) => (trailers = tr));
    // Each message's echo arrives before the next is sent: nothing waits for the end.
    for (const m of ['one;', 'two;', 'three;']) {
      const want = got + m;
      st.write(m);
      await waitFor(() => got === want, 10_000, `echo of ${m}`);
    }
    st.end();
    await within(once(st, 'close'), 10_000, 'stream close');
    assert.equal(trailers?.['grpc-message'], 'bidi done');
  } finally {
    session.destroy();
  }
});

test('endpoint_refusing_connections_gives_503', async () => {
  for (const target of [vip(16), vip(17)]) {
    const t = await tunnel(target);
    const agent = agentOver(t.stream);
    try {
      const a = await request(agent, { path: '/refused' });
      assert.equal(a.status, 503, `${target.host}: ${a.body}`);
    } finally {
      agent.destroy();
    }
  }
  assert.ok(w.proxy.stats.http1.connectFailures >= 2);
});

test('service_without_endpoints_gives_503', async () => {
  const t = await tunnel(vip(18));
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/' });
    assert.equal(a.status, 503);
    assert.match(a.body, /no healthy endpoint/);
  } finally {
    agent.destroy();
  }
});

test('request_timeout_from_the_route_gives_504', async () => {
  w.routes.push((path) => (path === '/never' ? { kind: 'forward', service: 'shop/api', port: 80, requestTimeoutMs: 200 } : undefined));
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/never' });
    assert.equal(a.status, 504);
    // The connection still serves.
    assert.equal((await request(agent, { path: '/after-timeout' })).status, 200);
  } finally {
    agent.destroy();
  }
});

test('route_respond_action_is_answered_by_the_waypoint', async () => {
  w.routes.push((path) => (path === '/moved' ? { kind: 'respond', status: 301, headers: { location: 'http://api.shop/new' } } : undefined));
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/moved' });
    assert.equal(a.status, 301);
    assert.equal(a.headers['location'], 'http://api.shop/new');
  } finally {
    agent.destroy();
  }
});

test('upstream_reset_mid_response_resets_the_downstream', async () => {
  const t = await tunnel(vip(10));
  const agent = agentOver(t.stream);
  try {
    await assert.rejects(request(agent, { path: '/reset' }), (err: Error) => /aborted|reset|hang up|ECONNRESET|terminated/i.test(err.message));
  } finally {
    agent.destroy();
  }
});

test('tcp_port_passes_bytes_through_to_a_mesh_endpoint', async () => {
  const tunnelsBefore = w.backend.tunnels.length;
  const t = await tunnel(vip(14, 80));
  const back = readAll(t.stream, 10_000);
  t.stream.end(Buffer.from([0, 1, 2, 250, 251, 252]));
  assert.deepEqual([...(await back)], [0, 1, 2, 250, 251, 252]);
  // The destination learns the original client (HBONE `forwarded: for=`), and who carried it.
  const seen = w.backend.tunnels.slice(tunnelsBefore).find((r) => r.target.port === w.tcpEcho.port);
  assert.equal(seen?.forwardedFor?.host, '127.0.0.1');
  assert.equal(seen && `spiffe://${TD}/ns/${seen.peer.namespace}/sa/${seen.peer.serviceAccount}`, WAYPOINT_ID);
});

test('non_http_bytes_on_a_sniffed_port_pass_through_as_tcp', async () => {
  const t = await tunnel(vip(15));
  const back = readAll(t.stream, 10_000);
  // A TLS ClientHello-like start: not HTTP, decided at the first byte.
  t.stream.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
  assert.deepEqual([...(await back)], [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
});

test('malformed_http_gets_400_and_the_waypoint_keeps_serving', async () => {
  const t = await tunnel(vip(10));
  const got = readAll(t.stream, 10_000);
  t.stream.write('GET / HTTP/1.1\r\nHost: api.shop\r\nbad header line without colon\r\n\r\n');
  const answer = (await got).toString('latin1');
  assert.match(answer, /^HTTP\/1\.1 400 /);
  // Another client on another tunnel is served as usual.
  const t2 = await tunnel(vip(10));
  const agent = agentOver(t2.stream);
  try {
    assert.equal((await request(agent, { path: '/still-up' })).status, 200);
  } finally {
    agent.destroy();
  }
});

test('unknown_target_is_refused_with_401', async () => {
  const p = await pki();
  await assert.rejects(w.client.connect({ source: p.client.identity, peer: w.addr, target: { host: '10.96.9.9', port: 80 } }), /401/);
});

test('h2_upstream_reset_mid_response_resets_the_client_stream', async () => {
  const session = await h2Session(vip(12));
  try {
    const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/ResetMidway', 'content-type': 'application/grpc' });
    st.on('error', () => {});
    // The request stays open (a stream, as gRPC's are): Node reports a reset that arrives
    // after the client's own END_STREAM as a clean close (rstCode 0), at the waypoint too.
    st.write('x');
    st.resume();
    await within(once(st, 'response'), 10_000, 'head');
    await within(new Promise((r) => st.once('close', r)), 10_000, 'stream close');
    assert.notEqual(st.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'the client sees a reset, not a clean end');
  } finally {
    session.destroy();
  }
});

test('backend_request_timeout_over_h2_gives_504_and_the_session_goes_on', async () => {
  w.routes.push((path) => (path === '/echo.Echo/Slow' ? { kind: 'forward', service: 'shop/grpc', port: 80, backendRequestTimeoutMs: 100 } : undefined));
  // 600h, a valid Gateway API Duration longer than a timer holds, must not fire at once.
  w.routes.push((path) => (path === '/echo.Echo/Say' ? { kind: 'forward', service: 'shop/grpc', port: 80, backendRequestTimeoutMs: 600 * 3_600_000 } : undefined));
  const session = await h2Session(vip(12));
  try {
    const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/Slow', 'content-type': 'application/grpc' });
    st.end();
    const [headers] = (await within(once(st, 'response'), 10_000, 'head')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 504);
    await readAll(st, 10_000);
    const again = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', 'content-type': 'application/grpc' });
    again.end('x');
    const [h2] = (await within(once(again, 'response'), 10_000, 'head')) as [http2.IncomingHttpHeaders];
    assert.equal(h2[':status'], 200);
    await readAll(again, 10_000);
  } finally {
    session.destroy();
  }
});

test('each_tunnel_is_recorded_once_with_its_peer_and_bytes', async () => {
  const before = w.records.length;
  const t = await tunnel(vip(14, 80));
  const back = readAll(t.stream, 10_000);
  t.stream.end('twelve bytes');
  assert.equal((await back).toString(), 'twelve bytes');
  // (Tunnels of earlier tests may end meanwhile: this one is found by its target.)
  const mine = () => w.records.slice(before).filter((r) => r.request?.target.host === '10.96.0.14');
  await waitFor(() => mine().length >= 1, 10_000, 'the tunnel record');
  await new Promise((r) => setImmediate(r));
  assert.equal(mine().length, 1, 'recorded once');
  const r = mine()[0]!;
  assert.equal(r.status, 200);
  assert.equal(r.request?.target.host, '10.96.0.14');
  assert.equal(r.request?.peer.serviceAccount, 'frontend');
  assert.deepEqual(r.bytes, { fromPeer: 12, toPeer: 12 });
});

test('garbage_after_the_h2_preface_closes_that_tunnel_only', async () => {
  const t = await tunnel(vip(13));
  t.stream.on('error', () => {});
  // The preface, then a frame header claiming 16 MiB of an unknown type with nothing behind it, then noise.
  t.stream.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0xff, 0xff, 0xff, 0x04, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(64, 0xee)]));
  t.stream.resume();
  await within(new Promise((r) => t.stream.once('close', r)), 10_000, 'the broken tunnel closes');
  const session = await h2Session(vip(13));
  try {
    const st = session.request({ ':method': 'GET', ':path': '/after-garbage' });
    st.end();
    const [headers] = (await within(once(st, 'response'), 10_000, 'h2 response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 200);
    await readAll(st, 10_000);
  } finally {
    session.destroy();
  }
});
