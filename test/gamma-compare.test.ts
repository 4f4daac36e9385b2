// Unit tests of the mesh conformance comparison (test/e2e/gamma-compare.ts), the function
// every GAMMA e2e case is judged by: each expectation of the suite must be able to fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendOfPod, compareCase, compareRedirect, distributionErrors, echoAnswer, parseCurlOutput, type ConformanceCase, type Observation } from './e2e/gamma-compare.js';
import { CONFORMANCE_TESTS } from './e2e/gamma-cases.js';
import { ROUTE_MANIFESTS } from './e2e/gamma-manifests.js';
import { parseAllDocuments } from 'yaml';

const echoObs = (over: Partial<Observation['echo']> = {}, status = 200, headers: Record<string, string[]> = {}): Observation => ({
  status,
  headers,
  echo: { pod: 'echo-v1-5d9f7-abcde', namespace: 'gateway-conformance-mesh', method: 'GET', path: '/', headers: { host: 'echo' }, ...over },
});

test('a 200 from the expected backend with nothing else asked matches', () => {
  assert.equal(compareCase({ name: 'x', request: { path: '/' }, backend: 'echo-v1', namespace: 'gateway-conformance-mesh' }, echoObs()), undefined);
});

test('a status outside the expected ones is reported, the default being 200', () => {
  assert.match(compareCase({ name: 'x', request: {} }, echoObs({}, 503)) ?? '', /status 503, want one of 200/);
  assert.match(compareCase({ name: 'x', request: {}, response: { statusCodes: [404] } }, echoObs()) ?? '', /status 200, want one of 404/);
  assert.equal(compareCase({ name: 'x', request: {}, response: { statusCodes: [404] } }, { status: 404, headers: {} }), undefined);
});

test('the backend is a prefix of the answering pod, as the suite checks it', () => {
  assert.match(compareCase({ name: 'x', request: {}, backend: 'echo-v2' }, echoObs()) ?? '', /pod echo-v1-5d9f7-abcde.*echo-v2/);
});

test('the namespace of the answering pod is compared when the case names one', () => {
  assert.match(compareCase({ name: 'x', request: {}, namespace: 'other' }, echoObs()) ?? '', /namespace gateway-conformance-mesh, want other/);
});

test('expected request headers compare case-insensitively with repeated values joined by commas', () => {
  const c: ConformanceCase = { name: 'x', request: { path: '/add' }, expectedRequest: { path: '/add', headers: { 'X-Header-Add': 'some-other-value,add-appends-values' } } };
  assert.equal(compareCase(c, echoObs({ path: '/add', headers: { 'x-header-add': ['some-other-value', 'add-appends-values'] } })), undefined);
  assert.equal(compareCase(c, echoObs({ path: '/add', headers: { 'x-header-add': 'some-other-value,add-appends-values' } })), undefined);
  assert.match(compareCase(c, echoObs({ path: '/add', headers: { 'x-header-add': 'some-other-value, add-appends-values' } })) ?? '', /arrived as "some-other-value, add-appends-values"/);
  assert.match(compareCase(c, echoObs({ path: '/add', headers: {} })) ?? '', /X-Header-Add did not arrive/);
});

test('a header the route removes must not arrive, whatever its case', () => {
  const c: ConformanceCase = { name: 'x', request: { path: '/remove' }, expectedRequest: { path: '/remove', absentHeaders: ['X-Header-Remove'] } };
  assert.equal(compareCase(c, echoObs({ path: '/remove' })), undefined);
  assert.match(compareCase(c, echoObs({ path: '/remove', headers: { 'x-header-remove': 'val' } })) ?? '', /X-Header-Remove arrived/);
});

test('the path that arrives is the expected one (a rewrite), else the one sent', () => {
  const rewrite: ConformanceCase = { name: 'x', request: { path: '/prefix/one/two' }, expectedRequest: { path: '/one/two' } };
  assert.equal(compareCase(rewrite, echoObs({ path: '/one/two' })), undefined);
  assert.match(compareCase(rewrite, echoObs({ path: '/prefix/one/two' })) ?? '', /path "\/prefix\/one\/two" arrived, want "\/one\/two"/);
  assert.equal(compareCase({ name: 'x', request: { path: '/?animal=whale' } }, echoObs({ path: '/?animal=whale' })), undefined);
  assert.equal(compareCase({ name: 'x', request: {} }, echoObs({ path: '/' })), undefined, 'no path sends /');
  assert.match(compareCase({ name: 'x', request: { method: 'GET' } }, echoObs({ method: 'POST' })) ?? '', /method POST arrived, want GET/);
});

test('response headers: set ones must carry the value, absent ones must be missing', () => {
  const set: ConformanceCase = { name: 'x', request: {}, response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } } };
  assert.equal(compareCase(set, echoObs({}, 200, { 'x-header-set': ['set'] })), undefined);
  assert.match(compareCase(set, echoObs()) ?? '', /response header X-Header-Set absent/);
  assert.match(compareCase(set, echoObs({}, 200, { 'x-header-set': ['v1'] })) ?? '', /X-Header-Set: "v1", want "set"/);
  const absent: ConformanceCase = { name: 'x', request: {}, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] } };
  assert.match(compareCase(absent, echoObs({}, 200, { 'x-header-set': ['set'] })) ?? '', /X-Header-Set present/);
});

test('a 200 that is not the echo answering fails the case', () => {
  assert.match(compareCase({ name: 'x', request: {} }, { status: 200, headers: {} }) ?? '', /not the echo's description/);
});

test('gRPC: HTTP 200 alone is not success, grpc-status must be 0; the path is the method and not compared', () => {
  const c: ConformanceCase = { name: 'x', request: { protocol: 'grpc', host: 'echo:7070' }, expectedRequest: { headers: { 'x-test-case': 'set' } }, backend: 'echo-v1' };
  const ok = echoObs({ path: '/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo', method: 'POST', headers: { 'x-test-case': 'set' } });
  assert.equal(compareCase(c, { ...ok, grpcStatus: 0 }), undefined);
  assert.match(compareCase(c, { ...ok, grpcStatus: 14 }) ?? '', /grpc-status 14, want 0/);
  assert.match(compareCase(c, { ...ok, grpcStatus: null }) ?? '', /grpc-status absent/);
});

test('redirects: Location scheme, host, port and path with the suite defaults', () => {
  const c = (redirect: ConformanceCase['redirect'], path = '/port'): ConformanceCase => ({ name: 'x', request: { host: 'echo', path }, response: { statusCodes: [302] }, redirect });
  assert.equal(compareRedirect(c({ port: '8083' }), 'http://echo:8083/port'), undefined);
  assert.match(compareRedirect(c({ port: '8083' }), 'http://echo/port') ?? '', /redirect port "", want "8083"/);
  assert.equal(compareRedirect(c({ host: 'example.org' }), 'http://example.org/port'), undefined);
  assert.match(compareRedirect(c({ host: 'example.org' }), 'http://echo/port') ?? '', /redirect host "echo"/);
  assert.equal(compareRedirect(c({ scheme: 'https' }), 'https://echo/port'), undefined);
  assert.equal(compareRedirect(c({ scheme: 'https' }), 'https://echo:443/port'), undefined);
  assert.match(compareRedirect(c({ scheme: 'https' }), 'https://echo:80/port') ?? '', /scheme https the redirect port must be 443 or absent/);
  assert.match(compareRedirect(c({ scheme: 'https' }), 'http://echo/port') ?? '', /redirect scheme http, want https/);
  assert.match(compareRedirect(c({ host: 'example.org' }), 'http://example.org:8080/port') ?? '', /scheme http the redirect port must be 80/);
  assert.equal(compareRedirect(c({ path: '/replacement-prefix/lemon' }, '/original-prefix/lemon'), 'http://echo/replacement-prefix/lemon'), undefined);
  assert.match(compareRedirect(c({ path: '/replacement-full' }, '/full-path-and-status'), 'http://echo/full-path-and-status') ?? '', /redirect path/);
  assert.match(compareRedirect(c({}), undefined) ?? '', /without a Location/);
  // An unspecified path must stay the request's.
  assert.equal(compareRedirect(c({ host: 'example.org' }, '/hostname-redirect'), 'http://example.org/hostname-redirect'), undefined);
  assert.match(compareRedirect(c({ host: 'example.org' }, '/hostname-redirect'), 'http://example.org/') ?? '', /redirect path "\/"/);
});

test('a redirect status with the wrong Location fails through compareCase', () => {
  const c: ConformanceCase = { name: 'x', request: { host: 'echo', path: '/scheme' }, response: { statusCodes: [302] }, redirect: { scheme: 'https' } };
  assert.equal(compareCase(c, { status: 302, headers: { location: ['https://echo/scheme'] } }), undefined);
  assert.match(compareCase(c, { status: 302, headers: { location: ['http://echo/scheme'] } }) ?? '', /scheme http, want https/);
  assert.match(compareCase(c, { status: 301, headers: { location: ['https://echo/scheme'] } }) ?? '', /status 301/);
});

test('curl -i output becomes an observation; interim 100 answers are skipped', () => {
  const body = JSON.stringify({ pod: 'echo-v2-1-2', namespace: 'ns', method: 'GET', path: '/v2', headers: { host: 'echo' } });
  const out = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Header-Set: a\r\nx-header-set: b\r\n\r\n${body}`;
  const o = parseCurlOutput(out);
  assert.ok(typeof o !== 'string');
  assert.equal(o.status, 200);
  assert.deepEqual(o.headers['x-header-set'], ['a', 'b']);
  assert.equal(o.echo?.pod, 'echo-v2-1-2');
  const redirect = parseCurlOutput('HTTP/1.1 302 Found\r\nlocation: https://echo/scheme\r\ncontent-length: 0\r\n\r\n');
  assert.ok(typeof redirect !== 'string');
  assert.equal(redirect.echo, undefined);
  assert.deepEqual(redirect.headers['location'], ['https://echo/scheme']);
  assert.match(String(parseCurlOutput('')), /no complete answer/);
  assert.match(String(parseCurlOutput('garbage\r\n\r\n')), /not an HTTP status line/);
});

test('echoAnswer accepts the echo JSON only', () => {
  assert.equal(echoAnswer('not json'), undefined);
  assert.equal(echoAnswer({ pod: 1, headers: {} }), undefined);
  assert.equal(echoAnswer(JSON.stringify({ pod: 'p', headers: {} }))?.pod, 'p');
});

test('backendOfPod drops the Deployment hash suffixes as the suite does', () => {
  assert.equal(backendOfPod('echo-v1-7d4b9c-abcde'), 'echo-v1');
  assert.equal(backendOfPod('echo'), 'echo');
});

const sample = (v1: number, v2: number, other = 0) => [...Array(v1).fill('echo-v1-a-b'), ...Array(v2).fill('echo-v2-a-b'), ...Array(other).fill('echo-v3-a-b')];

test('distribution: 70/30 within 5 points passes, outside fails, as the suite tolerates', () => {
  const w = { 'echo-v1': 0.7, 'echo-v2': 0.3 };
  assert.deepEqual(distributionErrors(sample(350, 150), w), []);
  assert.deepEqual(distributionErrors(sample(374, 126), w), [], 'just inside the tolerance passes');
  assert.equal(distributionErrors(sample(376, 124), w).length, 2, 'just outside fails, for both backends');
  assert.match(distributionErrors(sample(250, 250), w).join(';'), /backend "echo-v1" weighted traffic of 0.5 not within tolerance 0.7/);
  assert.match(distributionErrors(sample(500, 0), w).join(';'), /expected 2 backends to receive traffic, but got 1/);
  assert.match(distributionErrors(sample(350, 100, 50), w).join(';'), /unexpected pod "echo-v3-a-b"/);
  assert.match(distributionErrors(sample(10, 5), w).join(';'), /expected 500 responses but got 15/);
});

test('distribution: a weight-0 backend must get nothing and is not counted as active', () => {
  const w = { 'echo-v1': 0.7, 'echo-v2': 0.3, 'echo-v3': 0 };
  assert.deepEqual(distributionErrors(sample(350, 150), w), []);
  assert.match(distributionErrors(sample(340, 140, 20), w).join(';'), /expected 2 backends to receive traffic, but got 3/);
});

test('the cases: 23 uniquely named tests, each with cases, manifests that parse, every route in the suite namespaces', () => {
  const names = CONFORMANCE_TESTS.map((t) => t.name);
  assert.equal(names.length, 23);
  assert.equal(new Set(names).size, 23);
  for (const t of CONFORMANCE_TESTS) {
    assert.ok(t.cases.length > 0, t.name);
    assert.ok(t.features.includes('Mesh'), t.name);
    if (t.name === 'MeshBasic') assert.equal(t.manifest, undefined);
    else assert.ok(t.manifest, `${t.name} has its route manifest`);
  }
  for (const [name, yaml] of Object.entries(ROUTE_MANIFESTS)) {
    for (const d of parseAllDocuments(yaml)) {
      const o = d.toJSON() as { kind: string; metadata: { namespace: string } };
      assert.ok(['HTTPRoute', 'GRPCRoute'].includes(o.kind), name);
      assert.match(o.metadata.namespace, /^gateway-conformance-mesh(-consumer)?$/, name);
    }
  }
});
