// Direct tier: request telemetry through the waypoint's data path on loopback (HBONE in,
// HBONE out, our CA): the request and response body bytes counted where the bodies are
// piped, and the gRPC status read from the answer's trailers (or its headers, trailers-only),
// as the RequestRecord and Istio's metrics carry them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import { NOOP_TRACER } from '../core/trace/tracer.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { telemetryLayer } from '../waypoint/http/telemetry.js';
import type { RequestRecord } from '../waypoint/observe/request-record.js';
import { RequestMetrics } from '../waypoint/observe/request-metrics.js';
import { requestSink } from '../waypoint/observe/request-sink.js';
import { readAll, waitFor } from './support/net.js';
import { agentOver, echoApp, h2App, hboneClient, meshBackend, pki, request, socketLike, startWaypoint, TD, within, type MeshBackend } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });

let backend: MeshBackend;
let app: Awaited<ReturnType<typeof echoApp>>;
let grpc: Awaited<ReturnType<typeof h2App>>;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const registry = new Registry();
const records: RequestRecord[] = [];

before(async () => {
  await pki();
  backend = await meshBackend();
  app = await echoApp({
    '/fixed': (req, res) => {
      req.resume();
      req.on('end', () => res.end('x'.repeat(500)));
    },
  });
  grpc = await h2App((stream, headers) => {
    if (headers[':path'] === '/echo.Echo/Missing') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '3', 'grpc-message': 'bad argument' }));
      stream.end(Buffer.concat(chunks));
    });
  });
  const targets = new Map<string, TunnelTarget>([
    ['10.96.0.10:80', { address: { host: '10.96.0.10', port: 80 }, service: 'shop/api', port: 80, appProtocol: 'http' }],
    ['10.96.0.12:80', { address: { host: '10.96.0.12', port: 80 }, service: 'shop/grpc', port: 80, appProtocol: 'grpc' }],
  ]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([
    ['shop/api:80', [mesh(app.port)]],
    ['shop/grpc:80', [mesh(grpc.port)]],
  ]);
  const metrics = new RequestMetrics({ registry });
  const metricsSink = requestSink({ getState: () => ({ workloadByUid: () => undefined, serviceByKey: () => undefined }), metrics });
  const sink = (r: RequestRecord) => {
    records.push(r);
    metricsSink(r);
  };
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port, {
    beforeRoute: [telemetryLayer({ tracer: NOOP_TRACER, sink, workloadByIp: () => undefined })],
  }));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  await Promise.all([app.close(), grpc.close()]);
});

async function tunnel(target: SocketAddress) {
  const p = await pki();
  return client.connect({ source: p.client.identity, peer: addr, target });
}

async function metricSum(name: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}_sum{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

test('request_and_response_body_bytes_are_counted_and_summed_in_istio_byte_metrics', async () => {
  const before = records.length;
  const t = await tunnel({ host: '10.96.0.10', port: 80 });
  const agent = agentOver(t.stream);
  try {
    // 1200 bytes with a content-length, then 700 chunked (no content-length): both counted.
    const a = await request(agent, { method: 'POST', path: '/fixed', body: 'a'.repeat(1200), headers: { 'content-type': 'text/plain' } });
    assert.equal(a.status, 200);
    assert.equal(a.body.length, 500);
    const b = await request(agent, { method: 'POST', path: '/fixed', body: Buffer.alloc(700, 0x62), headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(b.status, 200);
  } finally {
    agent.destroy();
  }
  await waitFor(() => records.length >= before + 2, 10_000, 'two request records');
  const mine = records.slice(before);
  assert.deepEqual(mine.map((r) => [r.requestBytes, r.responseBytes]), [
    [1200, 500],
    [700, 500],
  ]);
  assert.equal(await metricSum('istio_request_bytes'), 1900);
  assert.equal(await metricSum('istio_response_bytes'), 1000);
});

test('grpc_status_from_trailers_and_from_trailers_only_headers_is_recorded_with_grpc_response_status', async () => {
  const before = records.length;
  const t = await tunnel({ host: '10.96.0.12', port: 80 });
  const session = http2.connect('http://grpc.shop', { createConnection: () => socketLike(t.stream) });
  session.on('error', () => {});
  try {
    const st = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', 'content-type': 'application/grpc', te: 'trailers' });
    st.end(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]));
    await within(once(st, 'response'), 10_000, 'grpc response');
    assert.equal((await readAll(st, 10_000)).length, 7);
    const missing = session.request({ ':method': 'POST', ':path': '/echo.Echo/Missing', 'content-type': 'application/grpc', te: 'trailers' });
    missing.end();
    await within(once(missing, 'response'), 10_000, 'grpc trailers-only response');
    await readAll(missing, 10_000);
  } finally {
    session.destroy();
  }
  await waitFor(() => records.length >= before + 2, 10_000, 'two gRPC request records');
  const mine = records.slice(before);
  assert.deepEqual(mine.map((r) => [r.protocol, r.grpcStatus, r.requestBytes, r.responseBytes]), [
    ['grpc', 3, 7, 7],
    ['grpc', 5, 0, 0],
  ]);
  const text = await registry.getSingleMetricAsString('istio_requests_total');
  assert.match(text, /grpc_response_status="3"/);
  assert.match(text, /grpc_response_status="5"/);
});
