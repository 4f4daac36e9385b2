// Direct tier: the HBONE client and server on loopback with real TLS and certificates
// from the project's CA. Each test asserts what a user of the tunnel would see.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import tls from 'node:tls';
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import { HboneServer, type HboneServerOptions, type TunnelRecord, type HboneRequest } from '../core/hbone/server.js';
import { HboneClient, type HboneClientOptions } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { inProcessSigner, type CertificateAuthority } from '../core/identity/ca.js';
import { formatSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { certificateInfo } from '../core/identity/x509.js';
import { isMeshError } from '../core/errors.js';
import { newCa, issue, forgeLeaf, type Creds } from './support/pki.js';
import { echoServer, closedPort, readAll, tcpServer, waitFor, type TcpServer } from './support/net.js';

const TD = 'cluster.local';
let shared: { ca: CertificateAuthority; server: Creds; client: Creds } | undefined;

/** One CA and two workload certificates for the whole file (RSA key generation is slow). */
async function pki() {
  if (!shared) {
    const ca = await newCa();
    shared = { ca, server: await issue(ca, 'echo', 'echo-server'), client: await issue(ca, 'app', 'frontend') };
  }
  return shared;
}

interface Fixture {
  server: HboneServer;
  addr: SocketAddress;
  client: HboneClient;
  echo: TcpServer;
  records: TunnelRecord[];
  requests: HboneRequest[];
  creds: Awaited<ReturnType<typeof pki>>;
  open(target?: SocketAddress): ReturnType<HboneClient['connect']>;
}

async function fixture(t: TestContext, opts: { server?: Partial<HboneServerOptions>; client?: Partial<HboneClientOptions> } = {}): Promise<Fixture> {
  const creds = await pki();
  const records: TunnelRecord[] = [];
  const requests: HboneRequest[] = [];
  const echo = await echoServer();
  const server = new HboneServer({
    credentials: creds.server,
    trustBundle: creds.ca.trustBundle,
    trustDomain: TD,
    authorize: (r) => {
      requests.push(r);
      return { allow: true };
    },
    onTunnelEnd: (r) => records.push(r),
    ...opts.server,
  });
  const addr = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new HboneClient({ credentials: () => creds.client, trustBundle: creds.ca.trustBundle, trustDomain: TD, ...opts.client });
  t.after(async () => {
    client.destroy();
    await server.close();
    await echo.close();
  });
  return {
    server,
    addr,
    client,
    echo,
    records,
    requests,
    creds,
    open: (target = { host: '127.0.0.1', port: echo.port }) => client.connect({ source: creds.client.identity, peer: addr, target }),
  };
}

/** Sends `payload` then half-closes; resolves with everything received until the peer's end. */
async function roundTrip(stream: NodeJS.ReadWriteStream & { end(b?: Buffer | string): unknown }, payload: Buffer): Promise<Buffer> {
  const received = readAll(stream, 60_000);
  stream.end(payload);
  return received;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('tunnel carries a small payload both ways and reports both identities', async (t) => {
  const f = await fixture(t);
  const tunnel = await f.open();
  assert.equal(formatSpiffeId(tunnel.peer), `spiffe://${TD}/ns/echo/sa/echo-server`);
  const back = await roundTrip(tunnel.stream, Buffer.from('hello through the mesh'));
  assert.equal(back.toString(), 'hello through the mesh');
  assert.equal(formatSpiffeId(f.requests[0]!.peer), `spiffe://${TD}/ns/app/sa/frontend`);
  await waitFor(() => f.records.length === 1, 5000, 'tunnel record');
  assert.equal(f.records[0]!.status, 200);
  assert.equal(f.records[0]!.error, undefined);
  assert.deepEqual(f.records[0]!.bytes, { fromPeer: 22, toPeer: 22 });
});

test('50 MB crosses intact in both directions', async (t) => {
  const f = await fixture(t);
  const payload = randomBytes(50 * 1024 * 1024);
  const tunnel = await f.open();
  const back = await roundTrip(tunnel.stream, payload);
  assert.equal(back.length, payload.length);
  assert.equal(sha(back), sha(payload));
});

test('half-close: the app answers after the client finished sending, then closes its side', async (t) => {
  const f = await fixture(t);
  // The upstream reads until FIN, then answers with the byte count and closes.
  const counter = await tcpServer((s) => {
    let n = 0;
    s.on('data', (c: Buffer) => (n += c.length));
    s.on('end', () => s.end(`got ${n}`));
  });
  t.after(() => counter.close());
  const tunnel = await f.open({ host: '127.0.0.1', port: counter.port });
  const back = await roundTrip(tunnel.stream, Buffer.alloc(100_000, 7));
  assert.equal(back.toString(), 'got 100000');
});

test('half-close: the app closes its side first and the client can still send', async (t) => {
  const f = await fixture(t);
  const received: Buffer[] = [];
  const greeter = await tcpServer((s) => {
    s.end('bye first'); // FIN towards the client, reading side stays open
    s.on('data', (c: Buffer) => received.push(c));
  });
  t.after(() => greeter.close());
  const tunnel = await f.open({ host: '127.0.0.1', port: greeter.port });
  const first = await readAll(tunnel.stream, 5000);
  assert.equal(first.toString(), 'bye first');
  tunnel.stream.end('still talking');
  await waitFor(() => Buffer.concat(received).toString() === 'still talking', 5000, 'late bytes at the app');
});

test('forwarded, traceparent and baggage reach the server', async (t) => {
  const f = await fixture(t);
  const tp = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
  const tunnel = await f.client.connect({
    source: f.creds.client.identity,
    peer: f.addr,
    target: { host: '127.0.0.1', port: f.echo.port },
    forwardedFor: { host: '10.244.1.7', port: 41234 },
    traceparent: tp,
    baggage: { 'k8s.namespace.name': 'app', 'service.name': 'front end' },
  });
  tunnel.stream.end();
  await readAll(tunnel.stream, 5000);
  const r = f.requests[0]!;
  assert.deepEqual(r.forwardedFor, { host: '10.244.1.7', port: 41234 });
  assert.equal(r.traceparent, tp);
  assert.deepEqual(r.baggage, { 'k8s.namespace.name': 'app', 'service.name': 'front end' });
});

test('denial by the decision callback is 401 and the client gets AMB_HBONE_DENIED', async (t) => {
  const f = await fixture(t, { server: { authorize: () => ({ allow: false, reason: 'no policy allows app/frontend' }) } });
  await assert.rejects(f.open(), (err) => isMeshError(err, 'AMB_HBONE_DENIED') && /401/.test((err as Error).message));
  await waitFor(() => f.records.length === 1, 5000, 'tunnel record');
  assert.equal(f.records[0]!.status, 401);
  assert.match(f.records[0]!.error!, /no policy allows/);
  assert.equal(f.echo.sockets.size, 0, 'a denied tunnel must not reach the app');
});

test('an upstream that refuses is 503 and the client gets AMB_HBONE_UPSTREAM_UNAVAILABLE', async (t) => {
  const f = await fixture(t);
  const port = await closedPort();
  await assert.rejects(f.open({ host: '127.0.0.1', port }), (err) => isMeshError(err, 'AMB_HBONE_UPSTREAM_UNAVAILABLE'));
  await waitFor(() => f.records.length === 1, 5000, 'tunnel record');
  assert.equal(f.records[0]!.status, 503);
});

test('an upstream that does not answer in time is 503', async (t) => {
  const f = await fixture(t, {
    server: { connectUpstream: () => new Promise((_, reject) => setTimeout(() => reject(new Error('connect timed out')), 200)) },
  });
  await assert.rejects(f.open(), (err) => isMeshError(err, 'AMB_HBONE_UPSTREAM_UNAVAILABLE'));
});

/** A raw HTTP/2 session to the server with the client's certificate, for requests our client never sends. */
async function rawSession(t: TestContext, f: Fixture, creds: { key: string; cert: string } = f.creds.client) {
  const session = http2.connect(`https://127.0.0.1:${f.addr.port}`, {
    createConnection: () =>
      tls.connect({ host: '127.0.0.1', port: f.addr.port, ...creds, ca: f.creds.ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }),
  });
  session.on('error', () => {});
  t.after(() => session.destroy());
  return session;
}

async function statusOf(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<number> {
  const req = session.request(headers, { endStream: headers[':method'] !== 'CONNECT' });
  req.on('error', () => {});
  const [h] = (await Promise.race([
    new Promise((r) => req.once('response', (h) => r([h]))),
    new Promise((_, rej) => setTimeout(() => rej(new Error('no response in 5 s')), 5000)),
  ])) as [http2.IncomingHttpHeaders];
  req.close();
  return Number(h[':status']);
}

test('a request that is not CONNECT is 400', async (t) => {
  const f = await fixture(t);
  const s = await rawSession(t, f);
  assert.equal(await statusOf(s, { ':method': 'GET', ':path': '/', ':scheme': 'https', ':authority': `127.0.0.1:${f.echo.port}` }), 400);
});

test('CONNECT to a host name, a bad port or no port is 400', async (t) => {
  const f = await fixture(t);
  const s = await rawSession(t, f);
  for (const authority of ['echo.default.svc:80', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1']) {
    assert.equal(await statusOf(s, { ':method': 'CONNECT', ':authority': authority }), 400, authority);
  }
  assert.equal(f.echo.sockets.size, 0);
});

/** Connects with `creds` and reports whether an HBONE tunnel could be opened. */
async function rejectedWith(f: Fixture, creds: { key: string; cert: string }): Promise<boolean> {
  const client = new HboneClient({ credentials: () => creds, trustBundle: f.creds.ca.trustBundle, trustDomain: TD });
  try {
    const tun = await client.connect({ source: spiffeId('app', 'frontend'), peer: f.addr, target: { host: '127.0.0.1', port: f.echo.port } });
    tun.stream.destroy();
    return false;
  } catch {
    return true;
  } finally {
    client.destroy();
  }
}

test('client certificates the server must refuse are refused, and a valid one still works', async (t) => {
  const f = await fixture(t);
  const now = Date.now();
  const otherTd = await forgeLeaf(f.creds.ca, { uri: 'spiffe://other.example/ns/app/sa/frontend', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
  const expired = await forgeLeaf(f.creds.ca, { uri: `spiffe://${TD}/ns/app/sa/frontend`, notBefore: new Date(now - 7_200_000), notAfter: new Date(now - 3_600_000) });
  const noUri = await forgeLeaf(f.creds.ca, { notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) });
  const foreignCa = await newCa();
  const unknownRoot = await issue(foreignCa, 'app', 'frontend');
  assert.ok(await rejectedWith(f, otherTd), 'another trust domain');
  assert.ok(await rejectedWith(f, expired), 'expired');
  assert.ok(await rejectedWith(f, noUri), 'no URI SAN');
  assert.ok(await rejectedWith(f, unknownRoot), 'unknown root');
  assert.equal(f.requests.length, 0, 'no refused peer reached the decision callback');
  assert.equal(await rejectedWith(f, f.creds.client), false, 'the valid certificate');
});

test('a client offering no h2 in ALPN gets no HTTP/2 session', async (t) => {
  const f = await fixture(t);
  for (const alpn of [['http/1.1'], undefined]) {
    const sock = tls.connect({ host: '127.0.0.1', port: f.addr.port, ...f.creds.client, ca: f.creds.ca.trustBundle.pems(), checkServerIdentity: () => undefined, ...(alpn ? { ALPNProtocols: alpn } : {}) });
    const outcome = await new Promise<string>((resolve) => {
      sock.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      sock.on('close', () => resolve('closed'));
      sock.on('secureConnect', () => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      sock.on('data', (d: Buffer) => resolve(`data ${d.toString().slice(0, 20)}`));
      setTimeout(() => resolve('still open after 3 s'), 3000);
    });
    sock.destroy();
    assert.match(outcome, /^(closed|error)/, `ALPN ${alpn}: ${outcome}`);
  }
  assert.equal(f.requests.length, 0);
});

test('the client refuses a server whose identity is not the expected one', async (t) => {
  const f = await fixture(t);
  await assert.rejects(
    f.client.connect({
      source: f.creds.client.identity,
      peer: f.addr,
      expectedIdentities: [spiffeId('reviews', 'reviews')],
      target: { host: '127.0.0.1', port: f.echo.port },
    }),
    (err) => isMeshError(err, 'AMB_HBONE_PEER_IDENTITY') && /expected spiffe:\/\/cluster.local\/ns\/reviews\/sa\/reviews/.test((err as Error).message),
  );
  const ok = await f.client.connect({
    source: f.creds.client.identity,
    peer: f.addr,
    expectedIdentities: [spiffeId('echo', 'echo-server')],
    target: { host: '127.0.0.1', port: f.echo.port },
  });
  ok.stream.destroy();
});

test('200 concurrent tunnels share one connection', async (t) => {
  const f = await fixture(t);
  const tunnels = await Promise.all(Array.from({ length: 200 }, () => f.open()));
  assert.equal(f.client.stats.connections, 1);
  assert.equal(f.server.stats.connections, 1);
  assert.equal(f.server.stats.streams, 200);
  const answers = await Promise.all(tunnels.map((tun, i) => roundTrip(tun.stream, Buffer.from(`stream ${i}`))));
  answers.forEach((a, i) => assert.equal(a.toString(), `stream ${i}`));
});

test('past the peer stream limit the client opens another connection', async (t) => {
  const f = await fixture(t, { server: { limits: { maxConcurrentStreams: 10 } } });
  const first = await Promise.all(Array.from({ length: 10 }, () => f.open()));
  assert.equal(f.client.stats.connections, 1);
  const more = await Promise.all(Array.from({ length: 5 }, () => f.open()));
  assert.equal(f.client.stats.connections, 2);
  assert.equal(f.server.stats.connections, 2);
  for (const tun of [...first, ...more]) tun.stream.destroy();
});

/**
 * Frames of a rapid-reset attack (CVE-2023-44487), written by hand because Node's own
 * client never sends HEADERS for a stream it cancels at once: for each stream, HEADERS
 * (CONNECT, HPACK literals with indexed names) immediately followed by RST_STREAM(CANCEL).
 */
function rapidResetFrames(count: number, authority: string): Buffer {
  const lit = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  const block = Buffer.concat([lit(2, 'CONNECT'), lit(1, authority)]); // :method, :authority
  const frame = (type: number, flags: number, id: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    return Buffer.concat([h, payload]);
  };
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
  const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < count; i++) {
    const id = 1 + 2 * i;
    frames.push(frame(1, 0x4 /* END_HEADERS */, id, block), frame(3, 0, id, cancel));
  }
  return Buffer.concat(frames);
}

test('regression: a burst larger than the peer stream limit opens more connections instead of failing', async (t) => {
  // The pool used to promise 100 streams on a connection still in set-up, so a burst of
  // 16 against a peer allowing 1 stream per connection failed half its calls.
  const f = await fixture(t, { server: { limits: { maxConcurrentStreams: 1 } } });
  const tunnels = await Promise.all(Array.from({ length: 16 }, () => f.open()));
  assert.equal(f.client.stats.connections, 16);
  const answers = await Promise.all(tunnels.map((tun, i) => roundTrip(tun.stream, Buffer.from(`burst ${i}`))));
  answers.forEach((a, i) => assert.equal(a.toString(), `burst ${i}`));
});

test('a rapid-reset flood is cut off and a well-behaved client is served meanwhile', async (t) => {
  // The per-connection defence alone: attacker and client share an address and identity
  // here, so the penalty box (tested below with attackers of their own) is kept out of it.
  const f = await fixture(t, { server: { limits: { peerMaxEarlyResets: 1e9, peerMaxNewStreams: 1e9 } } });
  const attacker = tls.connect({ host: '127.0.0.1', port: f.addr.port, ...f.creds.client, ca: f.creds.ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
  t.after(() => attacker.destroy());
  attacker.on('error', () => {});
  await new Promise((r, rej) => attacker.once('secureConnect', r).once('error', rej));
  const received: Buffer[] = [];
  attacker.on('data', (d: Buffer) => received.push(d));
  const closed = new Promise((r) => attacker.once('close', r));
  attacker.write(rapidResetFrames(2000, `127.0.0.1:${f.echo.port}`));

  const tunnel = await f.open();
  assert.equal((await roundTrip(tunnel.stream, Buffer.from('still served'))).toString(), 'still served');
  await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('attacker still connected after 5 s')), 5000))]);
  // Find the first GOAWAY frame (type 7) among what the server sent and read its error code.
  const all = Buffer.concat(received);
  let code = -1;
  for (let off = 0; off + 9 <= all.length; ) {
    const len = all.readUIntBE(off, 3);
    if (all[off + 3] === 7 && off + 9 + 8 <= all.length && code === -1) code = all.readUInt32BE(off + 9 + 4);
    off += 9 + len;
  }
  assert.equal(code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  assert.ok(f.echo.sockets.size <= 1, 'reset streams left no upstream connections open');
});

test('a header block over the limit is refused and the connection serves others', async (t) => {
  const f = await fixture(t);
  const s = await rawSession(t, f);
  const req = s.request({ ':method': 'CONNECT', ':authority': `127.0.0.1:${f.echo.port}`, 'x-big': 'x'.repeat(64 * 1024) }, { endStream: false });
  const outcome = await new Promise<string>((resolve) => {
    req.on('response', (h) => resolve(`status ${h[':status']}`));
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.on('close', () => resolve(`closed ${req.rstCode}`));
    setTimeout(() => resolve('no outcome in 5 s'), 5000);
  });
  assert.doesNotMatch(outcome, /status 200|no outcome/, outcome);
  assert.equal(f.echo.sockets.size, 0);
  const tunnel = await f.open();
  assert.equal((await roundTrip(tunnel.stream, Buffer.from('ok'))).toString(), 'ok');
});

test('backpressure: an app that does not read stops the sender instead of filling memory', async (t) => {
  const f = await fixture(t);
  const stalled = await tcpServer((s) => s.pause());
  t.after(() => stalled.close());
  const tunnel = await f.open({ host: '127.0.0.1', port: stalled.port });
  const chunk = Buffer.alloc(64 * 1024);
  let accepted = 0;
  // Write until the stream says stop, then keep offering for a while: a bounded amount
  // (flow-control windows plus socket buffers) may be taken, never all 512 MB.
  const deadline = Date.now() + 3000;
  while (accepted < 512 * 1024 * 1024 && Date.now() < deadline) {
    if (tunnel.stream.write(chunk)) accepted += chunk.length;
    else {
      accepted += chunk.length;
      await Promise.race([new Promise((r) => tunnel.stream.once('drain', r)), new Promise((r) => setTimeout(r, 300))]);
    }
  }
  const limit = f.server.limits.streamWindowBytes * 2 + 16 * 1024 * 1024;
  assert.ok(accepted < limit, `sender buffered ${accepted} bytes, expected under ${limit}`);
  tunnel.stream.destroy();
});

test('an upstream reset resets the stream, and a stream reset resets the upstream', async (t) => {
  const f = await fixture(t);
  const resetter = await tcpServer((s) => s.once('data', () => s.resetAndDestroy()));
  t.after(() => resetter.close());
  const tunnel = await f.open({ host: '127.0.0.1', port: resetter.port });
  tunnel.stream.write('trigger');
  const code = await new Promise<number | undefined>((resolve) => {
    tunnel.stream.on('error', () => {});
    tunnel.stream.on('close', () => resolve(tunnel.stream.rstCode));
    setTimeout(() => resolve(-1), 5000);
  });
  assert.equal(code, http2.constants.NGHTTP2_CONNECT_ERROR);

  const seen: string[] = [];
  const watcher = await tcpServer((s) => s.on('error', (e: NodeJS.ErrnoException) => seen.push(e.code ?? 'error')).on('close', () => seen.push('close')));
  t.after(() => watcher.close());
  const t2 = await f.open({ host: '127.0.0.1', port: watcher.port });
  t2.stream.close(http2.constants.NGHTTP2_CANCEL);
  await waitFor(() => seen.includes('close'), 5000, 'upstream closed');
  assert.ok(seen.includes('ECONNRESET'), `upstream saw ${seen.join(',')}`);
});

test('renewal at half-life swaps the server certificate without breaking an open tunnel', async (t) => {
  const { ca, client } = await pki();
  const manager = new CertificateManager({ signer: inProcessSigner(ca, { ttlMs: 3000 }), trustBundle: ca.trustBundle });
  t.after(() => manager.close());
  const identity = spiffeId('echo', 'echo-server');
  const first = await manager.get(identity);
  const f = await fixture(t, { server: { credentials: first } });
  manager.on('rotated', (cert) => f.server.setCredentials(cert));
  const tunnel = await f.open();
  tunnel.stream.write('before ');
  const rotated = new Promise((r) => manager.once('rotated', r));
  await Promise.race([rotated, new Promise((_, rej) => setTimeout(() => rej(new Error('no rotation within 5 s')), 5000))]);
  const second = manager.current(identity)!;
  assert.notEqual(second.serial, first.serial);
  // A new handshake presents the new certificate.
  const sock = tls.connect({ host: '127.0.0.1', port: f.addr.port, ...client, ca: ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
  await new Promise((r, rej) => sock.once('secureConnect', r).once('error', rej));
  assert.equal(sock.getPeerCertificate().serialNumber.toLowerCase(), certificateInfo(second.cert).serial);
  sock.destroy();
  // The tunnel opened under the old certificate still carries bytes.
  assert.equal((await roundTrip(tunnel.stream, Buffer.from('after'))).toString(), 'before after');
});

test('drain: GOAWAY stops new tunnels on the connection while an open one finishes', async (t) => {
  const f = await fixture(t);
  const tunnel = await f.open();
  tunnel.stream.write('one ');
  const draining = f.server.drain(5000);
  await waitFor(() => f.client.stats.connections === 0, 5000, 'client to drop the draining connection');
  await assert.rejects(f.open(), (err) => isMeshError(err) && /ECONNREFUSED|closed/.test((err as Error).message));
  assert.equal((await roundTrip(tunnel.stream, Buffer.from('two'))).toString(), 'one two');
  await draining;
  assert.equal(f.server.stats.connections, 0);
});

test('a tunnel refused by the peer going away is opened again on a new connection', async (t) => {
  // The race of every graceful drain (an agent handing over, an idle timeout): the peer
  // sends GOAWAY while a new stream is on the wire. Streams above its last-stream-id were
  // not processed and are safe to open again (RFC 9113 sections 6.8 and 8.7); failing
  // them reset a client connection during an agent upgrade. Here the peer's first
  // connection sends GOAWAY(last-stream-id 1) when stream 3 arrives; its second answers.
  const creds = await pki();
  let connections = 0;
  const peer = http2.createSecureServer({ key: creds.server.key, cert: creds.server.cert, ca: creds.ca.trustBundle.pems(), requestCert: true, minVersion: 'TLSv1.3' });
  peer.on('session', () => connections++);
  peer.on('stream', (stream) => {
    stream.on('error', () => {});
    const first = connections === 1;
    if (first && stream.id === 3) {
      stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
      return;
    }
    stream.respond({ ':status': 200 });
    stream.pipe(stream);
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const client = new HboneClient({ credentials: () => creds.client, trustBundle: creds.ca.trustBundle, trustDomain: TD });
  let before: Awaited<ReturnType<HboneClient['connect']>> | undefined;
  t.after(async () => {
    before?.stream.destroy();
    client.destroy(); // first: the peer's close waits for its sessions to end
    await new Promise<void>((r) => peer.close(() => r()));
  });
  const open = () => client.connect({ source: creds.client.identity, peer: { host: '127.0.0.1', port: (peer.address() as net.AddressInfo).port }, target: { host: '127.0.0.1', port: 9 } });
  before = await open();
  const after = await open();
  assert.equal(connections, 2, 'the refused stream went out again on a second connection');
  assert.equal((await roundTrip(after.stream, Buffer.from('after'))).toString(), 'after');
  assert.equal((await roundTrip(before.stream, Buffer.from('before'))).toString(), 'before', 'the stream the peer processed still works');
});

test('a stream the peer refuses while staying up is not opened again', async (t) => {
  // REFUSED_STREAM on a connection that is not going away is the peer's answer (its
  // per-peer stream limit, a penalty): the caller gets it, the pool does not hammer.
  const creds = await pki();
  let streams = 0;
  const peer = http2.createSecureServer({ key: creds.server.key, cert: creds.server.cert, ca: creds.ca.trustBundle.pems(), requestCert: true, minVersion: 'TLSv1.3' });
  peer.on('stream', (stream) => {
    streams++;
    stream.on('error', () => {});
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  const client = new HboneClient({ credentials: () => creds.client, trustBundle: creds.ca.trustBundle, trustDomain: TD });
  t.after(async () => {
    client.destroy(); // first: the peer's close waits for its sessions to end
    await new Promise<void>((r) => peer.close(() => r()));
  });
  await assert.rejects(
    client.connect({ source: creds.client.identity, peer: { host: '127.0.0.1', port: (peer.address() as net.AddressInfo).port }, target: { host: '127.0.0.1', port: 9 } }),
    (err) => isMeshError(err, 'AMB_HBONE_CONNECT_FAILED') && /REFUSED_STREAM|error 7/.test((err as Error).message),
  );
  assert.equal(streams, 1);
  // One reservation, one release: the connection is idle again, not owed a stream.
  await waitFor(() => client.stats.streams === 0, 2000, 'the refused stream released');
});

test('drain deadline closes tunnels that do not finish', async (t) => {
  const f = await fixture(t);
  const tunnel = await f.open();
  tunnel.stream.on('error', () => {});
  const started = Date.now();
  await f.server.drain(300);
  assert.ok(Date.now() - started < 3000);
  await waitFor(() => tunnel.stream.destroyed || tunnel.stream.closed, 3000, 'tunnel closed by the deadline');
});

test('a connection with no tunnel is closed after the idle timeout', async (t) => {
  const f = await fixture(t, { server: { limits: { idleTimeoutMs: 300 } } });
  const tunnel = await f.open();
  await roundTrip(tunnel.stream, Buffer.from('x'));
  assert.equal(f.server.stats.connections, 1);
  await waitFor(() => f.server.stats.connections === 0, 5000, 'idle connection closed');
  // and the client simply dials again
  const again = await f.open();
  assert.equal((await roundTrip(again.stream, Buffer.from('y'))).toString(), 'y');
});

test('connecting to a port where nothing listens names the likely cause', async (t) => {
  const creds = await pki();
  const client = new HboneClient({ credentials: () => creds.client, trustBundle: creds.ca.trustBundle, trustDomain: TD });
  t.after(() => client.destroy());
  const port = await closedPort();
  await assert.rejects(
    client.connect({ source: creds.client.identity, peer: { host: '127.0.0.1', port }, target: { host: '127.0.0.1', port: 1 } }),
    (err) => isMeshError(err, 'AMB_HBONE_CONNECT_FAILED') && /ECONNREFUSED/.test((err as Error).message),
  );
});

test('a peer that is not TLS does not hang the client', async (t) => {
  const creds = await pki();
  const plain = await tcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  t.after(() => plain.close());
  const client = new HboneClient({ credentials: () => creds.client, trustBundle: creds.ca.trustBundle, trustDomain: TD, limits: { connectTimeoutMs: 2000 } });
  t.after(() => client.destroy());
  const started = Date.now();
  await assert.rejects(client.connect({ source: creds.client.identity, peer: { host: '127.0.0.1', port: plain.port }, target: { host: '127.0.0.1', port: 1 } }), (err) => isMeshError(err));
  assert.ok(Date.now() - started < 3000);
});

// Keep `net` referenced for the socket type used by helpers.
void net;
