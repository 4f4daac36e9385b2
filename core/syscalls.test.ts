// Namespaced tests of the syscall seam: real network namespaces, iptables REDIRECT and
// conntrack. Each test makes its own namespace, deleted after it however it ends.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { ErrorCodes, isMeshError } from './errors.js';
import {
  bindUdpInNetns,
  connectInNetns,
  getMark,
  listenInNetns,
  netnsPath,
  originalDst,
  setMark,
  setTransparent,
} from './syscalls.js';
import { ifName, Netns, requireRoot } from '../test/support/netns.js';

const WAIT_MS = 5_000;

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// Closes servers and sockets after the test, so a failing test cannot keep the process alive.
function closeAfter<T extends net.Server | net.Socket>(t: TestContext, x: T): T {
  t.after(() => (x instanceof net.Server ? x.close() : x.destroy()));
  return x;
}

async function listen(t: TestContext, ns: Netns, host: string, port: number) {
  const server = closeAfter(t, await listenInNetns(ns.path, { host, port }));
  // Accepted sockets are destroyed with the server's test too.
  server.on('connection', (s) => closeAfter(t, s));
  return server;
}

async function accept(server: net.Server): Promise<net.Socket> {
  const [socket] = await within(once(server, 'connection'), 'an accepted connection');
  return socket as net.Socket;
}

async function assertBytesFlow(client: net.Socket, server: net.Socket): Promise<void> {
  client.write('ping');
  assert.equal(String((await within(once(server, 'data'), 'ping'))[0]), 'ping');
  server.write('pong');
  assert.equal(String((await within(once(client, 'data'), 'pong'))[0]), 'pong');
}

const threadNetns = () => readlinkSync('/proc/thread-self/ns/net');

test('originalDst returns the pre-REDIRECT loopback destination (IPv4) and bytes flow', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('odst4', t);
  const server = await listen(t, ns, '127.0.0.1', 15001);
  await ns.run('iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '127.0.0.1', '--dport', '7777', '-j', 'REDIRECT', '--to-ports', '15001']);

  const accepted = accept(server);
  const client = closeAfter(t, await connectInNetns(ns.path, { host: '127.0.0.1', port: 7777, timeoutMs: WAIT_MS }));
  const socket = await accepted;

  assert.deepEqual(originalDst(socket), { address: '127.0.0.1', port: 7777, family: 4 });
  assert.equal(socket.localPort, 15001);
  await assertBytesFlow(client, socket);
});

test('originalDst returns the pre-REDIRECT loopback destination (IPv6, ip6tables)', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('odst6', t);
  const server = await listen(t, ns, '::1', 15001);
  // Fails loudly (with ip6tables' stderr) if the kernel lacks ip6table_nat / nft NAT for IPv6.
  await ns.run('ip6tables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '::1', '--dport', '7777', '-j', 'REDIRECT', '--to-ports', '15001']);

  const accepted = accept(server);
  const client = closeAfter(t, await connectInNetns(ns.path, { host: '::1', port: 7777, timeoutMs: WAIT_MS }));
  const socket = await accepted;

  assert.deepEqual(originalDst(socket), { address: '::1', port: 7777, family: 6 });
  await assertBytesFlow(client, socket);
});

test('originalDst returns a non-loopback destination that was redirected to the local listener', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('odstx', t);
  // A route to 10.99.0.0/24 through a veth whose peer stays in the same namespace (the
  // test kernel has no `dummy` driver); 10.99.0.2 exists nowhere, only the REDIRECT
  // makes the connection succeed.
  const [a, b] = [ifName('va'), ifName('vb')];
  await ns.run('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  await ns.run('ip', ['addr', 'add', '10.99.0.1/24', 'dev', a]);
  await ns.run('ip', ['link', 'set', a, 'up']);
  await ns.run('ip', ['link', 'set', b, 'up']);
  const server = await listen(t, ns, '127.0.0.1', 15001);
  await ns.run('iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '10.99.0.2', '--dport', '80', '-j', 'REDIRECT', '--to-ports', '15001']);

  const accepted = accept(server);
  const client = closeAfter(t, await connectInNetns(ns.path, { host: '10.99.0.2', port: 80, timeoutMs: WAIT_MS }));
  const socket = await accepted;

  assert.deepEqual(originalDst(socket), { address: '10.99.0.2', port: 80, family: 4 });
  assert.equal(socket.remoteAddress, '10.99.0.1');
  await assertBytesFlow(client, socket);
});

test('originalDst on a connection that was not redirected throws SYSCALL_FAILED naming iptables', async (t) => {
  if (!requireRoot(t)) return;
  // A namespace without NAT rules, so conntrack has no entry for the connection.
  const ns = await Netns.create('nodst', t);
  const server = await listen(t, ns, '127.0.0.1', 15001);
  const accepted = accept(server);
  closeAfter(t, await connectInNetns(ns.path, { host: '127.0.0.1', port: 15001, timeoutMs: WAIT_MS }));
  const socket = await accepted;

  assert.throws(
    () => originalDst(socket),
    (err: Error) => isMeshError(err, ErrorCodes.SYSCALL_FAILED) && /SO_ORIGINAL_DST/.test(err.message) && /iptables/.test(err.message),
  );
});

test('a missing netns path rejects with NETNS_NOT_FOUND', async () => {
  const missing = netnsPath(`amb-t-missing-${process.pid}`);
  const notFound = (err: Error) => isMeshError(err, ErrorCodes.NETNS_NOT_FOUND) && err.message.includes(missing);
  await assert.rejects(listenInNetns(missing, { host: '127.0.0.1', port: 15001 }), notFound);
  await assert.rejects(connectInNetns(missing, { host: '127.0.0.1', port: 15001 }), notFound);
});

test('marks round-trip and transparent can be set, as root', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('mark', t);
  const server4 = closeAfter(t, await listenInNetns(ns.path, { host: '127.0.0.1', port: 15001, mark: 0x539, transparent: true }));
  const server6 = closeAfter(t, await listenInNetns(ns.path, { host: '::1', port: 15001, transparent: true }));
  server4.on('connection', (s) => closeAfter(t, s));
  assert.equal(getMark(server4), 0x539);
  assert.equal(getMark(server6), 0);

  const client = closeAfter(t, await connectInNetns(ns.path, { host: '127.0.0.1', port: 15001, mark: 0x539, timeoutMs: WAIT_MS }));
  assert.equal(getMark(client), 0x539);
  setMark(client, 0xffffffff);
  assert.equal(getMark(client), 0xffffffff);
  setTransparent(client, true);
  setTransparent(server6, false); // IPV6_TRANSPARENT: the other branch
  assert.throws(() => setMark(client, -1), TypeError);
});

test('a listener in a netns is not reachable from the host netns', async (t) => {
  if (!requireRoot(t)) return;
  // A port free on the host, so that a refusal proves the namespace boundary.
  const probe = net.createServer().listen(0, '127.0.0.1');
  await within(once(probe, 'listening'), 'a free host port');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const before = threadNetns();
  const ns = await Netns.create('iso', t);
  const server = await listen(t, ns, '127.0.0.1', port);
  assert.equal(threadNetns(), before, 'the JS thread is back in its own netns');
  let seen = 0;
  server.on('connection', () => seen++);

  const fromHost = closeAfter(t, net.connect(port, '127.0.0.1'));
  const [err] = await within(once(fromHost, 'error'), 'the host connection to fail');
  assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');

  // The same address from inside the namespace connects.
  const accepted = accept(server);
  closeAfter(t, await connectInNetns(ns.path, { host: '127.0.0.1', port, timeoutMs: WAIT_MS }));
  await accepted;
  assert.equal(seen, 1);
});

test('IPv4 and IPv6 wildcard listeners share a port (IPV6_V6ONLY)', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('v6only', t);
  const server6 = await listen(t, ns, '::', 15001);
  const server4 = await listen(t, ns, '0.0.0.0', 15001);

  const accepted4 = accept(server4);
  closeAfter(t, await connectInNetns(ns.path, { host: '127.0.0.1', port: 15001, timeoutMs: WAIT_MS }));
  assert.equal((await accepted4).localAddress, '127.0.0.1');
  const accepted6 = accept(server6);
  closeAfter(t, await connectInNetns(ns.path, { host: '::1', port: 15001, timeoutMs: WAIT_MS }));
  assert.equal((await accepted6).localAddress, '::1');
});

test('a failed bind inside a netns returns the thread to its own netns and names the cause', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('bindf', t);
  const before = threadNetns();
  await assert.rejects(
    listenInNetns(ns.path, { host: '10.1.2.3', port: 15001 }),
    (err: Error) => isMeshError(err, ErrorCodes.SYSCALL_FAILED) && /bind failed.*EADDRNOTAVAIL|bind failed: Cannot assign/.test(err.message),
  );
  assert.equal(threadNetns(), before);
  // Not a namespace at all: setns refuses, and the thread is still home.
  await assert.rejects(
    listenInNetns('/proc/self/status', { host: '127.0.0.1', port: 15001 }),
    (err: Error) => isMeshError(err, ErrorCodes.SYSCALL_FAILED) && /setns failed.*not a network namespace/.test(err.message),
  );
  assert.equal(threadNetns(), before);
});

test('connectInNetns failures reject with SYSCALL_FAILED and close the socket', async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('connf', t);
  await ns.run('iptables', ['-A', 'OUTPUT', '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();

  await assert.rejects(
    connectInNetns(ns.path, { host: '127.0.0.1', port: 1, timeoutMs: WAIT_MS }),
    (err: Error) => isMeshError(err, ErrorCodes.SYSCALL_FAILED) && /ECONNREFUSED/.test(err.message),
  );
  await assert.rejects(
    connectInNetns(ns.path, { host: '127.0.0.1', port: 9, timeoutMs: 200 }),
    (err: Error) => isMeshError(err, ErrorCodes.SYSCALL_FAILED) && /timed out after 200 ms/.test(err.message),
  );
  assert.equal(fds(), before, 'no file descriptor leaked');
});

test('a UDP socket bound in a netns exchanges datagrams there and not with the host', async (t) => {
  if (!requireRoot(t)) return;
  const before = threadNetns();
  const ns = await Netns.create('udp', t);
  const server = await bindUdpInNetns(ns.path, { host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  assert.equal(threadNetns(), before, 'the JS thread is back in its own netns');
  const port = server.address().port;
  server.on('message', (msg, from) => server.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address));

  // A second socket in the same netns is the client: the reply comes back.
  const client = await bindUdpInNetns(ns.path, { host: '127.0.0.1', port: 0 });
  t.after(() => client.close());
  const reply = within(once(client, 'message'), 'the echoed datagram');
  client.send('ping', port, '127.0.0.1');
  const [msg] = (await reply) as [Buffer];
  assert.equal(msg.toString(), 'echo:ping');

  // From the host, the same port is another namespace's: nothing answers.
  const host = dgram.createSocket('udp4');
  t.after(() => host.close());
  let answered = false;
  host.on('message', () => (answered = true));
  host.on('error', () => {});
  await new Promise<void>((resolve) => host.bind(0, '127.0.0.1', () => resolve()));
  host.send('ping', port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(answered, false);
});
