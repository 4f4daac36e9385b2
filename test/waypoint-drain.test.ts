// Direct tier: the waypoint's shutdown drains (issue 12, "Change without loss"): stop
// accepting, finish in-flight requests, GOAWAY on HTTP/2, then close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { TunnelTarget, UpstreamEndpoint } from '../waypoint/http/chain.js';
import { readAll, waitFor } from './support/net.js';
import { agentOver, echoApp, h2App, hboneClient, meshBackend, pki, socketLike, startWaypoint, TD, within } from './support/waypoint.js';

const API_ID = `spiffe://${TD}/ns/shop/sa/api`;

test('drain_finishes_an_in_flight_request_and_refuses_new_tunnels', async (t) => {
  const p = await pki();
  const backend = await meshBackend();
  const release: Array<() => void> = [];
  const app = await echoApp({
    '/hold': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one;');
      release.push(() => res.end('part two'));
    },
  });
  const target: TunnelTarget = { address: { host: '10.96.0.10', port: 80 }, service: 'shop/api', port: 80 };
  const eps: UpstreamEndpoint[] = [{ ip: '127.0.0.1', port: app.port, mesh: true, identity: API_ID }];
  const { proxy, addr } = await startWaypoint({ targets: new Map([['10.96.0.10:80', target]]), endpoints: new Map([['shop/api:80', eps]]) }, backend.port);
  const client = await hboneClient();
  t.after(async () => {
    for (const r of release) r();
    client.destroy();
    await proxy.close(100);
    await backend.hbone.close();
    await app.close();
  });

  const tunnel = await client.connect({ source: p.client.identity, peer: addr, target: target.address });
  const agent = agentOver(tunnel.stream);
  const answer = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    const req = http.request({ agent, host: 'api.shop', path: '/hold' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers['connection'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  await waitFor(() => release.length === 1, 10_000, 'the request at the backend');
  // A deadline far beyond the bounds below: the drain must end by itself, not by it.
  const closed = proxy.close(60_000);
  let closedYet = false;
  void closed.then(() => (closedYet = true));
  // Stopped accepting: a new tunnel is not opened.
  await assert.rejects(client.connect({ source: p.client.identity, peer: addr, target: target.address }));
  assert.equal(closedYet, false, 'close waits for the in-flight request');
  release[0]!();
  const a = await within(answer, 10_000, 'the in-flight answer');
  assert.equal(a.status, 200);
  assert.equal(a.body, 'part one;part two');
  // The client closed its side after its last answer, so nothing is left to wait for.
  await within(closed, 20_000, 'close after the drain');
  agent.destroy();
});

test('drain_sends_goaway_to_h2_clients_and_finishes_their_open_stream', async (t) => {
  const p = await pki();
  const backend = await meshBackend();
  const release: Array<() => void> = [];
  const app = await h2App((stream) => {
    stream.respond({ ':status': 200 });
    stream.write('first;');
    release.push(() => stream.end('last'));
  });
  const target: TunnelTarget = { address: { host: '10.96.0.12', port: 9000 }, service: 'shop/grpc', port: 9000, appProtocol: 'grpc' };
  const eps: UpstreamEndpoint[] = [{ ip: '127.0.0.1', port: app.port, mesh: true, identity: API_ID }];
  const { proxy, addr } = await startWaypoint({ targets: new Map([['10.96.0.12:9000', target]]), endpoints: new Map([['shop/grpc:9000', eps]]) }, backend.port);
  const client = await hboneClient();
  t.after(async () => {
    for (const r of release) r();
    client.destroy();
    await proxy.close(100);
    await backend.hbone.close();
    await app.close();
  });
  const tunnel = await client.connect({ source: p.client.identity, peer: addr, target: target.address });
  const session = http2.connect('http://grpc.shop', { createConnection: () => socketLike(tunnel.stream) });
  session.on('error', () => {});
  t.after(() => session.destroy());
  const st = session.request({ ':method': 'POST', ':path': '/x' });
  st.end();
  await within(once(st, 'response'), 10_000, 'response head');
  await waitFor(() => release.length === 1, 10_000, 'stream at the backend');
  const goaway = once(session, 'goaway');
  const closed = proxy.close(60_000);
  await within(goaway, 10_000, 'GOAWAY to the h2 client');
  release[0]!();
  assert.equal((await readAll(st, 10_000)).toString(), 'first;last');
  session.close();
  await within(closed, 20_000, 'close after the drain');
});
