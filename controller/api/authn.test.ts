import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate, bearerToken } from './authn.js';
import type { TokenReviewer } from '../distribution/token-review.js';
import { ApiFailure } from './api-error.js';

test('a_missing_header_says_how_to_send_credentials', () => {
  const r = bearerToken(undefined, 100);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /Authorization: Bearer/);
});

test('only_the_bearer_scheme_is_accepted', () => {
  assert.equal(bearerToken('Basic dXNlcjpwYXNz', 100).ok, false);
  assert.equal(bearerToken('Bearer', 100).ok, false);
  assert.equal(bearerToken('Bearer a b', 100).ok, false);
  assert.deepEqual(bearerToken('bearer abc', 100), { ok: true, token: 'abc' });
});

test('an_oversized_token_is_refused_before_any_review', () => {
  assert.match((bearerToken(`Bearer ${'a'.repeat(101)}`, 100) as { reason: string }).reason, /longer than 100 bytes/);
});

const reviewer = (r: Awaited<ReturnType<TokenReviewer['review']>> | Error): TokenReviewer & { calls: number } => {
  const o = {
    calls: 0,
    async review() {
      o.calls++;
      if (r instanceof Error) throw r;
      return r;
    },
  };
  return o;
};

test('an_unauthenticated_token_is_401_with_the_reviews_reason', async () => {
  await assert.rejects(authenticate(reviewer({ authenticated: false, error: 'token expired' }), 'Bearer x', 100), (e: ApiFailure) => e.status === 401 && e.code === 'AMB_API_UNAUTHENTICATED' && /token expired/.test(e.message));
});

test('a_review_that_cannot_be_made_is_503_not_401', async () => {
  await assert.rejects(authenticate(reviewer(new Error('connection refused')), 'Bearer x', 100), (e: ApiFailure) => e.status === 503 && e.code === 'AMB_API_AUTH_UNAVAILABLE');
});

test('an_authenticated_token_yields_the_user_and_a_digest_not_the_token', async () => {
  const a = await authenticate(reviewer({ authenticated: true, user: { username: 'system:serviceaccount:apps:web', groups: ['system:authenticated'] } as never }), 'Bearer secret-token', 100);
  assert.equal(a.user.username, 'system:serviceaccount:apps:web');
  assert.deepEqual(a.user.groups, ['system:authenticated']);
  assert.match(a.tokenHash, /^[0-9a-f]{64}$/);
  assert.ok(!a.tokenHash.includes('secret'));
});

test('no_header_costs_no_review', async () => {
  const r = reviewer({ authenticated: false, error: 'x' });
  await assert.rejects(authenticate(r, undefined, 100), (e: ApiFailure) => e.status === 401);
  assert.equal(r.calls, 0);
});
