import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportedCertificate } from '../../core/observe/telemetry-wire.js';
import { HeldCertificates, heldSetKey, mergeHeldSnapshots, recordHeld, type HeldSet } from './certificates.js';

const cert = (sa: string, serial: string, notAfter = 10_000): ReportedCertificate => ({ identity: `spiffe://cluster.local/ns/shop/sa/${sa}`, serial, notBefore: 0, notAfter });
const AGENT1 = { role: 'node-agent' as const, node: 'node-1' };
const AGENT2 = { role: 'node-agent' as const, node: 'node-2' };
const WAYPOINT = { role: 'waypoint' as const, node: 'node-1', waypoint: 'shop/waypoint' };
const serials = (s: { sets: HeldSet[] }) => s.sets.map((x) => [x.node, x.waypoint ?? null, x.certificates.map((c) => c.serial)]);

test('a_reporters_new_list_replaces_its_previous_one', () => {
  const h = new HeldCertificates();
  h.record(AGENT1, [cert('reviews', 'a1'), cert('ratings', 'b1')], 1_000);
  h.record(AGENT1, [cert('reviews', 'a2')], 2_000);
  assert.deepEqual(serials(h.snapshot(2_000)), [['node-1', null, ['a2']]]);
  assert.equal(h.snapshot(2_000).sets[0]!.reportedAt, 2_000);
});

test('an_agent_and_a_waypoint_on_the_same_node_are_kept_apart', () => {
  const h = new HeldCertificates();
  h.record(AGENT1, [cert('reviews', 'a1')], 1_000);
  h.record(WAYPOINT, [cert('waypoint', 'w1')], 1_000);
  assert.deepEqual(serials(h.snapshot(1_000)), [['node-1', null, ['a1']], ['node-1', 'shop/waypoint', ['w1']]]);
});

test('a_reporter_that_stopped_listing_is_forgotten_after_the_ttl', () => {
  const h = new HeldCertificates({ ttlMs: 1_000 });
  h.record(AGENT1, [cert('reviews', 'a1')], 0);
  h.record(AGENT2, [cert('ratings', 'b1')], 800);
  assert.deepEqual(serials(h.snapshot(1_000)), [['node-1', null, ['a1']], ['node-2', null, ['b1']]], 'at the ttl: still held');
  assert.deepEqual(serials(h.snapshot(1_001)), [['node-2', null, ['b1']]]);
  assert.deepEqual(serials(h.snapshot(5_000)), []);
});

test('an_empty_list_means_the_reporter_holds_none', () => {
  const h = new HeldCertificates();
  h.record(AGENT1, [cert('reviews', 'a1')], 0);
  h.record(AGENT1, [], 10);
  assert.deepEqual(serials(h.snapshot(10)), [['node-1', null, []]]);
});

test('a_new_reporter_beyond_max_reporters_is_not_stored_but_known_ones_still_update', () => {
  const h = new HeldCertificates({ maxReporters: 1, ttlMs: 1_000 });
  assert.equal(h.record(AGENT1, [cert('reviews', 'a1')], 0), true);
  assert.equal(h.record(AGENT2, [cert('ratings', 'b1')], 10), false);
  assert.equal(h.record(AGENT1, [cert('reviews', 'a2')], 20), true);
  assert.deepEqual(serials(h.snapshot(20)), [['node-1', null, ['a2']]]);
  assert.deepEqual(h.stats, { lists: 2, full: 1 });
  // Room again once the old one expired.
  assert.equal(h.record(AGENT2, [cert('ratings', 'b1')], 2_000), true);
  assert.deepEqual(serials(h.snapshot(2_000)), [['node-2', null, ['b1']]]);
});

test('stored_lists_are_copies_of_what_was_reported', () => {
  const sets = new Map<string, HeldSet>();
  const list = [cert('reviews', 'a1')];
  recordHeld(sets, AGENT1, list, 0, { ttlMs: 10, maxReporters: 10 });
  list[0]!.serial = 'changed';
  assert.equal(sets.get(heldSetKey(AGENT1))!.certificates[0]!.serial, 'a1');
});

test('merging_replicas_keeps_each_reporters_latest_list', () => {
  const r1 = new HeldCertificates();
  const r2 = new HeldCertificates();
  r1.record(AGENT1, [cert('reviews', 'old')], 1_000);
  r2.record(AGENT1, [cert('reviews', 'new')], 2_000); // the agent reconnected to replica 2
  r2.record(AGENT2, [cert('ratings', 'b1')], 1_500);
  r1.record(WAYPOINT, [cert('waypoint', 'w1')], 1_200);
  const merged = mergeHeldSnapshots([r1.snapshot(2_000), r2.snapshot(2_100)]);
  assert.deepEqual(serials(merged), [['node-1', null, ['new']], ['node-2', null, ['b1']], ['node-1', 'shop/waypoint', ['w1']]]);
  assert.equal(merged.at, 2_100);
  assert.deepEqual(mergeHeldSnapshots([r2.snapshot(2_100), r1.snapshot(2_000)]), merged, 'the order of the replicas does not matter');
});

test('merging_nothing_is_empty', () => {
  assert.deepEqual(mergeHeldSnapshots([]), { at: 0, sets: [] });
});

test('limits_must_be_positive_integers', () => {
  assert.throws(() => new HeldCertificates({ ttlMs: 0 }), /held certificates limit ttlMs must be a positive integer, got 0/);
});
