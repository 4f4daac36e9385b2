// Unit tests of the observed-edges table (GET /authz/edges).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workload } from '../proxy/fixtures.js';
import { ObservedEdges, type EdgeObservation } from './edges.js';

const server = workload('server', { namespace: 'shop', labels: { app: 'server', version: 'v1' } });
const CLIENT = 'spiffe://cluster.local/ns/shop/sa/client';
const t0 = new Date('2026-01-01T00:00:00Z');

function seen(over: Partial<EdgeObservation> = {}): EdgeObservation {
  return { sourcePrincipal: CLIENT, sourceIp: '10.0.0.7', destination: server, port: 8080, denied: false, at: t0, ...over };
}

test('connections_on_one_edge_are_counted_together', () => {
  const edges = new ObservedEdges(10);
  edges.observe(seen());
  edges.observe(seen({ denied: true, at: new Date(t0.getTime() + 5000), sourceIp: '10.0.0.8' }));
  const [e, ...rest] = edges.list();
  assert.equal(rest.length, 0);
  assert.deepEqual(e, {
    sourcePrincipal: CLIENT,
    sourceIp: '10.0.0.8',
    destination: { uid: server.uid, name: 'server', namespace: 'shop', canonicalName: 'server', labels: { app: 'server', version: 'v1' } },
    port: 8080,
    connections: 2,
    denied: 1,
    firstSeen: '2026-01-01T00:00:00.000Z',
    lastSeen: '2026-01-01T00:00:05.000Z',
  });
});

test('another_port_or_principal_is_another_edge', () => {
  const edges = new ObservedEdges(10);
  edges.observe(seen());
  edges.observe(seen({ port: 9090 }));
  edges.observe(seen({ sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/other' }));
  assert.equal(edges.size, 3);
});

test('plaintext_edges_have_a_null_principal_and_are_keyed_by_address', () => {
  const edges = new ObservedEdges(10);
  edges.observe(seen({ sourcePrincipal: undefined, sourceIp: '10.0.0.7' }));
  edges.observe(seen({ sourcePrincipal: undefined, sourceIp: '10.0.0.9' }));
  const list = edges.list();
  assert.equal(list.length, 2);
  assert.ok(list.every((e) => e.sourcePrincipal === null));
});

test('the_least_recently_seen_edge_is_evicted_when_full', () => {
  const edges = new ObservedEdges(2);
  edges.observe(seen({ port: 1 }));
  edges.observe(seen({ port: 2 }));
  edges.observe(seen({ port: 1 })); // seen again: now the newest
  edges.observe(seen({ port: 3 }));
  assert.deepEqual(
    edges.list().map((e) => e.port),
    [3, 1],
  );
});

test('source_workload_is_kept_when_known', () => {
  const edges = new ObservedEdges(2);
  edges.observe(seen({ sourceWorkload: { name: 'client-1', namespace: 'shop' } }));
  assert.deepEqual(edges.list()[0]!.sourceWorkload, { name: 'client-1', namespace: 'shop' });
});

test('a_bad_limit_is_refused', () => {
  assert.throws(() => new ObservedEdges(0), /maxObservedEdges must be a positive integer, got 0/);
});

test('one_source_probing_many_ports_cannot_push_other_sources_edges_out', () => {
  const edges = new ObservedEdges(10, 4);
  edges.observe(seen({ sourcePrincipal: 'spiffe://cluster.local/ns/shop/sa/frontend' }));
  edges.observe(seen({ sourceIp: '10.0.0.9', sourcePrincipal: undefined }));
  const PROBER = 'spiffe://cluster.local/ns/evil/sa/scanner';
  for (let port = 1; port <= 50; port++) edges.observe(seen({ sourcePrincipal: PROBER, port, at: new Date(t0.getTime() + port) }));
  const list = edges.list();
  assert.equal(list.filter((e) => e.sourcePrincipal === PROBER).length, 4, 'the prober keeps only its own most recent edges');
  assert.deepEqual(list.filter((e) => e.sourcePrincipal === PROBER).map((e) => e.port).sort((a, b) => a - b), [47, 48, 49, 50]);
  assert.ok(list.some((e) => e.sourcePrincipal === 'spiffe://cluster.local/ns/shop/sa/frontend'), 'the real edge is still there');
  assert.ok(list.some((e) => e.sourcePrincipal === null && e.sourceIp === '10.0.0.9'), 'and the plaintext one');
});

test('plaintext_sources_are_capped_per_address', () => {
  const edges = new ObservedEdges(10, 2);
  for (let port = 1; port <= 5; port++) edges.observe(seen({ sourcePrincipal: undefined, sourceIp: '10.0.0.9', port }));
  edges.observe(seen({ sourcePrincipal: undefined, sourceIp: '10.0.0.10' }));
  assert.equal(edges.list().filter((e) => e.sourceIp === '10.0.0.9').length, 2);
  assert.equal(edges.size, 3);
});
