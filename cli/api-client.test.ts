// The API client's reading of an answer that lacks a controller replica's part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partialWarnings } from './api-client.js';

test('a whole answer says nothing', () => {
  assert.deepEqual(partialWarnings({ items: [] }), []);
  assert.deepEqual(partialWarnings({ items: [], partial: false }), []);
  assert.deepEqual(partialWarnings([]), []);
  assert.deepEqual(partialWarnings(null), []);
});

test('a partial answer names each replica that did not answer and why', () => {
  const body = { items: [], partial: true, unanswered: [{ replica: 'ambient-controller-b', reason: 'no answer within 2000 ms' }, { replica: 'ambient-controller-c', reason: 'connect ECONNREFUSED' }] };
  assert.deepEqual(partialWarnings(body), [
    'partial answer: controller replica ambient-controller-b did not answer (no answer within 2000 ms), so what it holds is missing',
    'partial answer: controller replica ambient-controller-c did not answer (connect ECONNREFUSED), so what it holds is missing',
  ]);
});

test('a partial answer without the list still says it is partial', () => {
  assert.deepEqual(partialWarnings({ partial: true }), ['partial answer: a controller replica did not answer, so what it holds is missing']);
});
