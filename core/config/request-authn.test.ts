// RequestAuthentication compilation: Istio's schema, defaults, and a refusal naming field and value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRequestAuthentication, jwksAddressRefused, requestAuthnsAtWaypoint, type RequestAuthn } from './request-authn.js';

const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] });
function ra(spec: unknown, name = 'jwt', namespace = 'shop'): unknown {
  return { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name, namespace }, spec };
}
function ok(spec: unknown): RequestAuthn {
  const r = compileRequestAuthentication(ra(spec));
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.resource;
}
function refused(spec: unknown): string {
  const r = compileRequestAuthentication(ra(spec));
  assert.ok(!r.ok, 'should be refused');
  return r.message;
}
const SVC = [{ kind: 'Service', name: 'web' }];

test('request_authn_compiles_targetrefs_and_a_rule_with_istio_defaults', () => {
  const r = ok({ targetRefs: SVC, jwtRules: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks.json' }] });
  assert.equal(r.key, 'shop/jwt');
  assert.equal(r.scope, 'targets');
  assert.deepEqual(r.targetRefs, [{ group: '', kind: 'Service', name: 'web' }]);
  const rule = r.rules[0]!;
  assert.deepEqual(rule.fromHeaders, [{ name: 'authorization', prefix: 'Bearer ' }]);
  assert.deepEqual(rule.fromParams, ['access_token']);
  assert.equal(rule.defaultLocations, true);
  assert.equal(rule.forwardOriginalToken, false);
  assert.deepEqual(rule.audiences, []);
});

test('request_authn_keeps_every_field_of_a_rule', () => {
  const r = ok({
    targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
    jwtRules: [
      {
        issuer: 'iss',
        audiences: ['a', 'b'],
        jwks: JWKS,
        fromHeaders: [{ name: 'X-Jwt', prefix: 'Token ' }],
        fromParams: ['token'],
        fromCookies: ['session'],
        outputPayloadToHeader: 'X-Jwt-Payload',
        forwardOriginalToken: true,
        outputClaimToHeaders: [{ header: 'X-Email', claim: 'email' }],
        timeout: '2s',
      },
    ],
  });
  const rule = r.rules[0]!;
  assert.deepEqual(rule.fromHeaders, [{ name: 'x-jwt', prefix: 'Token ' }]);
  assert.equal(rule.defaultLocations, false);
  assert.equal(rule.jwks?.keys.length, 1);
  assert.equal(rule.outputPayloadToHeader, 'x-jwt-payload');
  assert.deepEqual(rule.outputClaimToHeaders, [{ header: 'x-email', claim: 'email' }]);
  assert.equal(rule.timeoutMs, 2000);
  assert.equal(rule.forwardOriginalToken, true);
});

test('request_authn_inline_jwks_wins_over_jwks_uri_with_a_warning', () => {
  const r = compileRequestAuthentication(ra({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, jwksUri: 'https://x/jwks' }] }));
  assert.ok(r.ok);
  assert.equal(r.resource.rules[0]!.jwksUri, undefined);
  assert.match(r.warnings.join(), /jwks is used/);
});

test('request_authn_refusals_name_field_and_value', () => {
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ jwksUri: 'https://x' }] }), 'spec.jwtRules[0].issuer: nothing is not a string');
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwksUri: 'ftp://x/keys' }] }), 'spec.jwtRules[0].jwksUri: "ftp://x/keys" is not an http(s) URL');
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i' }] }), /^spec\.jwtRules\[0\]: sets neither jwks nor jwksUri/);
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: '{nope' }] }), /^spec\.jwtRules\[0\]\.jwks: is not JSON/);
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: '{"keys":[{"kty":"RSA","d":"x"}]}' }] }), /keys\[0\]: holds a private key/);
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, fromHeaders: [{ name: 'bad header' }] }] }), 'spec.jwtRules[0].fromHeaders[0].name: "bad header" is not a valid HTTP header name');
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, outputClaimToHeaders: [{ header: 'Host', claim: 'x' }] }] }), /outputClaimToHeaders\[0\]\.header: "host" is a header/);
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, timeout: 'soon' }] }), 'spec.jwtRules[0].timeout: "soon" is not a duration such as "250ms" or "30s"');
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, forwardOriginalToken: 'yes' }] }), /forwardOriginalToken: "yes" is not true or false/);
  assert.match(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, issuers: [] }] }), /^spec\.jwtRules\[0\]\.issuers: is not a field/);
});

test('request_authn_selector_and_targetrefs_are_exclusive', () => {
  assert.match(refused({ selector: { matchLabels: { app: 'web' } }, targetRefs: SVC }), /^spec\.selector: is set together with targetRefs/);
});

test('request_authn_targetrefs_kinds_groups_and_namespace', () => {
  assert.match(refused({ targetRefs: [{ kind: 'Pod', name: 'x' }] }), /^spec\.targetRefs\[0\]\.kind: "Pod" is not supported/);
  assert.match(refused({ targetRefs: [{ kind: 'Gateway', name: 'x' }] }), /^spec\.targetRefs\[0\]\.group: "" is not the group of a Gateway/);
  assert.match(refused({ targetRefs: [{ kind: 'Service', name: 'x', namespace: 'other' }] }), /cross-namespace/);
});

test('request_authn_with_a_selector_compiles_and_warns_that_it_is_enforced_nowhere', () => {
  const r = compileRequestAuthentication(ra({ selector: { matchLabels: { app: 'web' } }, jwtRules: [{ issuer: 'i', jwks: JWKS }] }));
  assert.ok(r.ok);
  assert.equal(r.resource.scope, 'workloads');
  assert.match(r.warnings.join(), /enforced nowhere/);
});

test('request_authn_garbage_never_throws', () => {
  for (const o of [null, 7, 'x', {}, { metadata: {} }, { metadata: { name: 'a', namespace: 'b' }, spec: 'x' }, ra({ jwtRules: 'x' })]) {
    const r = compileRequestAuthentication(o);
    assert.equal(r.ok, false, JSON.stringify(o));
  }
});

test('jwks_fetch_timeout_is_1ms_to_1h', () => {
  assert.equal(ok({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, timeout: '1.5s' }] }).rules[0]?.timeoutMs, 1500);
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, timeout: '0s' }] }), 'spec.jwtRules[0].timeout: "0s" must be longer than zero');
  assert.equal(refused({ targetRefs: SVC, jwtRules: [{ issuer: 'i', jwks: JWKS, timeout: '2h' }] }), 'spec.jwtRules[0].timeout: "2h" is longer than 1h');
});

test('request_authns_at_waypoint_follow_targetrefs', () => {
  const mk = (name: string, ns: string, refs: RequestAuthn['targetRefs'], scope: RequestAuthn['scope'] = 'targets'): RequestAuthn => ({ key: `${ns}/${name}`, name, namespace: ns, scope, rules: [], ...(refs && { targetRefs: refs }) });
  const all = [
    mk('gw', 'infra', [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }]),
    mk('web', 'shop', [{ group: '', kind: 'Service', name: 'web' }]),
    mk('api', 'shop', [{ group: '', kind: 'Service', name: 'api' }]),
    mk('sel', 'shop', undefined, 'workloads'),
  ];
  assert.deepEqual(requestAuthnsAtWaypoint(all, { namespace: 'infra', name: 'waypoint' }, { namespace: 'shop', name: 'web' }).map((r) => r.key), ['infra/gw', 'shop/web']);
  assert.deepEqual(requestAuthnsAtWaypoint(all, { namespace: 'shop', name: 'waypoint' }, undefined).map((r) => r.key), []);
});

test('jwks_address_check_refuses_loopback_link_local_unspecified_and_their_mapped_forms_only', () => {
  for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'fe80::1', 'febf::1', 'fe80::1%eth0', '0.0.0.0', '::', '169.254.169.254', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::ffff:0.0.0.0']) {
    assert.equal(jwksAddressRefused(ip), true, ip);
  }
  for (const ip of ['10.0.0.1', '8.8.8.8', '172.16.0.1', 'fec0::1', '2001:db8::1', '::ffff:8.8.8.8', 'idp.example']) {
    assert.equal(jwksAddressRefused(ip), false, ip);
  }
});
