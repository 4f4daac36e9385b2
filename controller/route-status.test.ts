// The route status writer: status.parents entries of this controller written beside other
// controllers' (never touched), transition times kept while a condition holds, stale
// generations and deleted objects skipped, a write only when something differs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { currentParents, desiredParents, parentsNeedWrite, RouteStatusWriter, sameParentRef } from './route-status.js';
import type { RouteObject, RouteStatus } from './translate/routes.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-01-02T00:00:00.000Z');
const ref = { group: '', kind: 'Service', name: 'echo', port: 80 };

function status(accepted: 'True' | 'False' = 'True', generation = 2): RouteStatus {
  return {
    routeKind: 'HTTPRoute',
    namespace: 'shop',
    name: 'r',
    generation,
    parents: [
      {
        parentRef: ref,
        conditions: [
          { type: 'Accepted', status: accepted, reason: accepted === 'True' ? 'Accepted' : 'NoMatchingParent', message: 'm' },
          { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'ok' },
        ],
      },
    ],
  };
}

const gatewayEntry = { parentRef: { name: 'public' }, controllerName: 'example.net/gateway-controller', conditions: [{ type: 'Accepted', status: 'True' }] };

test('route_status_entry_names_the_parent_and_our_controller', () => {
  const [entry] = desiredParents(status(), [], T0) as Array<Record<string, unknown>>;
  assert.deepEqual(entry, {
    parentRef: ref,
    controllerName: 'ambient.dev/waypoint',
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'm', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' },
      { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'ok', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ],
  });
});

test('route_status_keeps_other_controllers_entries', () => {
  const out = desiredParents(status(), [gatewayEntry], T0);
  assert.deepEqual(out[0], gatewayEntry);
  assert.equal(out.length, 2);
});

test('route_status_drops_our_entry_for_a_parent_no_longer_named', () => {
  const stale = { parentRef: { group: '', kind: 'Service', name: 'old' }, controllerName: 'ambient.dev/waypoint', conditions: [] };
  const out = desiredParents(status(), [stale, gatewayEntry], T0) as Array<{ parentRef: { name: string } }>;
  assert.deepEqual(out.map((p) => p.parentRef.name), ['public', 'echo']);
});

test('route_status_transition_time_kept_while_status_holds_and_moves_when_it_flips', () => {
  const first = desiredParents(status('True', 2), [], T0);
  const same = desiredParents(status('True', 3), first, T1) as Array<{ conditions: Array<{ lastTransitionTime: string; observedGeneration: number }> }>;
  assert.equal(same[0]!.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(same[0]!.conditions[0]!.observedGeneration, 3);
  const flipped = desiredParents(status('False', 3), first, T1) as Array<{ conditions: Array<{ lastTransitionTime: string }> }>;
  assert.equal(flipped[0]!.conditions[0]!.lastTransitionTime, '2026-01-02T00:00:00Z');
  assert.equal(flipped[0]!.conditions[1]!.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('route_status_write_needed_only_when_something_differs', () => {
  const d = desiredParents(status(), [], T0);
  assert.equal(parentsNeedWrite(JSON.parse(JSON.stringify(d)), d), false);
  assert.equal(parentsNeedWrite([], d), true);
});

test('route_status_parent_ref_defaults_compare_as_the_api_fills_them', () => {
  assert.equal(sameParentRef({ group: '', kind: 'Service', name: 'echo', port: 80 }, ref), true);
  assert.equal(sameParentRef({ group: '', kind: 'Service', name: 'echo' }, ref), false);
  assert.equal(sameParentRef({ name: 'echo', port: 80 }, ref), false, 'defaults to a Gateway');
});

test('route_status_malformed_current_status_reads_as_empty', () => {
  assert.deepEqual(currentParents({ status: 'x' }), []);
  assert.deepEqual(currentParents({ status: { parents: 'x' } }), []);
});

function writer(objects: RouteObject[], patch: (name: string, rv: string | undefined, parents: unknown[]) => Promise<void>) {
  return new RouteStatusWriter({ kubeConfig: new KubeConfig(), list: (kind) => (kind === 'HTTPRoute' ? objects : []), patch: (_k, _ns, name, rv, parents) => patch(name, rv, parents), now: () => T0 });
}

test('route_status_writer_writes_once_with_the_resource_version', async () => {
  const obj: RouteObject = { metadata: { name: 'r', namespace: 'shop', generation: 2, resourceVersion: '17' }, status: { parents: [gatewayEntry] } };
  const writes: Array<[string | undefined, unknown[]]> = [];
  const w = writer([obj], async (_n, rv, parents) => {
    writes.push([rv, parents]);
    obj.status = { parents };
  });
  w.update([status()]);
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 1, failed: 0, left: 0 });
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 0, left: 0 });
  assert.equal(writes.length, 1);
  assert.equal(writes[0]![0], '17');
  assert.deepEqual(writes[0]![1][0], gatewayEntry);
});

test('route_status_writer_skips_stale_generations_and_missing_objects', async () => {
  const writes: string[] = [];
  const w = writer([{ metadata: { name: 'r', namespace: 'shop', generation: 5 } }], async (n) => void writes.push(n));
  w.update([status('True', 2), { ...status(), name: 'gone' }]);
  await w.pass(new AbortController().signal);
  assert.deepEqual(writes, []);
});

test('route_status_writer_counts_a_conflict_and_retries', async () => {
  const obj: RouteObject = { metadata: { name: 'r', namespace: 'shop', generation: 2 } };
  let calls = 0;
  const w = writer([obj], async (_n, _rv, parents) => {
    calls++;
    if (calls === 1) throw Object.assign(new Error('conflict'), { code: 409 });
    obj.status = { parents };
  });
  w.update([status()]);
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 0, failed: 1, left: 0 });
  assert.deepEqual(await w.pass(new AbortController().signal), { written: 1, failed: 0, left: 0 });
  assert.equal(w.failures, 1);
});
