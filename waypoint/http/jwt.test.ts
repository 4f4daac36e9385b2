// JWT validation for the waypoint, piece by piece: where the token is taken from, which rule
// validates it, each reason it is refused (Envoy's messages), what a valid one gives, and the
// outputs. Keys are generated and tokens signed with jose in the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import type { JwtRule } from '../../core/config/request-authn.js';
import { candidateRules, claimHeaderValue, findToken, findTokens, outputHeadersOf, requestAuthOf, tokenOutputs, verifyJwt, withoutParam, type KeyResolver } from './jwt.js';
import { wwwAuthenticate } from './authn.js';

const ISS = 'https://idp.example';
const NOW = 1_800_000_000;

function rule(over: Partial<JwtRule> = {}): JwtRule {
  return {
    issuer: ISS,
    audiences: [],
    fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }],
    fromParams: ['access_token'],
    fromCookies: [],
    defaultLocations: true,
    forwardOriginalToken: false,
    outputClaimToHeaders: [],
    ...over,
  };
}

async function keyPair(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { privateKey, jwk, kid };
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
async function sign(k: { privateKey: PrivateKey; kid: string }, claims: Record<string, unknown> = {}, opts: { iss?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const j = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: 'ES256', kid: k.kid }).setIssuer(opts.iss ?? ISS).setIssuedAt(NOW - 10).setExpirationTime(opts.exp ?? NOW + 3600);
  if (opts.nbf !== undefined) j.setNotBefore(opts.nbf);
  return j.sign(k.privateKey);
}

const keysOf = (...jwks: JWK[]): KeyResolver => async () => ({ keys: { keys: jwks } as JSONWebKeySet });

test('token_is_taken_from_authorization_bearer_by_default_case_insensitively', () => {
  assert.deepEqual(findToken([rule()], { authorization: 'bearer abc.def.ghi' }, '/'), { token: 'abc.def.ghi', location: { kind: 'header', name: 'authorization', prefix: 'Bearer ' } });
  assert.equal(findToken([rule()], { authorization: 'Basic dXNlcg==' }, '/'), undefined);
});

test('token_is_taken_from_the_access_token_parameter_by_default', () => {
  assert.equal(findToken([rule()], {}, '/x?a=1&access_token=t.o.k')?.token, 't.o.k');
});

test('token_from_a_custom_header_needs_its_prefix', () => {
  const r = rule({ fromHeaders: [{ name: 'x-jwt', prefix: 'Token ' }], fromParams: [], defaultLocations: false });
  assert.equal(findToken([r], { 'x-jwt': 'Token a.b.c' }, '/')?.token, 'a.b.c');
  assert.equal(findToken([r], { 'x-jwt': 'token a.b.c' }, '/'), undefined, 'a custom prefix is exact');
  assert.equal(findToken([r], { authorization: 'Bearer a.b.c' }, '/'), undefined, 'the default location is not read when locations are given');
});

test('token_from_a_cookie', () => {
  const r = rule({ fromHeaders: [], fromParams: [], fromCookies: ['session'], defaultLocations: false });
  assert.equal(findToken([r], { cookie: 'theme=dark; session=a.b.c' }, '/')?.token, 'a.b.c');
});

test('no_token_anywhere_is_none', () => {
  assert.equal(findToken([rule()], {}, '/'), undefined);
  assert.equal(findToken([rule()], { authorization: 'Bearer   ' }, '/'), undefined);
});

test('token_issuer_must_match_a_rule_reading_that_location', () => {
  const other = rule({ issuer: 'https://other', fromHeaders: [{ name: 'x-other', prefix: '' }], fromParams: [], defaultLocations: false });
  const token = 'eyJhbGciOiJub25lIn0.' + Buffer.from(JSON.stringify({ iss: 'https://other' })).toString('base64url') + '.sig';
  const found = findToken([rule(), other], { authorization: `Bearer ${token}` }, '/')!;
  assert.deepEqual(candidateRules([rule(), other], found, 16384), { failure: 'Jwt issuer is not configured' });
  assert.deepEqual(candidateRules([rule()], { token: 'garbage', location: found.location }, 16384), { failure: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' });
  assert.deepEqual(candidateRules([rule()], { token: 'x'.repeat(20), location: found.location }, 10), { failure: 'Jwt is too large' });
});

test('valid_token_gives_principal_audiences_presenter_and_claims', async () => {
  const k = await keyPair('k1');
  const token = await sign(k, { aud: ['shop', 'bank'], azp: 'web-app', groups: ['admins'] });
  const v = await verifyJwt(token, rule(), keysOf(k.jwk), 60, NOW);
  assert.ok(v.ok);
  const auth = requestAuthOf(v.payload);
  assert.equal(auth.principal, 'https://idp.example/alice');
  assert.deepEqual(auth.audiences, ['shop', 'bank']);
  assert.equal(auth.presenter, 'web-app');
  assert.deepEqual(auth.claims['groups'], ['admins']);
});

test('expired_token_is_refused_beyond_the_skew', async () => {
  const k = await keyPair('k1');
  const token = await sign(k, {}, { exp: NOW - 120 });
  assert.deepEqual(await verifyJwt(token, rule(), keysOf(k.jwk), 60, NOW), { ok: false, failure: 'Jwt is expired' });
  const justExpired = await sign(k, {}, { exp: NOW - 30 });
  assert.equal((await verifyJwt(justExpired, rule(), keysOf(k.jwk), 60, NOW)).ok, true, 'within the skew');
});

test('token_not_yet_valid_is_refused', async () => {
  const k = await keyPair('k1');
  const token = await sign(k, {}, { nbf: NOW + 600 });
  const v = await verifyJwt(token, rule(), keysOf(k.jwk), 60, NOW);
  assert.equal(v.ok ? '' : v.failure, 'Jwt not yet valid');
});

test('wrong_audience_is_refused_and_any_listed_audience_is_accepted', async () => {
  const k = await keyPair('k1');
  const token = await sign(k, { aud: 'bank' });
  const v = await verifyJwt(token, rule({ audiences: ['shop'] }), keysOf(k.jwk), 60, NOW);
  assert.equal(v.ok ? '' : v.failure, 'Audiences in Jwt are not allowed');
  assert.equal((await verifyJwt(token, rule({ audiences: ['shop', 'bank'] }), keysOf(k.jwk), 60, NOW)).ok, true);
});

test('signature_by_another_key_with_the_same_kid_is_refused', async () => {
  const good = await keyPair('k1');
  const forger = await keyPair('k1');
  const token = await sign(forger);
  const v = await verifyJwt(token, rule(), keysOf(good.jwk), 60, NOW);
  assert.equal(v.ok ? '' : v.failure, 'Jwt verification fails');
});

test('tampered_payload_is_refused', async () => {
  const k = await keyPair('k1');
  const [h, , s] = (await sign(k)).split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ iss: ISS, sub: 'admin', exp: NOW + 60 })).toString('base64url')}.${s}`;
  const v = await verifyJwt(forged, rule(), keysOf(k.jwk), 60, NOW);
  assert.equal(v.ok ? '' : v.failure, 'Jwt verification fails');
});

test('unsigned_alg_none_token_is_refused', async () => {
  const k = await keyPair('k1');
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISS, sub: 'a' })).toString('base64url')}.`;
  const v = await verifyJwt(none, rule(), keysOf(k.jwk), 60, NOW);
  assert.equal(v.ok, false);
});

test('unknown_kid_asks_for_a_refresh_once_then_refuses', async () => {
  const k = await keyPair('new');
  const old = await keyPair('old');
  const calls: boolean[] = [];
  const resolver: KeyResolver = async (_r, refresh) => {
    calls.push(refresh);
    return { keys: { keys: refresh ? [old.jwk, k.jwk] : [old.jwk] } as JSONWebKeySet };
  };
  assert.equal((await verifyJwt(await sign(k), rule({ jwksUri: 'https://idp.example/jwks' }), resolver, 60, NOW)).ok, true);
  assert.deepEqual(calls, [false, true]);
  const stranger = await keyPair('stranger');
  const v = await verifyJwt(await sign(stranger), rule({ jwksUri: 'https://idp.example/jwks' }), resolver, 60, NOW);
  assert.equal(v.ok ? '' : v.failure, "Jwks doesn't have key to match kid or alg from Jwt");
});

test('no_keys_yet_fails_closed', async () => {
  const k = await keyPair('k1');
  const v = await verifyJwt(await sign(k), rule({ jwksUri: 'https://idp.example/jwks' }), async () => ({ error: 'HTTP 503' }), 60, NOW);
  assert.deepEqual(v, { ok: false, failure: 'Jwks remote fetch is failed', detail: 'HTTP 503' });
});

test('outputs_payload_header_claims_and_token_removal', async () => {
  const k = await keyPair('k1');
  const token = await sign(k, { email: 'a@example.com', org: { id: 7 }, admin: true, groups: ['x'] });
  const r = rule({ outputPayloadToHeader: 'x-jwt-payload', outputClaimToHeaders: [{ header: 'x-email', claim: 'email' }, { header: 'x-org', claim: 'org.id' }, { header: 'x-admin', claim: 'admin' }, { header: 'x-groups', claim: 'groups' }] });
  const found = { token, location: { kind: 'header' as const, name: 'authorization', prefix: 'Bearer ' } };
  const v = await verifyJwt(token, r, keysOf(k.jwk), 60, NOW);
  assert.ok(v.ok);
  const out = tokenOutputs(r, found, v.payload, '/x');
  assert.equal(JSON.parse(Buffer.from(out.set['x-jwt-payload']!, 'base64url').toString()).email, 'a@example.com');
  assert.equal(out.set['x-email'], 'a@example.com');
  assert.equal(out.set['x-org'], '7');
  assert.equal(out.set['x-admin'], 'true');
  assert.equal(out.set['x-groups'], undefined, 'a list is not a supported claim type');
  assert.deepEqual(out.remove, ['authorization']);
  assert.deepEqual(tokenOutputs({ ...r, forwardOriginalToken: true }, found, v.payload, '/x').remove, []);
  assert.deepEqual(outputHeadersOf([r]).sort(), ['x-admin', 'x-email', 'x-groups', 'x-jwt-payload', 'x-org']);
});

test('token_from_a_parameter_is_removed_from_the_path_other_parameters_kept_as_sent', () => {
  assert.equal(withoutParam('/a?x=1&access_token=t&y=%20+', 'access_token'), '/a?x=1&y=%20+');
  assert.equal(withoutParam('/a?access_token=t', 'access_token'), '/a');
  assert.equal(withoutParam('/a', 'access_token'), '/a');
});

test('claim_header_values_refuse_control_characters', () => {
  assert.equal(claimHeaderValue({ a: 'x\r\ny' }, 'a'), undefined);
  assert.equal(claimHeaderValue({ 'a.b': 'dotted' }, 'a.b'), 'dotted');
  assert.equal(claimHeaderValue({}, 'missing'), undefined);
});

test('www_authenticate_names_the_url_without_query', () => {
  assert.equal(wwwAuthenticate('web.shop', '/api?token=x'), 'Bearer realm="http://web.shop/api", error="invalid_token"');
});

test('every_token_over_every_location_is_found_each_location_once', () => {
  const custom = rule({ fromHeaders: [{ name: 'x-jwt', prefix: '' }], fromParams: [], fromCookies: ['session'], defaultLocations: false });
  const found = findTokens([rule(), custom, rule()], { authorization: 'Bearer h.e.ad', 'x-jwt': ['x.1.a', 'x.2.b'], cookie: 'session=c.1.a; theme=dark; session=c.2.b' }, '/x?access_token=p.1.a&a=1&access_token=p.2.b');
  assert.deepEqual(found.map((f) => `${f.location.kind}:${f.token}`), ['header:h.e.ad', 'param:p.1.a', 'param:p.2.b', 'header:x.1.a', 'header:x.2.b', 'cookie:c.1.a', 'cookie:c.2.b']);
  assert.equal(findToken([rule()], { authorization: 'Bearer h.e.ad' }, '/?access_token=p.1.a')?.token, 'h.e.ad', 'the first gives request.auth');
});
