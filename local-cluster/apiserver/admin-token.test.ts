import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_USER, isAdminToken, newAdminToken, parseAdminToken } from './admin-token.js';
import { requesterFor } from './authorize.js';

test('a_new_admin_token_is_256_random_bits_in_base64url', () => {
  const a = newAdminToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  assert.notEqual(newAdminToken(), a);
});

test('the_admin_token_matches_itself_only', () => {
  const t = newAdminToken();
  assert.equal(isAdminToken(t, t), true);
  const flipped = `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`;
  for (const guess of [flipped, t.slice(0, -1), `${t}A`, ` ${t}`, '', newAdminToken(), t.toUpperCase() === t ? t.toLowerCase() : t.toUpperCase()]) {
    assert.equal(isAdminToken(guess, t), false, JSON.stringify(guess));
  }
});

test('no_admin_token_configured_accepts_none', () => {
  assert.equal(isAdminToken('', undefined), false);
  assert.equal(isAdminToken('', ''), false);
  assert.equal(isAdminToken('anything', undefined), false);
});

test('an_admin_token_file_is_read_trimmed_and_anything_else_is_refused_naming_the_file', () => {
  const t = newAdminToken();
  assert.equal(parseAdminToken(`${t}\n`, '/x/admin-token'), t);
  for (const bad of ['', 'short', `${t}A`, `${t.slice(0, -1)}=`, `${t} ${t}`]) {
    assert.throws(() => parseAdminToken(bad, '/x/admin-token'), /^Error: \/x\/admin-token: the admin token must be 43 base64url characters/, JSON.stringify(bad));
  }
});

test('the_admin_user_is_the_admin_to_the_authorizer_and_a_service_account_is_not', () => {
  assert.deepEqual(requesterFor({ username: ADMIN_USER.username, groups: ADMIN_USER.groups }), { kind: 'admin', username: 'ambient-admin' });
  assert.deepEqual(requesterFor({ username: 'system:serviceaccount:apps:web', groups: ['system:serviceaccounts', 'system:serviceaccounts:apps', 'system:authenticated'] }), {
    kind: 'serviceaccount',
    username: 'system:serviceaccount:apps:web',
    namespace: 'apps',
    name: 'web',
  });
  assert.equal(requesterFor({ username: 'ambient-admin', groups: ['system:authenticated'] }), undefined, 'the name without the group is nobody');
});
