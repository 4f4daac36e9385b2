// Unit tier: the pure lease decision (decideLease, observeLease), client-go's
// leaderelection rules, with explicit clocks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideLease, leaseValid, observeLease, type LeaseRecord, type ObservedLease } from './leader.js';

const SELF = 'controller-a_1234';
const OTHER = 'controller-b_5678';
const OPTS = { leaseDurationSeconds: 15 };
const T0 = Date.parse('2025-01-01T00:00:00.000Z');

function record(extra: Partial<LeaseRecord> = {}): LeaseRecord {
  return { holderIdentity: OTHER, leaseDurationSeconds: 15, acquireTime: '2025-01-01T00:00:00.000000Z', renewTime: '2025-01-01T00:00:00.000000Z', leaseTransitions: 3, ...extra };
}

describe('decideLease', () => {
  test('absent_lease_is_acquired', () => {
    const d = decideLease(undefined, T0, SELF, OPTS);
    assert.equal(d.action, 'acquire');
    assert.equal(d.record!.holderIdentity, SELF);
    assert.equal(d.record!.leaseDurationSeconds, 15);
    assert.equal(d.record!.leaseTransitions, 0);
    assert.equal(d.record!.acquireTime, new Date(T0).toISOString());
    assert.equal(d.record!.renewTime, new Date(T0).toISOString());
  });

  test('expired_lease_of_another_is_acquired_with_one_more_transition', () => {
    const observed: ObservedLease = { record: record(), observedAt: T0 };
    const d = decideLease(observed, T0 + 15_001, SELF, OPTS);
    assert.equal(d.action, 'acquire');
    assert.equal(d.record!.holderIdentity, SELF);
    assert.equal(d.record!.leaseTransitions, 4);
    assert.equal(d.record!.acquireTime, new Date(T0 + 15_001).toISOString());
  });

  test('fresh_lease_of_another_means_wait', () => {
    const observed: ObservedLease = { record: record(), observedAt: T0 };
    assert.deepEqual(decideLease(observed, T0, SELF, OPTS), { action: 'wait' });
    assert.deepEqual(decideLease(observed, T0 + 14_999, SELF, OPTS), { action: 'wait' });
  });

  test('our_own_lease_is_renewed_keeping_acquire_time_and_transitions', () => {
    const mine = record({ holderIdentity: SELF });
    const d = decideLease({ record: mine, observedAt: T0 }, T0 + 2_000, SELF, OPTS);
    assert.equal(d.action, 'renew');
    assert.equal(d.record!.holderIdentity, SELF);
    assert.equal(d.record!.acquireTime, mine.acquireTime);
    assert.equal(d.record!.leaseTransitions, mine.leaseTransitions);
    assert.equal(d.record!.renewTime, new Date(T0 + 2_000).toISOString());
    // Even when our own lease has aged past its duration (client-go: IsLeader() wins).
    assert.equal(decideLease({ record: mine, observedAt: T0 }, T0 + 60_000, SELF, OPTS).action, 'renew');
  });

  test('released_lease_with_empty_holder_is_acquired_at_once', () => {
    const released = record({ holderIdentity: '', leaseDurationSeconds: 1 });
    const d = decideLease({ record: released, observedAt: T0 }, T0, SELF, OPTS);
    assert.equal(d.action, 'acquire');
    assert.equal(d.record!.holderIdentity, SELF);
    assert.equal(d.record!.leaseTransitions, 4);
  });

  test('renew_time_in_the_future_by_clock_skew_still_waits_a_full_lease_duration_from_our_observation', () => {
    // The holder's clock is an hour ahead: its renewTime is in our future. Validity is
    // counted from when WE saw the record, so neither longer nor shorter than 15 s.
    const skewed = record({ renewTime: new Date(T0 + 3_600_000).toISOString() });
    let observed = observeLease(undefined, skewed, T0);
    assert.equal(decideLease(observed, T0 + 14_999, SELF, OPTS).action, 'wait');
    // Reading the same record again does not restart the clock.
    observed = observeLease(observed, { ...skewed }, T0 + 10_000);
    assert.equal(observed.observedAt, T0);
    assert.equal(decideLease(observed, T0 + 15_001, SELF, OPTS).action, 'acquire');
    // An hour behind: still honoured for the full duration from our observation.
    const behind = observeLease(undefined, record({ renewTime: new Date(T0 - 3_600_000).toISOString() }), T0);
    assert.equal(decideLease(behind, T0 + 14_000, SELF, OPTS).action, 'wait');
  });
});

describe('observeLease', () => {
  test('a_changed_record_restarts_the_observation', () => {
    const first = observeLease(undefined, record(), T0);
    const renewed = observeLease(first, record({ renewTime: '2025-01-01T00:00:02.000000Z' }), T0 + 2_000);
    assert.equal(renewed.observedAt, T0 + 2_000);
    assert.ok(leaseValid(renewed, T0 + 16_000));
    assert.ok(!leaseValid(renewed, T0 + 17_001));
  });
});
