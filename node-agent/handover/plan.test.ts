import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InheritedSockets, judgeHandoverPeer, planOffer, workerCountAfterHandover, type HeldSocket, type ReceivedSocket } from './plan.js';

const tcp = (host: string, port: number, fd: number): HeldSocket => ({ proto: 'tcp', host, port, fd });
const got = (s: HeldSocket, reusePort = true): ReceivedSocket => ({ ...s, reusePort });

test('offer_sends_each_pod_then_the_node_servers_then_end', () => {
  const frames = planOffer(
    [{ uid: 'a', netnsPath: '/var/run/netns/a', sockets: [tcp('127.0.0.1', 15001, 10), tcp('0.0.0.0', 15008, 11)] }],
    [{ proto: 'tcp', host: '127.0.0.1', port: 15000, role: 'admin', fd: 3 }],
  );
  assert.deepEqual(
    frames.map((f) => [f.message.t, f.fds]),
    [
      ['sockets', [10, 11]],
      ['sockets', [3]],
      ['end', []],
    ],
  );
  assert.deepEqual(frames[0]!.message, { t: 'sockets', owner: { kind: 'pod', uid: 'a', netnsPath: '/var/run/netns/a' }, sockets: [{ proto: 'tcp', host: '127.0.0.1', port: 15001 }, { proto: 'tcp', host: '0.0.0.0', port: 15008 }] });
  assert.deepEqual(frames.at(-1)!.message, { t: 'end', pods: 1 });
});

test('offer_splits_a_pod_beyond_253_descriptors', () => {
  const many = Array.from({ length: 300 }, (_, i) => tcp('0.0.0.0', 15008, 100 + i));
  const frames = planOffer([{ uid: 'a', netnsPath: '/n', sockets: many }], []);
  assert.deepEqual(frames.map((f) => f.fds.length), [253, 47, 0]);
  assert.deepEqual(frames.flatMap((f) => f.fds), many.map((s) => s.fd));
});

test('offer_leaves_out_a_pod_without_sockets', () => {
  const frames = planOffer([{ uid: 'a', netnsPath: '/n', sockets: [] }], []);
  assert.deepEqual(frames.map((f) => f.message), [{ t: 'end', pods: 0 }]);
});

test('inherited_pod_sockets_are_taken_once_by_address', () => {
  const inh = new InheritedSockets();
  inh.add({ kind: 'pod', uid: 'a', netnsPath: '/n/a' }, [got(tcp('127.0.0.1', 15001, 10)), got(tcp('127.0.0.1', 15001, 11)), got(tcp('0.0.0.0', 15008, 12))]);
  assert.deepEqual(inh.unclaimed(), ['a']);
  assert.deepEqual(inh.take('/n/a', 'tcp', '127.0.0.1', 15001), [10, 11]);
  assert.deepEqual(inh.take('/n/a', 'tcp', '127.0.0.1', 15001), [], 'taken once');
  assert.deepEqual(inh.take('/n/b', 'tcp', '127.0.0.1', 15001), [], 'another pod has none');
  assert.deepEqual(inh.unclaimed(), []);
  assert.deepEqual(inh.claimed(), ['a']);
  assert.deepEqual(inh.leftovers(), [12], 'what was not taken is the caller\'s to close');
  assert.equal(inh.size, 0);
});

test('inherited_pod_is_unserved_until_enrolment_has_taken_all_it_needs', () => {
  // A pod half-way through enrolment (data path taken, DNS not yet) must hold the
  // takeover back: completing it would close the DNS sockets as leftovers.
  const inh = new InheritedSockets();
  inh.add({ kind: 'pod', uid: 'a', netnsPath: '/n/a' }, [got(tcp('127.0.0.1', 15001, 10)), got(tcp('127.0.0.1', 15053, 11))]);
  inh.add({ kind: 'pod', uid: 'b', netnsPath: '/n/b' }, [got(tcp('127.0.0.1', 15001, 20))]);
  assert.deepEqual(inh.unserved(), ['a', 'b']);
  assert.deepEqual(inh.take('/n/a', 'tcp', '127.0.0.1', 15001), [10]);
  assert.deepEqual(inh.unclaimed(), ['b']);
  assert.deepEqual(inh.unserved(), ['a', 'b'], 'claimed is not served');
  assert.deepEqual(inh.take('/n/a', 'tcp', '127.0.0.1', 15053), [11]);
  inh.served('/n/a');
  inh.served('/n/none');
  assert.deepEqual(inh.unserved(), ['b']);
});

test('inherited_node_servers_are_taken_by_role', () => {
  const inh = new InheritedSockets();
  inh.add({ kind: 'node' }, [{ ...got(tcp('0.0.0.0', 15021, 5)), role: 'readiness' }]);
  assert.equal(inh.takeNode('admin'), undefined);
  assert.equal(inh.takeNode('readiness'), 5);
  assert.equal(inh.takeNode('readiness'), undefined);
});

test('inherited_refuses_one_netns_offered_for_two_pods', () => {
  const inh = new InheritedSockets();
  inh.add({ kind: 'pod', uid: 'a', netnsPath: '/n' }, [got(tcp('0.0.0.0', 15008, 1))]);
  assert.throws(() => inh.add({ kind: 'pod', uid: 'b', netnsPath: '/n' }, [got(tcp('0.0.0.0', 15006, 2))]), /offered for pods a and b/);
});

test('inherited_refuses_a_node_role_twice', () => {
  const inh = new InheritedSockets();
  inh.add({ kind: 'node' }, [{ ...got(tcp('127.0.0.1', 15000, 1)), role: 'admin' }]);
  assert.throws(() => inh.add({ kind: 'node' }, [{ ...got(tcp('127.0.0.1', 15000, 2)), role: 'admin' }]), /twice/);
});

test('inherited_refuses_more_sockets_than_its_bound', () => {
  const inh = new InheritedSockets(2);
  assert.throws(() => inh.add({ kind: 'pod', uid: 'a', netnsPath: '/n' }, [1, 2, 3].map((fd) => got(tcp('0.0.0.0', 15008, fd)))), /more than 2/);
});

test('inherited_shape_counts_the_old_workers', () => {
  const inh = new InheritedSockets();
  inh.add({ kind: 'pod', uid: 'a', netnsPath: '/n' }, [got(tcp('0.0.0.0', 15008, 1)), got(tcp('0.0.0.0', 15008, 2)), { ...got(tcp('127.0.0.1', 15053, 3)), proto: 'udp' }]);
  assert.deepEqual(inh.shape(), { perSocket: 2, reusePort: true });
});

test('workers_stay_as_configured_without_a_handover', () => {
  assert.equal(workerCountAfterHandover(4, { perSocket: 0, reusePort: false }), 4);
});

test('workers_grow_to_serve_every_handed_over_listener', () => {
  assert.equal(workerCountAfterHandover(2, { perSocket: 4, reusePort: true }), 4);
});

test('workers_grow_beside_reuseport_listeners', () => {
  assert.equal(workerCountAfterHandover(8, { perSocket: 4, reusePort: true }), 8);
});

test('workers_cannot_grow_beside_a_listener_without_reuseport', () => {
  assert.equal(workerCountAfterHandover(8, { perSocket: 1, reusePort: false }), 1);
});

test('handover_peer_must_be_root', () => {
  assert.equal(judgeHandoverPeer({ pid: 1, uid: 0 }), undefined);
  assert.match(judgeHandoverPeer({ pid: 42, uid: 1000 }) ?? '', /uid 1000, not root/);
  assert.match(judgeHandoverPeer(undefined) ?? '', /SO_PEERCRED/);
});
