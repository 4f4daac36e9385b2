// Unit tests of the node's probe source rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PROBE_SOURCES } from '../../node-agent/capture/rules.js';
import { PROBE_GUARD_CHAIN, PROBE_MARK, PROBE_SNAT_CHAIN, PROBE_SOURCE_V4, PROBE_SOURCE_V6, probeJumps, probeRules } from './probe-rules.js';

test('probe_source_is_the_one_the_in_pod_capture_exempts', () => {
  assert.deepEqual([PROBE_SOURCE_V4, PROBE_SOURCE_V6], [...DEFAULT_PROBE_SOURCES]);
});

test('only_marked_traffic_toward_pods_is_snatted_to_the_probe_source', () => {
  const text = probeRules({ family: 4, podBridge: 'cni0' });
  const snat = text.split('\n').filter((l) => l.includes('SNAT --to-source'));
  assert.deepEqual(snat, [
    `-A ${PROBE_SNAT_CHAIN} -o cni0 -m mark --mark 0x10000/0x10000 -m comment --comment "kubelet probes reach pods from the probe source" -j SNAT --to-source 169.254.7.127`,
  ]);
  assert.equal(PROBE_MARK & 0x4000, 0, 'the probe mark must not carry kube-proxy masquerade bit');
  assert.equal(PROBE_MARK & 0x539, 0, 'nor bits of the node agent mark');
});

test('a_packet_already_carrying_the_probe_source_is_dropped', () => {
  const v4 = probeRules({ family: 4, podBridge: 'cni0' });
  assert.match(v4, new RegExp(`-A ${PROBE_GUARD_CHAIN} -s 169\\.254\\.7\\.127/32 .* -j DROP`));
  const v6 = probeRules({ family: 6, podBridge: 'cni0' });
  assert.match(v6, new RegExp(`-A ${PROBE_GUARD_CHAIN} -s fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128 .* -j DROP`));
  assert.match(v6, /SNAT --to-source fd16:9254:7127:1337:ffff:ffff:ffff:ffff$/m);
  // The guard sees traffic before the SNAT (filter OUTPUT, FORWARD) and never after it.
  assert.deepEqual(
    probeJumps().map((j) => `${j.table} ${j.chain}`),
    ['nat POSTROUTING', 'filter OUTPUT', 'filter FORWARD'],
  );
});

test('a_bad_bridge_name_is_refused', () => {
  assert.throws(() => probeRules({ family: 4, podBridge: 'cni0 -j ACCEPT' }), /invalid bridge name/);
});
