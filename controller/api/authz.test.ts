import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachedAccessReviewer, controllerOnly, forbidden, requireAccess, subjectAccessReview, type AccessReviewer } from './authz.js';
import type { ApiFailure } from './api-error.js';

const user = { username: 'system:serviceaccount:other:viewer', groups: ['system:serviceaccounts', 'system:authenticated'] };
const patch = { verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace: 'apps', name: 'echo' };
const listPods = { verb: 'list', group: '', resource: 'pods', namespace: 'apps' };

function counting(allowed: (a: { verb: string }) => boolean): AccessReviewer & { calls: number } {
  const o = {
    calls: 0,
    async review(_u: unknown, _t: string, a: { verb: string }) {
      o.calls++;
      return allowed(a) ? { allowed: true } : { allowed: false, reason: 'no rule' };
    },
  };
  return o;
}

test('the_review_asks_for_the_user_groups_and_resource_attributes', () => {
  const body = subjectAccessReview(user, patch) as { spec: Record<string, unknown> };
  assert.equal(body.spec['user'], user.username);
  assert.deepEqual(body.spec['groups'], user.groups);
  assert.deepEqual(body.spec['resourceAttributes'], patch);
});

test('a_denial_is_403_naming_user_verb_resource_and_namespace', () => {
  const e = forbidden(user, patch, 'no rule');
  assert.equal(e.status, 403);
  assert.equal(e.code, 'AMB_API_FORBIDDEN');
  assert.equal(e.message, 'user "system:serviceaccount:other:viewer" may not patch httproutes.gateway.networking.k8s.io "echo" in namespace "apps" (no rule)');
});

test('a_read_the_reviewer_denies_is_refused', async () => {
  await assert.rejects(requireAccess(counting(() => false), user, 't', listPods), (e: ApiFailure) => e.status === 403 && /may not list pods in namespace "apps"/.test(e.message));
});

test('answers_are_cached_per_token_and_attributes', async () => {
  const inner = counting(() => true);
  const c = new CachedAccessReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => 0 });
  await c.review(user, 'tok-a', listPods);
  await c.review(user, 'tok-a', listPods);
  assert.equal(inner.calls, 1);
  await c.review(user, 'tok-b', listPods);
  await c.review(user, 'tok-a', { ...listPods, namespace: 'other' });
  assert.equal(inner.calls, 3, 'another token or other attributes are another review');
});

test('cached_answers_expire_and_denials_sooner', async () => {
  let now = 0;
  const inner = counting((a) => a.verb === 'list');
  const c = new CachedAccessReviewer(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10, now: () => now });
  await c.review(user, 't', listPods);
  await c.review(user, 't', patch);
  now = 150;
  await c.review(user, 't', listPods);
  await c.review(user, 't', patch);
  assert.equal(inner.calls, 3, 'the denial was asked again, the allowance was not');
  now = 1200;
  await c.review(user, 't', listPods);
  assert.equal(inner.calls, 4);
});

test('the_cache_is_bounded_in_entries', async () => {
  const c = new CachedAccessReviewer(counting(() => true), { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 3, now: () => 0 });
  for (let i = 0; i < 10; i++) await c.review(user, `t${i}`, listPods);
  assert.equal(c.size, 3);
});

test('the_cache_key_never_holds_the_token', () => {
  assert.match(CachedAccessReviewer.key('digest', listPods), /^[0-9a-f]{64}$/);
});

test('controller_only_admits_exactly_the_controllers_service_account', () => {
  const ctl = { username: 'system:serviceaccount:ambient-system:ambient-controller', groups: ['system:serviceaccounts'] };
  assert.equal(controllerOnly(ctl, 'ambient-system', 'ambient-controller'), undefined);
  for (const username of ['system:serviceaccount:ambient-system:ambient-node-agent', 'system:serviceaccount:other:ambient-controller', 'admin', 'system:serviceaccount:ambient-system:ambient-controller-x']) {
    const f = controllerOnly({ username, groups: ['system:masters'] }, 'ambient-system', 'ambient-controller');
    assert.equal(f?.status, 403, username);
    assert.equal(f?.code, 'AMB_API_FORBIDDEN');
    assert.match(f!.message, /only the controller's ServiceAccount ambient-system\/ambient-controller/);
  }
});
