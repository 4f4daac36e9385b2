import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayQueue } from './http1-pool.js';

test('a_request_may_wait_while_fewer_than_max_pending_wait', () => {
  assert.equal(mayQueue(0, 1), true);
  assert.equal(mayQueue(1023, 1024), true);
});

test('a_request_beyond_max_pending_is_refused', () => {
  assert.equal(mayQueue(1, 1), false);
  assert.equal(mayQueue(1024, 1024), false);
});

test('max_pending_zero_refuses_every_wait', () => {
  assert.equal(mayQueue(0, 0), false);
});
