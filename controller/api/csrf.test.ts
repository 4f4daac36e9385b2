import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeRefusal } from './csrf.js';

test('reads_need_no_request_header', () => {
  assert.equal(writeRefusal('GET', {}), undefined);
});

test('a_write_without_x_ambient_request_is_refused_naming_the_header', () => {
  assert.match(writeRefusal('PUT', { 'content-type': 'application/json' }) ?? '', /X-Ambient-Request: 1/);
  assert.match(writeRefusal('POST', { 'content-type': 'application/json', 'x-ambient-request': '0' }) ?? '', /X-Ambient-Request/);
});

test('a_write_that_a_form_could_send_is_refused_by_its_content_type', () => {
  for (const ct of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
    assert.match(writeRefusal('POST', { 'content-type': ct, 'x-ambient-request': '1' }) ?? '', /Content-Type: application\/json/, String(ct));
  }
});

test('a_json_write_with_the_header_may_proceed', () => {
  assert.equal(writeRefusal('PUT', { 'content-type': 'application/json; charset=utf-8', 'x-ambient-request': '1' }), undefined);
});
