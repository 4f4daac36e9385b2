import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './api.js';
import { partialNotice, staleNotice } from './load-notices.js';

test('a_failed_reload_says_why_and_how_old_the_data_on_screen_is', () => {
  const at = new Date('2026-12-04T22:51:07.345Z');
  assert.equal(staleNotice(new ApiError(503, 'AMB_API_UNAVAILABLE', 'no leader'), at), 'could not refresh: AMB_API_UNAVAILABLE: no leader, showing data from 22:51:07 UTC');
  assert.equal(staleNotice(new TypeError('Failed to fetch'), at), 'could not refresh: Failed to fetch, showing data from 22:51:07 UTC');
});

test('a_whole_answer_has_no_partial_notice', () => {
  assert.equal(partialNotice({ items: [] }), undefined);
  assert.equal(partialNotice({ items: [], unanswered: [] }), undefined);
  assert.equal(partialNotice(undefined), undefined);
  assert.equal(partialNotice(null), undefined);
  assert.equal(partialNotice('partial'), undefined);
});

test('a_partial_answer_names_the_replicas_that_did_not_answer_and_why', () => {
  assert.equal(
    partialNotice({ items: [], partial: true, unanswered: [{ replica: 'ambient-controller-1', reason: 'no answer within 2000 ms' }] }),
    'partial: replica ambient-controller-1 (no answer within 2000 ms) did not answer; counts may be low',
  );
  assert.equal(
    partialNotice({ partial: true, unanswered: [{ replica: 'a', reason: '' }, { replica: 'b', reason: 'refused' }] }),
    'partial: replicas a, b (refused) did not answer; counts may be low',
  );
});

test('a_partial_flag_without_names_still_shows_a_notice', () => {
  assert.equal(partialNotice({ partial: true }), 'partial: replicas (unnamed) did not answer; counts may be low');
});
