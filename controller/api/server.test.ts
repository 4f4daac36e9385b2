// The API server's thin layer on a real TLS listener (a serving certificate from a fresh
// mesh CA), with stand-in reviewers and a stand-in context: the order of checks, the write
// rules, leader-only writes, the audit line, body bounds and JSON errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { controllerServerName, issueServingCertificate } from '../serving-cert.js';
import type { TokenReviewer } from '../distribution/token-review.js';
import { API_DEFAULTS } from './limits.js';
import type { ApiContext } from './context.js';
import { ApiServer } from './server.js';
import { EMPTY_TELEMETRY } from './telemetry-source.js';
import type { RouteDef } from './types.js';

let ca: CertificateAuthority;
let server: ApiServer;
let port: number;
let leader = true;
const logLines: string[] = [];
const writes: unknown[] = [];

const tokens: TokenReviewer = {
  async review(token) {
    return token === 'good' || token === 'reader' ? { authenticated: true, user: { username: `system:serviceaccount:apps:${token}`, groups: ['system:authenticated'] } as never } : { authenticated: false, error: 'unknown token' };
  },
};

const routes: RouteDef[] = [
  { method: 'GET', path: '/things', operationId: 'things', tag: 't', summary: 's', response: {}, access: { verb: 'list', group: '', resource: 'pods', namespace: 'query' }, handler: () => ({ body: { items: [1] } }) },
  {
    method: 'PUT', path: '/things/{namespace}/{name}', operationId: 'put', tag: 't', summary: 's', response: {}, write: true,
    access: { verb: 'patch', group: 'x.dev', resource: 'things', namespace: 'path', name: true },
    handler: (req) => {
      writes.push(req.body);
      req.audit({ verb: 'patch', object: `things.x.dev/${req.params['namespace']}/${req.params['name']}` });
      return { body: { ok: true } };
    },
  },
];

function call(method: string, path: string, o: { token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, unknown>; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, ca: ca.trustBundle.pems(), servername: controllerServerName('ambient-system'), headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

const WRITE = { 'content-type': 'application/json', 'x-ambient-request': '1' };

before(async () => {
  ca = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  const cert = await issueServingCertificate(ca, { dnsName: controllerServerName('ambient-system'), identity: spiffeId('ambient-system', 'ambient-controller'), ttlMs: 3_600_000 });
  const context = {
    trustDomain: 'cluster.local', rootNamespace: 'ambient-system', controllerNamespace: 'ambient-system',
    isLeader: () => leader, telemetry: EMPTY_TELEMETRY, limits: { ...API_DEFAULTS, maxRequestBodyBytes: 1024 },
  } as unknown as ApiContext;
  server = new ApiServer({
    context,
    credentials: { key: cert.key, cert: cert.cert },
    tokens,
    access: { review: async (user, _t, a) => ({ allowed: user.username.endsWith(':good') || a.verb === 'list', reason: 'test rules' }) },
    leaderName: () => 'controller-b',
    routes,
    logger: pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (logLines.push(String(chunk)), cb()) })),
  });
  port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
});

after(() => server?.close());

test('a_read_with_a_good_token_and_the_verb_is_answered_json_with_no_store', async () => {
  const r = await call('GET', '/api/v1/things?namespace=apps', { token: 'reader' });
  assert.deepEqual([r.status, r.json], [200, { items: [1] }]);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['content-type'], 'application/json');
});

test('a_write_by_the_leader_is_logged_with_the_user_verb_and_object', async () => {
  leader = true;
  const r = await call('PUT', '/api/v1/things/apps/a', { token: 'good', body: '{"x":1}', headers: WRITE });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'api: write');
  assert.deepEqual([line?.['user'], line?.['verb'], line?.['object']], ['system:serviceaccount:apps:good', 'patch', 'things.x.dev/apps/a']);
});

test('a_write_on_a_follower_is_503_naming_the_leader_and_nothing_is_done', async () => {
  leader = false;
  try {
    const before = writes.length;
    const r = await call('PUT', '/api/v1/things/apps/a', { token: 'good', body: '{}', headers: WRITE });
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'AMB_API_NOT_LEADER');
    assert.match(r.json.error.message, /controller-b/);
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(writes.length, before);
  } finally {
    leader = true;
  }
});

test('the_write_verb_is_reviewed_before_the_handler_runs', async () => {
  const before = writes.length;
  const r = await call('PUT', '/api/v1/things/apps/a', { token: 'reader', body: '{}', headers: WRITE });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.message, 'user "system:serviceaccount:apps:reader" may not patch things.x.dev "a" in namespace "apps" (test rules)');
  assert.equal(writes.length, before);
});

test('a_body_over_the_limit_is_413_and_bad_json_is_400', async () => {
  const big = await call('PUT', '/api/v1/things/apps/a', { token: 'good', body: JSON.stringify({ x: 'y'.repeat(2000) }), headers: WRITE });
  assert.deepEqual([big.status, big.json.error.code], [413, 'AMB_API_BODY_TOO_LARGE']);
  const bad = await call('PUT', '/api/v1/things/apps/a', { token: 'good', body: '{not json', headers: WRITE });
  assert.deepEqual([bad.status, bad.json.error.code], [400, 'AMB_API_BAD_REQUEST']);
});

test('a_method_the_path_lacks_is_405_with_allow', async () => {
  const r = await call('DELETE', '/api/v1/things/apps/a', { token: 'good' });
  assert.equal(r.status, 405);
  assert.equal(r.headers['allow'], 'PUT');
});

test('unknown_api_paths_are_404_json_even_outside_v1', async () => {
  for (const p of ['/api/v1/nope', '/api/v2/things', '/api']) {
    const r = await call('GET', p, { token: 'good' });
    assert.deepEqual([r.status, r.json.error.code], [404, 'AMB_API_NOT_FOUND'], p);
  }
});

test('an_unknown_token_is_401_with_a_bearer_challenge', async () => {
  const r = await call('GET', '/api/v1/things', { token: 'nope' });
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], 'Bearer');
  assert.match(r.json.error.message, /unknown token/);
});
