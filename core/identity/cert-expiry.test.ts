import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Certificates } from '../../console/api-types.js';
import { expiryRows, expiryState } from './cert-expiry.js';

const T = Date.parse('2026-12-04T12:00:00Z');
const H = 3_600_000;
const iso = (h: number) => new Date(T + h * H).toISOString();
const ca = (subject: string, fingerprint: string, from: number, to: number) => ({ subject, fingerprint, notBefore: iso(from), notAfter: iso(to) });
const held = (pod: string, node: string, from: number, to: number, kind: 'workload' | 'waypoint' = 'workload') => ({
  kind, identity: `spiffe://cluster.local/ns/shop/sa/${pod.split('-')[0]}`, namespace: 'shop', workload: pod.split('-')[0]!, pod: kind === 'waypoint' ? null : pod, node,
  serial: `s-${pod}`, notBefore: iso(from), notAfter: iso(to), issuer: null, reportedAt: iso(0),
});

const certs: Certificates = {
  roots: [ca('CN=root', 'AA', -1000, 80_000)],
  signing: ca('CN=signing', 'BB', -1000, 8_000),
  serving: ca('CN=ambient-controller', 'CC', -6, 18),
  workloads: [held('reviews-1', 'node-1', -2, 22), held('ratings-1', 'node-2', -20, 4), held('waypoint', 'node-1', -30, -1, 'waypoint')],
};

test('every_certificate_is_a_row_soonest_to_expire_first', () => {
  assert.deepEqual(expiryRows(certs, T).map((r) => [r.kind, r.name]), [
    ['waypoint', 'shop/waypoint'],
    ['workload', 'shop/ratings-1'],
    ['controller', 'CN=ambient-controller'],
    ['workload', 'shop/reviews-1'],
    ['signing', 'CN=signing'],
    ['root', 'CN=root'],
  ]);
});

test('a_rows_state_says_expired_or_nearly_from_its_own_lifetime', () => {
  const byName = Object.fromEntries(expiryRows(certs, T).map((r) => [r.name, [r.state, Number(r.used.toFixed(3))]]));
  assert.deepEqual(byName['shop/waypoint'], ['bad', 1]);
  assert.deepEqual(byName['shop/ratings-1'], ['warn', 0.833]);
  assert.deepEqual(byName['shop/reviews-1'], ['ok', 0.083]);
  assert.equal(expiryRows(certs, T).find((r) => r.kind === 'workload')!.detail, 'spiffe://cluster.local/ns/shop/sa/ratings on node-2');
});

test('expiry_state_boundaries', () => {
  assert.equal(expiryState(0, 100, 100), 'bad');
  assert.equal(expiryState(0, 100, 75), 'ok');
  assert.equal(expiryState(0, 100, 76), 'warn');
});

test('an_answer_without_signing_serving_or_workloads_lists_its_roots', () => {
  assert.deepEqual(expiryRows({ roots: certs.roots, workloads: [] }, T).map((r) => r.kind), ['root']);
});
