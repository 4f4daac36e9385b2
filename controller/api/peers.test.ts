import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { peerTargets } from './peers.js';

const pod = (name: string, o: { ns?: string; app?: string; phase?: string; ip?: string; deleting?: boolean } = {}): V1Pod => ({
  metadata: { name, namespace: o.ns ?? 'ambient-system', labels: { app: o.app ?? 'ambient-controller' }, ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
  status: { phase: o.phase ?? 'Running', ...(o.ip !== '' ? { podIP: o.ip ?? `10.0.0.${name.length}` } : {}) },
});
const opts = { namespace: 'ambient-system', self: 'ctl-a', port: 15014, max: 16 };

test('peers_are_the_other_running_controller_pods', () => {
  const pods = [pod('ctl-a'), pod('ctl-c', { ip: '10.0.0.3' }), pod('ctl-b', { ip: '10.0.0.2' })];
  assert.deepEqual(peerTargets(pods, opts), [{ name: 'ctl-b', host: '10.0.0.2', port: 15014 }, { name: 'ctl-c', host: '10.0.0.3', port: 15014 }]);
});

test('not_peers_other_apps_namespaces_pending_ipless_or_terminating_pods', () => {
  const pods = [pod('x', { app: 'echo' }), pod('y', { ns: 'apps' }), pod('z', { phase: 'Pending' }), pod('w', { ip: '' }), pod('v', { deleting: true })];
  assert.deepEqual(peerTargets(pods, opts), []);
});

test('at_most_max_peers_are_asked', () => {
  const pods = Array.from({ length: 30 }, (_, i) => pod(`ctl-${String(i).padStart(2, '0')}`, { ip: `10.0.1.${i}` }));
  assert.equal(peerTargets(pods, { ...opts, max: 4 }).length, 4);
});
