// RequestAuthentication statuses: Accepted with the compiler's message naming the field and
// the value; Enforced=False TargetRefsRequired for one that selects workloads (no waypoint
// evaluates it), with how to attach it; nothing to write to an object without a name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cluster, namespace, TD } from './fixtures.js';
import type { RequestAuthentication } from './input.js';
import { Problems } from './objects.js';
import { translateRequestAuthentication } from './request-authentications.js';
import { translate } from './translate.js';

const KEYS = 'https://issuer.example/jwks.json';
function ra(name: string, spec: unknown, meta: Record<string, unknown> = {}): RequestAuthentication {
  return { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name, namespace: 'shop', generation: 3, ...meta }, spec };
}
const targeted = (rule: Record<string, unknown> = {}) => ({ targetRefs: [{ group: '', kind: 'Service', name: 'web' }], jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS, ...rule }] });

function statusOf(object: unknown) {
  const problems = new Problems();
  const emitted: unknown[] = [];
  const status = translateRequestAuthentication(object, problems, (_k, _key, r) => (emitted.push(r), true));
  return { status, problems: problems.list, emitted };
}
const cond = (s: ReturnType<typeof statusOf>['status'], type: string) => s?.conditions.find((c) => c.type === type);

test('request_authn_status_accepted_for_a_valid_targeted_one_with_its_generation', () => {
  const { status, emitted } = statusOf(ra('jwt', targeted()));
  assert.equal(emitted.length, 1);
  assert.deepEqual(status, { namespace: 'shop', name: 'jwt', generation: 3, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The RequestAuthentication is valid and compiled.' }] });
});

test('request_authn_status_targeted_one_has_no_enforced_condition', () => {
  assert.equal(cond(statusOf(ra('jwt', targeted())).status, 'Enforced'), undefined);
});

test('request_authn_status_invalid_names_field_and_value', () => {
  const { status, emitted, problems } = statusOf(ra('broken', targeted({ jwksUri: 'ftp://x' })));
  assert.equal(emitted.length, 0);
  const a = cond(status, 'Accepted')!;
  assert.equal(a.status, 'False');
  assert.equal(a.reason, 'Invalid');
  assert.match(a.message, /^spec\.jwtRules\[0\]\.jwksUri: "ftp:\/\/x" is not an http\(s\) URL\. It is not applied/);
  assert.match(problems[0]?.message ?? '', /AMB_REQUEST_AUTHN_INVALID/);
  assert.equal(status?.conditions.length, 1, 'no Enforced condition for an object that is not accepted');
});

test('request_authn_status_missing_issuer_is_invalid_and_names_the_field', () => {
  const a = cond(statusOf(ra('noiss', { targetRefs: [{ group: '', kind: 'Service', name: 'web' }], jwtRules: [{ jwksUri: KEYS }] })).status, 'Accepted')!;
  assert.equal(a.status, 'False');
  assert.match(a.message, /spec\.jwtRules\[0\]\.issuer/);
});

test('request_authn_status_selector_is_accepted_but_not_enforced_and_says_how_to_attach', () => {
  const { status, emitted } = statusOf(ra('sel', { selector: { matchLabels: { app: 'web' } }, jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS }] }));
  assert.equal(emitted.length, 1, 'compiled and sent, as before (no waypoint evaluates it)');
  assert.equal(cond(status, 'Accepted')?.status, 'True');
  const e = cond(status, 'Enforced')!;
  assert.equal(e.status, 'False');
  assert.equal(e.reason, 'TargetRefsRequired');
  assert.match(e.message, /^NOT ENFORCED: it selects workloads/);
  assert.match(e.message, /spec\.targetRefs/);
  assert.match(e.message, /kind: Gateway/);
});

test('request_authn_status_without_selector_or_target_refs_is_not_enforced_either', () => {
  assert.equal(cond(statusOf(ra('bare', { jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS }] })).status, 'Enforced')?.reason, 'TargetRefsRequired');
});

test('request_authn_status_accepted_message_carries_the_warnings', () => {
  const a = cond(statusOf(ra('plain', targeted({ jwksUri: 'http://issuer.example/jwks.json' }))).status, 'Accepted')!;
  assert.equal(a.status, 'True');
  assert.match(a.message, /Warnings: .*fetched over plain http/);
});

test('request_authn_status_refused_by_validation_is_not_accepted', () => {
  const problems = new Problems();
  const status = translateRequestAuthentication(ra('jwt', targeted()), problems, () => false);
  assert.equal(status?.conditions[0]?.status, 'False');
  assert.match(status?.conditions[0]?.message ?? '', /failed validation/);
});

test('request_authn_status_generation_defaults_to_zero', () => {
  assert.equal(statusOf(ra('jwt', targeted(), { generation: undefined })).status?.generation, 0);
  assert.equal(statusOf(ra('jwt', targeted(), { generation: -1 })).status?.generation, 0);
});

test('request_authn_status_none_for_an_object_without_name_or_namespace', () => {
  assert.equal(statusOf(ra('', targeted())).status, undefined);
  assert.equal(statusOf({ apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name: 'x' }, spec: targeted() }).status, undefined);
  assert.equal(statusOf(null).status, undefined);
});

test('request_authn_statuses_from_translate_are_sorted_by_namespace_and_name', () => {
  const r = translate(
    cluster({
      namespaces: [namespace('shop'), namespace('bank')],
      requestAuthentications: [ra('b', targeted()), ra('a', targeted({ jwksUri: 'ftp://x' })), { ...ra('z', targeted()), metadata: { name: 'z', namespace: 'bank' } }],
    }),
    { trustDomain: TD },
  );
  assert.deepEqual(r.requestAuthnStatuses.map((s) => `${s.namespace}/${s.name}:${s.conditions[0]?.status}`), ['bank/z:True', 'shop/a:False', 'shop/b:True']);
});
