// Request authentication and L7 authorization over real sockets: a JWKS served by an HTTP
// server on 127.0.0.1 (fetched, cached, refreshed on an unknown key, kept when the server
// fails), and a small HTTP server running the authn and authz layers in front of an echo,
// called with fetch. Keys are generated and tokens signed with jose in the test.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { Policy, PolicyRule } from '../../core/config/model.js';
import type { RequestAuthn, JwtRule } from '../../core/config/request-authn.js';
import { AUTHZ_POLICY_HEADER } from './authz-decide.js';
import { authzLayer, type AuthLayer, type AuthRequest } from './authz.js';
import { authnLayer, type AuthnOutcome } from './authn.js';
import { fetchJwks, JwksCache, jwksFetcher } from './jwks.js';

const ISS = 'https://idp.example';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
interface Key {
  privateKey: PrivateKey;
  jwk: JWK;
  kid: string;
}

async function keyPair(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  return { privateKey, kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function sign(k: Key, claims: Record<string, unknown> = {}, o: { iss?: string; expIn?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid })
    .setIssuer(o.iss ?? ISS)
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (o.expIn ?? 3600))
    .sign(k.privateKey);
}

// ---------------------------------------------------------------- the JWKS server

interface JwksServer {
  url: string;
  requests: number;
  /** What the next requests get. */
  mode: 'ok' | 'fail' | 'hang' | 'huge' | 'not-json' | 'redirect';
  keys: JWK[];
  close(): Promise<void>;
}

async function jwksServer(): Promise<JwksServer> {
  const hanging: http.ServerResponse[] = [];
  const state = { requests: 0, mode: 'ok' as JwksServer['mode'], keys: [] as JWK[] };
  const server = http.createServer((_req, res) => {
    state.requests++;
    if (state.mode === 'hang') return void hanging.push(res);
    if (state.mode === 'fail') return void res.writeHead(503).end('down');
    if (state.mode === 'redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (state.mode === 'not-json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>');
    if (state.mode === 'huge') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys, pad: 'x'.repeat(4096) }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get requests() {
      return state.requests;
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as JwksServer;
}

/** The test's key server listens on loopback, which the default fetcher refuses. */
const LOOPBACK = jwksFetcher({ addressAllowed: () => true });

let idp: JwksServer;
let k1: Key;
let k2: Key;
before(async () => {
  idp = await jwksServer();
  k1 = await keyPair('k1');
  k2 = await keyPair('k2');
  idp.keys = [k1.jwk];
});
after(async () => {
  await idp.close();
});

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('jwks_uri_keys_are_fetched_once_and_cached', async () => {
  idp.mode = 'ok';
  idp.keys = [k1.jwk];
  const c = clock();
  const cache = new JwksCache({ fetcher: LOOPBACK, now: c.now });
  const before = idp.requests;
  const [a, b] = await Promise.all([cache.keys(idp.url), cache.keys(idp.url)]);
  assert.equal(a.keys?.keys[0]?.kid, 'k1');
  assert.equal(b.keys?.keys[0]?.kid, 'k1');
  await cache.keys(idp.url);
  assert.equal(idp.requests - before, 1, 'concurrent requests share one fetch; later ones use the cache');
});

test('jwks_is_refetched_after_the_refresh_interval_while_stale_keys_still_serve', async () => {
  idp.mode = 'ok';
  idp.keys = [k1.jwk];
  const c = clock();
  const cache = new JwksCache({ fetcher: LOOPBACK, now: c.now, limits: { jwksRefreshIntervalMs: 60_000 } });
  await cache.keys(idp.url);
  idp.keys = [k1.jwk, k2.jwk];
  c.t += 60_001;
  const stale = await cache.keys(idp.url);
  assert.deepEqual(stale.keys?.keys.map((k) => k.kid), ['k1'], 'the stale set answers at once');
  await cache.settled();
  assert.deepEqual((await cache.keys(idp.url)).keys?.keys.map((k) => k.kid), ['k1', 'k2']);
  assert.equal(cache.fetches, 2);
});

test('jwks_refresh_on_an_unknown_kid_is_rate_limited_by_the_cooldown', async () => {
  idp.mode = 'ok';
  idp.keys = [k1.jwk];
  const c = clock();
  const cache = new JwksCache({ fetcher: LOOPBACK, now: c.now, limits: { jwksRefetchCooldownMs: 30_000 } });
  await cache.keys(idp.url);
  idp.keys = [k1.jwk, k2.jwk];
  assert.deepEqual((await cache.refresh(idp.url)).keys?.keys.map((k) => k.kid), ['k1'], 'within the cooldown: no fetch');
  c.t += 30_000;
  assert.deepEqual((await cache.refresh(idp.url)).keys?.keys.map((k) => k.kid), ['k1', 'k2']);
  assert.equal(cache.fetches, 2);
});

test('jwks_fetch_failure_keeps_the_last_good_keys', async () => {
  idp.mode = 'ok';
  idp.keys = [k1.jwk];
  const c = clock();
  const errors: string[] = [];
  const cache = new JwksCache({ fetcher: LOOPBACK, now: c.now, limits: { jwksRefreshIntervalMs: 1000 }, onError: (_u, e) => errors.push(e.message) });
  await cache.keys(idp.url);
  idp.mode = 'fail';
  c.t += 60_000;
  await cache.keys(idp.url);
  await cache.settled();
  assert.deepEqual((await cache.keys(idp.url)).keys?.keys.map((k) => k.kid), ['k1']);
  assert.match(errors[0] ?? '', /HTTP 503/);
  idp.mode = 'not-json';
  c.t += 60_000;
  await cache.keys(idp.url);
  await cache.settled();
  assert.deepEqual((await cache.keys(idp.url)).keys?.keys.map((k) => k.kid), ['k1']);
  assert.match(errors[1] ?? '', /is not JSON/);
  idp.mode = 'ok';
});

test('jwks_fetch_is_bounded_in_time_and_size', async () => {
  const cache = new JwksCache({ fetcher: LOOPBACK, limits: { maxJwksBytes: 1024 } });
  idp.mode = 'huge';
  const huge = await cache.keys(idp.url);
  assert.match(huge.error ?? '', /maxJwksBytes 1024/);
  const hung = new JwksCache({ fetcher: LOOPBACK });
  idp.mode = 'hang';
  const r = await hung.keys(`${idp.url}?hang`, 200);
  assert.match(r.error ?? '', /no answer within 200 ms/);
  idp.mode = 'ok';
});

test('jwks_cache_keeps_at_most_max_uris_dropping_the_least_recently_used', async () => {
  idp.mode = 'ok';
  const cache = new JwksCache({ fetcher: LOOPBACK, limits: { maxJwksUris: 2 } });
  await cache.keys(`${idp.url}?a`);
  await cache.keys(`${idp.url}?b`);
  await cache.keys(`${idp.url}?a`);
  await cache.keys(`${idp.url}?c`);
  assert.deepEqual(cache.uris, [`${idp.url}?a`, `${idp.url}?c`]);
});

test('jwks_fetch_refuses_loopback_link_local_and_unspecified_addresses_and_names_resolving_to_them', async () => {
  const before = idp.requests;
  await assert.rejects(fetchJwks(idp.url, 1000, 4096), /refused: 127\.0\.0\.1 is 127\.0\.0\.1/);
  const metadata = jwksFetcher({ lookup: async () => ['93.184.216.34', '169.254.169.254'] });
  await assert.rejects(metadata('http://idp.example/jwks.json', 1000, 4096), /refused: idp\.example is 169\.254\.169\.254/);
  const mapped = jwksFetcher({ lookup: async () => ['::ffff:127.0.0.1'] });
  await assert.rejects(mapped('http://idp.example/jwks.json', 1000, 4096), /refused/);
  assert.equal(idp.requests, before, 'nothing was sent');
});

test('jwks_fetch_does_not_follow_redirects', async () => {
  idp.mode = 'redirect';
  try {
    await assert.rejects(LOOPBACK(idp.url, 1000, 4096), /HTTP 302 \(redirects are not followed/);
  } finally {
    idp.mode = 'ok';
  }
});

// ---------------------------------------------------------------- the layers on a real server

const GW = { namespace: 'shop', name: 'waypoint' };

function jwtRule(over: Partial<JwtRule> = {}): JwtRule {
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

function requestAuthn(rules: JwtRule[], target: 'web' | 'gateway' = 'web'): RequestAuthn {
  return {
    key: 'shop/jwt',
    name: 'jwt',
    namespace: 'shop',
    scope: 'targets',
    targetRefs: [target === 'web' ? { group: '', kind: 'Service', name: 'web' } : { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }],
    rules,
  };
}

function rule(r: Partial<PolicyRule> = {}): PolicyRule {
  return { from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] };
}

function policy(name: string, action: Policy['action'], rules: PolicyRule[]): Policy {
  return { key: `shop/${name}`, name, namespace: 'shop', scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], action, rules };
}

interface Waypoint {
  url: string;
  authns: RequestAuthn[];
  policies: Policy[] | undefined;
  outcomes: AuthnOutcome[];
  close(): Promise<void>;
}

/** An HTTP server standing for the waypoint's request path: authn, authz, then an echo of
 * what the backend would receive. */
async function waypoint(cache: JwksCache): Promise<Waypoint> {
  const w = { authns: [] as RequestAuthn[], policies: [] as Policy[] | undefined, outcomes: [] as AuthnOutcome[] };
  const layers: AuthLayer[] = [
    authnLayer({ gateway: GW, requestAuthns: () => w.authns, jwks: cache, onResult: (_r, o) => w.outcomes.push(o) }),
    authzLayer({ gateway: GW, policies: () => w.policies }),
  ];
  const server = http.createServer((req, res) => {
    const ctx: AuthRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      headers: { ...req.headers },
      sourceIdentity: 'spiffe://cluster.local/ns/shop/sa/frontend',
      sourceIp: '10.244.1.7',
      destination: { ip: '10.96.0.20', port: 80 },
      service: 'shop/web.shop.svc.cluster.local',
      respond: (status, headers, body) => void res.writeHead(status, headers).end(body),
    };
    const run = (i: number): Promise<void> => {
      const l = layers[i];
      if (l) return l(ctx, () => run(i + 1));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: ctx.path, headers: ctx.headers, principal: ctx.auth?.principal ?? null }));
      return Promise.resolve();
    };
    run(0).catch((err) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(w, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as Waypoint;
}

async function call(w: Waypoint, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${w.url}${path}`, { headers });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) as { path: string; headers: Record<string, string>; principal: string | null } };
}

async function withWaypoint(f: (w: Waypoint) => Promise<void>): Promise<void> {
  idp.mode = 'ok';
  idp.keys = [k1.jwk];
  const w = await waypoint(new JwksCache({ fetcher: LOOPBACK }));
  try {
    await f(w);
  } finally {
    await w.close();
  }
}

test('request_without_token_passes_unauthenticated_until_a_policy_requires_one', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })])];
    const open = await call(w, '/items');
    assert.equal(open.status, 200);
    assert.equal(open.json().principal, null);
    w.policies = [policy('require-jwt', 'DENY', [rule({ from: [{ notRequestPrincipals: ['*'] }] })])];
    const denied = await call(w, '/items');
    assert.equal(denied.status, 403, 'the policy update applies to the next request');
    assert.equal(denied.body, 'RBAC: access denied');
    assert.equal(denied.headers.get(AUTHZ_POLICY_HEADER), 'shop/require-jwt');
  });
});

test('valid_token_from_jwks_uri_is_allowed_by_request_principals_and_claims', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url, audiences: ['shop'] })])];
    w.policies = [
      policy('allow-admins', 'ALLOW', [
        rule({ from: [{ requestPrincipals: [`${ISS}/*`] }], when: [{ key: 'request.auth.claims[realm][roles]', values: ['admin'] }, { key: 'request.auth.audiences', values: ['shop'] }] }),
      ]),
    ];
    const admin = await call(w, '/items', { authorization: `Bearer ${await sign(k1, { aud: 'shop', realm: { roles: ['admin', 'staff'] } })}` });
    assert.equal(admin.status, 200, admin.body);
    assert.equal(admin.json().principal, `${ISS}/alice`);
    assert.equal(admin.json().headers['authorization'], undefined, 'forwardOriginalToken false: the token is removed');
    const staff = await call(w, '/items', { authorization: `Bearer ${await sign(k1, { aud: 'shop', realm: { roles: ['staff'] } })}` });
    assert.equal(staff.status, 403);
    assert.match(staff.headers.get('ambient-authz-reason') ?? '', /no ALLOW rule matched/);
  });
});

test('invalid_tokens_each_get_401_with_www_authenticate', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url, audiences: ['shop'] })])];
    const forger = await keyPair('k1');
    const cases: Array<[string, string, string]> = [
      ['expired', await sign(k1, { aud: 'shop' }, { expIn: -3600 }), 'Jwt is expired'],
      ['wrong issuer', await sign(k1, { aud: 'shop' }, { iss: 'https://evil.example' }), 'Jwt issuer is not configured'],
      ['wrong audience', await sign(k1, { aud: 'bank' }), 'Audiences in Jwt are not allowed'],
      ['bad signature', await sign(forger, { aud: 'shop' }), 'Jwt verification fails'],
      ['not a jwt', 'hello', 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections'],
    ];
    for (const [what, token, body] of cases) {
      const r = await call(w, '/items?q=1', { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, what);
      assert.equal(r.body, body, what);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/items", error="invalid_token"$/, what);
    }
    assert.ok(w.outcomes.every((o) => o.result === 'invalid'));
  });
});

test('token_signed_by_a_rotated_key_is_accepted_after_a_refetch', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })])];
    assert.equal((await call(w, '/', { authorization: `Bearer ${await sign(k1)}` })).status, 200);
    idp.keys = [k1.jwk, k2.jwk];
    // The first fetch was just now: the cooldown still holds, so k2 is not known yet.
    assert.equal((await call(w, '/', { authorization: `Bearer ${await sign(k2)}` })).status, 401);
  });
  // A cache whose cooldown has passed refetches on the unknown kid.
  idp.keys = [k1.jwk];
  const w = await waypoint(new JwksCache({ fetcher: LOOPBACK, limits: { jwksRefetchCooldownMs: 0 } }));
  try {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })])];
    assert.equal((await call(w, '/', { authorization: `Bearer ${await sign(k1)}` })).status, 200);
    idp.keys = [k1.jwk, k2.jwk];
    const r = await call(w, '/', { authorization: `Bearer ${await sign(k2)}` });
    assert.equal(r.status, 200, r.body);
  } finally {
    await w.close();
  }
});

test('no_keys_yet_fails_closed_with_401', async () => {
  await withWaypoint(async (w) => {
    idp.mode = 'fail';
    w.authns = [requestAuthn([jwtRule({ jwksUri: `${idp.url}?never-served` })])];
    const r = await call(w, '/', { authorization: `Bearer ${await sign(k1)}` });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwks remote fetch is failed');
    assert.equal((await call(w, '/')).status, 200, 'no token: still unauthenticated, not refused');
  });
});

test('outputs_payload_claims_and_a_forged_client_header_is_replaced', async () => {
  await withWaypoint(async (w) => {
    w.authns = [
      requestAuthn([
        jwtRule({ jwks: { keys: [k1.jwk as Record<string, unknown>] }, outputPayloadToHeader: 'x-jwt-payload', outputClaimToHeaders: [{ header: 'x-email', claim: 'email' }], forwardOriginalToken: true, fromHeaders: [], fromParams: ['token'], defaultLocations: false }),
      ]),
    ];
    const token = await sign(k1, { email: 'alice@example.com' });
    const r = await call(w, `/items?token=${token}&page=2`, { 'x-email': 'root@evil', 'x-jwt-payload': 'forged' });
    assert.equal(r.status, 200, r.body);
    const seen = r.json();
    assert.equal(seen.headers['x-email'], 'alice@example.com');
    assert.equal(JSON.parse(Buffer.from(seen.headers['x-jwt-payload']!, 'base64url').toString()).email, 'alice@example.com');
    assert.equal(seen.path, `/items?token=${token}&page=2`, 'forwardOriginalToken true keeps the parameter');
    const anonymous = await call(w, '/items', { 'x-email': 'root@evil' });
    assert.equal(anonymous.json().headers['x-email'], undefined, 'a client cannot send the header a rule writes');
  });
});

test('token_in_a_query_parameter_is_removed_when_not_forwarded', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })], 'gateway')];
    const r = await call(w, `/items?access_token=${await sign(k1)}&page=2`);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json().path, '/items?page=2');
  });
});

test('every_token_must_verify_and_each_is_removed_when_not_forwarded', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })], 'gateway')];
    const good = await sign(k1);
    const forged = await sign(k2);
    const bad = await call(w, `/items?access_token=${forged}`, { authorization: `Bearer ${good}` });
    assert.equal(bad.status, 401, 'a forged token beside a valid one refuses the request');
    assert.ok(!bad.body.includes(forged));
    const twice = await call(w, `/items?access_token=${good}&access_token=${forged}`);
    assert.equal(twice.status, 401, 'a repeated parameter is checked in every value');
    const both = await call(w, `/items?access_token=${good}&page=2`, { authorization: `Bearer ${good}` });
    assert.equal(both.status, 200, both.body);
    assert.equal(both.json().path, '/items?page=2', 'each valid token is removed from where it was');
    assert.equal(both.json().headers['authorization'], undefined);
  });
});

test('grpc_requests_get_grpc_statuses_for_401_and_403', async () => {
  await withWaypoint(async (w) => {
    w.authns = [requestAuthn([jwtRule({ jwksUri: idp.url })])];
    w.policies = [policy('deny-all', 'DENY', [rule()])];
    const unauth = await call(w, '/pkg.Svc/Method', { 'content-type': 'application/grpc', authorization: 'Bearer nope' });
    assert.equal(unauth.status, 200);
    assert.equal(unauth.headers.get('grpc-status'), '16');
    const denied = await call(w, '/pkg.Svc/Method', { 'content-type': 'application/grpc' });
    assert.equal(denied.status, 200);
    assert.equal(denied.headers.get('grpc-status'), '7');
    assert.equal(denied.headers.get(AUTHZ_POLICY_HEADER), 'shop/deny-all');
  });
});

test('waypoint_without_config_fails_closed_with_503', async () => {
  await withWaypoint(async (w) => {
    w.policies = undefined;
    const r = await call(w, '/');
    assert.equal(r.status, 503);
    assert.match(r.headers.get('ambient-authz-reason') ?? '', /fail closed/);
  });
});

test('request_authentication_on_another_service_does_not_apply', async () => {
  await withWaypoint(async (w) => {
    w.authns = [{ ...requestAuthn([jwtRule({ jwksUri: idp.url })]), targetRefs: [{ group: '', kind: 'Service', name: 'api' }] }];
    const r = await call(w, '/', { authorization: 'Bearer not-even-a-jwt' });
    assert.equal(r.status, 200, 'no rule applies: the header is not a token to validate');
    assert.equal(r.json().headers['authorization'], 'Bearer not-even-a-jwt');
  });
});
