// The retry and outlier layers over the real forward layer and real sockets: HTTP/1.1
// backends on loopback (plain TCP endpoints), the waypoint's own upstream pool, and a
// client's request served by node:http through the same Http1Downstream the waypoint uses.
// The balancer is a stand-in that skips ejected endpoints (waypoint/balance/ does it for
// real): enough to see that an ejected endpoint gets no more requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { Retries, TrafficPolicy } from '../core/config/traffic-policy.js';
import { compose, type RequestContext, type UpstreamEndpoint } from '../waypoint/http/chain.js';
import { Http1Downstream } from '../waypoint/http/downstream.js';
import { forwardLayer } from '../waypoint/http/forward.js';
import { requestHeadersFromClient } from '../waypoint/http/headers.js';
import { createConnector } from '../waypoint/upstream/connect.js';
import { H2Pool } from '../waypoint/upstream/h2-pool.js';
import { Http1Pool } from '../waypoint/upstream/http1-pool.js';
import { EndpointPicker } from '../waypoint/balance/picker.js';
import { OutlierRegistry, outlierLayer } from '../waypoint/resilience/outlier-layer.js';
import { retryLayer } from '../waypoint/resilience/retry-layer.js';
import { closedPort } from './support/net.js';

const SVC = 'shop/echo.shop.svc.cluster.local';
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An HTTP/1.1 backend; counts the requests it got. */
async function backend(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void) {
  let n = 0;
  const server = http.createServer((req, res) => handler(req, res, ++n));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, count: () => n };
}

const ep = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: false, identity: '' });
const key = (e: UpstreamEndpoint) => `${e.ip}:${e.port}`;

const retries = (o: Partial<Retries> = {}): Retries => ({
  attempts: 3,
  retryOn: ['gateway-error', 'connect-failure', 'reset'],
  retriableStatusCodes: [],
  backoff: { baseMs: 1, maxMs: 5 },
  budget: { percent: 100, minRetriesPerSecond: 100 },
  retryNonIdempotent: false,
  ...o,
});

/** A waypoint-shaped front: node:http in, [retry, outlier, forward] to `endpoints`. */
async function front(endpoints: UpstreamEndpoint[], policy: Omit<TrafficPolicy, 'key' | 'name' | 'namespace' | 'created' | 'targets' | 'loadBalancer'>) {
  const p: TrafficPolicy = { key: 'shop/echo', name: 'echo', namespace: 'shop', created: '2026-01-01T00:00:00Z', targets: [{ service: SVC }], loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 }, ...policy };
  const outliers = new OutlierRegistry({ policyFor: () => p });
  const connect = createConnector({ hbone: undefined as never, identity: undefined as never, hbonePort: 15008, connectTimeoutMs: 2_000 });
  const http1 = new Http1Pool({ connect, maxConnectionsPerEndpoint: 16, maxIdleConnectionsPerEndpoint: 4, idleTimeoutMs: 5_000 });
  const h2 = new H2Pool({ connect, idleTimeoutMs: 5_000, maxHeaderListBytes: 16 * 1024 });
  const healthy = (service: string, port: number) => {
    const v = outliers.view(service, port, endpoints.map(key));
    return v ? endpoints.filter((e) => !v.endpoints.find((h) => h.key === key(e))?.ejected) : endpoints;
  };
  const chain = compose([retryLayer({ policyFor: () => p }), outlierLayer(outliers), forwardLayer({ picker: new EndpointPicker({ endpoints: healthy }), http1, h2, connect })]);
  const records: RequestContext['record'][] = [];
  const server = http.createServer((req, res) => {
    const ac = new AbortController();
    const ctx: RequestContext = {
      method: req.method!,
      path: req.url!,
      authority: req.headers.host ?? 'echo',
      scheme: 'http',
      headers: requestHeadersFromClient(req.headers),
      body: req,
      protocol: 'http1',
      source: { identity: 'spiffe://cluster.local/ns/shop/sa/web', namespace: 'shop', serviceAccount: 'web' },
      target: { address: { host: '10.96.0.10', port: 80 }, service: SVC, port: 80 },
      startedAt: performance.now(),
      signal: ac.signal,
      abort: (r) => ac.abort(r),
      downstream: new Http1Downstream(res, () => false),
      record: { flags: [] },
      action: { kind: 'forward', service: SVC, port: 80 },
    };
    records.push(ctx.record);
    void chain(ctx);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    outliers.close();
    http1.destroy();
    h2.destroy();
    return new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  });
  return { port: (server.address() as net.AddressInfo).port, records, outliers };
}

function call(port: number, o: { method?: string; body?: Buffer } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: '/x', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(o.body);
  });
}

test('a_failing_endpoint_is_retried_around_then_ejected_and_gets_no_more_requests', async () => {
  const bad = await backend((_q, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('x'.repeat(256 * 1024)); // a big error body, dropped by the waypoint
  });
  const good = await backend((_q, res) => {
    res.writeHead(200);
    res.end('ok');
  });
  const f = await front([ep(bad.port), ep(good.port)], { retries: retries(), outlierDetection: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, intervalMs: 60_000, baseEjectionMs: 60_000, maxEjectionMs: 300_000, maxEjectionPercent: 50, minHealthPercent: 0 } });
  for (let i = 0; i < 12; i++) {
    const r = await call(f.port);
    assert.deepEqual([r.status, r.body.toString()], [200, 'ok'], `request ${i}`);
  }
  assert.equal(bad.count(), 2, 'two gateway errors in a row eject it; no request reaches it after');
  assert.equal(good.count(), 12);
  assert.ok(f.records.every((r) => r.status === 200 && r.upstream === `127.0.0.1:${good.port}` && !r.flags.includes('URX')));
  assert.equal(f.outliers.view(SVC, 80, [`127.0.0.1:${bad.port}`, `127.0.0.1:${good.port}`])!.ejectedCount, 1);
});

test('a_connect_failure_is_retried_on_the_next_endpoint', async () => {
  const good = await backend((_q, res) => {
    res.writeHead(200);
    res.end('ok');
  });
  const f = await front([ep(await closedPort()), ep(good.port)], { retries: retries() });
  // One at a time: the stand-in round robin then alternates (concurrent retries may land on
  // the refusing endpoint again: the real balancer avoids earlier tries, previousTries).
  for (let i = 0; i < 4; i++) assert.equal((await call(f.port)).status, 200, JSON.stringify(f.records));
  assert.ok(f.records.every((r) => r.status === 200 && !r.flags.includes('UF')), 'the failed try left nothing in the record');
});

test('a_post_body_is_sent_again_whole_on_the_retry', async () => {
  const body = Buffer.alloc(20_000, 'b');
  const got: number[] = [];
  const flaky = await backend((req, res, n) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const b = Buffer.concat(chunks);
      got.push(b.length);
      res.writeHead(n === 1 ? 503 : 200);
      res.end(n === 1 ? 'busy' : b);
    });
  });
  const f = await front([ep(flaky.port)], { retries: retries({ retryNonIdempotent: true }) });
  const r = await call(f.port, { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(body), 'the retried try carried the same body');
  assert.deepEqual(got, [20_000, 20_000]);
});

test('exhausted_retries_answer_the_last_503_streamed_with_urx', async () => {
  const bad = await backend((_q, res, n) => {
    res.writeHead(503);
    res.end(`try ${n}`);
  });
  const f = await front([ep(bad.port)], { retries: retries({ attempts: 2 }) });
  const r = await call(f.port);
  assert.deepEqual([r.status, r.body.toString()], [503, 'try 3']);
  assert.equal(bad.count(), 3);
  assert.ok(f.records[0]!.flags.includes('URX'), JSON.stringify(f.records[0]));
});

test('a_large_success_streams_through_unchanged', async () => {
  const payload = Buffer.alloc(2 * 1024 * 1024, 'z');
  const good = await backend((_q, res) => {
    res.writeHead(200);
    res.end(payload);
  });
  const f = await front([ep(good.port)], { retries: retries() });
  const r = await call(f.port);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, payload.length);
});
