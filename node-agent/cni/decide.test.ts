import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workload } from '../../core/config/model.js';
import { ErrorCodes } from '../../core/errors.js';
import { decideCniAdd, decideCniDel, verifyNetnsHoldsAddresses, type CniAddInput } from './decide.js';

const workload = { uid: 'u1', name: 'web-1', namespace: 'shop', ips: ['10.244.1.5'], protocol: 'HBONE' } as Workload;

function add(over: Partial<CniAddInput> = {}): CniAddInput {
  return {
    pod: { uid: 'u1', name: 'web-1', namespace: 'shop', containerId: 'c1', netnsPath: '/var/run/netns/cni-1', ips: ['10.244.1.5'] },
    netns: 'cni-1',
    enrolment: { decided: true, workload },
    actual: ['10.244.1.5'],
    elsewhere: undefined,
    ...over,
  };
}

test('netns_holding_every_expected_address_is_verified', () => {
  assert.deepEqual(verifyNetnsHoldsAddresses(['10.244.1.5'], ['10.244.1.5', 'fe80::1']), { ok: true });
  assert.deepEqual(verifyNetnsHoldsAddresses(['fd00::5'], ['fd00:0:0:0:0:0:0:5']), { ok: true }, 'IPv6 compared canonically');
});

test('netns_missing_an_expected_address_is_not_verified', () => {
  assert.deepEqual(verifyNetnsHoldsAddresses(['10.244.1.5', 'fd00::5'], ['10.244.1.5']), { ok: false, missing: ['fd00::5'] });
  assert.deepEqual(verifyNetnsHoldsAddresses(['10.244.1.5'], []), { ok: false, missing: ['10.244.1.5'] });
});

test('nothing_expected_is_not_a_proof', () => {
  assert.deepEqual(verifyNetnsHoldsAddresses([], ['10.244.1.5']), { ok: false, missing: [] });
});

test('add_enrols_a_pod_whose_netns_holds_its_addresses', () => {
  assert.deepEqual(decideCniAdd(add()), { action: 'enrol', workload, netns: 'cni-1' });
});

test('add_passes_a_pod_the_mesh_does_not_enrol_without_looking_at_its_netns', () => {
  const d = decideCniAdd(add({ enrolment: { decided: true, workload: undefined }, netns: undefined, actual: undefined }));
  assert.equal(d.action, 'pass');
});

test('add_is_refused_when_enrolment_cannot_be_decided', () => {
  const d = decideCniAdd(add({ enrolment: { decided: false, error: 'GET pods/web-1: 503' } }));
  assert.equal(d.action, 'refuse');
  assert.equal(d.action === 'refuse' && d.code, ErrorCodes.CNI_UNDECIDED);
  assert.match(d.action === 'refuse' ? d.reason : '', /cannot decide whether pod shop\/web-1 is enrolled \(GET pods\/web-1: 503\)/);
});

test('add_is_refused_when_the_netns_does_not_hold_the_claimed_address', () => {
  const d = decideCniAdd(add({ actual: ['10.244.1.9'] }));
  assert.equal(d.action === 'refuse' && d.code, ErrorCodes.CNI_NETNS_MISMATCH);
  assert.match(d.action === 'refuse' ? d.reason : '', /netns cni-1 does not hold 10\.244\.1\.5/);
});

test('add_is_refused_when_the_pod_lives_in_another_netns', () => {
  const d = decideCniAdd(add({ elsewhere: 'cni-victim' }));
  assert.equal(d.action === 'refuse' && d.code, ErrorCodes.CNI_NETNS_MISMATCH);
  assert.match(d.action === 'refuse' ? d.reason : '', /lives in netns cni-victim/);
});

test('add_for_the_netns_the_pod_lives_in_is_not_a_move', () => {
  assert.equal(decideCniAdd(add({ elsewhere: 'cni-1' })).action, 'enrol');
});

test('add_is_refused_without_addresses_to_verify', () => {
  assert.equal(decideCniAdd(add({ pod: { ...add().pod, ips: [] } })).action, 'refuse');
  assert.equal(decideCniAdd(add({ actual: undefined })).action, 'refuse');
});

test('add_of_an_enrolled_pod_outside_var_run_netns_is_refused', () => {
  const d = decideCniAdd(add({ netns: undefined, pod: { ...add().pod, netnsPath: '/proc/123/ns/net' } }));
  assert.match(d.action === 'refuse' ? d.reason : '', /not under \/var\/run\/netns/);
});

test('del_releases_only_the_recorded_container', () => {
  assert.deepEqual(decideCniDel({ containerId: 'c1', netns: undefined, recorded: { netns: 'cni-1', containerId: 'c1' } }), { action: 'release' });
  assert.equal(decideCniDel({ containerId: 'forged', netns: 'cni-1', recorded: { netns: 'cni-1', containerId: 'c1' } }).action, 'ignore');
});

test('del_without_a_recorded_container_needs_the_recorded_netns', () => {
  assert.deepEqual(decideCniDel({ containerId: 'x', netns: 'cni-1', recorded: { netns: 'cni-1' } }), { action: 'release' });
  assert.equal(decideCniDel({ containerId: 'x', netns: 'cni-2', recorded: { netns: 'cni-1' } }).action, 'ignore');
  assert.equal(decideCniDel({ containerId: 'x', netns: undefined, recorded: { netns: 'cni-1' } }).action, 'ignore', 'no netns: nothing to match');
});

test('del_of_a_pod_with_nothing_recorded_is_ignored', () => {
  assert.equal(decideCniDel({ containerId: 'c1', netns: 'cni-1', recorded: undefined }).action, 'ignore');
});
