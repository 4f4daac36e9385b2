// Unit tests of the wire-level pieces: REST paths, discovery documents, Tables, JSON
// syntax error positions, service-account tokens, Status bodies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalid, notFound } from './api-errors.js';
import { apiGroupList, apiResourceList, openApiV3GroupVersion, openApiV3Root } from './discovery.js';
import { locateJsonError } from './json-errors.js';
import { KINDS, KindRegistry, kindByApiVersionKind } from './kinds.js';
import { parseRequestPath } from './request-path.js';
import { humanDuration, toTable, wantsTable } from './table.js';
import { audienceIntersection, signToken, userInfoFor, verifyToken, type ServiceAccountClaims } from './tokens.js';

const REG = new KindRegistry();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

test('request_path_grammar', () => {
  assert.deepEqual(parseRequestPath('/api/v1/namespaces/default/pods/p1/status'), {
    type: 'resource', group: '', version: 'v1', plural: 'pods', namespace: 'default', name: 'p1', subresource: 'status', watch: false,
  });
  assert.deepEqual(parseRequestPath('/apis/apps/v1/deployments'), { type: 'resource', group: 'apps', version: 'v1', plural: 'deployments', watch: false });
  assert.deepEqual(parseRequestPath('/api/v1/watch/namespaces/x/pods'), { type: 'resource', group: '', version: 'v1', plural: 'pods', namespace: 'x', watch: true });
  assert.deepEqual(parseRequestPath('/api/v1/namespaces/x'), { type: 'resource', group: '', version: 'v1', plural: 'namespaces', name: 'x', watch: false });
  assert.deepEqual(parseRequestPath('/api/v1/namespaces/x/status'), { type: 'resource', group: '', version: 'v1', plural: 'namespaces', name: 'x', subresource: 'status', watch: false });
  assert.deepEqual(parseRequestPath('/apis/gateway.networking.k8s.io'), { type: 'discovery', what: 'group', group: 'gateway.networking.k8s.io', version: '' });
  assert.equal(parseRequestPath('/metrics').type, 'unknown');
  assert.equal(parseRequestPath('/api/v1/a/b/c/d').type, 'unknown');
});

test('discovery_lists_every_kind_with_its_scope_and_short_names', () => {
  const core = apiResourceList(REG, '', 'v1') as Any;
  const pods = core.resources.find((r: Any) => r.name === 'pods');
  assert.deepEqual([pods.kind, pods.namespaced, pods.shortNames, pods.singularName], ['Pod', true, ['po'], 'pod']);
  assert.ok(core.resources.some((r: Any) => r.name === 'pods/status'));
  assert.ok(core.resources.some((r: Any) => r.name === 'serviceaccounts/token' && r.kind === 'TokenRequest'));
  const apps = apiResourceList(REG, 'apps', 'v1') as Any;
  const scale = apps.resources.find((r: Any) => r.name === 'deployments/scale');
  assert.deepEqual([scale.group, scale.version, scale.kind], ['autoscaling', 'v1', 'Scale']);
  const tr = (apiResourceList(REG, 'authentication.k8s.io', 'v1') as Any).resources[0];
  assert.deepEqual([tr.name, tr.namespaced, tr.verbs], ['tokenreviews', false, ['create']]);
  const groups = (apiGroupList(REG) as Any).groups.map((g: Any) => g.name);
  for (const k of KINDS) if (k.group) assert.ok(groups.includes(k.group), k.group);
  assert.equal(apiResourceList(REG, 'nope', 'v1'), undefined);
});

test('openapi_v3_declares_field_validation_on_each_patch', () => {
  const root = openApiV3Root(REG) as Any;
  assert.ok(root.paths['api/v1'].serverRelativeURL.startsWith('/openapi/v3/api/v1?hash='));
  const apps = openApiV3GroupVersion(REG, 'apps', 'v1') as Any;
  const op = apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.deepEqual(op['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.ok(op.parameters.some((p: Any) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.equal(op.requestBody.content['application/strategic-merge-patch+json'], undefined, 'kubectl falls back to its built-in types');
  assert.ok((openApiV3GroupVersion(REG, '', 'v1') as Any).paths['/api/v1/nodes/{name}'], 'cluster-scoped path');
});

test('table_for_kubectl_get', () => {
  assert.ok(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'));
  assert.ok(!wantsTable('application/json'));
  const now = new Date('2025-01-01T01:00:00Z');
  const t = toTable({ kind: 'Deployment' }, [{ metadata: { name: 'web', namespace: 'd', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { replicas: 3 }, status: { readyReplicas: 2 } }], { now, resourceVersion: '9' }) as Any;
  assert.deepEqual(t.columnDefinitions.map((c: Any) => c.name).slice(0, 5), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);
  assert.deepEqual(t.rows[0].cells.slice(0, 5), ['web', '2/3', 0, 0, '60m']);
  assert.equal(t.rows[0].object.kind, 'PartialObjectMetadata');
  assert.equal(t.rows[0].object.metadata.namespace, 'd');
  assert.deepEqual([humanDuration(5_000), humanDuration(200_000), humanDuration(3 * 3600_000 + 60_000), humanDuration(50 * 3600_000)], ['5s', '3m20s', '3h1m', '2d2h']);
});

test('json_syntax_errors_give_line_and_column', () => {
  assert.equal(locateJsonError('{"a": 1}'), undefined);
  assert.deepEqual(locateJsonError('{\n  "a": }'), { offset: 9, line: 2, column: 8, message: 'unexpected character "}" looking for beginning of value' });
  assert.equal(locateJsonError('{"a": 1,}')?.column, 9);
  assert.match(locateJsonError('{"a": "x')!.message, /unterminated string/);
  assert.match(locateJsonError('[1] 2')!.message, /after top-level value/);
});

const claims = (over: Partial<ServiceAccountClaims> = {}): ServiceAccountClaims => ({
  iss: 'https://kubernetes.default.svc.cluster.local',
  sub: 'system:serviceaccount:ns1:agent',
  aud: ['ambient'],
  exp: 2000,
  iat: 1000,
  nbf: 1000,
  jti: 'j1',
  'kubernetes.io': { namespace: 'ns1', serviceaccount: { name: 'agent', uid: 'sa-uid' }, pod: { name: 'p', uid: 'pod-uid' } },
  ...over,
});

test('token_signs_and_verifies_and_rejects_tampering_and_expiry', () => {
  const key = Buffer.alloc(32, 7);
  const tok = signToken(claims(), key);
  const ok = verifyToken(tok, key, 1500);
  assert.ok(ok.ok);
  assert.equal(verifyToken(tok, Buffer.alloc(32, 8), 1500).ok, false, 'other key');
  assert.deepEqual(verifyToken(tok, key, 2001), { ok: false, error: 'token has expired' });
  const [h, p, s] = tok.split('.');
  const forged = Buffer.from(p!, 'base64url').toString().replace('agent', 'admin');
  assert.deepEqual(verifyToken(`${h}.${Buffer.from(forged).toString('base64url')}.${s}`, key, 1500), { ok: false, error: 'invalid signature' });
  assert.equal(verifyToken('not.a.jwt.at.all', key, 1500).ok, false);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  assert.equal(verifyToken(none, key, 1500).ok, false, 'alg none');
});

test('token_user_info_matches_kubernetes', () => {
  const u = userInfoFor(claims());
  assert.equal(u.username, 'system:serviceaccount:ns1:agent');
  assert.equal(u.uid, 'sa-uid');
  assert.deepEqual(u.groups, ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated']);
  assert.deepEqual(u.extra['authentication.kubernetes.io/pod-name'], ['p']);
  assert.deepEqual(u.extra['authentication.kubernetes.io/pod-uid'], ['pod-uid']);
  assert.deepEqual(audienceIntersection(['a', 'b'], ['b', 'c']), ['b']);
});

test('status_bodies_match_kube_apiserver', () => {
  const pods = kindByApiVersionKind('v1', 'Pod')!;
  const deploy = kindByApiVersionKind('apps/v1', 'Deployment')!;
  assert.deepEqual(notFound(deploy, 'web').toStatus(), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'deployments.apps "web" not found', reason: 'NotFound', details: { name: 'web', group: 'apps', kind: 'deployments' }, code: 404,
  });
  const e = invalid(pods, 'p', [
    { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
    { reason: 'FieldValueInvalid', message: 'Invalid value: 1', field: 'x' },
  ]);
  assert.equal(e.message, 'Pod "p" is invalid: [spec.containers[0].image: Required value, x: Invalid value: 1]');
  assert.equal(e.toStatus().details!.causes!.length, 2);
});
