import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyConflictError, describePath, fieldPaths, fromFieldsV1, managedFieldsOf, mergeApplied, serverSideApply, toFieldsV1, type ApplyOptions } from './apply-patch.js';
import { applyParams, parseApplyBody } from './apply-request.js';
import type { JsonObject } from './json-values.js';

const opts = (manager: string, force = false, now = '2026-01-01T00:00:00Z'): ApplyOptions => ({ manager, force, apiVersion: 'apps/v1', now, mergeLists: true });

function applied(r: ReturnType<typeof serverSideApply>): JsonObject {
  assert.ok('object' in r, `expected no conflict, got ${JSON.stringify(r)}`);
  return r.object;
}

const deploy = (extra: JsonObject = {}, containers: JsonObject[] = [{ name: 'c', image: 'img:1', args: ['--a'] }]): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } },
  spec: { replicas: 2, template: { spec: { containers } }, ...extra },
});

test('the first apply creates: the object as applied, with one Apply entry for the manager', () => {
  const o = applied(serverSideApply(undefined, deploy(), opts('ambientctl')));
  const spec = o['spec'] as JsonObject;
  assert.equal(spec['replicas'], 2);
  const mf = managedFieldsOf(o);
  assert.equal(mf.length, 1);
  assert.deepEqual({ ...mf[0], fieldsV1: undefined }, { manager: 'ambientctl', operation: 'Apply', apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: undefined });
});

test('fieldsV1 names map fields f:, keyed list elements k: with "." for the element, and leaves out name, namespace, apiVersion, kind and status', () => {
  const f = toFieldsV1(fieldPaths({ ...deploy(), status: { replicas: 1 } }, true));
  assert.deepEqual(f, {
    'f:metadata': { 'f:labels': { 'f:app': {} } },
    'f:spec': {
      'f:replicas': {},
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:args': {} } } } },
    },
  });
});

test('fromFieldsV1 is the inverse of toFieldsV1', () => {
  const paths = fieldPaths(deploy(), true);
  assert.deepEqual(fromFieldsV1(toFieldsV1(paths)), paths);
});

test('a field the manager applied before and no longer applies is removed', () => {
  const first = applied(serverSideApply(undefined, deploy({}, [{ name: 'c', image: 'i', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }]), opts('m')));
  const second = applied(serverSideApply(first, deploy({}, [{ name: 'c', image: 'i', env: [{ name: 'X', value: '1' }] }]), opts('m')));
  const c = ((second['spec'] as any).template.spec.containers as any[])[0];
  assert.deepEqual(c.env, [{ name: 'X', value: '1' }]);
  const labelsGone = applied(serverSideApply(first, { ...deploy(), metadata: { name: 'web', namespace: 'ns' } }, opts('m')));
  assert.equal((labelsGone['metadata'] as any).labels, undefined, 'the emptied labels map goes too');
});

test("fields others wrote (not applied) stay: a replica count set by a scale, an annotation added by a controller", () => {
  const first = applied(serverSideApply(undefined, { ...deploy(), spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } } }, opts('m')));
  const live = structuredClone(first) as any;
  live.spec.replicas = 5;
  live.metadata.annotations = { 'deployment.kubernetes.io/revision': '3' };
  live.spec.template.spec.containers.push({ name: 'sidecar', image: 's' });
  const again = applied(serverSideApply(live, { ...deploy(), spec: { template: { spec: { containers: [{ name: 'c', image: 'i2' }] } } } }, opts('m'))) as any;
  assert.equal(again.spec.replicas, 5);
  assert.deepEqual(again.metadata.annotations, { 'deployment.kubernetes.io/revision': '3' });
  assert.deepEqual(again.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`), ['c=i2', 'sidecar=s']);
});

test('a field another manager applied with another value is a conflict naming the field and the manager', () => {
  const byA = applied(serverSideApply(undefined, deploy(), opts('a')));
  const r = serverSideApply(byA, deploy({ replicas: 3 }), opts('b'));
  assert.ok('conflicts' in r);
  assert.deepEqual(r.conflicts, [{ manager: 'a', field: '.spec.replicas' }]);
});

test('a conflict inside a keyed list names the element by its key', () => {
  const byA = applied(serverSideApply(undefined, deploy(), opts('a')));
  const r = serverSideApply(byA, deploy({}, [{ name: 'c', image: 'img:2', args: ['--a'] }]), opts('b'));
  assert.ok('conflicts' in r);
  assert.deepEqual(r.conflicts, [{ manager: 'a', field: '.spec.template.spec.containers[name="c"].image' }]);
});

test('the same value applied by two managers is shared, not a conflict; both own it', () => {
  const byA = applied(serverSideApply(undefined, deploy(), opts('a')));
  const both = applied(serverSideApply(byA, deploy(), opts('b')));
  assert.deepEqual(managedFieldsOf(both).map((e) => e.manager), ['a', 'b']);
  // b stops applying replicas: a still owns it, so it stays.
  const { replicas: _r, ...rest } = deploy()['spec'] as JsonObject;
  const after = applied(serverSideApply(both, { ...deploy(), spec: rest }, opts('b'))) as any;
  assert.equal(after.spec.replicas, 2);
});

test('force takes a conflicting field: the applied value wins and the field leaves the other manager', () => {
  const byA = applied(serverSideApply(undefined, deploy(), opts('a')));
  const forced = applied(serverSideApply(byA, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 7 } }, opts('b', true))) as any;
  assert.equal(forced.spec.replicas, 7);
  const a = managedFieldsOf(forced).find((e) => e.manager === 'a')!;
  assert.ok(!fromFieldsV1(a.fieldsV1).has(JSON.stringify(['f:spec', 'f:replicas'])), 'a no longer owns .spec.replicas');
  assert.ok(fromFieldsV1(a.fieldsV1).has(JSON.stringify(['f:metadata', 'f:labels', 'f:app'])), 'a keeps the rest');
});

test('a manager whose every field was forced away leaves managedFields', () => {
  const byA = applied(serverSideApply(undefined, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { k: 'a' } }, opts('a')));
  const forced = applied(serverSideApply(byA, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { k: 'b' } }, opts('b', true)));
  assert.deepEqual(managedFieldsOf(forced).map((e) => e.manager), ['b']);
});

test('applying the same configuration again changes nothing, not even the entry time', () => {
  const first = applied(serverSideApply(undefined, deploy(), opts('m', false, 'T1')));
  const again = applied(serverSideApply(first, deploy(), opts('m', false, 'T2')));
  assert.deepEqual(again, first);
});

test('a changed configuration updates the entry time', () => {
  const first = applied(serverSideApply(undefined, deploy(), opts('m', false, 'T1')));
  const again = applied(serverSideApply(first, deploy({ paused: true }), opts('m', false, 'T2')));
  assert.equal(managedFieldsOf(again)[0]!.time, 'T2');
});

test('lists without a merge key, and every list of a custom resource, are replaced whole', () => {
  assert.deepEqual(mergeApplied({ args: ['a', 'b'] }, { args: ['c'] }, undefined, true), { args: ['c'] });
  assert.deepEqual(mergeApplied({ containers: [{ name: 'x' }] }, { containers: [{ name: 'y' }] }, undefined, false), { containers: [{ name: 'y' }] });
  assert.deepEqual(mergeApplied({ containers: [{ name: 'x' }] }, { containers: [{ name: 'y' }] }, undefined, true), { containers: [{ name: 'y' }, { name: 'x' }] });
});

test('a removed list element goes whole', () => {
  const first = applied(serverSideApply(undefined, deploy({}, [{ name: 'a', image: 'i' }, { name: 'b', image: 'j' }]), opts('m'))) as any;
  const second = applied(serverSideApply(first, deploy({}, [{ name: 'a', image: 'i' }]), opts('m'))) as any;
  assert.deepEqual(second.spec.template.spec.containers, [{ name: 'a', image: 'i' }]);
});

test('malformed managedFields entries are ignored', () => {
  assert.deepEqual(managedFieldsOf({ metadata: { managedFields: [{ manager: 1 }, 'x', { manager: 'm', operation: 'Apply', fieldsV1: {} }] } }).map((e) => e.manager), ['m']);
});

test('describePath prints kube-apiserver field paths', () => {
  assert.equal(describePath(JSON.stringify(['f:spec', 'f:ports', 'k:{"port":80}', 'f:targetPort'])), '.spec.ports[port=80].targetPort');
});

test('the conflict error is a 409 Conflict with a FieldManagerConflict cause per field', () => {
  const e = applyConflictError({ group: 'apps', plural: 'deployments' }, 'web', [{ manager: 'a', field: '.spec.replicas' }]);
  assert.equal(e.code, 409);
  assert.equal(e.reason, 'Conflict');
  assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "a": .spec.replicas');
  assert.deepEqual(e.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.replicas' }]);
});

test('an apply request needs a fieldManager; force is true or false', () => {
  assert.throws(() => applyParams(new URLSearchParams('')), /fieldManager: Required value/);
  assert.deepEqual(applyParams(new URLSearchParams('fieldManager=m&force=true')), { manager: 'm', force: true });
  assert.throws(() => applyParams(new URLSearchParams('fieldManager=m&force=yes')), /force: Invalid value/);
});

test('the apply body is YAML or JSON, one document', () => {
  assert.deepEqual(parseApplyBody('a: 1\nb: [x]\n'), { a: 1, b: ['x'] });
  assert.deepEqual(parseApplyBody('{"a": 1}'), { a: 1 });
  assert.throws(() => parseApplyBody('a: 1\n---\nb: 2\n'), /exactly one/);
  assert.throws(() => parseApplyBody('a: [\n'), /error decoding YAML/);
});
