// The headers a denial may carry on its 401 (server.ts decisionHeaders): a reason line for
// the source to log, never a way to break the response or smuggle a header.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionHeaders, MAX_DECISION_HEADER_BYTES } from './decision-headers.js';

test('decision_header_is_passed_through', () => {
  assert.deepEqual(decisionHeaders({ 'ambient-authz-reason': 'denied by DENY policy ns/p rules[0]' }), { 'ambient-authz-reason': 'denied by DENY policy ns/p rules[0]' });
});

test('decision_header_value_control_characters_are_replaced', () => {
  assert.deepEqual(decisionHeaders({ 'x-reason': 'a\r\nset-cookie: x\u0000é' }), { 'x-reason': 'a??set-cookie: x??' });
});

test('decision_header_value_is_cut_to_the_limit', () => {
  assert.equal(decisionHeaders({ 'x-reason': 'r'.repeat(10_000) })['x-reason']!.length, MAX_DECISION_HEADER_BYTES);
});

test('decision_header_names_that_are_not_plain_tokens_are_dropped', () => {
  assert.deepEqual(decisionHeaders({ ':status': '200', 'Upper': 'x', 'bad name': 'x', connection: 'close', 'content-length': '5' }), {});
});

test('no_decision_headers_is_empty', () => {
  assert.deepEqual(decisionHeaders(undefined), {});
});
