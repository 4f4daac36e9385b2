import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PenaltyBox, type PenaltyRules } from './penalty-box.js';

const RULES: PenaltyRules = { budgets: { earlyReset: 10, newStream: 100 }, identityFactor: 4, halfLifeMs: 1000, penaltyMs: 5000, maxTracked: 100 };
const A = { address: '10.0.0.1', identity: 'spiffe://cluster.local/ns/a/sa/x' };

function burst(box: PenaltyBox, peer: { address: string; identity?: string }, n: number, at: number, event: 'earlyReset' | 'newStream' = 'earlyReset') {
  let imposed;
  for (let i = 0; i < n; i++) imposed ??= box.record(peer, event, at);
  return imposed;
}

test('penalty_box_penalises_an_address_past_its_budget_across_connections', () => {
  const box = new PenaltyBox(RULES);
  assert.equal(burst(box, A, 10, 0), undefined, 'at the budget: not yet');
  const p = box.record(A, 'earlyReset', 0);
  assert.deepEqual(p, { by: 'address', key: '10.0.0.1', event: 'earlyReset', until: 5000 });
  assert.equal(box.penalty(A, 4999)?.by, 'address');
  assert.equal(box.penalty({ address: '10.0.0.1' }, 100)?.by, 'address', 'refusable before the handshake, by address alone');
});

test('penalty_box_penalty_ends_after_penalty_ms_and_the_peer_starts_afresh', () => {
  const box = new PenaltyBox(RULES);
  burst(box, A, 11, 0);
  assert.equal(box.penalty(A, 5000), undefined);
  assert.equal(burst(box, A, 10, 5000), undefined, 'a fresh budget after the penalty');
});

test('penalty_box_scores_decay_so_a_steady_low_rate_is_never_penalised', () => {
  const box = new PenaltyBox(RULES);
  // 3 a second against a budget of 10 with a 1 s half-life: the score settles near 3/(1-2^-1) = 6.
  for (let s = 0; s < 600; s++) assert.equal(burst(box, A, 3, s * 1000), undefined, `second ${s}`);
  assert.ok(box.score(A, 'earlyReset', 600_000) < 10);
});

test('penalty_box_catches_an_identity_that_spreads_over_many_addresses', () => {
  const box = new PenaltyBox(RULES);
  let p;
  // 8 resets from each of 6 addresses: no address past 10, the identity past 4 x 10.
  for (let i = 0; i < 6 && !p; i++) p = burst(box, { address: `10.0.1.${i}`, identity: A.identity }, 8, 0);
  assert.equal(p?.by, 'identity');
  assert.equal(box.penalty({ address: '10.9.9.9', identity: A.identity }, 1)?.by, 'identity', 'from any address');
  assert.equal(box.penalty({ address: '10.9.9.9' }, 1), undefined, 'the address alone is not penalised');
});

test('penalty_box_catches_an_address_that_rotates_identities', () => {
  const box = new PenaltyBox(RULES);
  let p;
  for (let i = 0; i < 11 && !p; i++) p = box.record({ address: A.address, identity: `spiffe://cluster.local/ns/a/sa/s${i}` }, 'earlyReset', 0);
  assert.equal(p?.by, 'address');
});

test('penalty_box_keeps_other_peers_out_of_it', () => {
  const box = new PenaltyBox(RULES);
  burst(box, A, 11, 0);
  const B = { address: '10.0.0.2', identity: 'spiffe://cluster.local/ns/b/sa/y' };
  assert.equal(box.penalty(B, 1), undefined);
  assert.equal(box.record(B, 'earlyReset', 1), undefined);
});

test('penalty_box_counts_stream_churn_on_its_own_budget', () => {
  const box = new PenaltyBox(RULES);
  assert.equal(burst(box, A, 100, 0, 'newStream'), undefined);
  assert.equal(box.score(A, 'earlyReset', 0), 0);
  assert.equal(box.record(A, 'newStream', 0)?.event, 'newStream');
});

test('penalty_box_memory_is_bounded_and_forgets_the_least_recently_seen_first', () => {
  const box = new PenaltyBox({ ...RULES, maxTracked: 10 });
  burst(box, { address: '10.0.0.99' }, 11, 0); // penalised: kept while others can go
  for (let i = 0; i < 50; i++) box.record({ address: `10.1.0.${i}` }, 'newStream', i);
  assert.ok(box.size <= 10, `size ${box.size}`);
  assert.ok(box.penalty({ address: '10.0.0.99' }, 60), 'the penalised address is still refused');
  assert.ok(box.score({ address: '10.1.0.49' }, 'newStream', 49) > 0, 'the newest is remembered');
  assert.equal(box.score({ address: '10.1.0.0' }, 'newStream', 49), 0, 'the oldest is forgotten');
});

test('penalty_box_a_penalty_imposed_by_another_box_is_in_force_there_until_its_own_end', () => {
  const first = new PenaltyBox(RULES);
  const other = new PenaltyBox(RULES);
  const p = burst(first, A, 11, 0)!;
  assert.equal(other.penalty(A, 100), undefined, 'the other box knows nothing yet');
  other.impose(p, 100);
  assert.deepEqual(other.penalty(A, 100), p, 'refused by the other box too, by the same key');
  assert.equal(other.penalty({ address: '10.0.0.1' }, 4999)?.until, 5000, 'until the first box\'s end, not a new full penalty');
  assert.equal(other.penalty(A, 5000), undefined);
});

test('penalty_box_an_expired_penalty_imposed_from_elsewhere_changes_nothing', () => {
  const box = new PenaltyBox(RULES);
  box.impose({ by: 'address', key: '10.0.0.1', event: 'earlyReset', until: 50 }, 100);
  assert.equal(box.penalty(A, 100), undefined);
  assert.equal(box.size, 0);
});
