// Route selection as the Gateway API specifies it for mesh routes. Tests named
// `Mesh*_case_N_...` reproduce, in order, the request/expected-backend cases of the
// Gateway API mesh conformance test of that name (conformance/tests/mesh/*.go with its
// manifest); `HTTPRoute*`/`GRPCRoute*` ones the Gateway-bound conformance tests whose
// matching rules are the same in a mesh (hostnames aside, which a mesh ignores).
import { RE2JS } from 're2js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route, RouteMatch, RouteRule } from '../../core/config/routes.js';
import {
  hostnameMatches,
  matchRoutes,
  matchedPrefix,
  parseQuery,
  prefixMatches,
  routesFor,
  selectRoute,
  type RouteRequest,
  type RouteTarget,
} from './route-match.js';

const NS = 'gateway-conformance-mesh';
const CONSUMER_NS = 'gateway-conformance-mesh-consumer';
const svc = (name: string, ns = NS): string => `${ns}/${name}.${ns}.svc.cluster.local`;
const target = (name: string, port = 80, ns = NS): RouteTarget => ({ service: svc(name, ns), namespace: ns, port });

let seq = 0;
function route(
  name: string,
  rules: RouteRule[],
  opts: Partial<Pick<Route, 'namespace' | 'created' | 'routeKind' | 'parents'>> & { parent?: string; port?: number } = {},
): Route {
  const namespace = opts.namespace ?? NS;
  const routeKind = opts.routeKind ?? 'HTTPRoute';
  seq++;
  return {
    key: `${namespace}/${routeKind}/${name}`,
    routeKind,
    name,
    namespace,
    created: opts.created ?? `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`,
    parents: opts.parents ?? [{ service: svc(opts.parent ?? 'echo'), ...(opts.port !== undefined ? { port: opts.port } : {}) }],
    hostnames: [],
    rules,
  };
}

/** A rule sending to `backend`; `matches` empty means the compiled default. */
function rule(backend: string, matches: RouteMatch[] = [{ path: { type: 'PathPrefix', value: '/' } }], name?: string): RouteRule {
  return {
    ...(name !== undefined ? { name } : {}),
    matches,
    filters: [],
    backends: [{ service: svc(backend), port: 8080, weight: 1, filters: [] }],
  };
}
const grpcRule = (backend: string, matches: RouteMatch[] = [{}]): RouteRule => rule(backend, matches);

function req(path: string, headers: Record<string, string> = {}, method = 'GET', sourceNamespace: string | undefined = NS): RouteRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method, path, host: 'echo', headers: lower, sourceNamespace };
}

/** The backend Service name (`echo-v1`) the selected rule sends to, or 404. */
function backendOf(routes: Route[], r: RouteRequest, t: RouteTarget = target('echo')): string | 404 {
  const sel = selectRoute(routes, t, r);
  if (sel === undefined) return 404;
  const b = sel.rule.backends[0]!.service!;
  return b.slice(b.indexOf('/') + 1).split('.')[0]!;
}

const prefix = (value: string): RouteMatch => ({ path: { type: 'PathPrefix', value } });
const exact = (value: string): RouteMatch => ({ path: { type: 'Exact', value } });
const hdr = (name: string, value: string) => ({ type: 'Exact' as const, name, value });

// ---------------------------------------------------------------- path semantics

test('prefix_match_is_by_segment_not_by_character', () => {
  assert.equal(prefixMatches('/foo', '/foo'), true);
  assert.equal(prefixMatches('/foo', '/foo/'), true);
  assert.equal(prefixMatches('/foo', '/foo/bar'), true);
  assert.equal(prefixMatches('/foo', '/foobar'), false);
  assert.equal(prefixMatches('/foo', '/fo'), false);
});

test('prefix_trailing_slash_in_the_value_is_ignored', () => {
  assert.equal(prefixMatches('/foo/', '/foo'), true);
  assert.equal(prefixMatches('/foo/', '/foo/bar'), true);
  assert.equal(prefixMatches('/foo/', '/foobar'), false);
});

test('prefix_slash_matches_every_path', () => {
  for (const p of ['/', '/a', '/a/b/', '']) assert.equal(prefixMatches('/', p), true, p);
});

test('prefix_match_is_case_sensitive', () => {
  assert.equal(prefixMatches('/foo', '/Foo'), false);
});

test('exact_path_matches_only_the_same_path', () => {
  const routes = [route('r', [rule('echo-v1', [exact('/abc')])])];
  assert.equal(backendOf(routes, req('/abc')), 'echo-v1');
  for (const p of ['/abc/', '/Abc', '/abcd']) assert.equal(backendOf(routes, req(p)), 404, p);
});

test('query_string_is_not_part_of_the_path', () => {
  const routes = [route('r', [rule('echo-v1', [exact('/abc')])])];
  assert.equal(backendOf(routes, req('/abc?x=1')), 'echo-v1');
  assert.equal(backendOf(routes, req('/abc#frag')), 'echo-v1');
});

test('regex_path_is_a_full_match', () => {
  const routes = [route('r', [rule('echo-v1', [{ path: { type: 'RegularExpression', value: '/v[0-9]+/users' } }])])];
  assert.equal(backendOf(routes, req('/v12/users')), 'echo-v1');
  assert.equal(backendOf(routes, req('/v12/users/x')), 404);
  assert.equal(backendOf(routes, req('/x/v12/users')), 404);
});

test('regex_alternation_is_anchored_as_a_whole', () => {
  const routes = [route('r', [rule('echo-v1', [{ path: { type: 'RegularExpression', value: '/a|/b' } }])])];
  assert.equal(backendOf(routes, req('/a')), 'echo-v1');
  assert.equal(backendOf(routes, req('/b')), 'echo-v1');
  assert.equal(backendOf(routes, req('/ab')), 404);
  assert.equal(backendOf(routes, req('/a/x')), 404);
});

test('regex_is_re2_syntax', () => {
  const routes = [route('r', [rule('echo-v1', [{ path: { type: 'RegularExpression', value: '/\\x{1F600}/\\pL+' } }])])];
  assert.equal(backendOf(routes, req('/\u{1F600}/abc')), 'echo-v1');
  assert.equal(backendOf(routes, req('/\u{1F600}/123')), 404);
});

test('regex_with_nested_quantifiers_matches_in_linear_time', () => {
  // The ReDoS attack: on a backtracking engine this path takes exponential time and the
  // test would hang until the runner kills it; RE2 answers at once.
  const routes = [route('r', [rule('echo-v1', [{ path: { type: 'RegularExpression', value: '/(a+)+$' } }])])];
  assert.equal(backendOf(routes, req(`/${'a'.repeat(50_000)}!`)), 404);
  assert.equal(backendOf(routes, req(`/${'a'.repeat(50_000)}`)), 'echo-v1');
});

test('regex_that_does_not_compile_matches_nothing', () => {
  const routes = [
    route('r', [
      rule('echo-v1', [{ path: { type: 'RegularExpression', value: '/(unclosed' } }]),
      rule('echo-v2', [{ path: { type: 'RegularExpression', value: 'a)|(b' } }]),
    ]),
  ];
  assert.equal(backendOf(routes, req('/(unclosed')), 404);
  assert.equal(backendOf(routes, req('a')), 404);
  assert.equal(backendOf(routes, req('b')), 404);
});

test('regex_is_compiled_once_per_match_object', () => {
  const m: RouteMatch = { path: { type: 'RegularExpression', value: '/r.*' } };
  const routes = [route('r', [rule('echo-v1', [m])])];
  const orig = RE2JS.compile;
  let constructed = 0;
  RE2JS.compile = ((...args: Parameters<typeof RE2JS.compile>) => {
    constructed++;
    return orig.apply(RE2JS, args);
  }) as typeof RE2JS.compile;
  try {
    for (let i = 0; i < 5; i++) assert.equal(backendOf(routes, req(`/r${i}`)), 'echo-v1');
  } finally {
    RE2JS.compile = orig;
  }
  assert.equal(constructed, 1, `compiled ${constructed} times`);
});

test('unknown_path_type_matches_nothing', () => {
  const routes = [route('r', [rule('echo-v1', [{ path: { type: 'Glob' as never, value: '/' } }])])];
  assert.equal(backendOf(routes, req('/')), 404);
});

test('match_without_path_is_prefix_slash', () => {
  const routes = [route('r', [rule('echo-v1', [{ method: 'GET' }])])];
  assert.equal(backendOf(routes, req('/anything/at/all')), 'echo-v1');
  assert.equal(matchedPrefix({}), '/');
  assert.equal(matchedPrefix(exact('/x')), undefined);
  assert.equal(matchedPrefix(prefix('/x/')), '/x/');
});

// ---------------------------------------------------------------- headers, query, method

test('header_names_match_case_insensitively_values_exactly', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('X-Version', 'One')] }])])];
  assert.equal(backendOf(routes, req('/', { 'x-version': 'One' })), 'echo-v1');
  assert.equal(backendOf(routes, req('/', { 'x-version': 'one' })), 404);
  assert.equal(backendOf(routes, req('/')), 404);
});

test('all_headers_of_a_match_must_hold', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('a', '1'), hdr('b', '2')] }])])];
  assert.equal(backendOf(routes, req('/', { a: '1', b: '2' })), 'echo-v1');
  assert.equal(backendOf(routes, req('/', { a: '1' })), 404);
});

test('repeated_header_is_matched_as_its_comma_joined_value', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('x', 'a, b')] }]), rule('echo-v2', [{ headers: [hdr('x', 'a')] }])])];
  const r: RouteRequest = { ...req('/'), headers: { x: ['a', 'b'] } };
  assert.equal(backendOf(routes, r), 'echo-v1');
});

test('duplicate_header_match_names_only_the_first_counts', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('x', '1'), hdr('X', '2')] }])])];
  assert.equal(backendOf(routes, req('/', { x: '1' })), 'echo-v1');
  assert.equal(backendOf(routes, req('/', { x: '2' })), 404);
});

test('regex_header_match_is_a_full_match', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [{ type: 'RegularExpression', name: 'x', value: 'v[12]' }] }])])];
  assert.equal(backendOf(routes, req('/', { x: 'v2' })), 'echo-v1');
  assert.equal(backendOf(routes, req('/', { x: 'v22' })), 404);
});

test('query_param_names_are_exact_and_the_first_value_counts', () => {
  const routes = [route('r', [rule('echo-v1', [{ queryParams: [hdr('animal', 'whale')] }])])];
  assert.equal(backendOf(routes, req('/?animal=whale&animal=dolphin')), 'echo-v1');
  assert.equal(backendOf(routes, req('/?animal=dolphin&animal=whale')), 404);
  assert.equal(backendOf(routes, req('/?Animal=whale')), 404);
});

test('query_values_are_form_decoded', () => {
  const q = parseQuery('a=b%20c&d=e+f&bad=%zz&flag&=empty');
  assert.equal(q.get('a'), 'b c');
  assert.equal(q.get('d'), 'e f');
  assert.equal(q.get('bad'), '%zz');
  assert.equal(q.get('flag'), '');
  assert.equal(q.get(''), 'empty');
});

test('method_match_is_exact_and_case_sensitive', () => {
  const routes = [route('r', [rule('echo-v1', [{ method: 'POST' }])])];
  assert.equal(backendOf(routes, req('/', {}, 'POST')), 'echo-v1');
  assert.equal(backendOf(routes, req('/', {}, 'GET')), 404);
  assert.equal(backendOf(routes, req('/', {}, 'post')), 404);
});

test('host_header_match_falls_back_to_the_request_host', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('Host', 'echo')] }])])];
  assert.equal(backendOf(routes, req('/')), 'echo-v1'); // req() sets host 'echo', no host header
  assert.equal(backendOf(routes, { ...req('/'), headers: { host: 'other' } }), 404);
});

test('rule_without_matches_matches_every_request', () => {
  const routes = [route('r', [{ ...rule('echo-v1'), matches: [] }])];
  const sel = selectRoute(routes, target('echo'), req('/any/path?x=1', {}, 'DELETE'))!;
  assert.equal(sel.matchIndex, 0);
  assert.equal(matchedPrefix(sel.match), '/');
  const grpc = [route('g', [{ ...grpcRule('echo-v1'), matches: [] }], { routeKind: 'GRPCRoute' })];
  assert.equal(backendOf(grpc, grpcReq('a.B', 'C')), 'echo-v1');
});

// ---------------------------------------------------------------- precedence

test('exact_path_beats_any_prefix', () => {
  const routes = [route('r', [rule('echo-v1', [prefix('/foo/bar/baz/qux')]), rule('echo-v2', [exact('/foo/bar/baz/qux')])])];
  assert.equal(backendOf(routes, req('/foo/bar/baz/qux')), 'echo-v2');
});

test('longest_prefix_wins_counted_in_characters', () => {
  const routes = [route('r', [rule('echo-v1', [prefix('/a')]), rule('echo-v2', [prefix('/a/b')])])];
  assert.equal(backendOf(routes, req('/a/b/c')), 'echo-v2');
  assert.equal(backendOf(routes, req('/a/c')), 'echo-v1');
});

test('regex_ranks_below_exact_and_above_prefix', () => {
  const routes = [
    route('r', [
      rule('echo-v1', [prefix('/api/v1/users')]),
      rule('echo-v2', [{ path: { type: 'RegularExpression', value: '/api/v[0-9]/users' } }]),
      rule('echo-v3', [exact('/api/v1/users')]),
    ]),
  ];
  assert.equal(backendOf(routes, req('/api/v1/users')), 'echo-v3');
  assert.equal(backendOf(routes, req('/api/v2/users')), 'echo-v2');
  assert.equal(backendOf(routes, req('/api/v1/users/7')), 'echo-v1');
});

test('method_match_beats_header_matches_on_equal_path', () => {
  const routes = [route('r', [rule('echo-v1', [{ headers: [hdr('a', '1'), hdr('b', '2')] }]), rule('echo-v2', [{ method: 'GET' }])])];
  assert.equal(backendOf(routes, req('/', { a: '1', b: '2' })), 'echo-v2');
});

test('more_header_matches_beat_more_query_matches', () => {
  const routes = [
    route('r', [rule('echo-v1', [{ queryParams: [hdr('q', '1'), hdr('r', '2')] }]), rule('echo-v2', [{ headers: [hdr('h', '1')] }])]),
  ];
  assert.equal(backendOf(routes, req('/?q=1&r=2', { h: '1' })), 'echo-v2');
});

test('more_query_matches_win_when_all_else_is_equal', () => {
  const routes = [route('r', [rule('echo-v1', [{ queryParams: [hdr('q', '1')] }]), rule('echo-v2', [{ queryParams: [hdr('q', '1'), hdr('r', '2')] }])])];
  assert.equal(backendOf(routes, req('/?q=1&r=2')), 'echo-v2');
});

test('oldest_route_wins_a_tie_across_routes', () => {
  const young = route('a-young', [rule('echo-v1', [prefix('/x')])], { created: '2026-02-01T00:00:00Z' });
  const old = route('z-old', [rule('echo-v2', [prefix('/x')])], { created: '2026-01-01T00:00:00Z' });
  assert.equal(backendOf([young, old], req('/x')), 'echo-v2');
  assert.equal(backendOf([old, young], req('/x')), 'echo-v2');
});

test('same_age_routes_tie_break_on_namespace_slash_name', () => {
  const created = '2026-01-01T00:00:00Z';
  const b = route('b', [rule('echo-v1', [prefix('/x')])], { created });
  const a = route('a', [rule('echo-v2', [prefix('/x')])], { created });
  assert.equal(backendOf([b, a], req('/x')), 'echo-v2');
});

test('within_a_route_the_first_rule_then_first_match_wins_a_tie', () => {
  const routes = [route('r', [rule('echo-v1', [prefix('/y'), prefix('/x')]), rule('echo-v2', [prefix('/x')])])];
  const sel = selectRoute(routes, target('echo'), req('/x'))!;
  assert.equal(sel.ruleIndex, 0);
  assert.equal(sel.matchIndex, 1);
});

test('precedence_is_across_all_rules_of_all_routes_not_route_first', () => {
  const old = route('old', [rule('echo-v1', [prefix('/')])], { created: '2020-01-01T00:00:00Z' });
  const young = route('young', [rule('echo-v2', [prefix('/specific')])], { created: '2026-01-01T00:00:00Z' });
  assert.equal(backendOf([old, young], req('/specific/x')), 'echo-v2');
  assert.equal(backendOf([old, young], req('/other')), 'echo-v1');
});

test('named_rule_is_reported_in_the_selection', () => {
  const routes = [route('r', [rule('echo-v1', [prefix('/named')], 'named-rule')])];
  assert.equal(selectRoute(routes, target('echo'), req('/named'))!.rule.name, 'named-rule');
});

// ---------------------------------------------------------------- which routes apply

test('route_applies_only_to_the_service_it_names', () => {
  const routes = [route('r', [rule('echo-v1')], { parent: 'echo-v2' })];
  assert.equal(routesFor(routes, target('echo-v2'), NS).length, 1);
  assert.equal(routesFor(routes, target('echo'), NS).length, 0);
});

test('parent_port_restricts_the_route_to_that_service_port', () => {
  const routes = [route('r', [rule('echo-v1')], { port: 80 })];
  assert.equal(routesFor(routes, target('echo', 80), NS).length, 1);
  assert.equal(routesFor(routes, target('echo', 8080), NS).length, 0);
});

test('parent_without_port_applies_to_every_port', () => {
  const routes = [route('r', [rule('echo-v1')])];
  assert.equal(routesFor(routes, target('echo', 80), NS).length, 1);
  assert.equal(routesFor(routes, target('echo', 8080), NS).length, 1);
});

test('consumer_route_applies_only_to_its_namespace_clients', () => {
  const consumer = route('c', [rule('echo-v1')], { namespace: CONSUMER_NS });
  assert.deepEqual(routesFor([consumer], target('echo'), CONSUMER_NS), [consumer]);
  assert.deepEqual(routesFor([consumer], target('echo'), NS), []);
  assert.deepEqual(routesFor([consumer], target('echo'), 'elsewhere'), []);
  assert.deepEqual(routesFor([consumer], target('echo'), undefined), []);
});

test('consumer_routes_replace_producer_routes_for_their_clients', () => {
  const producer = route('p', [rule('echo-v2', [prefix('/only-producer')])]);
  const consumer = route('c', [rule('echo-v1', [prefix('/')])], { namespace: CONSUMER_NS });
  assert.deepEqual(routesFor([producer, consumer], target('echo'), CONSUMER_NS), [consumer]);
  // The producer's more specific rule is not merged in for the consumer's clients.
  assert.equal(backendOf([producer, consumer], req('/only-producer', {}, 'GET', CONSUMER_NS)), 'echo-v1');
});

test('producer_routes_apply_to_clients_of_every_other_namespace', () => {
  const producer = route('p', [rule('echo-v2')]);
  const consumer = route('c', [rule('echo-v1')], { namespace: CONSUMER_NS });
  for (const ns of [NS, 'third', undefined]) {
    assert.deepEqual(routesFor([producer, consumer], target('echo'), ns), [producer], String(ns));
  }
});

test('routes_of_one_namespace_merge', () => {
  const a = route('a', [rule('echo-v1', [prefix('/a')])]);
  const b = route('b', [rule('echo-v2', [prefix('/b')])]);
  assert.equal(backendOf([a, b], req('/a')), 'echo-v1');
  assert.equal(backendOf([a, b], req('/b')), 'echo-v2');
  assert.equal(backendOf([a, b], req('/c')), 404);
});

test('grpcroute_wins_over_httproute_on_one_service_port', () => {
  const http = route('h', [rule('echo-v1')]);
  const grpc = route('g', [grpcRule('echo-v2')], { routeKind: 'GRPCRoute' });
  assert.deepEqual(routesFor([http, grpc], target('echo'), NS), [grpc]);
  assert.equal(backendOf([http, grpc], req('/pkg.Svc/M', {}, 'POST')), 'echo-v2');
  // On another port the HTTPRoute alone applies.
  const grpc7070 = route('g7', [grpcRule('echo-v2')], { routeKind: 'GRPCRoute', port: 7070 });
  assert.deepEqual(routesFor([http, grpc7070], target('echo', 80), NS), [http]);
});

test('match_routes_given_mixed_kinds_considers_grpcroutes_only', () => {
  const http = route('h', [rule('echo-v1', [exact('/pkg.Svc/M')])]);
  const grpc = route('g', [grpcRule('echo-v2')], { routeKind: 'GRPCRoute' });
  assert.equal(matchRoutes([http, grpc], req('/pkg.Svc/M', {}, 'POST'))!.route, grpc);
});

test('no_routes_and_no_match_are_told_apart_by_routes_for', () => {
  const routes = [route('r', [rule('echo-v1', [exact('/x')])])];
  assert.equal(routesFor(routes, target('other'), NS).length, 0); // forward to the Service
  assert.equal(selectRoute(routes, target('echo'), req('/y')), undefined); // 404
});

test('hostnames_are_not_matched_in_the_mesh', () => {
  const r = { ...route('r', [rule('echo-v1')]), hostnames: ['other.example.com'] };
  assert.equal(backendOf([r], req('/')), 'echo-v1');
});

test('hostname_wildcard_matches_one_or_more_labels_not_the_apex', () => {
  assert.equal(hostnameMatches('*.example.com', 'test.example.com'), true);
  assert.equal(hostnameMatches('*.example.com', 'foo.test.example.com'), true);
  assert.equal(hostnameMatches('*.example.com', 'example.com'), false);
  assert.equal(hostnameMatches('*.example.com', 'test.example.net'), false);
  assert.equal(hostnameMatches('Test.Example.com', 'test.example.COM'), true);
  assert.equal(hostnameMatches('test.example.com', 'x.test.example.com'), false);
});

// ---------------------------------------------------------------- GRPCRoute

const GRPC_SVC = 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';
const grpcReq = (service: string, method: string, headers: Record<string, string> = {}) =>
  req(`/${service}/${method}`, { 'content-type': 'application/grpc', ...headers }, 'POST');
const gm = (type: 'Exact' | 'RegularExpression', service?: string, method?: string): RouteMatch => ({
  grpc: { type, ...(service !== undefined ? { service } : {}), ...(method !== undefined ? { method } : {}) },
});

test('GRPCRouteExactMethodMatching_service_and_method', () => {
  const routes = [
    route('exact-matching', [grpcRule('echo-v1', [gm('Exact', GRPC_SVC, 'Echo')]), grpcRule('echo-v2', [gm('Exact', GRPC_SVC, 'EchoTwo')])], {
      routeKind: 'GRPCRoute',
    }),
  ];
  assert.equal(backendOf(routes, grpcReq(GRPC_SVC, 'Echo')), 'echo-v1');
  assert.equal(backendOf(routes, grpcReq(GRPC_SVC, 'EchoTwo')), 'echo-v2');
  assert.equal(backendOf(routes, grpcReq(GRPC_SVC, 'EchoThree')), 404); // UNIMPLEMENTED
});

test('grpc_method_only_and_service_only_matches', () => {
  const routes = [route('g', [grpcRule('echo-v1', [gm('Exact', undefined, 'Echo')]), grpcRule('echo-v2', [gm('Exact', 'a.B')])], { routeKind: 'GRPCRoute' })];
  assert.equal(backendOf(routes, grpcReq('x.Y', 'Echo')), 'echo-v1');
  assert.equal(backendOf(routes, grpcReq('a.B', 'Other')), 'echo-v2');
  assert.equal(backendOf(routes, grpcReq('x.Y', 'Other')), 404);
});

test('grpc_more_service_characters_win_then_method_characters', () => {
  const routes = [
    route('g', [grpcRule('echo-v1', [gm('Exact', undefined, 'LongMethodName')]), grpcRule('echo-v2', [gm('Exact', 'a.B')])], { routeKind: 'GRPCRoute' }),
  ];
  assert.equal(backendOf(routes, grpcReq('a.B', 'LongMethodName')), 'echo-v2');
  const byMethod = [route('g', [grpcRule('echo-v1', [gm('Exact', 'a.B')]), grpcRule('echo-v2', [gm('Exact', 'a.B', 'M')])], { routeKind: 'GRPCRoute' })];
  assert.equal(backendOf(byMethod, grpcReq('a.B', 'M')), 'echo-v2');
});

test('grpc_header_matches_break_ties_after_service_and_method', () => {
  const routes = [
    route('g', [grpcRule('echo-v1', [gm('Exact', 'a.B')]), grpcRule('echo-v2', [{ ...gm('Exact', 'a.B'), headers: [hdr('x', '1')] }])], { routeKind: 'GRPCRoute' }),
  ];
  assert.equal(backendOf(routes, grpcReq('a.B', 'M', { x: '1' })), 'echo-v2');
  assert.equal(backendOf(routes, grpcReq('a.B', 'M')), 'echo-v1');
});

test('grpc_regex_service_and_method_full_match_and_rank_below_exact', () => {
  const routes = [
    route('g', [grpcRule('echo-v1', [gm('RegularExpression', 'a\\..*', 'Get.*')]), grpcRule('echo-v2', [gm('Exact', 'a.B', 'GetX')])], { routeKind: 'GRPCRoute' }),
  ];
  assert.equal(backendOf(routes, grpcReq('a.B', 'GetX')), 'echo-v2');
  assert.equal(backendOf(routes, grpcReq('a.C', 'GetY')), 'echo-v1');
  assert.equal(backendOf(routes, grpcReq('xa.C', 'GetY')), 404);
});

test('grpc_method_match_needs_a_grpc_path', () => {
  const routes = [route('g', [grpcRule('echo-v1', [gm('Exact', 'a.B')])], { routeKind: 'GRPCRoute' })];
  assert.equal(backendOf(routes, req('/a.B', {}, 'POST')), 404);
  assert.equal(backendOf(routes, req('/a.B/M/extra', {}, 'POST')), 404);
});

test('grpc_match_without_method_matches_every_request', () => {
  const routes = [route('g', [grpcRule('echo-v1', [{}])], { routeKind: 'GRPCRoute' })];
  assert.equal(backendOf(routes, grpcReq('any.Service', 'Any')), 'echo-v1');
});

// ---------------------------------------------------------------- mesh conformance

const matchingRoute = () =>
  route('mesh-matching', [rule('echo-v1', [prefix('/'), { headers: [hdr('version', 'one')] }]), rule('echo-v2', [prefix('/v2'), { headers: [hdr('version', 'two')] }])], {
    port: 80,
  });

const matchingCases: [string, Record<string, string>, string][] = [
  ['/', {}, 'echo-v1'],
  ['/example', {}, 'echo-v1'],
  ['/', { Version: 'one' }, 'echo-v1'],
  ['/v2', {}, 'echo-v2'],
  ['/v2/example', {}, 'echo-v2'],
  ['/', { Version: 'two' }, 'echo-v2'],
  ['/v2/', {}, 'echo-v2'],
  ['/v2example', {}, 'echo-v1'],
  ['/foo/v2/example', {}, 'echo-v1'],
];
matchingCases.forEach(([path, headers, want], i) => {
  test(`MeshHTTPRouteMatching_case_${i}_${path}${Object.keys(headers).length ? '_with_header' : ''}_goes_to_${want}`, () => {
    assert.equal(backendOf([matchingRoute()], req(path, headers)), want);
  });
});

const queryRoute = () =>
  route(
    'mesh-query-param-matching',
    [
      rule('echo-v1', [{ queryParams: [hdr('animal', 'whale')] }]),
      rule('echo-v2', [{ queryParams: [hdr('animal', 'dolphin')] }]),
      rule('echo-v1', [{ ...prefix('/path1'), queryParams: [hdr('animal', 'whale')] }]),
      rule('echo-v2', [{ headers: [hdr('version', 'one')], queryParams: [hdr('animal', 'whale')] }]),
      rule('echo-v1', [
        { ...prefix('/path3'), queryParams: [hdr('animal', 'shark')] },
        { ...prefix('/path4'), headers: [hdr('version', 'three')], queryParams: [hdr('animal', 'kraken')] },
      ]),
      rule('echo-v1', [prefix('/path5')]),
      rule('echo-v2', [{ queryParams: [hdr('animal', 'hydra')] }]),
    ],
    { port: 80 },
  );
const queryCases: [string, Record<string, string>, string | 404][] = [
  ['/?animal=whale', {}, 'echo-v1'],
  ['/?animal=dolphin', {}, 'echo-v2'],
  ['/?animal=whale&otherparam=irrelevant', {}, 'echo-v1'],
  ['/?animal=dolphin&color=yellow', {}, 'echo-v2'],
  ['/?color=blue', {}, 404],
  ['/?animal=dog', {}, 404],
  ['/?animal=whaledolphin', {}, 404],
  ['/', {}, 404],
  ['/path1?animal=whale', {}, 'echo-v1'],
  ['/?animal=whale', { version: 'one' }, 'echo-v2'],
  ['/path3?animal=shark', {}, 'echo-v1'],
  ['/path4?animal=kraken', { version: 'three' }, 'echo-v1'],
  ['/?animal=shark', {}, 404],
  ['/path4?animal=kraken', {}, 404],
  ['/path5?animal=hydra', {}, 'echo-v1'],
];
queryCases.forEach(([path, headers, want], i) => {
  test(`MeshHTTPRouteQueryParamMatching_case_${i}_${path}${Object.keys(headers).length ? '_with_header' : ''}_gives_${want}`, () => {
    assert.equal(backendOf([queryRoute()], req(path, headers)), want);
  });
});

const namedRoute = () => route('mesh-http-named-rules', [rule('echo-v1', [prefix('/named')], 'named-rule'), rule('echo-v2', [prefix('/unnamed')])], { port: 80 });

test('MeshHTTPRouteNamedRule_case_0_named_rule_goes_to_echo-v1', () => {
  const sel = selectRoute([namedRoute()], target('echo'), req('/named'))!;
  assert.equal(sel.rule.name, 'named-rule');
  assert.equal(backendOf([namedRoute()], req('/named')), 'echo-v1');
});

test('MeshHTTPRouteNamedRule_case_1_unnamed_rule_goes_to_echo-v2', () => {
  const sel = selectRoute([namedRoute()], target('echo'), req('/unnamed'))!;
  assert.equal(sel.rule.name, undefined);
  assert.equal(backendOf([namedRoute()], req('/unnamed')), 'echo-v2');
});

const splitRoute = () => route('mesh-split', [rule('echo-v1', [exact('/v1')]), rule('echo-v2', [exact('/v2')])]);

test('MeshTrafficSplit_case_0_exact_v1_goes_to_echo-v1', () => {
  assert.equal(backendOf([splitRoute()], req('/v1')), 'echo-v1');
});

test('MeshTrafficSplit_case_1_exact_v2_goes_to_echo-v2', () => {
  assert.equal(backendOf([splitRoute()], req('/v2')), 'echo-v2');
});

test('MeshHTTPRouteSimpleSameNamespace_case_0_root_goes_to_echo-v1', () => {
  const routes = [route('gateway-conformance-mesh-test', [rule('echo-v1')], { port: 80 })];
  assert.equal(backendOf(routes, req('/')), 'echo-v1');
});

test('MeshBasic_case_0_no_routes_means_the_service_itself', () => {
  assert.deepEqual(routesFor([], target('echo'), NS), []);
});

// mesh-consumer-route.yaml: a route in the consumer namespace on echo-v1 of the mesh
// namespace, no port (every port).
const consumerRoute = () => route('mesh-echo-add-header', [rule('echo-v1')], { namespace: CONSUMER_NS, parent: 'echo-v1' });

test('MeshConsumerRoute_case_0_request_from_consumer_namespace_uses_the_route', () => {
  assert.equal(selectRoute([consumerRoute()], target('echo-v1'), req('/', {}, 'GET', CONSUMER_NS))?.route.name, 'mesh-echo-add-header');
});

test('MeshConsumerRoute_case_1_request_from_producer_namespace_does_not', () => {
  assert.deepEqual(routesFor([consumerRoute()], target('echo-v1'), NS), []);
});

// mesh-frontend.yaml: a route on Service echo-v2 (no port).
const frontendRoute = () => route('mesh-split-v1', [rule('echo-v2')], { parent: 'echo-v2' });

test('MeshFrontend_case_0_request_to_the_service_uses_the_route', () => {
  assert.equal(selectRoute([frontendRoute()], target('echo-v2'), req('/'))?.route.name, 'mesh-split-v1');
});

test('MeshFrontend_case_1_request_to_a_pod_ip_has_no_service_target_and_no_route', () => {
  // The caller only builds a RouteTarget when the destination is a Service's VIP; a pod
  // IP has none, so no route is consulted. Another Service's target gets nothing either.
  assert.deepEqual(routesFor([frontendRoute()], target('echo-v1'), NS), []);
});

test('MeshFrontendHostname_case_0_service_addressed_with_another_host_header_uses_the_route', () => {
  const r: RouteRequest = { ...req('/'), host: 'echo-v1', headers: { host: 'echo-v1' } };
  assert.equal(selectRoute([frontendRoute()], target('echo-v2'), r)?.route.name, 'mesh-split-v1');
});

test('MeshFrontendHostname_case_1_other_service_with_matching_host_header_does_not', () => {
  const r: RouteRequest = { ...req('/'), host: 'echo-v2', headers: { host: 'echo-v2' } };
  assert.equal(selectRoute([frontendRoute()], target('echo-v1'), r), undefined);
  assert.deepEqual(routesFor([frontendRoute()], target('echo-v1'), NS), []);
});

// mesh-ports.yaml: mesh-split-v1 on echo-v1 port 80; mesh-split-v2 on echo-v2, no port.
const portsRoutes = () => [
  route('mesh-split-v1', [rule('echo-v1')], { parent: 'echo-v1', port: 80 }),
  route('mesh-split-v2', [rule('echo-v2')], { parent: 'echo-v2' }),
];

test('MeshPorts_case_0_explicit_port_applies_on_that_port', () => {
  assert.equal(selectRoute(portsRoutes(), target('echo-v1', 80), req('/'))?.route.name, 'mesh-split-v1');
});

test('MeshPorts_case_1_explicit_port_excludes_other_ports', () => {
  assert.deepEqual(routesFor(portsRoutes(), target('echo-v1', 8080), NS), []);
});

test('MeshPorts_case_2_no_port_applies_on_port_80', () => {
  assert.equal(selectRoute(portsRoutes(), target('echo-v2', 80), req('/'))?.route.name, 'mesh-split-v2');
});

test('MeshPorts_case_3_no_port_applies_on_port_8080', () => {
  assert.equal(selectRoute(portsRoutes(), target('echo-v2', 8080), req('/'))?.route.name, 'mesh-split-v2');
});

// grpcroute-request-header-modifier.yaml: rules chosen by the x-test-case header.
const grpcHeaderRoute = () =>
  route(
    'grpc-request-header-modifier',
    ['set', 'add', 'remove', 'multi'].map((v, i) => grpcRule(i === 3 ? 'echo-v2' : 'echo-v1', [{ headers: [hdr('x-test-case', v)] }])),
    { routeKind: 'GRPCRoute', port: 7070 },
  );
['set', 'add', 'remove', 'multi'].forEach((v, i) => {
  test(`MeshGRPCRouteRequestHeaderModifier_case_${i}_x-test-case_${v}_selects_rule_${i}`, () => {
    const sel = selectRoute([grpcHeaderRoute()], target('echo', 7070), grpcReq('proto.EchoTestService', 'Echo', { 'x-test-case': v }))!;
    assert.equal(sel.ruleIndex, i);
  });
});

test('MeshGRPCRouteWeight_case_0_match_all_rule_applies_on_port_7070', () => {
  const r = route('mesh-grpc-weighted-backends', [grpcRule('echo-v1')], { routeKind: 'GRPCRoute', port: 7070 });
  assert.equal(selectRoute([r], target('echo', 7070), grpcReq('proto.EchoTestService', 'Echo'))?.ruleIndex, 0);
  assert.deepEqual(routesFor([r], target('echo', 80), NS), []);
});

// ---------------------------------------------------------------- Gateway-bound suites

const pathOrderRoute = () =>
  route('path-matching-order', [
    rule('echo-v1', [exact('/match')]),
    rule('echo-v2', [exact('/match/exact')]),
    rule('echo-v3', [exact('/match/exact/one')]),
    rule('echo-v3', [prefix('/match/')]),
    rule('echo-v1', [prefix('/match/prefix/')]),
    rule('echo-v2', [prefix('/match/prefix/one')]),
  ]);
const pathOrderCases: [string, string][] = [
  ['/match/exact/one', 'echo-v3'],
  ['/match/exact', 'echo-v2'],
  ['/match', 'echo-v1'],
  ['/match/prefix/one/any', 'echo-v2'],
  ['/match/prefix/any', 'echo-v1'],
  ['/match/any', 'echo-v3'],
];
pathOrderCases.forEach(([path, want], i) => {
  test(`HTTPRoutePathMatchOrder_case_${i}_${path}_goes_to_${want}`, () => {
    assert.equal(backendOf([pathOrderRoute()], req(path)), want);
  });
});

const methodRoute = () =>
  route('method-matching', [
    rule('echo-v1', [{ method: 'POST' }]),
    rule('echo-v2', [{ method: 'GET' }]),
    rule('echo-v1', [{ ...prefix('/path1'), method: 'GET' }]),
    rule('echo-v2', [{ headers: [hdr('version', 'one')], method: 'PUT' }]),
    rule('echo-v3', [{ ...prefix('/path2'), headers: [hdr('version', 'two')], method: 'POST' }]),
    rule('echo-v1', [
      { ...prefix('/path3'), method: 'PATCH' },
      { ...prefix('/path4'), headers: [hdr('version', 'three')], method: 'DELETE' },
    ]),
    rule('echo-v1', [prefix('/path5')]),
    rule('echo-v2', [{ method: 'PATCH' }]),
    rule('echo-v3', [{ headers: [hdr('version', 'four')] }]),
  ]);
const methodCases: [string, string, Record<string, string>, string | 404][] = [
  ['POST', '/', {}, 'echo-v1'],
  ['GET', '/', {}, 'echo-v2'],
  ['HEAD', '/', {}, 404],
  ['GET', '/path1', {}, 'echo-v1'],
  ['PUT', '/', { version: 'one' }, 'echo-v2'],
  ['POST', '/path2', { version: 'two' }, 'echo-v3'],
  ['PATCH', '/path3', {}, 'echo-v1'],
  ['DELETE', '/path4', { version: 'three' }, 'echo-v1'],
  ['PUT', '/', {}, 404],
  ['DELETE', '/path4', {}, 404],
  ['PATCH', '/path5', {}, 'echo-v1'],
  ['PATCH', '/', { version: 'four' }, 'echo-v2'],
];
methodCases.forEach(([method, path, headers, want], i) => {
  test(`HTTPRouteMethodMatching_case_${i}_${method}_${path}_gives_${want}`, () => {
    assert.equal(backendOf([methodRoute()], req(path, headers, method)), want);
  });
});

test('HTTPRouteMatchingAcrossRoutes_rules_of_two_routes_compete_by_precedence', () => {
  const part1 = route('matching-part1', [rule('echo-v1', [prefix('/'), { headers: [hdr('version', 'one')] }])]);
  const part2 = route('matching-part2', [rule('echo-v2', [prefix('/v2'), { headers: [hdr('version', 'two')] }])]);
  const cases: [string, Record<string, string>, string][] = [
    ['/', {}, 'echo-v1'],
    ['/example', {}, 'echo-v1'],
    ['/example', { Version: 'one' }, 'echo-v1'],
    ['/v2', {}, 'echo-v2'],
    ['/v2/example', {}, 'echo-v2'],
    ['/', { Version: 'two' }, 'echo-v2'],
  ];
  for (const [path, headers, want] of cases) assert.equal(backendOf([part1, part2], req(path, headers)), want, path);
});
