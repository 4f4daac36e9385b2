// pods/portforward on the local API server, over real WebSockets into a real network
// namespace: the client ambientctl uses (@kubernetes/client-node's PortForward) and a raw
// WebSocket client for what that one cannot show (channels, errors, limits, refusals).
// Needs root (a network namespace with listeners on its loopback).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test, type TestContext } from 'node:test';
import { PortForward } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../core/kube/config.js';
import { listenInNetns } from '../core/syscalls.js';
import { WebSocket } from '../core/ws.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../local-cluster/apiserver/server.js';
import { Netns, requireRoot } from './support/netns.js';
import { waitFor } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';

const APP = 'pf-app';
const POD = 'web';
/** Inside the pod's namespace, on 127.0.0.1: an echo, a greeter (speaks first), a closer (writes "bye" and ends), nothing. */
const ECHO = 7001;
const GREETER = 7002;
const CLOSER = 7003;
const CLOSED = 7004;

let redis: TestRedis | undefined;
let netns: Netns | undefined;
const listeners: net.Server[] = [];
const servers: ApiServer[] = [];
/** Connections the pod's echo server accepted (a refused forward must add none). */
const echoSockets = new Set<net.Socket>();
let echoAccepted = 0;
let prefixes = 0;

before(async () => {
  if (process.getuid?.() !== 0) return;
  redis = await startRedis();
  netns = await Netns.create('pf');
  const on = async (port: number, fn: (s: net.Socket) => void) => listeners.push(await listenInNetns(netns!.path, { host: '127.0.0.1', port }, (s) => (s.on('error', () => {}), fn(s))));
  await on(ECHO, (s) => {
    echoAccepted++;
    echoSockets.add(s);
    s.on('close', () => echoSockets.delete(s));
    s.pipe(s);
  });
  await on(GREETER, (s) => {
    s.write('hello from the greeter\n');
    s.on('data', (d: Buffer) => s.write(`greeter got ${d.length} bytes\n`));
  });
  await on(CLOSER, (s) => s.end('bye'));
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.close()));
  for (const l of listeners) l.close();
  await netns?.destroy();
  await redis?.stop();
});

interface Cluster {
  api: ApiServer;
  uid: string;
  /** http://127.0.0.1:port of a listener where loopback is not admin: bearer tokens only. */
  tokenUrl: string;
}

/** An API server whose pod pf-app/web (Running on node1) lives in the test's namespace. */
async function cluster(opts: Partial<ApiServerOptions> = {}): Promise<Cluster> {
  const api = await startApiServer({
    redisUrl: redis!.url,
    prefix: `pf${++prefixes}:`,
    podNetns: (pod) => {
      if (pod.metadata?.name !== POD) throw new Error('no network namespace for that pod');
      return netns!.path;
    },
    ...opts,
  });
  servers.push(api);
  await call(api.url, 'POST', '/api/v1/namespaces', { metadata: { name: APP } }, 201);
  await call(api.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'other' } }, 201);
  const pod = await call(api.url, 'POST', `/api/v1/namespaces/${APP}/pods`, { metadata: { name: POD }, spec: { nodeName: 'node1', containers: [{ name: 'app', image: 'app' }] } }, 201);
  await call(api.url, 'PATCH', `/api/v1/namespaces/${APP}/pods/${POD}/status`, { status: { phase: 'Running', podIP: '10.244.1.5' } }, 200, 'application/merge-patch+json');
  const extra = net.createServer();
  extra.listen(0, '127.0.0.1');
  await once(extra, 'listening');
  api.attach(extra);
  listeners.push(extra);
  return { api, uid: pod.metadata.uid, tokenUrl: `http://127.0.0.1:${(extra.address() as net.AddressInfo).port}` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(base: string, method: string, path: string, body: unknown, want: number, contentType = 'application/json', headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': contentType, ...headers }, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  assert.equal(res.status, want, `${method} ${path}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A ServiceAccount's token in `namespace`. */
async function saToken(c: Cluster, namespace: string, name: string): Promise<string> {
  await call(c.api.url, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { metadata: { name } }, 201);
  return (await call(c.api.url, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {}, 201)).status.token;
}

/** A raw port-forward WebSocket: every message recorded per channel, the close code. */
interface Forward {
  ws: WebSocket;
  protocol: string;
  /** Payloads per channel, in order (the first one is the port frame). */
  channels: Map<number, Buffer[]>;
  closed: Promise<number>;
  /** Bytes of `channel` after its port frame, as one string. */
  text(channel: number): string;
  send(channel: number, data: string | Buffer): void;
}

function forward(base: string, query: string, o: { protocols?: string[]; headers?: Record<string, string>; pod?: string } = {}): Promise<Forward> {
  const url = `${base.replace(/^http/, 'ws')}/api/v1/namespaces/${APP}/pods/${o.pod ?? POD}/portforward?${query}`;
  const protocols = o.protocols ?? ['v4.channel.k8s.io'];
  const ws = new WebSocket(url, protocols, { handshakeTimeout: 5_000, ...(o.headers && { headers: o.headers }) });
  const channels = new Map<number, Buffer[]>();
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  let base64 = false;
  ws.on('message', (data, isBinary) => {
    const [ch, payload] = base64 ? [data[0]! - 48, Buffer.from(data.subarray(1).toString(), 'base64')] : [data[0]!, data.subarray(1)];
    assert.equal(isBinary, !base64, 'message type follows the subprotocol');
    channels.set(ch, [...(channels.get(ch) ?? []), Buffer.from(payload)]);
  });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body: JSON.parse(body || '{}') })));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      base64 = ws.protocol === 'v4.base64.channel.k8s.io';
      resolve({
        ws,
        protocol: ws.protocol,
        channels,
        closed,
        text: (ch) => Buffer.concat((channels.get(ch) ?? []).slice(1)).toString(),
        send: (ch, data) => {
          const b = Buffer.from(data);
          ws.send(base64 ? String.fromCharCode(48 + ch) + b.toString('base64') : Buffer.concat([Buffer.from([ch]), b]));
        },
      });
    });
  });
}

const refusal = async (p: Promise<unknown>): Promise<{ status: number; body: { reason: string; message: string; code: number } }> => {
  try {
    await p;
  } catch (err) {
    return err as never;
  }
  assert.fail('the port-forward was expected to be refused');
};

const portFrame = (port: number) => Buffer.from([port & 0xff, port >> 8]);

describe('pods/portforward', () => {
  test('port_forward_with_the_kubernetes_client_carries_bytes_both_ways_and_closes_the_pod_connection', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const pf = new PortForward(kubeConfigForServer(c.api.url), true);
    const output = new PassThrough();
    const errors = new PassThrough();
    const input = new PassThrough();
    const errText: string[] = [];
    errors.on('data', (d: Buffer) => errText.push(d.toString()));
    let received = Buffer.alloc(0);
    output.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    const ws = (await pf.portForward(APP, POD, [ECHO], output, errors, input)) as unknown as WebSocket;
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    input.write('ping');
    await waitFor(() => received.toString() === 'ping', 5_000, 'the echo of "ping"');
    // Larger than one message: many frames each way, every byte in order.
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    input.write(big);
    await waitFor(() => received.length === 4 + big.length, 10_000, 'the echo of 300 kB');
    assert.ok(received.subarray(4).equals(big), 'the bytes came back unchanged');
    assert.equal(echoSockets.size, 1, 'one connection inside the pod');
    input.end(); // the client closes the WebSocket
    await waitFor(() => echoSockets.size === 0, 5_000, 'the pod-side connection to close');
    assert.deepEqual(errText, []);
  });

  test('port_forward_two_concurrent_streams_stay_apart', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const [a, b] = await Promise.all([forward(c.api.url, `ports=${ECHO}`), forward(c.api.url, `ports=${ECHO}`)]);
    for (let i = 0; i < 20; i++) {
      a.send(0, `a${i};`);
      b.send(0, `b${i};`);
    }
    const want = (p: string) => Array.from({ length: 20 }, (_, i) => `${p}${i};`).join('');
    await waitFor(() => a.text(0) === want('a') && b.text(0) === want('b'), 5_000, 'each stream its own echo');
    // Each channel's first message is the port, little-endian.
    assert.deepEqual([a.channels.get(0)![0], a.channels.get(1)![0]], [portFrame(ECHO), portFrame(ECHO)]);
    a.ws.close();
    b.ws.close();
    assert.deepEqual(await Promise.all([a.closed, b.closed]), [1005, 1005]);

    // Two ports on one WebSocket: channels 0/1 for the first, 2/3 for the second.
    const two = await forward(c.api.url, `ports=${ECHO},${GREETER}`);
    two.send(0, 'to the echo');
    two.send(2, 'twelve bytes');
    await waitFor(() => two.text(0) === 'to the echo' && two.text(2) === 'hello from the greeter\ngreeter got 12 bytes\n', 5_000, 'both ports to answer');
    assert.deepEqual(two.channels.get(2)![0], portFrame(GREETER));
    assert.deepEqual(two.channels.get(3), [portFrame(GREETER)], 'no error on the second port');
    two.ws.close();
    await two.closed;
  });

  test('port_forward_base64_subprotocol_carries_text_messages', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const f = await forward(c.api.url, `ports=${ECHO}`, { protocols: ['v4.base64.channel.k8s.io'] });
    assert.equal(f.protocol, 'v4.base64.channel.k8s.io');
    f.send(0, Buffer.from([0, 255, 10, 13]));
    await waitFor(() => Buffer.concat(f.channels.get(0)!.slice(1)).equals(Buffer.from([0, 255, 10, 13])), 5_000, 'the base64 echo');
    f.ws.close();
    await f.closed;
  });

  test('port_forward_to_a_closed_port_reports_on_the_error_channel_and_closes', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const f = await forward(c.api.url, `ports=${CLOSED}`);
    assert.equal(await f.closed, 1000);
    assert.match(f.text(1), new RegExp(`^error forwarding port ${CLOSED} to pod ${APP}/${POD}, uid ${c.uid}: .*(ECONNREFUSED|refused)`));
    assert.equal(f.text(0), '');
  });

  test('port_forward_ends_when_the_pod_closes_the_connection', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const f = await forward(c.api.url, `ports=${CLOSER}`);
    assert.equal(await f.closed, 1000);
    assert.equal(f.text(0), 'bye');
    assert.equal(f.text(1), '', 'an orderly end is no error');
  });

  test('port_forward_is_refused_to_a_service_account_outside_its_namespace_and_without_a_token', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const outsider = await saToken(c, 'other', 'default');
    const insider = await saToken(c, APP, 'default');
    const before = echoAccepted;
    const anon = await refusal(forward(c.tokenUrl, `ports=${ECHO}`));
    assert.equal(anon.status, 401);
    const denied = await refusal(forward(c.tokenUrl, `ports=${ECHO}`, { headers: { authorization: `Bearer ${outsider}` } }));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.message, `pods "${POD}" is forbidden: User "system:serviceaccount:other:default" cannot create resource "pods/portforward" in API group "" in the namespace "${APP}"`);
    // The same through the client ambientctl uses: the WebSocket never opens.
    const pf = new PortForward(kubeConfigForServer(c.tokenUrl, outsider), true);
    await assert.rejects(pf.portForward(APP, POD, [ECHO], new PassThrough(), new PassThrough(), new PassThrough()));
    assert.equal(echoAccepted, before, 'no refused attempt reached the pod');
    // A ServiceAccount of the pod's own namespace may.
    const ok = await forward(c.tokenUrl, `ports=${ECHO}`, { headers: { authorization: `Bearer ${insider}` } });
    ok.send(0, 'mine');
    await waitFor(() => ok.text(0) === 'mine', 5_000, 'the echo for the insider');
    ok.ws.close();
    await ok.closed;
  });

  test('port_forward_bad_requests_are_refused_before_the_upgrade', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster();
    const plain = await fetch(`${c.api.url}/api/v1/namespaces/${APP}/pods/${POD}/portforward?ports=${ECHO}`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(plain.status, 400);
    assert.match(((await plain.json()) as { message: string }).message, /^Upgrade request required/);
    const spdy = await rawUpgrade(c.api.port, `/api/v1/namespaces/${APP}/pods/${POD}/portforward?ports=${ECHO}`, 'SPDY/3.1', 'POST');
    assert.equal(spdy.status, 400);
    assert.match(spdy.body, /SPDY is not supported/);
    const cases: [string, { protocols?: string[]; pod?: string }, number, RegExp][] = [
      ['ports=0', {}, 400, /unable to parse "0" as a port/],
      ['', {}, 400, /"ports" is required/],
      [`ports=${ECHO}`, { protocols: ['v5.channel.k8s.io'] }, 400, /none of the offered WebSocket subprotocols/],
      [`ports=${ECHO}`, { pod: 'nope' }, 404, /pods "nope" not found/],
    ];
    for (const [query, o, status, message] of cases) {
      const r = await refusal(forward(c.api.url, query, o));
      assert.equal(r.status, status, `${query} ${JSON.stringify(o)}`);
      assert.match(r.body.message, message);
    }
    await call(c.api.url, 'POST', `/api/v1/namespaces/${APP}/pods`, { metadata: { name: 'pending' }, spec: { containers: [{ name: 'app', image: 'app' }] } }, 201);
    const pending = await refusal(forward(c.api.url, `ports=${ECHO}`, { pod: 'pending' }));
    assert.equal(pending.status, 400);
    assert.match(pending.body.message, /pod pf-app\/pending does not have a host assigned/);
    const exec = await rawUpgrade(c.api.port, `/api/v1/namespaces/${APP}/pods/${POD}/exec?command=sh`, 'websocket');
    assert.equal(exec.status, 400);
    assert.match(exec.body, /pods\/portforward only/);
    // An API server with no pods' namespaces to reach says so.
    const bare = await startApiServer({ redisUrl: redis!.url, prefix: `pf${++prefixes}:` });
    servers.push(bare);
    const none = await refusal(forward(bare.url, `ports=${ECHO}`));
    assert.equal(none.status, 503);
  });

  test('port_forward_limits_concurrency_message_size_and_idle_time', async (t: TestContext) => {
    if (!requireRoot(t)) return;
    const c = await cluster({ portForwardMaxConcurrent: 1, portForwardMaxMessageBytes: 1024, portForwardIdleTimeoutMs: 400, portForwardMaxPorts: 2 });
    const first = await forward(c.api.url, `ports=${ECHO}`);
    const busy = await refusal(forward(c.api.url, `ports=${ECHO}`));
    assert.equal(busy.status, 429);
    assert.match(busy.body.message, /too many port-forwards open at once \(limit 1\)/);
    first.send(0, Buffer.alloc(2048));
    assert.equal(await first.closed, 1009, 'a message over the limit closes the WebSocket');
    const many = await refusal(forward(c.api.url, `ports=${ECHO},${GREETER},${CLOSER}`));
    assert.match(many.body.message, /at most 2 ports/);
    // The slot is free again; an idle forward is closed after the idle time.
    const idle = await forward(c.api.url, `ports=${ECHO}`);
    const started = Date.now();
    assert.equal(await idle.closed, 1000);
    assert.ok(Date.now() - started >= 300, `closed after ${Date.now() - started} ms, before the idle time`);
    await waitFor(() => echoSockets.size === 0, 5_000, 'the idle forward to close its pod connection');
  });
});

/** An upgrade request written by hand (what kubectl's SPDY or an exec attempt sends). */
function rawUpgrade(port: number, path: string, upgrade: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: { connection: 'Upgrade', upgrade, 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }, timeout: 5_000 });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', () => reject(new Error('the server switched protocols')));
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end();
  });
}
