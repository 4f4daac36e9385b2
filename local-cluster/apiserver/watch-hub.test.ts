// Unit tests of what a watcher sees of an event, and of the hub's ordered fan-out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldsOf, kindByApiVersionKind, type KObject } from './kinds.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { StoredEvent } from './store.js';
import { WatchHub, watchEventFor, type WatchFilter } from './watch-hub.js';

const POD = kindByApiVersionKind('v1', 'Pod')!;
const pod = (labels: Record<string, string>, nodeName = '', ns = 'default'): KObject => ({ metadata: { name: 'p', namespace: ns, labels }, spec: { nodeName } });
const prev = (o: KObject) => ({ labels: o.metadata!.labels ?? {}, fields: fieldsOf(POD, o) });
const ev = (rv: number, type: StoredEvent['type'], object: KObject, before?: KObject): StoredEvent => ({ rv, type, resource: 'pods', object, ...(before ? { prev: prev(before) } : {}) });
const filter = (labels = '', fields = '', namespace?: string): WatchFilter => ({
  ...(namespace ? { namespace } : {}),
  labels: parseLabelSelector(labels),
  fields: parseFieldSelector(fields, ['metadata.name', 'metadata.namespace', 'spec.nodeName']),
});

test('watch_event_passes_matching_objects_unchanged', () => {
  assert.equal(watchEventFor(POD, ev(1, 'ADDED', pod({ app: 'a' })), filter('app=a'))?.type, 'ADDED');
  assert.equal(watchEventFor(POD, ev(1, 'ADDED', pod({ app: 'b' })), filter('app=a')), undefined);
  assert.equal(watchEventFor(POD, ev(2, 'DELETED', pod({ app: 'a' })), filter('app=a'))?.type, 'DELETED');
});

test('watch_event_object_entering_selection_is_added', () => {
  const out = watchEventFor(POD, ev(2, 'MODIFIED', pod({ app: 'a' }), pod({ app: 'b' })), filter('app=a'));
  assert.equal(out?.type, 'ADDED');
});

test('watch_event_object_leaving_selection_is_deleted', () => {
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({ app: 'b' }), pod({ app: 'a' })), filter('app=a'))?.type, 'DELETED');
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({}, 'node-2'), pod({}, 'node-1')), filter('', 'spec.nodeName=node-1'))?.type, 'DELETED');
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({}, 'node-1'), pod({}, '')), filter('', 'spec.nodeName=node-1'))?.type, 'ADDED', 'a pod scheduled to this node');
});

test('watch_event_outside_before_and_after_is_dropped_and_namespace_filters', () => {
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({ app: 'c' }), pod({ app: 'b' })), filter('app=a')), undefined);
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({}), pod({})), filter('', '', 'other')), undefined);
  assert.equal(watchEventFor(POD, ev(2, 'MODIFIED', pod({}), pod({})), filter('', '', 'default'))?.type, 'MODIFIED');
});

test('hub_delivers_in_resource_version_order_and_drops_repeats', async () => {
  const hub = new WatchHub(10, 50);
  const seen: number[] = [];
  hub.subscribe('pods', (e) => seen.push(e.rv), () => {});
  hub.publish(ev(12, 'ADDED', pod({})));
  assert.deepEqual(seen, [], '12 waits for 11');
  hub.publish(ev(11, 'ADDED', pod({})));
  hub.publish(ev(11, 'ADDED', pod({})));
  hub.publish(ev(9, 'ADDED', pod({})));
  assert.deepEqual(seen, [11, 12]);
  assert.equal(hub.lastRv, 12);
});

test('hub_gives_up_on_a_gap_after_the_wait', async () => {
  const hub = new WatchHub(0, 20);
  const seen: number[] = [];
  hub.subscribe('pods', (e) => seen.push(e.rv), () => {});
  hub.publish(ev(3, 'ADDED', pod({})));
  hub.publish(ev(2, 'ADDED', pod({})));
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(seen, [2, 3]);
});

test('hub_routes_by_resource_and_close_all_ends_watchers', () => {
  const hub = new WatchHub(0, 20);
  const pods: number[] = [];
  let closed = 0;
  hub.subscribe('pods', (e) => pods.push(e.rv), () => closed++);
  hub.subscribe('services', () => assert.fail('not a service event'), () => closed++);
  hub.publish(ev(1, 'ADDED', pod({})));
  assert.deepEqual(pods, [1]);
  hub.closeAll();
  assert.equal(closed, 2);
  assert.equal(hub.size, 0);
});

test('hub_closes_a_failing_watcher_without_failing_the_publisher_or_others', () => {
  const hub = new WatchHub(0, 20);
  const good: number[] = [];
  let closed = false;
  hub.subscribe('pods', () => { throw new Error('broken client'); }, () => (closed = true));
  hub.subscribe('pods', (e) => good.push(e.rv), () => {});
  assert.doesNotThrow(() => hub.publish(ev(1, 'ADDED', pod({}))));
  assert.deepEqual(good, [1]);
  assert.ok(closed);
  assert.equal(hub.size, 1);
});
