// Diffing two versions of the mesh config: what a push must carry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, diffResources, indexResources } from './diff.js';
import type { MeshService, Resource, Workload } from './model.js';

function wl(uid: string, over: Partial<Workload> = {}): Resource<'Workload'> {
  const body: Workload = {
    uid,
    name: `pod-${uid}`,
    namespace: 'shop',
    serviceAccount: 'default',
    identity: 'spiffe://cluster.local/ns/shop/sa/default',
    node: 'node1',
    ips: ['10.244.0.5'],
    protocol: 'HBONE',
    labels: { app: 'web', tier: 'front' },
    canonicalName: 'web',
    canonicalRevision: 'latest',
    mtlsMode: 'PERMISSIVE',
    healthy: true,
    ...over,
  };
  return { kind: 'Workload', key: uid, body };
}

function svc(name: string, vips = ['10.96.0.1']): Resource<'Service'> {
  const hostname = `${name}.shop.svc.cluster.local`;
  const body: MeshService = { key: `shop/${hostname}`, name, namespace: 'shop', hostname, vips, ports: [], endpoints: [] };
  return { kind: 'Service', key: body.key, body };
}

const ids = (rs: Array<{ kind: string; key: string }>) => rs.map((r) => `${r.kind} ${r.key}`);

test('diff_detects_removed_and_changed', () => {
  const previous = indexResources([wl('a'), wl('b'), svc('web')]);
  const d = diffResources(previous, [wl('a'), wl('b', { healthy: false })]);
  assert.deepEqual(ids(d.upserted), ['Workload b']);
  assert.deepEqual(d.removed, [{ kind: 'Service', key: 'shop/web.shop.svc.cluster.local' }]);
});

test('diff_of_identical_sets_is_empty', () => {
  const all = [wl('a'), svc('web')];
  assert.deepEqual(diffResources(indexResources(all), structuredClone(all)), { upserted: [], removed: [] });
});

test('diff_from_nothing_upserts_everything', () => {
  const d = diffResources(new Map(), [svc('web'), wl('a')]);
  assert.deepEqual(ids(d.upserted), ['Workload a', 'Service shop/web.shop.svc.cluster.local']);
  assert.deepEqual(d.removed, []);
});

test('diff_to_nothing_removes_everything_sorted', () => {
  const d = diffResources(indexResources([svc('web'), wl('b'), wl('a')]), []);
  assert.deepEqual(ids(d.removed), ['Workload a', 'Workload b', 'Service shop/web.shop.svc.cluster.local']);
});

test('diff_ignores_object_key_order', () => {
  const a = wl('a');
  const reordered = wl('a');
  reordered.body = Object.fromEntries(Object.entries(a.body).reverse()) as unknown as Workload;
  reordered.body.labels = { tier: 'front', app: 'web' };
  assert.deepEqual(diffResources(indexResources([a]), [reordered]).upserted, []);
});

test('diff_sees_array_order_changes', () => {
  const d = diffResources(indexResources([svc('web', ['10.96.0.1', 'fd00::1'])]), [svc('web', ['fd00::1', '10.96.0.1'])]);
  assert.deepEqual(ids(d.upserted), ['Service shop/web.shop.svc.cluster.local']);
});

test('diff_sees_an_optional_field_appear', () => {
  const d = diffResources(indexResources([wl('a')]), [wl('a', { waypoint: { service: 'shop/wp.shop.svc.cluster.local', port: 15008 } })]);
  assert.deepEqual(ids(d.upserted), ['Workload a']);
});

test('diff_treats_undefined_member_as_absent', () => {
  const d = diffResources(indexResources([wl('a')]), [wl('a', { waypoint: undefined })]);
  assert.deepEqual(d.upserted, []);
});

test('diff_keeps_kinds_apart_when_keys_coincide', () => {
  const w = wl('shop/x');
  const p: Resource = { kind: 'Policy', key: 'shop/x', body: { key: 'shop/x', name: 'x', namespace: 'shop', scope: 'namespace', action: 'ALLOW', rules: [] } };
  const d = diffResources(indexResources([w]), [w, p]);
  assert.deepEqual(ids(d.upserted), ['Policy shop/x']);
  assert.deepEqual(d.removed, []);
});

test('diff_identifies_previous_entries_by_their_own_kind_and_key', () => {
  const previous = new Map<string, Resource>([['whatever', wl('a')], ['also-a', wl('a')]]);
  assert.deepEqual(diffResources(previous, [wl('a')]), { upserted: [], removed: [] });
  assert.deepEqual(diffResources(previous, []).removed, [{ kind: 'Workload', key: 'a' }]);
});

test('diff_rejects_a_resource_twice_in_the_new_set', () => {
  assert.throws(() => diffResources(new Map(), [wl('a'), wl('a')]), /Workload a appears more than once/);
});

test('diff_does_not_modify_its_inputs', () => {
  const prev = indexResources([wl('a'), svc('web')]);
  const next = [wl('b')];
  const snapshot = JSON.stringify([[...prev], next]);
  diffResources(prev, next);
  assert.equal(JSON.stringify([[...prev], next]), snapshot);
});

test('canonical_json_sorts_keys_at_every_depth', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
});

test('canonical_json_keeps_proto_named_key', () => {
  const o = JSON.parse('{"b":1,"__proto__":{"x":1}}');
  assert.equal(canonicalJson(o), '{"__proto__":{"x":1},"b":1}');
});
