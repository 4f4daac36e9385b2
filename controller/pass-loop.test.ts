import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { answerWithin } from './pass-loop.js';

test('answer_within_leaves_no_abort_listener_behind_once_settled', async () => {
  const ac = new AbortController();
  for (let i = 0; i < 50; i++) assert.equal(await answerWithin(Promise.resolve(i), 10_000, 'x', ac.signal), i);
  await assert.rejects(answerWithin(Promise.reject(new Error('no')), 10_000, 'x', ac.signal), /no/);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('answer_within_rejects_naming_what_did_not_answer', async () => {
  await assert.rejects(answerWithin(new Promise(() => {}), 1, 'GET /x'), /^Error: GET \/x: no answer within 1 ms$/);
});
