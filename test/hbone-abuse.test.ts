// Direct tier, playing the attacker against the HBONE server on loopback: rapid reset
// while reconnecting, identities spread over addresses, one peer taking every connection
// or stream, oversized header blocks, peers that vanish, roots removed from the trust
// bundle. Each attacker is a real TLS client with a certificate from our CA and its own
// source address (127.0.0.0/8 is all loopback), so that the good client next to it is a
// different peer, as it would be in a cluster.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HboneServer, type HboneServerOptions, type TunnelRecord } from '../core/hbone/server.js';
import { HboneClient, type HboneClientOptions } from '../core/hbone/client.js';
import { HboneServerMetrics } from '../core/hbone/metrics.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { CertificateAuthority } from '../core/identity/ca.js';
import { TrustBundle } from '../core/identity/trust-bundle.js';
import { isMeshError } from '../core/errors.js';
import { spiffeId } from '../core/identity/spiffe.js';
import { createCsr, generateKeyPem } from '../core/identity/x509.js';
import { newCa, issue, type Creds } from './support/pki.js';
import { echoServer, readAll, tcpServer, waitFor, type TcpServer } from './support/net.js';

const TD = 'cluster.local';
const { constants: C } = http2;

let shared: { ca: CertificateAuthority; server: Creds; good: Creds; attackers: Creds[] } | undefined;
/** One CA and one leaf key for every identity of the file: RSA key generation is what is slow on a busy machine. */
async function pki() {
  if (!shared) {
    const ca = await newCa();
    const key = await generateKeyPem();
    const leaf = (ns: string, sa: string): Creds => {
      const identity = spiffeId(ns, sa, ca.trustDomain);
      return { key, cert: ca.sign(createCsr(key, identity), { identity }).chain.join(''), identity };
    };
    shared = { ca, server: leaf('echo', 'echo-server'), good: leaf('app', 'frontend'), attackers: [0, 1, 2, 3].map((i) => leaf('evil', `attacker-${i}`)) };
  }
  return shared;
}

/** A TCP connection to the loopback `port` from the source address `from`. */
const tcpFrom = (port: number, from: string) => net.connect({ host: '127.0.0.1', port, localAddress: from });

/** A pino logger whose lines the test can count and weigh. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
  return { logger, lines, bytes: () => lines.reduce((n, l) => n + l.length, 0) };
}

interface Fixture {
  server: HboneServer;
  addr: SocketAddress;
  echo: TcpServer;
  records: TunnelRecord[];
  registry: Registry;
  log: ReturnType<typeof capturedLogger>;
  creds: Awaited<ReturnType<typeof pki>>;
  /** An HboneClient for `creds` whose connections come from `from`. */
  client(creds: Creds, from: string, opts?: Partial<HboneClientOptions>): HboneClient;
  open(client: HboneClient, creds: Creds): ReturnType<HboneClient['connect']>;
}

async function fixture(t: TestContext, server: Partial<HboneServerOptions> = {}): Promise<Fixture> {
  const creds = await pki();
  const echo = await echoServer();
  const records: TunnelRecord[] = [];
  const registry = new Registry();
  const log = capturedLogger();
  const s = new HboneServer({
    credentials: creds.server,
    trustBundle: creds.ca.trustBundle,
    trustDomain: TD,
    onTunnelEnd: (r) => records.push(r),
    metrics: new HboneServerMetrics(registry),
    logger: log.logger,
    ...server,
  });
  const addr = await s.listen({ host: '0.0.0.0', port: 0 });
  const clients: HboneClient[] = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    await s.close();
    await echo.close();
  });
  return {
    server: s,
    addr,
    echo,
    records,
    registry,
    log,
    creds,
    client(c, from, opts = {}) {
      const client = new HboneClient({
        credentials: () => c,
        trustBundle: creds.ca.trustBundle,
        trustDomain: TD,
        connectTransport: (peer) => net.connect({ host: peer.host, port: peer.port, localAddress: from }),
        ...opts,
      });
      clients.push(client);
      return client;
    },
    open: (client, c) => client.connect({ source: c.identity, peer: { host: '127.0.0.1', port: addr.port }, target: { host: '127.0.0.1', port: echo.port } }),
  };
}

async function metric(registry: Registry, name: string, reason: string): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

async function echoes(tunnel: Awaited<ReturnType<HboneClient['connect']>>, text: string): Promise<string> {
  const back = readAll(tunnel.stream, 10_000);
  tunnel.stream.end(text);
  return (await back).toString();
}

/** A TLS connection with `creds` from `from`: what became of it within `ms`. */
function tlsAttempt(port: number, creds: Creds, from: string, ca: CertificateAuthority, ms = 10_000): Promise<{ sock: tls.TLSSocket; outcome: 'handshake' | 'refused' | 'timeout' }> {
  return new Promise((resolve) => {
    const sock = tls.connect({ socket: tcpFrom(port, from), key: creds.key, cert: creds.cert, ca: ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
    sock.on('error', () => {});
    // A loaded machine can be slow to handshake: that is not a refusal.
    const timer = setTimeout(() => resolve({ sock, outcome: 'timeout' }), ms);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ sock, outcome: 'handshake' });
    });
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ sock, outcome: 'refused' });
    });
  });
}

/** HEADERS (CONNECT) immediately followed by RST_STREAM(CANCEL), `count` times, after the preface. */
function rapidResetFrames(count: number, authority: string, firstId = 1): Buffer {
  const lit = (index: number, value: string) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  const block = Buffer.concat([lit(2, 'CONNECT'), lit(1, authority)]);
  const frame = (type: number, flags: number, id: number, payload: Buffer) => {
    const h = Buffer.alloc(9);
    h.writeUIntBE(payload.length, 0, 3);
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    return Buffer.concat([h, payload]);
  };
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(C.NGHTTP2_CANCEL);
  const frames: Buffer[] = [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0))];
  for (let i = 0; i < count; i++) {
    const id = firstId + 2 * i;
    frames.push(frame(1, 0x4, id, block), frame(3, 0, id, cancel));
  }
  return Buffer.concat(frames);
}

/** GOAWAY error codes among frames a server sent. */
function goawayCodes(received: Buffer[]): number[] {
  const all = Buffer.concat(received);
  const codes: number[] = [];
  for (let off = 0; off + 9 <= all.length; ) {
    const len = all.readUIntBE(off, 3);
    if (all[off + 3] === 7 && off + 9 + 8 <= all.length) codes.push(all.readUInt32BE(off + 9 + 4));
    off += 9 + len;
  }
  return codes;
}

interface Tally {
  handshakes: number;
  refused: number;
  goaways: number[];
}

/**
 * One attacker: connects from `from` with `creds`, floods rapid resets, reconnects when
 * cut off, until `stop()`. Counts its handshakes and the connections refused before one.
 */
async function rapidResetAttacker(port: number, creds: Creds, from: string, ca: CertificateAuthority, authority: string, tally: Tally, stop: () => boolean) {
  while (!stop()) {
    const { sock, outcome } = await tlsAttempt(port, creds, from, ca);
    if (outcome === 'refused') {
      tally.refused++;
      sock.destroy();
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (outcome === 'timeout') {
      sock.destroy();
      continue;
    }
    tally.handshakes++;
    const received: Buffer[] = [];
    sock.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise((r) => sock.once('close', r));
    // Past the per-connection limit (200), as a real attack is; the whole process (server,
    // attackers, good client) shares one event loop here, so no more than that.
    sock.write(rapidResetFrames(400, authority));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    sock.destroy();
    tally.goaways.push(...goawayCodes(received));
  }
}

test('rapid_reset_attackers_that_reconnect_are_refused_for_the_penalty_while_a_good_client_is_served', { timeout: 60_000 }, async (t) => {
  const PENALTY_MS = 6000;
  const f = await fixture(t, { limits: { peerPenaltyMs: PENALTY_MS } });
  const { ca, good, attackers } = f.creds;
  const authority = `127.0.0.1:${f.echo.port}`;
  const goodClient = f.client(good, '127.0.0.2');
  let upstreamConnections = 0;
  f.echo.server.on('connection', () => upstreamConnections++);

  // The attack goes on until the good client made its requests and every attacker was
  // refused at least a few times (bounded: a busy machine is slow, not wrong).
  const tallies: Tally[] = attackers.map(() => ({ handshakes: 0, refused: 0, goaways: [] }));
  let stop = false;
  const attackStarted = Date.now();
  const attack = Promise.all(attackers.map((a, i) => rapidResetAttacker(f.addr.port, a, `127.0.0.${10 + i}`, ca, authority, tallies[i]!, () => stop)));
  let served = 0;
  const failures: string[] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (served < 60 || tallies.some((t) => t.refused < 3))) {
    const batch = await Promise.allSettled(Array.from({ length: 10 }, async (_, i) => echoes(await f.open(goodClient, good), `req ${served + i}`)));
    for (const r of batch) {
      if (r.status === 'fulfilled') served++;
      else failures.push(String(r.reason));
    }
  }
  stop = true;
  await attack;
  // Each penalty period lets an attacker back in for the two or so connections its budget allows.
  const periods = 1 + Math.floor((Date.now() - attackStarted) / PENALTY_MS);
  assert.deepEqual(failures, [], 'every good request during the attack succeeded');
  assert.ok(served >= 60, `good requests during the attack: ${served}`);

  for (const [i, tally] of tallies.entries()) {
    // Cut off per connection (ENHANCE_YOUR_CALM), then refused before the handshake.
    assert.ok(tally.goaways.includes(C.NGHTTP2_ENHANCE_YOUR_CALM), `attacker ${i} got GOAWAY ENHANCE_YOUR_CALM: ${JSON.stringify(tally)}`);
    assert.ok(tally.handshakes <= 4 * periods, `attacker ${i} was refused after a few connections per penalty (${periods} periods): ${JSON.stringify(tally)}`);
    assert.ok(tally.refused > 0, `attacker ${i} was refused: ${JSON.stringify(tally)}`);
  }
  // Reset streams never cost an upstream connection: only the good requests made one.
  assert.ok(upstreamConnections <= served + 5, `upstream connections ${upstreamConnections} for ${served} good requests`);
  // Still in the box after the attack: a quiet reconnect is refused before the handshake.
  const during = await tlsAttempt(f.addr.port, attackers[0]!, '127.0.0.10', ca);
  during.sock.destroy();
  assert.equal(during.outcome, 'refused', 'the attacker is refused during the penalty');
  // The good client, after the attack.
  for (let i = 0; i < 20; i++) assert.equal(await echoes(await f.open(goodClient, good), `after ${i}`), `after ${i}`);

  // Counted, not logged a line each: a few records at most per attacker, a bounded log.
  const resets = await metric(f.registry, 'ambient_hbone_rejected_streams_total', 'reset_before_answer');
  assert.ok(resets >= 4 * 200, `reset streams counted: ${resets}`);
  assert.ok((await metric(f.registry, 'ambient_hbone_refused_connections_total', 'peer_penalised')) >= 4);
  assert.ok((await metric(f.registry, 'ambient_hbone_refused_connections_total', 'rapid_reset')) >= 4);
  const resetRecords = f.records.filter((r) => r.status === 0).length;
  assert.ok(resetRecords <= 4 * 25 * periods, `records of reset streams: ${resetRecords} (of ${resets} resets)`);
  // A penalty line per attacker per period and a summary line per interval, not a line per stream.
  const maxLines = 12 * periods + 20;
  assert.ok(f.log.lines.length <= maxLines && f.log.bytes() <= maxLines * 1000, `log: ${f.log.lines.length} lines, ${f.log.bytes()} bytes (${resets} resets)`);
  assert.ok(f.log.lines.some((l) => l.includes('refused (summary)')), 'the summary line was written');

  // The penalty ends: the attacker's address may connect again (and behave).
  await new Promise((r) => setTimeout(r, PENALTY_MS));
  const reformed = f.client(attackers[0]!, '127.0.0.10');
  assert.equal(await echoes(await f.open(reformed, attackers[0]!), 'sorry'), 'sorry');
});

test('an_identity_spreading_rapid_resets_over_many_addresses_is_refused_from_any_address', { timeout: 30_000 }, async (t) => {
  // Budgets small enough that no address crosses its own (50) but the identity (4 x 50) does.
  const f = await fixture(t, { limits: { peerMaxEarlyResets: 50, peerIdentityFactor: 4 } });
  const { ca, good, attackers } = f.creds;
  const attacker = attackers[1]!;
  for (let i = 0; i < 8; i++) {
    const { sock, outcome } = await tlsAttempt(f.addr.port, attacker, `127.0.1.${i + 1}`, ca);
    assert.equal(outcome, 'handshake', `address ${i} is not penalised itself`);
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(rapidResetFrames(40, `127.0.0.1:${f.echo.port}`));
    await Promise.race([closed, new Promise((r) => setTimeout(r, 300))]);
    sock.destroy();
  }
  // A fresh address, the same identity: the handshake completes (the identity is only
  // known then), and the connection is refused with GOAWAY ENHANCE_YOUR_CALM.
  const fresh = f.client(attacker, '127.0.1.99');
  await assert.rejects(f.open(fresh, attacker), (err) => isMeshError(err, 'AMB_HBONE_CONNECT_FAILED') && /GOAWAY 11|closed/.test((err as Error).message));
  assert.ok((await metric(f.registry, 'ambient_hbone_refused_connections_total', 'peer_penalised')) >= 1);
  // Someone else is served.
  assert.equal(await echoes(await f.open(f.client(good, '127.0.0.2'), good), 'fine'), 'fine');
});

/** An HTTP/2 session from `from` with `creds`; resolves once the server's SETTINGS arrived, or with the GOAWAY code it got instead. */
async function rawSession(t: TestContext, port: number, creds: Creds, from: string, ca: CertificateAuthority) {
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    createConnection: () => tls.connect({ socket: tcpFrom(port, from), key: creds.key, cert: creds.cert, ca: ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }),
  });
  session.on('error', () => {});
  t.after(() => session.destroy());
  let goaway: number | undefined;
  session.on('goaway', (code) => (goaway = code));
  await Promise.race([new Promise((r) => session.once('remoteSettings', r)), new Promise((r) => session.once('close', r))]);
  // A refusal follows the server's SETTINGS at once.
  await new Promise((r) => setTimeout(r, 100));
  return { session, goaway: () => goaway };
}

/** Opens a CONNECT on `session`: its status, or `rst <code>`. */
async function connectOutcome(session: http2.ClientHttp2Session, authority: string, extra: http2.OutgoingHttpHeaders = {}): Promise<string> {
  if (session.closed || session.destroyed) return 'session closed';
  const req = session.request({ ':method': 'CONNECT', ':authority': authority, ...extra }, { endStream: false });
  req.on('error', () => {});
  return new Promise<string>((resolve) => {
    req.once('response', (h) => resolve(`status ${h[':status']}`));
    req.once('close', () => resolve(`rst ${req.rstCode}`));
    setTimeout(() => resolve('no outcome in 5 s'), 5000);
  });
}

test('the connection past the per_address_limit gets GOAWAY ENHANCE_YOUR_CALM while another peer is served', async (t) => {
  const f = await fixture(t, { limits: { maxConnectionsPerAddress: 2, maxConnectionsPerIdentity: 3 } });
  const { ca, good, attackers } = f.creds;
  const a = attackers[2]!;
  const authority = `127.0.0.1:${f.echo.port}`;
  const first = await rawSession(t, f.addr.port, a, '127.0.2.1', ca);
  const second = await rawSession(t, f.addr.port, a, '127.0.2.1', ca);
  const third = await rawSession(t, f.addr.port, a, '127.0.2.1', ca);
  assert.equal(first.goaway(), undefined);
  assert.equal(second.goaway(), undefined);
  assert.equal(third.goaway(), C.NGHTTP2_ENHANCE_YOUR_CALM, 'the third connection from one address');
  assert.equal(await connectOutcome(first.session, authority), 'status 200');
  // The identity's limit (3) over addresses: one more from another address fits, the next does not.
  const fourth = await rawSession(t, f.addr.port, a, '127.0.2.2', ca);
  const fifth = await rawSession(t, f.addr.port, a, '127.0.2.3', ca);
  assert.equal(fourth.goaway(), undefined);
  assert.equal(fifth.goaway(), C.NGHTTP2_ENHANCE_YOUR_CALM, 'the fourth connection of one identity');
  // Another peer is served meanwhile.
  const other = await rawSession(t, f.addr.port, good, '127.0.0.2', ca);
  assert.equal(other.goaway(), undefined);
  assert.equal(await connectOutcome(other.session, authority), 'status 200');
  assert.equal(await metric(f.registry, 'ambient_hbone_refused_connections_total', 'peer_connection_limit'), 2);
  // A connection that ends gives its place back.
  second.session.destroy();
  await waitFor(() => f.server.stats.connections === 3, 5000, 'the server to see the close');
  const again = await rawSession(t, f.addr.port, a, '127.0.2.1', ca);
  assert.equal(again.goaway(), undefined);
});

test('the stream past the per_address_stream_limit gets REFUSED_STREAM while another peer is served', async (t) => {
  const f = await fixture(t, { limits: { maxStreamsPerAddress: 3 } });
  const { good, attackers } = f.creds;
  const a = attackers[3]!;
  const greedy = f.client(a, '127.0.3.1');
  const held = await Promise.all([f.open(greedy, a), f.open(greedy, a), f.open(greedy, a)]);
  await assert.rejects(f.open(greedy, a), (err) => isMeshError(err, 'AMB_HBONE_CONNECT_FAILED') && /REFUSED_STREAM|HTTP\/2 error 7\b/.test((err as Error).message));
  assert.equal(f.echo.sockets.size, 3, 'the refused stream made no upstream connection');
  assert.equal(await echoes(await f.open(f.client(good, '127.0.0.2'), good), 'served'), 'served');
  assert.equal(await metric(f.registry, 'ambient_hbone_rejected_streams_total', 'peer_stream_limit'), 1);
  // One ends: room for another.
  assert.equal(await echoes(held[0]!, 'bye'), 'bye');
  await waitFor(() => f.server.stats.streams === 2, 5000, 'the stream to end');
  assert.equal(await echoes(await f.open(greedy, a), 'again'), 'again');
  for (const h of held) h.stream.destroy();
});

test('header blocks of 17 and 60 KB are refused and 15 KB accepted, before and after SETTINGS are acknowledged', async (t) => {
  const f = await fixture(t);
  const { ca, good } = f.creds;
  const authority = `127.0.0.1:${f.echo.port}`;
  const big = (kb: number) => ({ 'x-big': 'x'.repeat(kb * 1024) });
  // Before: requests sent with the preface, before our SETTINGS can have been acknowledged
  // (nghttp2 then only applies its own 64 KiB ceiling).
  for (const kb of [15, 17, 60]) {
    const session = http2.connect(`https://127.0.0.1:${f.addr.port}`, {
      createConnection: () => tls.connect({ socket: tcpFrom(f.addr.port, '127.0.0.2'), key: good.key, cert: good.cert, ca: ca.trustBundle.pems(), ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }),
    });
    session.on('error', () => {});
    t.after(() => session.destroy());
    const outcome = await connectOutcome(session, authority, big(kb));
    assert.equal(outcome, kb === 15 ? 'status 200' : `rst ${C.NGHTTP2_ENHANCE_YOUR_CALM}`, `${kb} KB at once`);
  }
  // After: a settled session.
  const { session } = await rawSession(t, f.addr.port, good, '127.0.0.2', ca);
  assert.equal(await connectOutcome(session, authority, big(17)), `rst ${C.NGHTTP2_ENHANCE_YOUR_CALM}`);
  assert.equal(await connectOutcome(session, authority, big(60)), `rst ${C.NGHTTP2_ENHANCE_YOUR_CALM}`);
  assert.equal(await connectOutcome(session, authority, big(15)), 'status 200', 'the connection still serves');
  await waitFor(() => f.echo.sockets.size === 2, 5000, 'the two accepted tunnels');
  assert.ok((await metric(f.registry, 'ambient_hbone_rejected_streams_total', 'header_list_too_large')) >= 2);
});

/** A TCP relay in front of `port` whose open connections can be frozen (a peer that vanished). */
async function relay(port: number) {
  const pairs: Array<[net.Socket, net.Socket]> = [];
  const frozen: net.Socket[] = [];
  const front = await tcpServer((down) => {
    const up = net.connect({ host: '127.0.0.1', port });
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    down.pipe(up);
    up.pipe(down);
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    pairs.push([down, up]);
  });
  return {
    port: front.port,
    /** Nothing moves on the connections open now; new ones are relayed. */
    freeze() {
      for (const [down, up] of pairs.splice(0)) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
        frozen.push(down, up);
      }
    },
    close: async () => {
      for (const [d, u] of pairs) (d.destroy(), u.destroy());
      for (const sock of frozen) sock.destroy();
      await front.close();
    },
  };
}

test('keepalive: the client closes a pooled connection to a peer that stopped answering and dials anew', async (t) => {
  const f = await fixture(t);
  const { good } = f.creds;
  const r = await relay(f.addr.port);
  t.after(() => r.close());
  const client = f.client(good, '127.0.0.2', { limits: { pingIntervalMs: 200, pingTimeoutMs: 300 } });
  const via = { source: good.identity, peer: { host: '127.0.0.1', port: r.port }, target: { host: '127.0.0.1', port: f.echo.port } };
  const tunnel = await client.connect(via);
  tunnel.stream.on('error', () => {});
  assert.equal(client.stats.connections, 1);
  r.freeze();
  const frozenAt = Date.now();
  await waitFor(() => client.stats.connections === 0, 3000, 'the client to drop the silent connection');
  assert.ok(Date.now() - frozenAt <= 200 + 300 + 500, `closed after ${Date.now() - frozenAt} ms`);
  await waitFor(() => tunnel.stream.destroyed || tunnel.stream.closed, 2000, 'the tunnel on it to end');
  // A new tunnel dials a new connection (through the relay, which relays new connections).
  const again = await client.connect(via);
  assert.equal(client.stats.connections, 1);
  assert.equal(await echoes(again, 'alive'), 'alive');
});

test('keepalive: the server closes the connection of a client that stopped answering, and its upstream sockets', async (t) => {
  const f = await fixture(t, { limits: { pingIntervalMs: 200, pingTimeoutMs: 300 } });
  const { good } = f.creds;
  const r = await relay(f.addr.port);
  t.after(() => r.close());
  const client = f.client(good, '127.0.0.2');
  const tunnel = await client.connect({ source: good.identity, peer: { host: '127.0.0.1', port: r.port }, target: { host: '127.0.0.1', port: f.echo.port } });
  tunnel.stream.on('error', () => {});
  await waitFor(() => f.server.stats.connections === 1 && f.echo.sockets.size === 1, 2000, 'the tunnel');
  r.freeze();
  const frozenAt = Date.now();
  await waitFor(() => f.server.stats.connections === 0, 3000, 'the server to close the silent connection');
  assert.ok(Date.now() - frozenAt <= 200 + 300 + 500, `closed after ${Date.now() - frozenAt} ms`);
  await waitFor(() => f.echo.sockets.size === 0, 2000, 'the upstream socket to be released');
});

test('trust bundle: a root removed fails new handshakes under it at once, a root added lets them in, without a restart', async (t) => {
  const { ca, server: serverCreds, good } = await pki();
  const caB = await newCa();
  const underB = await issue(caB, 'app', 'migrated');
  const rootB = caB.trustBundle.pems()[0]!;
  // The server's own bundle (the CA's is shared by other tests).
  const bundle = new TrustBundle(ca.trustBundle.pems());
  const f = await fixture(t, { trustBundle: bundle, credentials: serverCreds });
  const clientB = () => f.client(underB, '127.0.4.1');
  const tryB = async () => {
    const c = clientB();
    try {
      return await echoes(await f.open(c, underB), 'b');
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    } finally {
      c.destroy();
    }
  };
  assert.match(await tryB(), /^refused/, 'root B not trusted yet');
  bundle.add(rootB);
  assert.equal(await tryB(), 'b', 'root B added: accepted at once');
  // A connection open under root B when B is removed is closed (GOAWAY, then the drain deadline).
  const held = clientB();
  const open = await f.open(held, underB);
  open.stream.on('error', () => {});
  assert.equal(held.stats.connections, 1);
  bundle.remove(TrustBundle.fingerprint(rootB));
  assert.match(await tryB(), /^refused/, 'root B removed: refused at once');
  await waitFor(() => held.stats.connections === 0, 3000, 'the connection under the removed root to be closed');
  // Root A's peers never noticed.
  assert.equal(await echoes(await f.open(f.client(good, '127.0.0.2'), good), 'a'), 'a');
});

// Regression: tls.Server#setSecureContext resets minVersion when its options leave it out,
// so a certificate rotation or a change of roots let TLS 1.2 (client certificate in the
// clear) back in.
test('tls_1_2_is_refused_after_a_certificate_rotation_and_a_roots_change', async (t) => {
  const { ca, server: serverCreds, good } = await pki();
  const bundle = new TrustBundle(ca.trustBundle.pems());
  const f = await fixture(t, { trustBundle: bundle, credentials: serverCreds });
  const handshake = (maxVersion: tls.SecureVersion) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: f.addr.port, key: good.key, cert: good.cert, ca: bundle.pems(), ALPNProtocols: ['h2'], maxVersion, rejectUnauthorized: false });
      s.once('secureConnect', () => {
        resolve(s.getProtocol() ?? 'unknown');
        s.destroy();
      });
      s.once('error', (err) => resolve(`refused: ${err.message}`));
    });
  assert.match(await handshake('TLSv1.2'), /^refused/, 'TLS 1.2 refused from the start');
  f.server.setCredentials(serverCreds);
  assert.match(await handshake('TLSv1.2'), /^refused/, 'TLS 1.2 refused after a certificate rotation');
  bundle.add((await newCa()).trustBundle.pems()[0]!);
  assert.match(await handshake('TLSv1.2'), /^refused/, 'TLS 1.2 refused after the roots changed');
  assert.equal(await handshake('TLSv1.3'), 'TLSv1.3');
});
