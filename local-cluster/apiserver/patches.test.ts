// Unit tests of the three patch formats: JSON merge patch (RFC 7386), strategic merge
// patch (the subset kubectl apply needs) and JSON patch (RFC 6902).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';
import { applyMergePatch } from './merge-patch.js';
import { applyStrategicMergePatch } from './strategic-merge-patch.js';

test('merge_patch_rfc7386_examples', () => {
  // The test cases of RFC 7386 appendix A.
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify([target, patch]));
});

test('merge_patch_does_not_modify_its_input', () => {
  const target = { metadata: { labels: { a: '1' } } };
  applyMergePatch(target, { metadata: { labels: { b: '2' } } });
  assert.deepEqual(target, { metadata: { labels: { a: '1' } } });
});

test('merge_patch_proto_key_is_an_ordinary_key', () => {
  const out = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
});

const deployment = () => ({
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
          { name: 'sidecar', image: 'side:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

test('strategic_merge_patch_merges_containers_by_name', () => {
  const out = applyStrategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } }) as ReturnType<typeof deployment>;
  const cs = out.spec.template.spec.containers;
  assert.equal(cs.length, 2, 'the other container stays');
  assert.equal(cs[0]!.image, 'app:2');
  assert.deepEqual(cs[0]!.env, [{ name: 'A', value: '1' }], 'fields not in the patch stay');
  assert.equal(cs[1]!.image, 'side:1');
});

test('strategic_merge_patch_appends_new_keyed_elements_and_merges_nested_lists', () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }, { name: 'A', value: '9' }], ports: [{ containerPort: 8080 }] }, { name: 'new', image: 'n:1' }] } } },
  }) as ReturnType<typeof deployment>;
  const cs = out.spec.template.spec.containers;
  assert.deepEqual(cs.map((c) => c.name), ['app', 'sidecar', 'new']);
  assert.deepEqual(cs[0]!.env, [{ name: 'A', value: '9' }, { name: 'B', value: '2' }]);
  assert.deepEqual(cs[0]!.ports, [{ containerPort: 80 }, { containerPort: 8080 }]);
});

test('strategic_merge_patch_honours_patch_delete', () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }], volumes: [{ name: 'data', $patch: 'delete' }] } } },
  }) as ReturnType<typeof deployment>;
  assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ['app']);
  assert.deepEqual(out.spec.template.spec.volumes, []);
});

test('strategic_merge_patch_replace_directive_and_null', () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: { replicas: null, template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o:1' }] } } },
  }) as ReturnType<typeof deployment>;
  assert.equal(out.spec.replicas, undefined);
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'o:1' }]);
});

test('strategic_merge_patch_ignores_order_and_retain_directives', () => {
  const out = applyStrategicMergePatch(deployment(), {
    spec: { template: { spec: { $setElementOrder: 'x', '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }], $retainKeys: ['containers'], containers: [{ name: 'app', image: 'app:3' }] } } },
  }) as { spec: { template: { spec: Record<string, unknown> } } };
  assert.ok(Object.keys(out.spec.template.spec).every((k) => !k.startsWith('$')), 'no directive is stored');
  assert.equal((out.spec.template.spec['containers'] as { image: string }[])[0]!.image, 'app:3');
});

test('strategic_merge_patch_service_ports_merge_on_port_and_unkeyed_lists_replace', () => {
  const svc = { spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }], externalIPs: ['1.1.1.1'] } };
  const out = applyStrategicMergePatch(svc, { spec: { ports: [{ port: 443, targetPort: 8443 }], externalIPs: ['2.2.2.2'] } }) as typeof svc;
  assert.deepEqual(out.spec.ports, [{ port: 80, name: 'http' }, { port: 443, name: 'https', targetPort: 8443 }]);
  assert.deepEqual(out.spec.externalIPs, ['2.2.2.2']);
});

test('strategic_merge_patch_finalizers_merge_as_a_set_and_delete_from_primitive_list', () => {
  const obj = { metadata: { finalizers: ['a', 'b'] } };
  assert.deepEqual((applyStrategicMergePatch(obj, { metadata: { finalizers: ['b', 'c'] } }) as typeof obj).metadata.finalizers, ['a', 'b', 'c']);
  assert.deepEqual((applyStrategicMergePatch(obj, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }) as typeof obj).metadata.finalizers, ['b']);
});

test('json_patch_rfc6902_operations', () => {
  const doc = { metadata: { labels: { a: '1' } }, spec: { list: [1, 2, 3] } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
    { op: 'replace', path: '/metadata/labels/a', value: 'x' },
    { op: 'remove', path: '/spec/list/0' },
    { op: 'add', path: '/spec/list/-', value: 4 },
    { op: 'copy', from: '/spec/list', path: '/spec/copy' },
    { op: 'move', from: '/spec/copy', path: '/spec/moved' },
    { op: 'test', path: '/spec/moved/2', value: 4 },
  ]);
  assert.deepEqual(out, { metadata: { labels: { a: 'x', 'b/c': '2' } }, spec: { list: [2, 3, 4], moved: [2, 3, 4] } });
  assert.deepEqual(doc.spec.list, [1, 2, 3], 'input untouched');
});

test('json_patch_failures_are_typed', () => {
  const fails = (patch: unknown, kind: 'malformed' | 'failed') =>
    assert.throws(() => applyJsonPatch({ a: [1] }, patch), (e: unknown) => e instanceof JsonPatchError && e.kind === kind, JSON.stringify(patch));
  fails({ op: 'add' }, 'malformed');
  fails([{ op: 'jump', path: '/a' }], 'malformed');
  fails([{ op: 'add', path: '/b' }], 'malformed');
  fails([{ op: 'remove', path: '/missing' }], 'failed');
  fails([{ op: 'replace', path: '/a/5', value: 1 }], 'failed');
  fails([{ op: 'test', path: '/a/0', value: 2 }], 'failed');
  fails([{ op: 'add', path: '/x/y', value: 1 }], 'failed');
});
