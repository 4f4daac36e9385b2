import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressesFromIpJson, namesFromListIdJson } from './netns.js';

test('netns_addresses_skip_loopback_and_canonicalise', () => {
  const json = JSON.stringify([
    { ifname: 'lo', addr_info: [{ local: '127.0.0.1' }, { local: '::1' }] },
    { ifname: 'eth0', addr_info: [{ local: '10.244.1.5', prefixlen: 24 }, { local: 'fe80::1' }] },
  ]);
  assert.deepEqual(addressesFromIpJson(json), ['10.244.1.5', 'fe80::1']);
});

test('netns_addresses_of_garbage_are_none', () => {
  assert.deepEqual(addressesFromIpJson('not json'), []);
  assert.deepEqual(addressesFromIpJson('{}'), []);
  assert.deepEqual(addressesFromIpJson('[{"ifname":"eth0","addr_info":"x"}]'), []);
});

test('netns_linked_names_from_list_id', () => {
  assert.deepEqual(namesFromListIdJson('[{"nsid":0,"name":"amb-x"},{"nsid":2},{"nsid":3,"name":"amb-x-pod-1"}]'), ['amb-x', 'amb-x-pod-1']);
  assert.deepEqual(namesFromListIdJson(''), []);
});
