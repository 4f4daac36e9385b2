// The DNS proxy on loopback (direct tier): Node's own resolver against the proxy, a fake
// upstream nameserver on another loopback port.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { buildState } from '../node-agent/state/snapshot.js';
import { endpoint, resources, service, workload } from '../node-agent/proxy/fixtures.js';
import { startDnsServer, parseResolvConf } from '../node-agent/dns/server.js';
import { buildQuery, buildResponse, decodeAddress, frameTcp, parseMessage, parseQuery, QTYPE, RCODE, TcpFrameReader } from '../node-agent/dns/codec.js';

const pods = Array.from({ length: 100 }, (_, i) => workload(`web-${i}`, { ips: [`10.244.0.${i + 1}`] }));
const state = buildState(resources([
  ...pods,
  service('reviews', { vips: ['10.96.0.20'] }),
  service('web', { endpoints: pods.map((p) => endpoint(p)) }),
]));

/** A nameserver that knows two names (example.test, and the ExternalName Service
 * ext.default.svc.cluster.local the mesh has no Service for), over UDP and TCP. */
async function fakeUpstream(exampleAddress = '192.0.2.7'): Promise<{ port: number; close(): void }> {
  const names: Record<string, string> = { 'example.test': exampleAddress, 'ext.default.svc.cluster.local': '192.0.2.8' };
  const reply = (msg: Buffer): Buffer | undefined => {
    const q = parseQuery(msg);
    if (!q.ok) return undefined;
    const address = q.value.question.type === QTYPE.A ? names[q.value.question.name.toLowerCase()] : undefined;
    return buildResponse({
      id: q.value.id, rd: q.value.rd, rcode: address !== undefined ? RCODE.NOERROR : RCODE.NXDOMAIN, questionWire: q.value.questionWire,
      answers: address !== undefined ? [{ type: QTYPE.A, ttl: 60, address }] : [],
    }).packet;
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => { const out = reply(m); if (out) udp.send(out, r.port, r.address); });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  const tcp = net.createServer((s) => {
    const reader = new TcpFrameReader();
    s.on('data', (c) => { for (const f of reader.push(c).frames) { const out = reply(f); if (out) s.write(frameTcp(out)); } });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return { port, close: () => { udp.close(); tcp.close(); } };
}

const upstream = await fakeUpstream();
const blackhole = dgram.createSocket('udp4');
await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', () => r()));

const proxy = await startDnsServer({
  getState: () => state, clientNamespace: 'default', upstreams: [`127.0.0.1:${upstream.port}`], host: '127.0.0.1', port: 0,
});
const dead = await startDnsServer({
  getState: () => state, clientNamespace: 'default', upstreams: [`127.0.0.1:${blackhole.address().port}`], host: '127.0.0.1', port: 0,
  limits: { upstreamTimeoutMs: 300 },
});
after(async () => {
  await proxy.close();
  await dead.close();
  upstream.close();
  blackhole.close();
});

const resolverFor = (port: number) => {
  const r = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
};

test('mesh names are answered with the VIP, over UDP', async () => {
  const r = resolverFor(proxy.udpAddress.port);
  assert.deepEqual(await r.resolve4('reviews.default.svc.cluster.local'), ['10.96.0.20']);
  assert.deepEqual(await r.resolve4('reviews.default'), ['10.96.0.20']);
  assert.deepEqual(await r.resolve4('REVIEWS'), ['10.96.0.20']);
});

test('other names are forwarded to the upstream', async () => {
  const r = resolverFor(proxy.udpAddress.port);
  assert.deepEqual(await r.resolve4('example.test'), ['192.0.2.7']);
  await assert.rejects(r.resolve4('unknown.test'), { code: 'ENOTFOUND' });
  assert.ok(proxy.stats().forwarded >= 2);
});

test('unknown Service names are forwarded and answered by the upstream', async () => {
  // An ExternalName Service (the mesh has no Service for it), or one not yet pushed: the
  // cluster's DNS knows it, the mesh does not; an authoritative NXDOMAIN would be a lie.
  const r = resolverFor(proxy.udpAddress.port);
  const before = proxy.stats();
  assert.deepEqual(await r.resolve4('ext.default.svc.cluster.local'), ['192.0.2.8']);
  await assert.rejects(r.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
  const after = proxy.stats();
  assert.equal(after.forwarded, before.forwarded + 2);
  assert.equal(after.nxdomain, before.nxdomain);
});

test('each pod\'s proxy forwards to that pod\'s own resolvers', async (t) => {
  // Two pods whose resolv.conf name different nameservers (dnsPolicy None, dnsConfig):
  // each proxy asks its pod's, not the node's.
  const other = await fakeUpstream('192.0.2.99');
  t.after(() => other.close());
  const asked: string[] = [];
  const podA = await startDnsServer({ getState: () => state, clientNamespace: 'default', upstreams: async () => { asked.push('a'); return [`127.0.0.1:${upstream.port}`]; }, host: '127.0.0.1', port: 0 });
  const podB = await startDnsServer({ getState: () => state, clientNamespace: 'default', upstreams: async () => { asked.push('b'); return [`127.0.0.1:${other.port}`]; }, host: '127.0.0.1', port: 0 });
  t.after(() => Promise.all([podA.close(), podB.close()]));
  assert.deepEqual(await resolverFor(podA.udpAddress.port).resolve4('example.test'), ['192.0.2.7']);
  assert.deepEqual(await resolverFor(podB.udpAddress.port).resolve4('example.test'), ['192.0.2.99']);
  assert.deepEqual(await resolverFor(podB.udpAddress.port).resolve4('reviews'), ['10.96.0.20'], 'mesh names are still the mesh\'s');
  assert.deepEqual(asked, ['a', 'b']);
});

test('a large answer is truncated over UDP and the resolver gets it all over TCP', async () => {
  const r = resolverFor(proxy.udpAddress.port);
  const before = proxy.stats().truncated;
  const got = await r.resolve4('web');
  assert.equal(got.length, 100);
  assert.deepEqual(new Set(got), new Set(pods.map((p) => p.ips[0])));
  assert.ok(proxy.stats().truncated > before);
});

async function tcpQuery(port: number, msg: Buffer): Promise<Buffer> {
  const sock = net.connect(port, '127.0.0.1');
  const reader = new TcpFrameReader();
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      sock.on('connect', () => sock.write(frameTcp(msg)));
      sock.on('data', (c) => { const f = reader.push(c).frames[0]; if (f) resolve(f); });
      sock.on('error', reject);
      setTimeout(() => reject(new Error('TCP query timed out')), 3000);
    });
  } finally {
    sock.destroy();
  }
}

test('raw TCP queries: mesh name answered, other name forwarded over TCP', async () => {
  const mesh = parseMessage(await tcpQuery(proxy.tcpAddress.port, buildQuery(4321, 'reviews', QTYPE.A)));
  assert.ok(mesh.ok);
  assert.equal(mesh.value.header.id, 4321);
  assert.equal(mesh.value.header.aa, true);
  assert.deepEqual(mesh.value.answers.map((a) => decodeAddress(a.type, a.data)), ['10.96.0.20']);
  const fwd = parseMessage(await tcpQuery(proxy.tcpAddress.port, buildQuery(999, 'example.test', QTYPE.A)));
  assert.ok(fwd.ok);
  assert.equal(fwd.value.header.id, 999);
  assert.deepEqual(fwd.value.answers.map((a) => decodeAddress(a.type, a.data)), ['192.0.2.7']);
});

test('malformed packets do not stop the server', async () => {
  const sock = dgram.createSocket('udp4');
  const before = proxy.stats().malformed;
  const garbage = [Buffer.from('hello'), Buffer.concat([buildQuery(1, 'x', QTYPE.A).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), Buffer.alloc(0)];
  for (const g of garbage) sock.send(g, proxy.udpAddress.port, '127.0.0.1');
  // FORMERR for the pointer loop (its header is readable)
  const reply = await new Promise<Buffer>((resolve) => sock.once('message', resolve));
  sock.close();
  const m = parseMessage(reply);
  assert.ok(m.ok);
  assert.equal(m.value.header.rcode, RCODE.FORMERR);
  // garbage over TCP closes that connection only
  const bad = net.connect(proxy.tcpAddress.port, '127.0.0.1');
  await new Promise<void>((r) => bad.on('connect', () => { bad.write(Buffer.from([0, 0])); r(); }));
  await new Promise<void>((r) => { bad.on('close', () => r()); bad.on('error', () => {}); });
  assert.deepEqual(await resolverFor(proxy.udpAddress.port).resolve4('reviews'), ['10.96.0.20']);
  assert.ok(proxy.stats().malformed >= before + 2);
});

test('upstream timeout gives SERVFAIL within a bounded time', async () => {
  const r = resolverFor(dead.udpAddress.port);
  const t0 = Date.now();
  await assert.rejects(r.resolve4('example.test'), { code: 'ESERVFAIL' });
  assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
  assert.equal(dead.stats().upstreamFailures, 1);
  // mesh names still answered without the upstream
  assert.deepEqual(await r.resolve4('reviews'), ['10.96.0.20']);
});

test('parseResolvConf reads a pod\'s resolv.conf', () => {
  const conf = parseResolvConf([
    '# generated by kubelet', 'search default.svc.cluster.local svc.cluster.local cluster.local',
    'nameserver 10.96.0.10', 'nameserver fd00::a ; second', 'nameserver not-an-ip', 'nameserver 1.1.1.1', 'nameserver 8.8.8.8',
    'options ndots:5 edns0',
  ].join('\n'));
  assert.deepEqual(conf, {
    nameservers: ['10.96.0.10', 'fd00::a', '1.1.1.1'],
    search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    ndots: 5,
  });
  assert.deepEqual(parseResolvConf('domain corp.\noptions ndots:99'), { nameservers: [], search: ['corp'], ndots: 15 });
});
