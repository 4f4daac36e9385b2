// Direct tier: bytes a waypoint carries as TCP (a `tcp` port, or non-HTTP bytes on a
// sniffed one) are counted in Istio's TCP metrics with reporter="waypoint" and Istio's
// labels, and logged one line per connection, by the node agent's own metric and log code
// (waypoint/observe/tcp-telemetry.ts). Real sockets: HBONE in, HBONE (or TCP) out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { HboneClient } from '../core/hbone/client.js';
import type { SocketAddress } from '../core/hbone/wire.js';
import { TcpMetrics } from '../node-agent/observe/tcp-metrics.js';
import { endpoint, service, stateOf, tcpPort, workload } from '../node-agent/proxy/fixtures.js';
import type { WaypointProxy } from '../waypoint/proxy.js';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { tcpTelemetry } from '../waypoint/observe/tcp-telemetry.js';
import { closedPort, echoServer, readAll, waitFor, type TcpServer } from './support/net.js';
import { hboneClient, meshBackend, pki, startWaypoint, TD, type MeshBackend } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;
const CLIENT_ID = `spiffe://${TD}/ns/app/sa/frontend`;
/** The original client's address, as a source node agent sends it (`forwarded: for=`). */
const CLIENT_ADDR = { host: '10.244.1.5', port: 40000 };

let backend: MeshBackend;
let echo: TcpServer;
let proxy: WaypointProxy;
let addr: SocketAddress;
let client: HboneClient;
const registry = new Registry();
const lines: Array<Record<string, unknown>> = [];

const frontend = workload('frontend', { namespace: 'app', serviceAccount: 'frontend', ips: ['10.244.1.5'], labels: { app: 'frontend', version: 'v1' } });
// The endpoint (its node agent is the test's HBONE listener on loopback).
const api = workload('api', { namespace: 'shop', serviceAccount: 'api', ips: ['127.0.0.1'], labels: { app: 'api', version: 'v2' } });

const VIPS = { tcp: { host: '10.96.0.14', port: 80 }, sniffed: { host: '10.96.0.15', port: 80 }, denied: { host: '10.96.0.16', port: 80 }, refusing: { host: '10.96.0.17', port: 80 } };

before(async () => {
  await pki();
  backend = await meshBackend();
  echo = await echoServer();
  const refused = await closedPort();
  const echoSvc = service('echo', { namespace: 'shop', ports: [tcpPort(80, echo.port)], endpoints: [endpoint(api)] });
  const state = stateOf([frontend, api, echoSvc]);
  const mesh = (port: number): UpstreamEndpoint => ({ ip: '127.0.0.1', port, mesh: true, identity: API_ID });
  const targets = new Map<string, TunnelTarget>([
    ['10.96.0.14:80', { address: VIPS.tcp, service: echoSvc.key, port: 80, appProtocol: 'tcp' }],
    ['10.96.0.15:80', { address: VIPS.sniffed, service: echoSvc.key, port: 80 }],
    ['10.96.0.16:80', { address: VIPS.denied, service: echoSvc.key, port: 80, appProtocol: 'tcp' }],
    ['10.96.0.17:80', { address: VIPS.refusing, service: 'shop/refusing.shop.svc.cluster.local', port: 80, appProtocol: 'tcp' }],
  ]);
  const endpoints = new Map<string, UpstreamEndpoint[]>([
    [`${echoSvc.key}:80`, [mesh(echo.port)]],
    ['shop/refusing.shop.svc.cluster.local:80', [{ ip: '127.0.0.1', port: refused, mesh: false, identity: '' }]],
  ]);
  const accessLog = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  ({ proxy, addr } = await startWaypoint({ targets, endpoints }, backend.port, {
    tcpTelemetry: tcpTelemetry({ getState: () => state, accessLog, metrics: new TcpMetrics(registry) }),
    authorizeTcp: (info) => (info.target.address.host === VIPS.denied.host ? { allow: false, reason: 'AMB_WAYPOINT_AUTHZ_DENIED: denied by policy shop/no-tcp' } : { allow: true }),
  }));
  client = await hboneClient();
});

after(async () => {
  client.destroy();
  await proxy.close(1000);
  await backend.hbone.close();
  await echo.close();
});

async function tunnel(target: SocketAddress) {
  const p = await pki();
  return client.connect({ source: p.client.identity, peer: addr, target, forwardedFor: CLIENT_ADDR });
}

/** The value of `name` for the series whose labels include `labels`, 0 when none. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)!.get();
  let sum = 0;
  for (const v of m.values) if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) sum += v.value;
  return sum;
}

/** The n-th connection line to `vip` (`dst.addr` when no endpoint was chosen, else `dst.original_addr`). */
const lineTo = (vip: { host: string }, n: number) => lines.filter((l) => l['msg'] === 'connection' && (l['dst.original_addr'] ?? l['dst.addr']) === `${vip.host}:80`)[n];

test('tcp_port_connection_counts_in_istio_tcp_metrics_with_reporter_waypoint_and_logs_a_line', async () => {
  const t = await tunnel(VIPS.tcp);
  const back = readAll(t.stream, 10_000);
  t.stream.end(Buffer.from('twelve bytes'));
  assert.equal((await back).toString(), 'twelve bytes');
  await waitFor(() => lineTo(VIPS.tcp, 0) !== undefined, 10_000, 'the connection log line');
  const labels = {
    reporter: 'waypoint',
    source_workload: 'frontend',
    source_workload_namespace: 'app',
    source_principal: CLIENT_ID,
    source_app: 'frontend',
    destination_workload: 'api',
    destination_workload_namespace: 'shop',
    destination_principal: API_ID,
    destination_app: 'api',
    destination_service: 'echo.shop.svc.cluster.local',
    destination_service_name: 'echo',
    destination_service_namespace: 'shop',
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  };
  assert.equal(await metric('istio_tcp_connections_opened_total', labels), 1);
  assert.equal(await metric('istio_tcp_connections_closed_total', labels), 1);
  assert.equal(await metric('istio_tcp_received_bytes_total', labels), 12, 'client -> server bytes are received');
  assert.equal(await metric('istio_tcp_sent_bytes_total', labels), 12, 'server -> client bytes are sent');
  const line = lineTo(VIPS.tcp, 0)!;
  assert.equal(line['reporter'], 'waypoint');
  assert.equal(line['src.addr'], '10.244.1.5:40000');
  assert.equal(line['src.identity'], CLIENT_ID);
  assert.equal(line['src.workload'], 'frontend');
  assert.equal(line['dst.addr'], `127.0.0.1:${echo.port}`);
  assert.equal(line['dst.identity'], API_ID);
  assert.equal(line['dst.service'], 'echo.shop.svc.cluster.local');
  assert.equal(line['bytes_sent'], 12);
  assert.equal(line['bytes_recv'], 12);
  assert.equal(line['response_flags'], '-');
  assert.match(String(line['trace_id']), /^[0-9a-f]{32}$/, "the CONNECT's trace id, as the agents log it");
});

test('non_http_bytes_on_a_sniffed_port_are_counted_including_the_sniffed_head', async () => {
  const t = await tunnel(VIPS.sniffed);
  const back = readAll(t.stream, 10_000);
  const bytes = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
  t.stream.end(bytes);
  assert.deepEqual([...(await back)], [...bytes]);
  await waitFor(() => lineTo(VIPS.sniffed, 0) !== undefined, 10_000, 'the connection log line');
  const line = lineTo(VIPS.sniffed, 0)!;
  assert.equal(line['bytes_sent'], bytes.length, 'the bytes read while sniffing count too');
  assert.equal(line['bytes_recv'], bytes.length);
});

test('tcp_tunnel_denied_by_policy_is_closed_with_deny_and_never_opened', async () => {
  const before = { opened: await metric('istio_tcp_connections_opened_total', { reporter: 'waypoint', response_flags: 'DENY' }) };
  const t = await tunnel(VIPS.denied);
  const back = readAll(t.stream, 10_000).catch(() => Buffer.alloc(0));
  t.stream.end('x');
  await back;
  await waitFor(() => lineTo(VIPS.denied, 0) !== undefined, 10_000, 'the connection log line');
  const line = lineTo(VIPS.denied, 0)!;
  assert.equal(line['response_flags'], 'DENY');
  assert.equal(line['plan'], 'reject');
  assert.equal(line['reason'], 'authz-denied');
  assert.equal(await metric('istio_tcp_connections_closed_total', { reporter: 'waypoint', response_flags: 'DENY', destination_service: 'echo.shop.svc.cluster.local' }), 1);
  assert.equal(await metric('istio_tcp_connections_opened_total', { reporter: 'waypoint', response_flags: 'DENY' }), before.opened, 'a refused connection was never opened');
});

test('tcp_endpoint_refusing_the_connection_is_recorded_as_upstream_connect_failure', async () => {
  const t = await tunnel(VIPS.refusing);
  const back = readAll(t.stream, 10_000).catch(() => Buffer.alloc(0));
  t.stream.end('x');
  await back;
  await waitFor(() => lineTo(VIPS.refusing, 0) !== undefined, 10_000, 'the connection log line');
  const line = lineTo(VIPS.refusing, 0)!;
  assert.equal(line['response_flags'], 'UF');
  assert.match(String(line['error']), /unreachable/);
  assert.equal(await metric('istio_tcp_connections_closed_total', { reporter: 'waypoint', response_flags: 'UF' }), 1);
});
