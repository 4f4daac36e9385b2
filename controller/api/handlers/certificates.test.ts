import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workload } from '../../../core/config/model.js';
import type { HeldCertificatesSnapshot } from '../../telemetry/certificates.js';
import { heldCertificates, workloadCertificate } from './certificates.js';

const id = (sa: string) => `spiffe://cluster.local/ns/shop/sa/${sa}`;
function wl(pod: string, sa: string, node: string, canonicalName = sa): Workload {
  return { uid: `uid-${pod}`, name: pod, namespace: 'shop', serviceAccount: sa, identity: id(sa), node, ips: [], protocol: 'HBONE', labels: {}, canonicalName, canonicalRevision: 'v1', mtlsMode: 'STRICT', healthy: true };
}
const FP = '21:7A:C0:4B:90:1F:6E:D3:58:A2:0C:77:E4:19:B5:3D:6A:F0:82:C9:11:4E:DB:65:3C:A8:07:9F:E2:50:BD:34';
const T0 = Date.parse('2026-12-04T12:00:00Z');
const HOUR = 3_600_000;
const cert = (sa: string, serial: string, hours: number) => ({ identity: id(sa), serial, notBefore: T0, notAfter: T0 + hours * HOUR, issuer: FP });

const held: HeldCertificatesSnapshot = {
  at: T0,
  sets: [
    { role: 'node-agent', node: 'node-1', reportedAt: T0, certificates: [cert('reviews', 'a1', 24)] },
    { role: 'node-agent', node: 'node-2', reportedAt: T0 + 1_000, certificates: [cert('reviews', 'b2', 12), cert('ratings', 'c3', 6)] },
    { role: 'waypoint', node: 'node-1', waypoint: 'shop/waypoint', reportedAt: T0, certificates: [cert('waypoint', 'w1', 1)] },
  ],
};

test('a_pods_certificate_is_the_one_its_nodes_agent_holds_for_its_identity', () => {
  assert.deepEqual(workloadCertificate(wl('reviews-1', 'reviews', 'node-1'), held), { serial: 'a1', notBefore: '2026-12-04T12:00:00.000Z', notAfter: '2026-12-05T12:00:00.000Z', issuer: FP, reportedAt: '2026-12-04T12:00:00.000Z' });
  assert.equal(workloadCertificate(wl('reviews-2', 'reviews', 'node-2'), held)?.serial, 'b2', 'the same identity on another node: that node agent\'s certificate');
});

test('no_certificate_when_its_nodes_agent_lists_none_for_it', () => {
  assert.equal(workloadCertificate(wl('ratings-1', 'ratings', 'node-1'), held), null, 'node-2 holds one for ratings, not node-1');
  assert.equal(workloadCertificate(wl('x-1', 'x', 'node-9'), held), null);
});

test('a_waypoints_certificate_is_not_any_pods', () => {
  assert.equal(workloadCertificate(wl('waypoint-1', 'waypoint', 'node-1'), held), null);
});

test('the_list_has_each_pod_with_a_certificate_and_each_waypoint_soonest_to_expire_first', () => {
  const list = heldCertificates([wl('reviews-1', 'reviews', 'node-1'), wl('reviews-2', 'reviews', 'node-2'), wl('ratings-1', 'ratings', 'node-2', 'ratings-app'), wl('idle-1', 'idle', 'node-1')], held);
  assert.deepEqual(
    list.map((c) => [c.kind, c.namespace, c.workload, c.pod, c.node, c.serial]),
    [
      ['waypoint', 'shop', 'waypoint', null, 'node-1', 'w1'],
      ['workload', 'shop', 'ratings-app', 'ratings-1', 'node-2', 'c3'],
      ['workload', 'shop', 'reviews', 'reviews-2', 'node-2', 'b2'],
      ['workload', 'shop', 'reviews', 'reviews-1', 'node-1', 'a1'],
    ],
  );
  assert.deepEqual([list[1]!.identity, list[1]!.notAfter, list[1]!.reportedAt, list[1]!.issuer], [id('ratings'), '2026-12-04T18:00:00.000Z', '2026-12-04T12:00:01.000Z', FP]);
});

test('nothing_reported_nothing_listed', () => {
  assert.deepEqual(heldCertificates([wl('reviews-1', 'reviews', 'node-1')], { at: T0, sets: [] }), []);
});
