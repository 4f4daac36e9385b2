// Unit tests of the per-key lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedLock } from './keyed-lock.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('keyed_lock_serialises_one_key_in_arrival_order', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const job = (name: string) => lock.run('k', async () => {
    log.push(`${name} in`);
    await tick();
    log.push(`${name} out`);
    return name;
  });
  assert.deepEqual(await Promise.all([job('a'), job('b'), job('c')]), ['a', 'b', 'c']);
  assert.deepEqual(log, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  assert.equal(lock.size, 0, 'no key is kept once idle');
});

test('keyed_lock_runs_different_keys_concurrently_and_survives_failures', async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const slow = lock.run('a', async () => {
    log.push('a in');
    await tick();
    log.push('a out');
  });
  await lock.run('b', async () => log.push('b'));
  await slow;
  assert.deepEqual(log, ['a in', 'b', 'a out']);
  await assert.rejects(lock.run('a', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await lock.run('a', async () => 'next'), 'next', 'a failure releases the key');
});
