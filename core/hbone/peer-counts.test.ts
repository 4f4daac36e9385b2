import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerCounts } from './peer-counts.js';

const A = { address: '10.0.0.1', identity: 'spiffe://cluster.local/ns/a/sa/x' };

test('peer_counts_refuse_the_one_past_the_address_limit_and_take_nothing_for_it', () => {
  const c = new PeerCounts({ perAddress: 2, perIdentity: 10 });
  assert.equal(c.acquire(A), undefined);
  assert.equal(c.acquire(A), undefined);
  assert.equal(c.acquire(A), 'address');
  assert.deepEqual(c.of(A), { address: 2, identity: 2 });
  c.release(A);
  assert.equal(c.acquire(A), undefined, 'room again once one ended');
});

test('peer_counts_limit_an_identity_over_all_its_addresses', () => {
  const c = new PeerCounts({ perAddress: 10, perIdentity: 3 });
  for (let i = 0; i < 3; i++) assert.equal(c.acquire({ address: `10.0.0.${i}`, identity: A.identity }), undefined);
  assert.equal(c.acquire({ address: '10.0.0.9', identity: A.identity }), 'identity');
  assert.equal(c.acquire({ address: '10.0.0.9', identity: 'spiffe://cluster.local/ns/b/sa/y' }), undefined, 'another identity is served');
});

test('peer_counts_forget_peers_with_nothing_open', () => {
  const c = new PeerCounts({ perAddress: 1, perIdentity: 1 });
  c.acquire(A);
  c.release(A);
  c.release(A); // an extra release never goes negative
  assert.deepEqual(c.of(A), { address: 0, identity: 0 });
  assert.equal(c.acquire(A), undefined);
});
