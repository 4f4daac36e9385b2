// The node agent's listener handover (node-agent/handover/, docs/protocol.md "Agent
// handover") between two real processes: a listening socket inside a network namespace
// passes from process A to process B over the handover socket; a connection A accepted
// keeps being served by A after the handover; new connections are accepted by B, and none
// is refused while it happens. Needs root (namespaces): fails, not skips, in CI.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectInNetns } from '../core/syscalls.js';
import { encodeFrame } from '../node-agent/handover/protocol.js';
import { startHandoverServer, takeOver } from '../node-agent/handover/session.js';
import { Netns, requireRoot } from './support/netns.js';

const PEER = fileURLToPath(new URL('./support/handover-peer.js', import.meta.url));
const PORT = 7000;

interface Peer {
  child: ChildProcess;
  /** Resolves with the first stdout line that starts with `prefix`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
}

function startPeer(t: TestContext, role: 'old' | 'new', ns: Netns, socket: string): Peer {
  const child = spawn(process.execPath, [PEER, role, ns.path, socket, String(PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d) => (err += d.toString()));
  return {
    child,
    line: (prefix, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${role}: no "${prefix}" line within ${timeoutMs} ms; stdout ${JSON.stringify(out)} stderr ${JSON.stringify(err.slice(-2000))}`)), timeoutMs);
        const check = () => {
          const found = out.split('\n').find((l) => l.startsWith(prefix));
          if (found !== undefined) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(check);
        };
        check();
      }),
  };
}

/** One request on a connection: the tagged echo of `text`. */
function ask(socket: net.Socket, text: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => done(new Error(`no answer to ${text} within ${timeoutMs} ms (got ${JSON.stringify(got)})`)), timeoutMs);
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length + 2) done();
    };
    const onClose = () => done(new Error(`connection closed before answering ${text}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(got);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(text);
  });
}

async function socketDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'amb-handover-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'node1', 'handover.sock');
}

test('listener_handed_from_process_a_to_b_refuses_no_connection_and_a_keeps_serving_its_own', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const ns = await Netns.create('hand', t);
  const socket = await socketDir(t);
  const a = startPeer(t, 'old', ns, socket);
  await a.line('ready');

  const longLived = await connectInNetns(ns.path, { host: '127.0.0.1', port: PORT });
  t.after(() => longLived.destroy());
  assert.equal(await ask(longLived, 'before'), 'A:before');

  // New connections at a steady rate all through the handover.
  const served = { A: 0, B: 0 };
  const failures: string[] = [];
  let loading = true;
  let afterRelease: string[] = [];
  let released = false;
  const load = (async () => {
    for (let i = 0; loading && i < 2_000; i++) {
      try {
        const c = await connectInNetns(ns.path, { host: '127.0.0.1', port: PORT, timeoutMs: 3_000 });
        const reply = await ask(c, `n${i}`).finally(() => c.destroy());
        served[reply[0] as 'A' | 'B']++;
        if (released) afterRelease.push(reply);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  await new Promise((r) => setTimeout(r, 200));
  const b = startPeer(t, 'new', ns, socket);
  await b.line('taken-over');
  assert.equal(await a.line('released'), 'released pod-1', 'the old process was told which pods were adopted');
  released = true;
  afterRelease = [];
  await new Promise((r) => setTimeout(r, 500));
  loading = false;
  await load;

  console.log(`new connections: A served ${served.A}, B served ${served.B}, failed ${failures.length}`);
  assert.deepEqual(failures, [], 'no new connection failed during the handover');
  assert.ok(served.A > 0 && served.B > 0, `both processes served new connections (${JSON.stringify(served)})`);
  assert.ok(afterRelease.length > 0 && afterRelease.every((r) => r.startsWith('B:')), `after the release only B accepts (${afterRelease.slice(0, 5).join(' ')})`);
  // The connection A accepted before the handover is still A's, and still served.
  assert.equal(await ask(longLived, 'after'), 'A:after');
  // A can go now: B keeps the socket (the kernel's listening socket lives on in B).
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  const c = await connectInNetns(ns.path, { host: '127.0.0.1', port: PORT });
  t.after(() => c.destroy());
  assert.equal(await ask(c, 'last'), 'B:last');
});

test('handover_socket_refuses_a_non_root_process', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const socket = await socketDir(t);
  const server = await startHandoverServer({ socket, node: 'node1', held: async () => ({ pods: [], node: [] }), onTakenOver: async () => {} });
  t.after(() => server.close());
  // The attack: an unprivileged process on the node asks for the agent's listeners.
  const script = `const s=require('net').connect(${JSON.stringify(socket)});s.on('connect',()=>{console.log('connected')});s.on('error',e=>{console.log(e.code);process.exit(0)});s.on('close',()=>process.exit(0))`;
  const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  assert.equal(out.trim(), 'EACCES', 'the root-only directory keeps it out');
  assert.equal(server.handedOver, false);
});

test('malformed_handover_message_closes_that_connection_and_the_agent_still_hands_over', { timeout: 30_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const socket = await socketDir(t);
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  t.after(() => listener.close());
  const port = (listener.address() as net.AddressInfo).port;
  let takenOver = 0;
  const server = await startHandoverServer({
    socket,
    node: 'node1',
    held: async () => ({ pods: [], node: [{ proto: 'tcp', host: '127.0.0.1', port, role: 'metrics', fd: (listener as unknown as { _handle: { fd: number } })._handle.fd }] }),
    onTakenOver: async () => {
      takenOver++;
    },
    timeouts: { receiveTimeoutMs: 2_000 },
  });
  t.after(() => server.close());

  // Garbage, then a frame of a message type that does not exist: each connection is closed.
  for (const bytes of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), encodeFrame({ t: 'hello', node: 'node1' }).fill(0x7b, 8)]) {
    const c = net.connect(socket);
    c.on('error', () => {});
    await new Promise((r) => c.once('connect', r));
    let answer = '';
    c.on('data', (d) => (answer += d));
    c.write(bytes);
    await new Promise((r) => c.once('close', r));
    assert.match(answer, /"t":"error"/, 'the agent says why before it closes');
  }
  // Another node's agent is refused too.
  await assert.rejects(takeOver({ socket, node: 'node2' }), /serves node node1, not node2/);
  assert.equal(takenOver, 0);

  // The agent is still there and hands over to the right peer.
  const to = await takeOver({ socket, node: 'node1' });
  assert.ok(to);
  const fd = to.inherited.takeNode('metrics');
  assert.ok(fd !== undefined);
  await to.complete();
  assert.equal(takenOver, 1);
  assert.equal(server.handedOver, true);
  // The received descriptor is the same listening socket.
  const adopted = net.createServer((s) => s.end('adopted'));
  await new Promise<void>((r) => adopted.listen({ fd }, r));
  t.after(() => adopted.close());
  listener.close();
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('end', () => resolve(got));
    c.on('error', reject);
  });
  assert.equal(reply, 'adopted');
});
