import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headStart, headState } from './head-timer.js';

const complete = { complete: true };
const reading = { complete: false };

test('bytes_on_a_fresh_connection_that_complete_no_head_start_one', () => {
  assert.equal(headStart(headState(undefined), headState(undefined)), 'started');
});

test('bytes_after_a_complete_request_that_complete_no_head_start_one', () => {
  assert.equal(headStart(headState(complete), headState(complete)), 'started');
});

test('body_bytes_start_no_head', () => {
  assert.equal(headStart(headState(reading), headState(reading)), 'none');
});

test('a_chunk_whose_head_completed_into_a_body_starts_no_head', () => {
  assert.equal(headStart(headState(undefined), headState({ complete: false })), 'none');
});

test('a_chunk_that_ended_a_body_may_have_started_the_next_head', () => {
  const req = { complete: false };
  const before = headState(req);
  req.complete = true;
  assert.equal(headStart(before, headState(req)), 'maybe');
});

test('a_chunk_holding_a_whole_request_without_body_may_have_started_the_next_head', () => {
  assert.equal(headStart(headState(complete), headState({ complete: true })), 'maybe');
});
