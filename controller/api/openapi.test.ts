import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute } from './match.js';
import { openApiDocument } from './openapi.js';
import { API_PREFIX, API_ROUTES } from './routes.js';

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }> }>> };
const doc = openApiDocument(API_ROUTES) as unknown as Doc;
/** The public routes; those for the controller's own ServiceAccount (the replicas asking each other) are internal. */
const PUBLIC = API_ROUTES.filter((r) => r.access !== 'controller');

test('every_public_route_is_in_the_document_with_its_method', () => {
  for (const r of PUBLIC) assert.ok(doc.paths[`${API_PREFIX}${r.path}`]?.[r.method.toLowerCase()], `${r.method} ${r.path}`);
});

test('every_documented_operation_is_served_by_the_matcher', () => {
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      const concrete = path.slice(API_PREFIX.length).replace(/\{[^}]+\}/g, 'x');
      const m = matchRoute(API_ROUTES, method.toUpperCase(), concrete);
      assert.equal(m.kind, 'found', `${method} ${path}`);
    }
  }
});

test('the_document_is_openapi_3_1_with_unique_operation_ids', () => {
  assert.equal(doc.openapi, '3.1.0');
  const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.length, PUBLIC.length);
});

test('internal_routes_are_served_but_not_in_the_document', () => {
  const internal = API_ROUTES.filter((r) => r.access === 'controller');
  assert.deepEqual(internal.map((r) => `${r.method} ${r.path}`), ['GET /internal/replica']);
  for (const r of internal) {
    assert.equal(doc.paths[`${API_PREFIX}${r.path}`], undefined, r.path);
    assert.equal(matchRoute(API_ROUTES, r.method, r.path).kind, 'found');
  }
  assert.ok(!JSON.stringify(doc).includes('internal/replica'));
});

test('path_parameters_are_declared', () => {
  const op = doc.paths[`${API_PREFIX}/services/{namespace}/{name}/split`]!['put']!;
  assert.deepEqual(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name), ['namespace', 'name']);
});

test('no_two_routes_share_method_and_path', () => {
  const seen = new Set(API_ROUTES.map((r) => `${r.method} ${r.path}`));
  assert.equal(seen.size, API_ROUTES.length);
});

test('every_write_route_needs_a_write_verb', () => {
  for (const r of API_ROUTES.filter((x) => x.write)) assert.ok(typeof r.access === 'object' && ['patch', 'create'].includes(r.access.verb), r.path);
});
