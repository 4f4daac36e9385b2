// Direct tier: the sample programs (ambient-samples/echo, tcp-echo, client) as a cluster runs
// them: the compiled main.js started as a child process with the downward-API environment,
// driven over loopback. Every child is killed in an after hook; every wait is bounded.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { closedPort, readAll, waitFor } from './support/net.js';
import { callOn, CONFORMANCE_ECHO_METHOD } from './support/grpc-call.js';
import { echoAnswer } from './e2e/gamma-compare.js';
import { grpcMessages, grpcMethod, isGrpcContentType } from '../samples/echo/grpc.js';

const children = new Set<ChildProcess>();
function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
after(killAll);
process.on('exit', killAll);

interface Program {
  child: ChildProcess;
  port: number;
  lines: string[];
  /** Resolves with the exit code, or rejects after `ms`. */
  exited(ms: number): Promise<number | null>;
}

/** Starts `node dist/samples/<name>/main.js` and waits for its first log line. */
async function start(t: TestContext, name: string, env: Record<string, string>, ready = /listening on :(\d+)/): Promise<Program> {
  const main = fileURLToPath(new URL(`../samples/${name}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exit.then(() => (dead = true));
  await waitFor(() => dead || lines.some((l) => ready.test(l)), 10_000, `${name} to start`).catch((err: Error) => {
    throw new Error(`${err.message}; stdout=${JSON.stringify(lines)} stderr=${stderr}`);
  });
  assert.ok(!dead, `${name} exited early: ${stderr} ${lines.join('\n')}`);
  const m = ready.exec(lines.find((l) => ready.test(l))!)!;
  return {
    child,
    port: m[1] ? Number(m[1]) : 0,
    lines,
    exited: (ms) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${name} did not exit within ${ms} ms`)), ms).unref()),
      ]),
  };
}

const POD_ENV = { POD_NAME: 'echo-7d4b9-abcde', POD_NAMESPACE: 'shop', NODE_NAME: 'node-a', POD_IP: '10.244.1.7' };

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  localPort: number;
}

/** One HTTP/1.1 request on a fresh connection, bounded. */
function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer; host?: string; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: opts.host ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), localPort }));
      res.on('error', reject);
    });
    let localPort = 0;
    req.on('socket', (s) => s.on('connect', () => (localPort = s.localPort ?? 0)));
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface Echoed {
  pod: string;
  namespace: string;
  node: string;
  ip: string;
  method: string;
  path: string;
  httpVersion: string;
  headers: Record<string, string | string[]>;
  client: { address: string; port: number };
  body: string;
  bodyBytes: number;
  bodyTruncated: boolean;
}

test('echo answers HTTP/1.1 with JSON describing the request as the pod saw it', async (t) => {
  const port = await closedPort();
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: String(port) });
  assert.equal(echo.port, port, 'binds the PORT it was given');
  assert.match(echo.lines[0]!, new RegExp(`^listening on :${port}\\b`));

  const r = await get(port, '/orders/42?verbose=1&x=%20y', {
    method: 'POST',
    headers: { 'X-Request-Id': 'abc-123', 'X-Twice': ['one', 'two'], 'Content-Type': 'text/plain' },
    body: 'hello echo',
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-echo-pod'], POD_ENV.POD_NAME);
  const body = JSON.parse(r.text) as Echoed;
  assert.equal(body.pod, POD_ENV.POD_NAME);
  assert.equal(body.namespace, 'shop');
  assert.equal(body.node, 'node-a');
  assert.equal(body.ip, '10.244.1.7');
  assert.equal(body.method, 'POST');
  assert.equal(body.path, '/orders/42?verbose=1&x=%20y');
  assert.equal(body.httpVersion, '1.1');
  assert.equal(body.headers['x-request-id'], 'abc-123');
  assert.deepEqual(body.headers['x-twice'], ['one', 'two']);
  assert.equal(body.headers.host, `127.0.0.1:${port}`);
  assert.deepEqual(body.client, { address: '127.0.0.1', port: r.localPort }, 'IPv4-mapped address normalised');
  assert.equal(body.body, 'hello echo');
  assert.equal(body.bodyBytes, 10);
  assert.equal(body.bodyTruncated, false);

  await waitFor(() => echo.lines.some((l) => /^POST \/orders\/42\?verbose=1&x=%20y 200 \d+ms$/.test(l)), 5000, 'the request log line');
});

test('echo: without POD_NAME the pod is the host name; bodies over 64 KiB are truncated and say so', async (t) => {
  const echo = await start(t, 'echo', { PORT: '0' });
  assert.ok(echo.port > 0, 'PORT=0 logs the bound port');
  const big = Buffer.alloc(200_000, 'a');
  const r = await get(echo.port, '/big', { method: 'PUT', body: big });
  const body = JSON.parse(r.text) as Echoed;
  assert.equal(body.pod, os.hostname());
  assert.equal(body.namespace, '');
  assert.equal(body.body.length, 64 * 1024);
  assert.equal(body.bodyBytes, 200_000);
  assert.equal(body.bodyTruncated, true);
});

test('echo answers h2c with prior knowledge as HTTP/2.0', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const session = http2.connect(`http://127.0.0.1:${echo.port}`);
  t.after(() => session.destroy());
  session.on('error', () => {});
  const ask = (path: string, body?: string) =>
    new Promise<{ status: number; pod: string; json: Echoed }>((resolve, reject) => {
      const stream = session.request({ ':path': path, ':method': body ? 'POST' : 'GET', 'x-proto': 'h2' });
      stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      let status = 0;
      let pod = '';
      stream.on('response', (h) => {
        status = Number(h[':status']);
        pod = String(h['x-echo-pod']);
      });
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        try {
          resolve({ status, pod, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Echoed });
        } catch (err) {
          reject(err as Error);
        }
      });
      stream.on('error', reject);
      stream.on('close', () => reject(new Error(`stream closed (${stream.rstCode})`)));
      stream.end(body);
    });
  const [a, b] = await Promise.all([ask('/h2/one?x=1'), ask('/h2/two', 'payload')]);
  assert.equal(a.status, 200);
  assert.equal(a.pod, POD_ENV.POD_NAME);
  assert.equal(a.json.httpVersion, '2.0');
  assert.equal(a.json.path, '/h2/one?x=1');
  assert.equal(a.json.method, 'GET');
  assert.equal(a.json.headers['x-proto'], 'h2');
  assert.equal(a.json.headers[':authority'], `127.0.0.1:${echo.port}`);
  assert.equal(a.json.client.address, '127.0.0.1');
  assert.equal(a.json.client.port, session.socket.localPort);
  assert.equal(b.json.method, 'POST');
  assert.equal(b.json.body, 'payload');
  assert.equal(a.json.client.port, b.json.client.port, 'one connection, two streams');
});

/** Reads HTTP/2 frames from `socket` until stream 1 ends; returns its HEADERS block and body. */
function readStream1(socket: net.Socket, initial: Buffer, timeoutMs = 10_000): Promise<{ headerBlock: Buffer; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = initial;
    let headerBlock = Buffer.alloc(0);
    const body: Buffer[] = [];
    const timer = setTimeout(() => done(new Error('no end of stream 1 in time')), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      if (err) reject(err);
      else resolve({ headerBlock, body: Buffer.concat(body) });
    };
    const onData = (chunk?: Buffer) => {
      if (chunk) buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const [type, flags] = [buf[3]!, buf[4]!];
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 0x4 && !(flags & 0x1)) socket.write(Buffer.from([0, 0, 0, 0x4, 0x1, 0, 0, 0, 0])); // SETTINGS ACK
        if (type === 0x7) return done(new Error('GOAWAY from the server'));
        if (type === 0x3 && stream === 1) return done(new Error('RST_STREAM on stream 1'));
        if (stream !== 1) continue;
        if (type === 0x1) headerBlock = Buffer.from(payload);
        if (type === 0x0) body.push(Buffer.from(payload));
        if ((type === 0x0 || type === 0x1) && flags & 0x1) return done();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => done(new Error('connection closed before stream 1 ended')));
    onData();
  });
}

test('echo answers a gRPC call with one application/grpc+json message describing it, then grpc-status 0 in the trailers', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const session = http2.connect(`http://127.0.0.1:${echo.port}`);
  t.after(() => session.destroy());
  session.on('error', () => {});
  const [ok, again] = await Promise.all([
    callOn(session, { target: '', authority: 'echo:7070', metadata: [['x-test-case', 'set'], ['x-header-add', 'one'], ['x-header-add', 'two']], message: Buffer.from('{"hello":1}') }),
    callOn(session, { target: '', method: '/other.Service/Call' }),
  ]);
  assert.equal(ok.error, undefined);
  assert.equal(ok.httpStatus, 200);
  assert.equal(ok.headers['content-type'], 'application/grpc+json');
  assert.equal(ok.headers['x-echo-pod'], POD_ENV.POD_NAME);
  assert.equal(ok.grpcStatus, 0);
  assert.deepEqual(ok.trailers, { 'grpc-status': '0' });
  const m = ok.message as Echoed & { grpc: { service: string; method: string; messages: number } };
  assert.equal(m.pod, POD_ENV.POD_NAME);
  assert.equal(m.namespace, POD_ENV.POD_NAMESPACE);
  assert.equal(m.method, 'POST');
  assert.equal(m.path, CONFORMANCE_ECHO_METHOD);
  assert.deepEqual(m.grpc, { service: 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho', method: 'Echo', messages: 1 });
  assert.equal(m.body, '{"hello":1}', 'the request message, unframed');
  assert.equal(m.headers[':authority'], 'echo:7070');
  assert.equal(m.headers['x-test-case'], 'set');
  assert.equal(m.headers['x-header-add'], 'one,two');
  assert.equal(echoAnswer(ok.message)?.pod, POD_ENV.POD_NAME, 'the conformance harness reads it as an echo answer');
  assert.equal(again.grpcStatus, 0);
  assert.deepEqual((again.message as { grpc: unknown }).grpc, { service: 'other.Service', method: 'Call', messages: 1 });
});

test('echo gRPC: x-echo-grpc-status answers that status without a message; bad framing and compression are refused with gRPC statuses', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const session = http2.connect(`http://127.0.0.1:${echo.port}`);
  t.after(() => session.destroy());
  session.on('error', () => {});
  const asked = await callOn(session, { target: '', metadata: [['x-echo-grpc-status', '14']] });
  assert.equal(asked.httpStatus, 200);
  assert.equal(asked.grpcStatus, 14);
  assert.equal(asked.grpcMessage, 'status 14 requested by x-echo-grpc-status');
  assert.equal(asked.message, null);
  const invalid = await callOn(session, { target: '', metadata: [['x-echo-grpc-status', '17']] });
  assert.equal(invalid.grpcStatus, 3);
  assert.match(invalid.grpcMessage, /invalid x-echo-grpc-status "17"/);
  // Raw bodies: a truncated frame and a compressed one.
  const raw = (body: Buffer) =>
    new Promise<{ status: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
      const s = session.request({ ':method': 'POST', ':path': '/svc.S/M', 'content-type': 'application/grpc' });
      let trailers: http2.IncomingHttpHeaders = {};
      let status = '';
      s.on('response', (h) => (status = String(h[':status'])));
      s.on('trailers', (h) => (trailers = h));
      s.on('data', () => {});
      s.on('end', () => resolve({ status, trailers }));
      s.on('error', reject);
      s.end(body);
    });
  const truncated = await raw(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
  assert.equal(truncated.status, '200');
  assert.equal(truncated.trailers['grpc-status'], '3');
  const compressed = await raw(Buffer.from([1, 0, 0, 0, 1, 7]));
  assert.equal(compressed.trailers['grpc-status'], '12');
});

test('echo gRPC content types: application/grpc with or without a codec; HTTP/1.1 requests with it get the plain JSON answer', async (t) => {
  assert.equal(isGrpcContentType('application/grpc'), true);
  assert.equal(isGrpcContentType('application/grpc+proto'), true);
  assert.equal(isGrpcContentType('application/GRPC+json; charset=utf-8'), true);
  assert.equal(isGrpcContentType('application/grpc-web'), false);
  assert.equal(isGrpcContentType('application/json'), false);
  assert.equal(isGrpcContentType(undefined), false);
  assert.deepEqual(grpcMessages(Buffer.from([0, 0, 0, 0, 2, 0x7b, 0x7d, 0, 0, 0, 0, 0])), { messages: [Buffer.from('{}'), Buffer.alloc(0)] });
  assert.deepEqual(grpcMethod('/a.B/C'), { service: 'a.B', method: 'C' });
  assert.equal(grpcMethod('/a/b/c'), undefined);
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const r = await get(echo.port, '/svc.S/M', { method: 'POST', headers: { 'content-type': 'application/grpc' }, body: 'x' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal((JSON.parse(r.text) as Echoed).path, '/svc.S/M');
});

test('echo upgrades HTTP/1.1 to h2c (Upgrade: h2c) and answers the request on stream 1', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const socket = net.connect(echo.port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(
    'GET /upgraded?q=1 HTTP/1.1\r\nHost: echo.shop\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
      'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nX-Test: upgraded\r\n\r\n',
  );
  let seen = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no 101 in time')), 10_000);
    const onData = (c: Buffer) => {
      seen = Buffer.concat([seen, c]);
      if (seen.indexOf('\r\n\r\n') >= 0) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  const end = seen.indexOf('\r\n\r\n') + 4;
  assert.match(seen.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(seen.subarray(0, end).toString('latin1'), /\r\nUpgrade: h2c\r\n/i);
  // The client's connection preface and an empty SETTINGS frame.
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0])]));
  const { headerBlock, body } = await readStream1(socket, seen.subarray(end));
  assert.equal(headerBlock[0], 0x88, 'HPACK static entry 8, :status 200');
  const json = JSON.parse(body.toString('utf8')) as Echoed;
  assert.equal(json.httpVersion, '2.0');
  assert.equal(json.method, 'GET');
  assert.equal(json.path, '/upgraded?q=1');
  assert.equal(json.headers[':authority'], 'echo.shop');
  assert.equal(json.headers['x-test'], 'upgraded');
  assert.equal(json.headers.upgrade, undefined, 'hop-by-hop fields are not forwarded');
  assert.equal(json.client.address, '127.0.0.1');
  assert.equal(json.client.port, socket.localPort);
});

test('echo: ?status, ?delay, their validation and /healthz', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const t0 = Date.now();
  const slow = await get(echo.port, '/x?status=503&delay=300ms');
  const took = Date.now() - t0;
  assert.equal(slow.status, 503);
  assert.equal(slow.headers['x-echo-pod'], POD_ENV.POD_NAME);
  assert.equal((JSON.parse(slow.text) as Echoed).path, '/x?status=503&delay=300ms');
  assert.ok(took >= 290 && took < 5000, `delay=300ms took ${took} ms`);

  assert.equal((await get(echo.port, '/?status=418')).status, 418);
  assert.equal((await get(echo.port, '/?status=204')).status, 204);
  assert.equal((await get(echo.port, '/?delay=0.1s')).status, 200);

  for (const bad of ['abc', '99', '600', '1000', '20x', '']) {
    const r = await get(echo.port, `/?status=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, `status=${bad}`);
    assert.match(r.text, /invalid status/);
  }
  const informational = await get(echo.port, '/?status=100');
  assert.equal(informational.status, 400);
  assert.match(informational.text, /1xx/);
  for (const bad of ['soon', '31s', '-5ms', '1h']) {
    const r = await get(echo.port, `/?delay=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, `delay=${bad}`);
    assert.match(r.text, /invalid delay/);
  }
  const health = await get(echo.port, '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.text, 'ok');
  await waitFor(() => echo.lines.some((l) => /^GET \/\?status=abc 400 \d+ms$/.test(l)), 5000, 'the 400 log line');
});

test('echo: an injected fault from FAULT_* and /_echo/fault answers a share of requests with its status; DELETE heals', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0', FAULT_STATUS: '503', FAULT_PERCENT: '50' });
  const first = [];
  for (let i = 0; i < 4; i++) first.push((await get(echo.port, '/')).status);
  assert.deepEqual(first, [200, 503, 200, 503]);
  assert.equal((await get(echo.port, '/healthz')).status, 200, '/healthz is never faulted');

  const set = await get(echo.port, '/_echo/fault?status=500', { method: 'PUT' });
  assert.equal(set.status, 200);
  assert.deepEqual(JSON.parse(set.text), { status: 500, percent: 100, delayMs: 0 });
  assert.equal((await get(echo.port, '/a')).status, 500);
  assert.equal((await get(echo.port, '/b')).status, 500);

  const bad = await get(echo.port, '/_echo/fault?status=700', { method: 'PUT' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /invalid fault status "700"/);
  assert.equal((await get(echo.port, '/c')).status, 500, 'a refused change keeps the fault in force');

  assert.equal((await get(echo.port, '/_echo/fault', { method: 'DELETE' })).status, 200);
  assert.equal((await get(echo.port, '/d')).status, 200);
  assert.deepEqual(JSON.parse((await get(echo.port, '/_echo/fault')).text), { status: 0, percent: 0, delayMs: 0 });
});

test('echo refuses to start with a malformed FAULT_* and says which', async (t) => {
  const main = fileURLToPath(new URL('../samples/echo/main.js', import.meta.url));
  const child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', FAULT_PERCENT: 'lots' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2);
  assert.match(out, /invalid fault percent "lots"/);
});

test('echo answers a request whose client half-closed right after sending it, then closes', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const socket = net.connect({ port: echo.port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const received = readAll(socket, 10_000);
  socket.end('GET /fin?delay=100ms HTTP/1.1\r\nHost: echo\r\n\r\n');
  const text = (await received).toString('utf8');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Echoed;
  assert.equal(json.path, '/fin?delay=100ms');
});

test('echo listens dual-stack: an IPv6 client is seen as ::1', async (t) => {
  const probe = net.createServer();
  const v6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!v6) {
    // CI must prove it: a machine without IPv6 loopback fails there rather than passing silently.
    if (process.env['CI'] === 'true') assert.fail('no IPv6 loopback: the dual-stack listen cannot be checked');
    return t.skip('no IPv6 loopback here');
  }
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const r = await get(echo.port, '/v6', { host: '::1' });
  assert.equal((JSON.parse(r.text) as Echoed).client.address, '::1');
});

test('echo on SIGTERM finishes the request in flight, refuses new ones and exits 0', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  // An idle keep-alive connection must not hold the shutdown up.
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  await new Promise<void>((resolve, reject) => http.get({ port: echo.port, host: '127.0.0.1', path: '/idle', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));

  const inflight = get(echo.port, '/slow?delay=700ms');
  await new Promise((r) => setTimeout(r, 200)); // let the request arrive
  const t0 = Date.now();
  echo.child.kill('SIGTERM');
  const r = await inflight;
  assert.equal(r.status, 200, 'the in-flight request completes');
  assert.equal(await echo.exited(6000), 0);
  assert.ok(Date.now() - t0 < 5000, `exited after ${Date.now() - t0} ms`);
  await assert.rejects(get(echo.port, '/after', { timeoutMs: 2000 }), 'no longer accepting');
});

test('tcp-echo echoes 1 MB intact, answers half-close with FIN, and names the pod with PREFIX', async (t) => {
  const prog = await start(t, 'tcp-echo', { POD_NAME: 'tcp-echo-1', PREFIX: 'hello from', PORT: '0' });
  const data = randomBytes(1024 * 1024);
  const socket = net.connect({ port: prog.port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const received = readAll(socket, 20_000);
  socket.end(data); // write everything, then FIN
  const got = await received; // ends only when the server sends its FIN
  const line = 'hello from tcp-echo-1\n';
  assert.equal(got.subarray(0, line.length).toString('utf8'), line);
  assert.equal(got.length, line.length + data.length);
  assert.ok(got.subarray(line.length).equals(data), 'every byte echoed in order');

  assert.equal(prog.child.kill('SIGTERM'), true);
  assert.equal(await prog.exited(6000), 0);
});

test('tcp-echo without PREFIX echoes only; half-closed connections keep echoing back', async (t) => {
  const prog = await start(t, 'tcp-echo', { POD_NAME: 'tcp-echo-2', PORT: '0' });
  const socket = net.connect({ port: prog.port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const received = readAll(socket, 10_000);
  socket.write('ping ');
  await waitFor(() => socket.bytesRead >= 5, 5000, 'the first echo');
  socket.end('pong');
  assert.equal((await received).toString(), 'ping pong');
  await waitFor(() => prog.lines.some((l) => /^conn 127\.0\.0\.1:\d+ in=9 out=9 \d+ms$/.test(l)), 5000, 'the connection log line');
  prog.child.kill('SIGINT');
  assert.equal(await prog.exited(6000), 0);
});

test('client stays alive doing nothing and exits 0 promptly on SIGTERM', async (t) => {
  const prog = await start(t, 'client', {}, /client idle/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(prog.child.exitCode, null, 'still running');
  const t0 = Date.now();
  prog.child.kill('SIGTERM');
  assert.equal(await prog.exited(3000), 0);
  assert.ok(Date.now() - t0 < 2000, `exited after ${Date.now() - t0} ms`);
});

test('client with TARGET_URL polls it every INTERVAL and logs the status line; errors never stop it', async (t) => {
  const echo = await start(t, 'echo', { ...POD_ENV, PORT: '0' });
  const prog = await start(t, 'client', { TARGET_URL: `http://127.0.0.1:${echo.port}/watch?status=202`, INTERVAL: '100ms' }, /client polling/);
  await waitFor(() => prog.lines.filter((l) => / -> HTTP\/1\.1 202 Accepted pod=echo-7d4b9-abcde \d+ms$/.test(l)).length >= 3, 10_000, 'three polls');

  const dead = await closedPort();
  const failing = await start(t, 'client', { TARGET_URL: `http://127.0.0.1:${dead}/`, INTERVAL: '0.1' }, /client polling/);
  await waitFor(() => failing.lines.filter((l) => /-> error ECONNREFUSED/.test(l)).length >= 2, 10_000, 'two logged errors');
  assert.equal(failing.child.exitCode, null, 'still running after errors');

  for (const p of [prog, failing]) p.child.kill('SIGTERM');
  assert.equal(await prog.exited(3000), 0);
  assert.equal(await failing.exited(3000), 0);
});

const REPO = new URL('../../', import.meta.url);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: any;
}

function manifest(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(new URL(`samples/manifests/${file}`, REPO), 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file} parses`);
  return docs.map((d) => d.toJSON() as K8sObject);
}

test('sample manifests: Deployments whose selectors match, downward-API env, Services onto the container ports', () => {
  const want = [
    { file: 'echo.yaml', name: 'echo', replicas: 3, port: 8080, service: { port: 80, name: 'http' } },
    { file: 'tcp-echo.yaml', name: 'tcp-echo', replicas: 2, port: 9000, service: { port: 9000, name: 'tcp' } },
    { file: 'client.yaml', name: 'client', replicas: 1, port: undefined, service: undefined },
  ];
  for (const w of want) {
    const objs = manifest(w.file);
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    assert.equal(dep.apiVersion, 'apps/v1');
    assert.equal(dep.metadata.name, w.name);
    assert.equal(dep.spec.replicas, w.replicas);
    assert.deepEqual(dep.spec.selector.matchLabels, { app: w.name });
    assert.equal(dep.spec.template.metadata.labels.app, w.name);
    const [c] = dep.spec.template.spec.containers as Array<{ image: string; imagePullPolicy: string; ports?: Array<{ containerPort: number; name: string }>; env?: Array<{ name: string; valueFrom?: { fieldRef: { fieldPath: string } } }> }>;
    assert.equal(c!.image, `ambient-samples/${w.name}:latest`);
    assert.equal(c!.imagePullPolicy, 'IfNotPresent');
    assert.equal(c!.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef.fieldPath, 'metadata.name');
    if (w.name === 'echo') {
      const refs = Object.fromEntries(c!.env!.filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom!.fieldRef.fieldPath]));
      assert.deepEqual(refs, { POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', NODE_NAME: 'spec.nodeName', POD_IP: 'status.podIP' });
    }
    const svc = objs.find((o) => o.kind === 'Service');
    if (!w.service) {
      assert.equal(svc, undefined);
      continue;
    }
    assert.equal(c!.ports![0]!.containerPort, w.port);
    assert.equal(svc!.apiVersion, 'v1');
    assert.equal(svc!.metadata.name, w.name);
    assert.deepEqual(svc!.spec.selector, { app: w.name });
    assert.deepEqual(svc!.spec.ports[0], { name: w.service.name, port: w.service.port, targetPort: w.port, protocol: 'TCP' });
  }
});

test('sample Dockerfiles build from the repository root and run the compiled program as user node', () => {
  for (const name of ['echo', 'tcp-echo', 'client']) {
    const text = readFileSync(new URL(`samples/${name}/Dockerfile`, REPO), 'utf8');
    // Which Node release the stages use is checked for every image in node-runtime.test.ts.
    assert.equal(text.match(/^FROM node:[\d.]+-slim\b/gm)?.length, 2, `${name}: build and final stage on a node slim image`);
    assert.match(text, /^RUN npm ci\b/m);
    assert.match(text, /^RUN npx tsc -p tsconfig\.json$/m);
    assert.match(text, new RegExp(`^COPY --from=build /app/dist/samples/${name}/ dist/samples/${name}/$`, 'm'));
    assert.match(text, /^COPY --from=build \/app\/dist\/samples\/shared\/ dist\/samples\/shared\/$/m);
    assert.match(text, /^USER node$/m);
    assert.match(text, new RegExp(`^CMD \\["node", "dist/samples/${name}/main\\.js"\\]$`, 'm'));
    // What the CMD names exists after the build.
    readFileSync(new URL(`dist/samples/${name}/main.js`, REPO));
  }
});
