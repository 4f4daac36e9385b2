// Attacks on the request-target normalisation (request-target.ts), as pure cases. The
// waypoint's authorization, routing and the backend must agree on the path; Envoy's
// `normalize_path` (Istio's default BASE), which the module says it follows, canonicalises
// with Chromium's URL path canonicaliser: `%2e` is a dot in dot segments, and
// percent-encoded unreserved characters (RFC 3986 section 2.3: ALPHA DIGIT - . _ ~) are
// decoded (RFC 3986 section 6.2.2.2: they are equivalent). Backends read them so: WHATWG
// URL (Node's `new URL`) resolves `/x/%2e%2e/admin` to `/admin`; Go's net/http, Python and
// most frameworks route on the decoded path. Left as sent, `DENY paths: [/admin*]` misses a
// request the backend serves as /admin. `%2F` and `%5C` stay encoded (Istio's BASE keeps
// them; DECODE_AND_MERGE_SLASHES is an opt-in).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseTarget } from './request-target.js';

test('percent_encoded_dot_segments_are_removed_like_dots', () => {
  for (const [input, want] of [
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2E/admin', '/admin'],
    ['/public/.%2e/admin', '/admin'],
    ['/public/%2e./admin', '/admin'],
    ['/%2e/admin', '/admin'],
    ['/%2e%2e/admin?x=%2e%2e', '/admin?x=%2e%2e'],
  ] as const) assert.equal(normaliseTarget(input, 'web').path, want, input);
});

test('percent_encoded_unreserved_characters_are_decoded', () => {
  for (const [input, want] of [
    ['/%61dmin', '/admin'],
    ['/%41dmin', '/Admin'],
    ['/adm%69n/users', '/admin/users'],
    ['/%7Euser', '/~user'],
  ] as const) assert.equal(normaliseTarget(input, 'web').path, want, input);
});

test('percent_encoded_reserved_characters_stay_encoded', () => {
  // Already so; decoding them would change what the backend sees (`%2F` is not `/`).
  assert.equal(normaliseTarget('/a%2Fb', 'web').path, '/a%2Fb');
  assert.equal(normaliseTarget('/a%5Cb', 'web').path, '/a%5Cb');
  assert.equal(normaliseTarget('/a%3Fb', 'web').path, '/a%3Fb');
});
