import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchPath, matchRoute, parsePattern } from './match.js';

const routes = [
  { method: 'GET', path: '/api/v1/services' },
  { method: 'GET', path: '/api/v1/services/{namespace}/{name}' },
  { method: 'PUT', path: '/api/v1/services/{namespace}/{name}/split' },
  { method: 'POST', path: '/api/v1/rollouts/{namespace}/{name}/pause' },
];

test('pattern_segments_are_literals_or_parameters', () => {
  assert.deepEqual(parsePattern('/api/v1/services/{namespace}'), [{ literal: 'api' }, { literal: 'v1' }, { literal: 'services' }, { param: 'namespace' }]);
});

test('parameters_are_extracted_and_percent_decoded', () => {
  assert.deepEqual(matchPath('/a/{namespace}/{name}', '/a/apps/echo%2Dv1'), { namespace: 'apps', name: 'echo-v1' });
});

test('a_parameter_never_matches_an_empty_or_slash_segment', () => {
  assert.equal(matchPath('/a/{name}', '/a/'), undefined);
  assert.equal(matchPath('/a/{name}', '/a/x%2Fy'), undefined);
  assert.equal(matchPath('/a/{name}', '/a/%E0%A4%A'), undefined, 'malformed escape');
});

test('segment_count_must_be_equal', () => {
  assert.equal(matchPath('/a/{name}', '/a/b/c'), undefined);
  assert.equal(matchPath('/a/{name}', '/a'), undefined);
});

test('the_route_of_the_method_is_found', () => {
  const m = matchRoute(routes, 'PUT', '/api/v1/services/apps/echo/split');
  assert.equal(m.kind, 'found');
  assert.deepEqual(m.kind === 'found' && m.params, { namespace: 'apps', name: 'echo' });
});

test('a_known_path_with_another_method_is_method_not_allowed_listing_the_methods', () => {
  assert.deepEqual(matchRoute(routes, 'DELETE', '/api/v1/services/apps/echo'), { kind: 'method-not-allowed', allow: ['GET'] });
  assert.deepEqual(matchRoute(routes, 'OPTIONS', '/api/v1/services'), { kind: 'method-not-allowed', allow: ['GET'] });
});

test('an_unknown_path_is_not_found', () => {
  assert.deepEqual(matchRoute(routes, 'GET', '/api/v1/nothing'), { kind: 'not-found' });
  assert.deepEqual(matchRoute(routes, 'POST', '/api/v1/rollouts/apps/r/explode'), { kind: 'not-found' });
});
