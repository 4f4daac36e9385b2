// Attack on jwksUri (request-authn.ts compiles it; waypoint/http/jwks.ts fetches it from the
// waypoint's pod, following redirects). Whoever may write a RequestAuthentication for a
// Service of their namespace makes the waypoint (possibly a shared one in another
// namespace, `ambient.dev/use-waypoint-namespace`) send GETs to any address it can reach:
// its own loopback ports, the node's link-local cloud metadata endpoint, cluster-internal
// services. The answer is never shown, but the 401 body tells "Jwks remote fetch is failed"
// from "Jwks doesn't have key to match kid or alg from Jwt", an oracle for what answered.
// Safe: addresses a JWKS is never served from are refused with the field named (the fetch
// must check the resolved address as well, and redirects to such addresses; not shown here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRequestAuthentication } from './request-authn.js';

function withJwksUri(uri: string): unknown {
  return {
    apiVersion: 'ambient.dev/v1',
    kind: 'RequestAuthentication',
    metadata: { name: 'jwt', namespace: 'tenant' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: 'web' }], jwtRules: [{ issuer: 'https://idp.example', jwksUri: uri }] },
  };
}

test('jwks_uri_on_loopback_link_local_or_unspecified_addresses_is_refused', () => {
  for (const uri of [
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://127.0.0.1:15000/config_dump',
    'http://localhost:15020/debug/config',
    'http://[::1]:15000/',
    'http://[fe80::1]/',
    'http://0.0.0.0:15000/',
    'http://[::ffff:127.0.0.1]:15000/',
  ]) {
    const r = compileRequestAuthentication(withJwksUri(uri));
    assert.equal(r.ok, false, `${uri} was accepted as a jwksUri`);
    if (!r.ok) assert.match(r.message, /jwksUri/);
  }
});

test('jwks_uri_on_a_public_name_is_accepted', () => {
  // Already so: the refusal above must not catch ordinary issuers.
  const r = compileRequestAuthentication(withJwksUri('https://idp.example/.well-known/jwks.json'));
  assert.equal(r.ok, true, JSON.stringify(r));
});
