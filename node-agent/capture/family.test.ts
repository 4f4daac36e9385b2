import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMeshError } from '../../core/errors.js';
import { captureFamilies, listenAddresses } from './family.js';

test('ipv6_is_captured_whenever_the_namespace_has_ipv6', () => {
  assert.deepEqual(captureFamilies(['10.244.1.5', 'fd00:10:244:1::5'], true), { ipv6: true });
  // No IPv6 address in the cluster, but link-local IPv6 still reaches the pod: captured.
  assert.deepEqual(captureFamilies(['10.244.1.5'], true), { ipv6: true });
  assert.deepEqual(captureFamilies(['10.244.1.5'], false), { ipv6: false });
});

test('a_pod_with_an_ipv6_address_whose_namespace_cannot_listen_on_ipv6_is_refused', () => {
  assert.throws(
    () => captureFamilies(['10.244.1.5', 'fd00:10:244:1::5'], false),
    (err: unknown) => isMeshError(err) && /IPv6 is disabled in its network namespace/.test((err as Error).message),
  );
});

test('ipv6_listeners_mirror_the_ipv4_ones', () => {
  assert.deepEqual(listenAddresses(4), { outbound: '127.0.0.1', inbound: '0.0.0.0', dns: '127.0.0.1' });
  assert.deepEqual(listenAddresses(6), { outbound: '::1', inbound: '::', dns: '::1' });
});
