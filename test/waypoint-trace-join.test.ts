// Direct tier: the waypoint's trace joined across its upstream hop. A request through a
// tracing waypoint to a mesh endpoint opens HBONE to the endpoint's listener (a real
// HboneServer, what the destination node agent runs); that CONNECT carries the waypoint
// span's traceparent and tracestate, and the destination agent's connection span
// (node-agent/observe/connection-span.ts, from what its listener received) is the
// waypoint span's child. A pooled connection keeps the context of the request that opened it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { HboneClient } from '../core/hbone/client.js';
import type { HboneRequest } from '../core/hbone/server.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import type { FinishedSpan, Tracer } from '../core/trace/tracer.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { telemetryLayer } from '../waypoint/http/telemetry.js';
import { requestSink } from '../waypoint/observe/request-sink.js';
import { connectionSpan } from '../node-agent/observe/connection-span.js';
import { connectionRecord } from '../node-agent/observe/fixtures.js';
import { waitFor } from './support/net.js';
import { agentOver, echoApp, h2App, hboneClient, meshBackend, pki, request, startWaypoint, TD, within, type MeshBackend, type Services } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const ON = { name: 'parentbased_always_on', ratio: 1 } as const;
const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });

let backend: MeshBackend;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const services: Services = { targets: new Map(), endpoints: new Map() };
const spans: FinishedSpan[] = [];
const closers: Array<() => Promise<void>> = [];
let nextVip = 20;

/** A tracer that keeps what it exports. */
const tracer: Tracer = {
  enabled: true,
  sampler: ON,
  export: (s) => void spans.push(s),
  forceFlush: async () => {},
  shutdown: async () => {},
};

before(async () => {
  await pki();
  backend = await meshBackend();
  const sink = requestSink({ getState: () => ({ workloadByUid: () => undefined, serviceByKey: () => undefined }), tracer });
  ({ proxy, addr } = await startWaypoint(services, backend.port, { beforeRoute: [telemetryLayer({ tracer, sink, workloadByIp: () => undefined })] }));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  for (const c of closers) await c();
});

/** A Service of its own (so the waypoint dials a fresh upstream connection), on a new VIP. */
function serve(port: number, appProtocol: string): SocketAddress {
  const vip = { host: `10.96.0.${nextVip++}`, port: 80 };
  const key = `shop/svc-${vip.host}`;
  services.targets.set(`${vip.host}:80`, { address: vip, service: key, port: 80, appProtocol } satisfies TunnelTarget);
  services.endpoints.set(`${key}:80`, [mesh(port)]);
  return vip;
}

async function tunnel(target: SocketAddress) {
  const p = await pki();
  return client.connect({ source: p.client.identity, peer: addr, target });
}

const tunnelsTo = (port: number): HboneRequest[] => backend.tunnels.filter((t) => t.target.port === port);
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const newTraceId = () => `4${hex(31)}`;

async function waypointSpanOf(traceId: string): Promise<FinishedSpan> {
  await waitFor(() => spans.some((s) => s.traceId === traceId && s.attributes['mesh.reporter'] === 'waypoint'), 10_000, `the waypoint span of ${traceId}`);
  return spans.find((s) => s.traceId === traceId && s.attributes['mesh.reporter'] === 'waypoint')!;
}

/** The destination agent's span, from the CONNECT its listener received (as inbound.ts records it). */
function destinationAgentSpan(connect: HboneRequest): FinishedSpan | undefined {
  return connectionSpan(
    connectionRecord({
      direction: 'inbound-hbone',
      reporter: 'destination',
      plan: 'accept',
      via: 'waypoint',
      mtls: true,
      ...(connect.traceparent !== undefined && { traceparent: connect.traceparent }),
      ...(connect.tracestate !== undefined && { tracestate: connect.tracestate }),
    }),
    ON,
  );
}

test('http1_upstream_connect_carries_the_waypoint_span_and_the_destination_agent_span_is_its_child', async () => {
  const app = await echoApp();
  closers.push(app.close);
  const vip = serve(app.port, 'http');
  const traceId = newTraceId();
  const clientSpan = hex(16);
  const t = await tunnel(vip);
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/first', headers: { traceparent: `00-${traceId}-${clientSpan}-01`, tracestate: 'shop=7,acme=x' } });
    assert.equal(a.status, 200, a.body);
    const wp = await waypointSpanOf(traceId);
    assert.equal(wp.parentSpanId, clientSpan, "the waypoint span is the client's child");
    const connects = tunnelsTo(app.port);
    assert.equal(connects.length, 1, 'one upstream connection');
    assert.equal(connects[0]!.traceparent, `00-${traceId}-${wp.spanId}-01`, 'the CONNECT names the waypoint span, sampled');
    assert.equal(connects[0]!.tracestate, 'shop=7,acme=x', "the CONNECT carries the request's tracestate");
    const dst = destinationAgentSpan(connects[0]!);
    assert.ok(dst, 'the destination agent samples it (the waypoint decided so)');
    assert.equal(dst.traceId, traceId);
    assert.equal(dst.parentSpanId, wp.spanId, "the destination agent's span is the waypoint span's child");
    assert.equal(dst.tracestate, 'shop=7,acme=x');

    // A later request of another trace reuses the pooled connection: no new CONNECT, so the
    // agent's span stays in the trace of the request that opened the connection (documented).
    const other = newTraceId();
    const b = await request(agent, { path: '/second', headers: { traceparent: `00-${other}-${hex(16)}-01` } });
    assert.equal(b.status, 200, b.body);
    await waypointSpanOf(other);
    assert.equal(tunnelsTo(app.port).length, 1, 'the second request went on the pooled connection');
  } finally {
    agent.destroy();
  }
});

test('h2_upstream_session_connect_carries_the_waypoint_span_of_the_request_that_dialled_it', async () => {
  const app = await h2App((stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
  });
  closers.push(app.close);
  const vip = serve(app.port, 'http2');
  const traceId = newTraceId();
  const t = await tunnel(vip);
  const session = http2.connect('http://api.shop', { createConnection: () => t.stream as never });
  session.on('error', () => {});
  try {
    const req = session.request({ ':method': 'POST', ':path': '/h2', traceparent: `00-${traceId}-${hex(16)}-01` });
    req.end('hi');
    const [h] = (await within(once(req, 'response'), 10_000, 'the h2 answer')) as [http2.IncomingHttpHeaders];
    assert.equal(h[':status'], 200);
    req.resume();
    await within(once(req, 'end'), 10_000, 'the h2 body');
    const wp = await waypointSpanOf(traceId);
    const connects = tunnelsTo(app.port);
    assert.equal(connects.length, 1);
    assert.equal(connects[0]!.traceparent, `00-${traceId}-${wp.spanId}-01`);
    assert.equal(connects[0]!.tracestate, undefined, 'no tracestate came in, none goes out');
    assert.equal(destinationAgentSpan(connects[0]!)?.parentSpanId, wp.spanId);
  } finally {
    session.destroy();
  }
});

test('unsampled_request_opens_a_connect_whose_flag_makes_the_destination_agent_drop_its_span', async () => {
  const app = await echoApp();
  closers.push(app.close);
  const vip = serve(app.port, 'http');
  const traceId = newTraceId();
  const t = await tunnel(vip);
  const agent = agentOver(t.stream);
  try {
    const a = await request(agent, { path: '/dropped', headers: { traceparent: `00-${traceId}-${hex(16)}-00` } });
    assert.equal(a.status, 200, a.body);
    const connects = tunnelsTo(app.port);
    assert.equal(connects.length, 1);
    assert.match(String(connects[0]!.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`), "the CONNECT carries the trace with the waypoint's decision (not sampled)");
    assert.equal(destinationAgentSpan(connects[0]!), undefined, 'the destination agent follows the decision');
    assert.ok(!spans.some((s) => s.traceId === traceId), 'no span of a dropped trace');
  } finally {
    agent.destroy();
  }
});
