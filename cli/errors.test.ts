// The API server's refusals as their Status message, never as a dump of the response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { KubeRequestError } from '../core/kube/rest.js';
import { formatServerError, serverStatusOf, statusFromBody } from './errors.js';

const invalid = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Invalid', code: 422, message: 'Pod "x" is invalid: spec.containers: Required value' };

test('status_body_gives_reason_and_message_on_one_line', () => {
  assert.deepEqual(statusFromBody(422, invalid), { code: 422, reason: 'Invalid', message: invalid.message });
  assert.deepEqual(statusFromBody(422, JSON.stringify({ ...invalid, message: 'a\n  b' })), { code: 422, reason: 'Invalid', message: 'a b' });
  assert.equal(statusFromBody(404, { kind: 'Status', code: 404, message: 'gone' })?.reason, 'NotFound', 'reason from the code when absent');
  assert.equal(statusFromBody(500, '<html>oops</html>'), undefined);
  assert.equal(statusFromBody(500, { kind: 'Pod' }), undefined);
});

test('client_node_api_exception_is_shown_as_its_status_message_not_a_dump', () => {
  const err = new ApiException(422, 'Unsuccessful HTTP Request', JSON.stringify(invalid), { 'content-type': 'application/json' });
  assert.match(err.message, /HTTP-Code: 422\nMessage: .*\nBody: .*\nHeaders:/, 'the library message is the raw dump');
  const line = formatServerError(serverStatusOf(err)!);
  assert.equal(line, 'Error from server (Invalid): Pod "x" is invalid: spec.containers: Required value');
  assert.doesNotMatch(line, /HTTP-Code|Headers|"kind"/);
});

test('rest_client_error_and_a_response_that_is_not_a_status', () => {
  const rest = new KubeRequestError(404, { kind: 'Status', reason: 'NotFound', message: 'pods "web" not found', code: 404 } as never, 'GET ...: 404');
  assert.equal(formatServerError(serverStatusOf(rest)!, 'error when deleting Pod a/web'), 'Error from server (NotFound): error when deleting Pod a/web: pods "web" not found');
  const bare = serverStatusOf(new KubeRequestError(502, undefined, 'GET /api: 502 bad gateway'));
  assert.deepEqual(bare, { code: 502, reason: 'Unknown', message: 'the server responded with the status code 502' });
  assert.equal(serverStatusOf(new Error('connect ECONNREFUSED 127.0.0.1:1')), undefined);
  assert.equal(serverStatusOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), undefined);
});
