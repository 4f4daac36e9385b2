import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Workload } from '../config/model.js';
import { peerLabelValues, serviceLabelValues, UNKNOWN } from './istio-labels.js';

const w = {
  uid: 'u1',
  name: 'reviews-v2-abc',
  namespace: 'shop',
  serviceAccount: 'reviews',
  identity: 'spiffe://cluster.local/ns/shop/sa/reviews',
  node: 'n1',
  ips: ['10.0.0.1'],
  protocol: 'HBONE',
  labels: { app: 'reviews', version: 'v2' },
  canonicalName: 'reviews',
  canonicalRevision: 'v2',
  mtlsMode: 'PERMISSIVE',
  healthy: true,
} satisfies Workload;

test('peer_labels_come_from_the_canonical_name_and_the_app_and_version_labels', () => {
  assert.deepEqual(peerLabelValues(w), { workload: 'reviews', canonical_service: 'reviews', canonical_revision: 'v2', workload_namespace: 'shop', app: 'reviews', version: 'v2' });
});

test('peer_labels_of_an_unknown_workload_or_missing_labels_are_unknown', () => {
  assert.deepEqual(Object.values(peerLabelValues(undefined)), Array(6).fill(UNKNOWN));
  assert.equal(peerLabelValues({ ...w, labels: {} }).version, UNKNOWN);
});

test('service_labels_are_hostname_name_and_namespace_or_unknown', () => {
  assert.deepEqual(serviceLabelValues({ hostname: 'reviews.shop.svc.cluster.local', name: 'reviews', namespace: 'shop' }), {
    service: 'reviews.shop.svc.cluster.local',
    service_name: 'reviews',
    service_namespace: 'shop',
  });
  assert.equal(serviceLabelValues({ hostname: 'x', namespace: 'shop' }).service_name, UNKNOWN);
  assert.equal(serviceLabelValues(undefined).service, UNKNOWN);
});
