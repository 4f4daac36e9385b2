import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daemonSetOwner, decideStop, watchedAfter } from './decide.js';

const owner = { namespace: 'ambient-system', name: 'ambient-node-agent', uid: 'ds-1' };

test('stop_daemonset_gone_is_an_uninstall', () => {
  assert.equal(decideStop(owner, { kind: 'not-found' }, 'present').mode, 'uninstall');
});

test('stop_daemonset_being_deleted_is_an_uninstall', () => {
  const d = decideStop(owner, { kind: 'found', uid: 'ds-1', deleting: true }, 'present');
  assert.deepEqual(d, { mode: 'uninstall', reason: 'DaemonSet ambient-system/ambient-node-agent is being deleted' });
});

test('stop_daemonset_still_there_is_a_restart', () => {
  assert.equal(decideStop(owner, { kind: 'found', uid: 'ds-1', deleting: false }, 'present').mode, 'restart');
});

test('stop_daemonset_replaced_by_a_new_one_is_a_restart', () => {
  // Deleted and applied again: the new DaemonSet's agent takes the pods over.
  const d = decideStop(owner, { kind: 'found', uid: 'ds-2', deleting: false }, 'deleted');
  assert.equal(d.mode, 'restart');
  assert.match(d.reason, /replaced/);
});

test('stop_api_unreachable_without_a_seen_deletion_is_a_restart_fail_closed', () => {
  const d = decideStop(owner, { kind: 'error', message: 'connect ECONNREFUSED' }, 'present');
  assert.equal(d.mode, 'restart');
  assert.match(d.reason, /ECONNREFUSED.*keeping every rule \(fail closed\)/);
  assert.equal(decideStop(owner, { kind: 'error', message: 'x' }, 'unknown').mode, 'restart');
});

test('stop_api_unreachable_after_the_watch_saw_the_deletion_is_an_uninstall', () => {
  // The pod's token dies with the pod; the watch saw the DaemonSet go first.
  assert.equal(decideStop(owner, { kind: 'error', message: '401' }, 'deleted').mode, 'uninstall');
  assert.equal(decideStop(owner, { kind: 'error', message: '401' }, 'deleting').mode, 'uninstall');
});

test('stop_without_a_daemonset_owner_never_uninstalls', () => {
  assert.equal(decideStop(undefined, { kind: 'not-found' }, 'deleted').mode, 'restart');
});

test('owner_is_the_controlling_daemonset_of_the_pod', () => {
  const pod = { metadata: { namespace: 'ambient-system', ownerReferences: [{ kind: 'ReplicaSet', name: 'r', uid: 'u0', controller: true }, { kind: 'DaemonSet', name: 'ambient-node-agent', uid: 'ds-1', controller: true }] } };
  assert.deepEqual(daemonSetOwner(pod), owner);
  assert.equal(daemonSetOwner({ metadata: { namespace: 'x', ownerReferences: [{ kind: 'DaemonSet', name: 'd', uid: 'u', controller: false }] } }), undefined);
  assert.equal(daemonSetOwner({ metadata: { namespace: 'x' } }), undefined);
});

test('watch_events_of_the_owner_move_what_is_known', () => {
  const obj = (deletionTimestamp?: string, uid = 'ds-1') => ({ metadata: { uid, ...(deletionTimestamp ? { deletionTimestamp } : {}) } });
  assert.equal(watchedAfter('unknown', { type: 'ADDED', object: obj() }, 'ds-1'), 'present');
  assert.equal(watchedAfter('present', { type: 'MODIFIED', object: obj('2026-01-01T00:00:00Z') }, 'ds-1'), 'deleting');
  assert.equal(watchedAfter('present', { type: 'DELETED', object: obj() }, 'ds-1'), 'deleted');
  assert.equal(watchedAfter('present', { type: 'DELETED', object: obj(undefined, 'other') }, 'ds-1'), 'present', 'another DaemonSet of the name');
  assert.equal(watchedAfter('deleted', { type: 'BOOKMARK', object: obj() }, 'ds-1'), 'deleted');
});
