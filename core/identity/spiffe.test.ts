// Unit tests of SPIFFE ID parsing and formatting (DESIGN.md section 3, "Identity").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isMeshError, MeshError } from '../errors.js';
import {
  DEFAULT_TRUST_DOMAIN,
  formatSpiffeId,
  parseSpiffeId,
  sameSpiffeId,
  spiffeId,
  validateTrustDomain,
} from './spiffe.js';

/** Asserts that parsing `input` fails with AMB_SPIFFE_INVALID and returns the error. */
function rejects(input: string, reason?: RegExp): MeshError {
  let caught: unknown;
  try {
    parseSpiffeId(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${JSON.stringify(input)} to be rejected`);
  assert.ok(isMeshError(caught, ErrorCodes.SPIFFE_INVALID), `expected AMB_SPIFFE_INVALID, got ${String(caught)}`);
  if (reason) assert.match(caught.message, reason);
  return caught;
}

test('parse_splits_a_valid_id_into_its_parts', () => {
  const id = parseSpiffeId('spiffe://cluster.local/ns/default/sa/bookinfo-productpage');
  assert.deepEqual({ ...id }, { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'bookinfo-productpage' });
});

test('parse_accepts_trust_domain_with_digits_dash_underscore_and_dots', () => {
  const id = parseSpiffeId('spiffe://prod_1.example-2.com/ns/a1/sa/x');
  assert.equal(id.trustDomain, 'prod_1.example-2.com');
  assert.equal(id.namespace, 'a1');
  assert.equal(id.serviceAccount, 'x');
});

test('parse_accepts_dotted_service_account_and_63_char_namespace', () => {
  const ns = 'a'.repeat(63);
  const id = parseSpiffeId(`spiffe://cluster.local/ns/${ns}/sa/my.service-account.v2`);
  assert.equal(id.namespace, ns);
  assert.equal(id.serviceAccount, 'my.service-account.v2');
});

test('parsed_id_is_frozen', () => {
  const id = parseSpiffeId('spiffe://cluster.local/ns/default/sa/default');
  assert.ok(Object.isFrozen(id));
});

test('format_then_parse_round_trips', () => {
  for (const s of [
    'spiffe://cluster.local/ns/default/sa/default',
    'spiffe://example.org/ns/kube-system/sa/coredns',
    'spiffe://td_x/ns/n/sa/a.b.c',
  ]) {
    assert.equal(formatSpiffeId(parseSpiffeId(s)), s);
  }
  const parts = { trustDomain: 'mesh.example', namespace: 'shop', serviceAccount: 'cart' };
  assert.deepEqual({ ...parseSpiffeId(formatSpiffeId(parts)) }, parts);
});

test('spiffeId_builds_with_default_trust_domain_and_validates', () => {
  const id = spiffeId('shop', 'cart');
  assert.equal(id.trustDomain, DEFAULT_TRUST_DOMAIN);
  assert.equal(DEFAULT_TRUST_DOMAIN, 'cluster.local');
  assert.equal(formatSpiffeId(id), 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.equal(spiffeId('shop', 'cart', 'other.td').trustDomain, 'other.td');
  assert.throws(() => spiffeId('Shop', 'cart'), (e) => isMeshError(e, ErrorCodes.SPIFFE_INVALID));
  assert.throws(() => spiffeId('shop', 'cart', 'Bad.TD'), (e) => isMeshError(e, ErrorCodes.SPIFFE_INVALID));
});

test('sameSpiffeId_compares_all_three_parts', () => {
  const a = spiffeId('ns', 'sa', 'td');
  assert.ok(sameSpiffeId(a, parseSpiffeId('spiffe://td/ns/ns/sa/sa')));
  assert.ok(!sameSpiffeId(a, spiffeId('ns', 'sa', 'td2')));
  assert.ok(!sameSpiffeId(a, spiffeId('ns2', 'sa', 'td')));
  assert.ok(!sameSpiffeId(a, spiffeId('ns', 'sa2', 'td')));
});

test('validateTrustDomain_returns_valid_and_rejects_invalid', () => {
  assert.equal(validateTrustDomain('cluster.local'), 'cluster.local');
  for (const td of ['', 'Cluster.local', 'a b', 'td:80', 'a'.repeat(256), 'td/x']) {
    assert.throws(() => validateTrustDomain(td), (e) => isMeshError(e, ErrorCodes.SPIFFE_INVALID), td);
  }
  assert.equal(validateTrustDomain('a'.repeat(255)), 'a'.repeat(255));
});

test('parse_rejects_wrong_scheme', () => {
  rejects('https://cluster.local/ns/default/sa/default', /spiffe:\/\//);
  rejects('spiffe:/cluster.local/ns/default/sa/default');
  rejects('cluster.local/ns/default/sa/default');
  rejects('');
});

test('parse_rejects_uppercase_scheme', () => {
  rejects('SPIFFE://cluster.local/ns/default/sa/default', /scheme/);
  rejects('Spiffe://cluster.local/ns/default/sa/default');
});

test('parse_rejects_uppercase_trust_domain', () => {
  rejects('spiffe://Cluster.Local/ns/default/sa/default', /trust domain/);
});

test('parse_rejects_invalid_trust_domain_characters', () => {
  for (const td of ['clu ster', 'cluster!local', 'clüster', 'cluster+local', 'a*b']) {
    rejects(`spiffe://${td}/ns/default/sa/default`, /trust domain/);
  }
});

test('parse_rejects_empty_trust_domain', () => {
  rejects('spiffe:///ns/default/sa/default', /trust domain/);
});

test('parse_rejects_port_in_trust_domain', () => {
  rejects('spiffe://cluster.local:8443/ns/default/sa/default', /port/);
});

test('parse_rejects_userinfo_in_trust_domain', () => {
  rejects('spiffe://user@cluster.local/ns/default/sa/default', /user info/);
  rejects('spiffe://user:pw@cluster.local/ns/default/sa/default');
});

test('parse_rejects_missing_path', () => {
  rejects('spiffe://cluster.local', /missing path/);
  rejects('spiffe://cluster.local/', /empty path segment/);
});

test('parse_rejects_namespace_without_service_account', () => {
  rejects('spiffe://cluster.local/ns/default', /\/ns\/<namespace>\/sa\/<service-account>/);
});

test('parse_rejects_extra_path_segments', () => {
  rejects('spiffe://cluster.local/ns/default/sa/default/extra', /path must be/);
  rejects('spiffe://cluster.local/x/ns/default/sa/default', /path must be/);
});

test('parse_rejects_sa_before_ns', () => {
  rejects('spiffe://cluster.local/sa/default/ns/default', /path must be/);
});

test('parse_rejects_other_path_keywords', () => {
  rejects('spiffe://cluster.local/namespace/default/sa/default', /path must be/);
  rejects('spiffe://cluster.local/NS/default/SA/default', /path must be/);
});

test('parse_rejects_empty_segments', () => {
  rejects('spiffe://cluster.local/ns//sa/default', /empty path segment/);
  rejects('spiffe://cluster.local//ns/default/sa/default', /empty path segment/);
  rejects('spiffe://cluster.local/ns/default/sa/default/', /empty path segment/);
  rejects('spiffe://cluster.local/ns/default/sa/', /empty path segment/);
});

test('parse_rejects_dot_and_dotdot_segments', () => {
  rejects('spiffe://cluster.local/ns/./sa/default', /'\.' and '\.\.'/);
  rejects('spiffe://cluster.local/ns/../sa/default', /'\.' and '\.\.'/);
  rejects('spiffe://cluster.local/ns/default/sa/..', /'\.' and '\.\.'/);
});

test('parse_rejects_query_fragment_and_percent_encoding', () => {
  rejects('spiffe://cluster.local/ns/default/sa/default?x=1', /query/);
  rejects('spiffe://cluster.local/ns/default/sa/default#frag', /fragment/);
  rejects('spiffe://cluster.local/ns/def%61ult/sa/default', /percent-encoding/);
});

test('parse_rejects_ids_longer_than_2048_bytes', () => {
  // 253-char service accounts are valid, so only the overall limit can reject this one.
  const prefix = 'spiffe://';
  const tail = '/ns/default/sa/default';
  const td = 'a'.repeat(255);
  const okId = `${prefix}${td}${tail}`;
  assert.doesNotThrow(() => parseSpiffeId(okId));
  const long = `${prefix}${'a'.repeat(2049 - prefix.length - tail.length)}${tail}`;
  assert.equal(Buffer.byteLength(long), 2049);
  rejects(long, /longer than 2048 bytes/);
});

test('parse_counts_the_length_limit_in_bytes_not_characters', () => {
  // 700 three-byte characters: 700 chars, but 2100 bytes, so the byte limit applies first.
  const id = `spiffe://cluster.local/ns/default/sa/${'€'.repeat(700)}`;
  assert.ok(id.length < 2048);
  rejects(id, /longer than 2048 bytes/);
});

test('parse_rejects_namespace_that_is_not_a_dns1123_label', () => {
  rejects('spiffe://cluster.local/ns/Default/sa/default', /namespace "Default" is not a DNS-1123 label/);
  rejects(`spiffe://cluster.local/ns/${'a'.repeat(64)}/sa/default`, /namespace .* is not a DNS-1123 label/);
  rejects('spiffe://cluster.local/ns/-default/sa/default', /namespace "-default"/);
  rejects('spiffe://cluster.local/ns/default-/sa/default', /namespace "default-"/);
  rejects('spiffe://cluster.local/ns/de.fault/sa/default', /namespace "de.fault"/);
  rejects('spiffe://cluster.local/ns/de_fault/sa/default', /namespace "de_fault"/);
});

test('parse_rejects_service_account_that_is_not_a_dns1123_subdomain', () => {
  rejects('spiffe://cluster.local/ns/default/sa/Default', /service account "Default" is not a DNS-1123 subdomain/);
  rejects('spiffe://cluster.local/ns/default/sa/-sa', /service account "-sa"/);
  rejects('spiffe://cluster.local/ns/default/sa/sa.', /service account "sa\."/);
  rejects('spiffe://cluster.local/ns/default/sa/a..b', /service account "a\.\.b"/);
  rejects('spiffe://cluster.local/ns/default/sa/under_score', /service account "under_score"/);
  rejects(`spiffe://cluster.local/ns/default/sa/${'a'.repeat(254)}`, /is not a DNS-1123 subdomain/);
  assert.doesNotThrow(() => parseSpiffeId(`spiffe://cluster.local/ns/default/sa/${'a'.repeat(253)}`));
});

test('error_message_names_the_input_and_the_reason', () => {
  const input = 'spiffe://cluster.local/ns/Bad/sa/default';
  const err = rejects(input);
  assert.ok(err.message.includes(JSON.stringify(input)), err.message);
  assert.match(err.message, /not a DNS-1123 label/);
  assert.equal(err.name, 'MeshError');
  assert.equal(err.code, 'AMB_SPIFFE_INVALID');
});

test('error_message_truncates_very_long_inputs', () => {
  const err = rejects(`spiffe://cluster.local/ns/default/sa/${'x'.repeat(3000)}`);
  assert.ok(err.message.length < 300, `message is ${err.message.length} chars`);
  assert.match(err.message, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/x+\.\.\./);
});

test('parse_rejects_non_string_input', () => {
  rejects(undefined as unknown as string, /not a string/);
  rejects(42 as unknown as string, /not a string/);
});
