// Compiling HTTPRoute/GRPCRoute into Route resources and Gateway API route status: parents,
// defaults, validation with field paths, backend resolution with the spec's reasons,
// durations, and the statuses' conditions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshService } from '../../core/config/model.js';
import type { Route } from '../../core/config/routes.js';
import { validateResource } from '../../core/config/validate.js';
import { cluster, namespace, referenceGrant, route, service, TD } from './fixtures.js';
import { compileRoute, indexReferenceGrants, routeReferences, type RouteContext, type RouteStatus } from './routes.js';
import { translate } from './translate.js';
import { desiredParents } from '../route-status.js';

function svc(name: string, ns = 'default', o: { ports?: Array<{ port: number; name?: string; protocol?: 'TCP' | 'UDP' }>; headless?: boolean; waypoint?: boolean } = {}): MeshService {
  const hostname = `${name}.${ns}.svc.cluster.local`;
  const s: MeshService = {
    key: `${ns}/${hostname}`,
    name,
    namespace: ns,
    hostname,
    vips: o.headless ? [] : ['10.96.0.10'],
    ports: (o.ports ?? [{ port: 80, name: 'http' }, { port: 8080, name: 'http-alt' }]).map((p) => ({ port: p.port, targetPort: p.port, protocol: p.protocol ?? 'TCP', ...(p.name ? { name: p.name } : {}) })),
    endpoints: [],
  };
  if (o.waypoint !== false) s.waypoint = { service: `${ns}/waypoint.${ns}.svc.cluster.local`, port: 15008 };
  return s;
}

function ctx(services: MeshService[] = [svc('echo'), svc('echo-v1'), svc('echo-v2')], grants = indexReferenceGrants([])): RouteContext {
  const m = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  return { service: (k) => m.get(k), grants };
}

const parent = { group: '', kind: 'Service', name: 'echo', port: 80 };

function http(spec: Record<string, unknown>, o: Parameters<typeof route>[2] = {}) {
  return route('r', { parentRefs: [parent], ...spec }, o);
}

function compiled(spec: Record<string, unknown>, c = ctx()): { route: Route; status: RouteStatus; problems: string[] } {
  const r = compileRoute('HTTPRoute', http(spec), c);
  if (!r.route || !r.status) throw new Error(`not compiled: ${JSON.stringify(r)}`);
  return r as { route: Route; status: RouteStatus; problems: string[] };
}

function condition(s: RouteStatus | undefined, type: string, i = 0) {
  return s?.parents[i]?.conditions.find((c) => c.type === type);
}

test('route_minimal_gets_every_default_filled_in', () => {
  const r = compiled({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 8080 }] }] });
  assert.deepEqual(r.route, {
    key: 'default/HTTPRoute/r',
    routeKind: 'HTTPRoute',
    name: 'r',
    namespace: 'default',
    created: '2024-01-01T00:00:00Z',
    parents: [{ service: 'default/echo.default.svc.cluster.local', port: 80 }],
    hostnames: [],
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], filters: [], backends: [{ service: 'default/echo-v1.default.svc.cluster.local', port: 8080, weight: 1, filters: [] }] }],
  });
  assert.equal(validateResource({ kind: 'Route', key: r.route.key, body: r.route }).ok, true);
});

test('route_status_accepted_and_resolved_with_generation', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }] }, { generation: 7 }), ctx());
  assert.equal(r.status?.generation, 7);
  assert.deepEqual(r.status?.parents[0]?.parentRef, parent);
  assert.deepEqual(condition(r.status, 'Accepted'), { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Route accepted.' });
  assert.equal(condition(r.status, 'ResolvedRefs')?.status, 'True');
  assert.deepEqual(r.problems, []);
});

test('route_without_rules_gets_one_match_all_rule_without_backends', () => {
  const r = compiled({});
  assert.deepEqual(r.route.rules, [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], filters: [], backends: [] }]);
});

test('route_match_without_path_gets_path_prefix_slash_and_lower_cased_headers', () => {
  const r = compiled({ rules: [{ matches: [{ headers: [{ name: 'X-Version', value: 'v2' }, { name: 'x-version', value: 'other' }], method: 'GET' }] }] });
  assert.deepEqual(r.route.rules[0]!.matches, [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'x-version', value: 'v2' }], method: 'GET' }]);
});

test('route_query_param_names_keep_their_case_first_wins', () => {
  const r = compiled({ rules: [{ matches: [{ queryParams: [{ name: 'Animal', value: 'whale' }, { name: 'Animal', value: 'dolphin' }, { type: 'RegularExpression', name: 'color', value: '^bl' }] }] }] });
  assert.deepEqual(r.route.rules[0]!.matches[0]!.queryParams, [
    { type: 'Exact', name: 'Animal', value: 'whale' },
    { type: 'RegularExpression', name: 'color', value: '^bl' },
  ]);
});

test('route_hostnames_lower_cased_and_wildcard_allowed', () => {
  assert.deepEqual(compiled({ hostnames: ['Echo.Example.com', '*.example.com'] }).route.hostnames, ['echo.example.com', '*.example.com']);
});

test('route_bad_hostname_rejects_the_route', () => {
  const r = compileRoute('HTTPRoute', http({ hostnames: ['10.0.0.1:80'] }), ctx());
  assert.equal(r.route, undefined);
  assert.equal(condition(r.status, 'Accepted')?.reason, 'UnsupportedValue');
  assert.match(condition(r.status, 'Accepted')!.message, /^spec\.hostnames\[0\]: /);
});

test('route_path_not_starting_with_slash_drops_the_rule_naming_the_field', () => {
  const r = compiled({ rules: [{ matches: [{ path: { type: 'Exact', value: '/ok' } }] }, { matches: [{ path: { value: '/a' } }, { path: { type: 'PathPrefix', value: 'foo' } }] }] });
  assert.equal(r.route.rules.length, 1);
  const partial = condition(r.status, 'PartiallyInvalid');
  assert.equal(partial?.status, 'True');
  assert.match(partial!.message, /^Dropped Rule\(s\): spec\.rules\[1\]\.matches\[1\]\.path\.value: "foo" must start with "\/"/);
  assert.equal(condition(r.status, 'Accepted')?.status, 'True');
});

test('route_path_rules_of_the_spec_are_enforced', () => {
  for (const v of ['/a//b', '/a/./b', '/a/../b', '/a%2fb', '/a#b', '/a/..', '/a/.', '/a b']) {
    const r = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { value: v } }] }] }), ctx());
    assert.equal(condition(r.status, 'Accepted')?.status, 'False', v);
    assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.matches\[0\]\.path\.value/, v);
  }
});

test('route_regex_must_compile_in_re2_syntax', () => {
  const ok = compiled({ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '^/v[0-9]+/.*' } }] }] });
  assert.equal(ok.route.rules[0]!.matches[0]!.path!.type, 'RegularExpression');
  const r = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '(' }] }] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.value: "\(" is not a valid regular expression/);
  // RE2 has no lookaround or backreferences (what makes a backtracking engine slow).
  for (const value of ['/(?=a)', '/(a)\\1']) {
    const u = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { type: 'RegularExpression', value } }] }] }), ctx());
    assert.equal(condition(u.status, 'Accepted')?.status, 'False', value);
  }
});

test('route_unknown_path_type_and_method_are_unsupported_values', () => {
  const a = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { type: 'Glob', value: '/x' } }] }] }), ctx());
  assert.equal(condition(a.status, 'Accepted')?.reason, 'UnsupportedValue');
  const b = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ method: 'BREW' }] }] }), ctx());
  assert.match(condition(b.status, 'Accepted')!.message, /spec\.rules\[0\]\.matches\[0\]\.method: "BREW" is not supported/);
});

test('route_redirect_gets_default_status_302', () => {
  const r = compiled({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'Example.org' } }] }] });
  assert.deepEqual(r.route.rules[0]!.filters, [{ type: 'RequestRedirect', statusCode: 302, hostname: 'example.org' }]);
});

test('route_redirect_with_every_field', () => {
  const r = compiled({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'x.org', port: 8443, statusCode: 308, path: { type: 'ReplaceFullPath', replaceFullPath: '/new' } } }] }] });
  assert.deepEqual(r.route.rules[0]!.filters, [{ type: 'RequestRedirect', statusCode: 308, scheme: 'https', hostname: 'x.org', port: 8443, path: { type: 'ReplaceFullPath', value: '/new' } }]);
});

test('route_redirect_bad_status_is_unsupported_value_and_rule_answers_500', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { value: '/r' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 305 } }] }] }), ctx());
  assert.equal(r.route, undefined, 'no valid rule: not accepted');
  assert.equal(condition(r.status, 'Accepted')?.reason, 'UnsupportedValue');
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.filters\[0\]\.requestRedirect\.statusCode: 305 is not supported/);
});

test('route_invalid_filter_rule_keeps_its_matches_and_answers_500', () => {
  const r = compiled({
    rules: [
      { matches: [{ path: { value: '/bad' } }], filters: [{ type: 'CORS', cors: { allowOrigins: ['*'] } }], backendRefs: [{ name: 'echo-v1', port: 80 }] },
      { backendRefs: [{ name: 'echo-v2', port: 80 }] },
    ],
  });
  assert.deepEqual(r.route.rules[0], { matches: [{ path: { type: 'PathPrefix', value: '/bad' } }], filters: [], backends: [] });
  assert.match(condition(r.status, 'PartiallyInvalid')!.message, /spec\.rules\[0\]\.filters\[0\]\.type: filter CORS is not supported by this mesh \(the rule answers 500\)/);
});

test('route_extension_ref_filter_is_unsupported', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x.io', kind: 'F', name: 'f' } }] }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')?.status, 'False');
  assert.equal(condition(r.status, 'Accepted')?.reason, 'UnsupportedValue');
});

test('route_redirect_and_rewrite_together_are_incompatible_filters', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: {} }, { type: 'URLRewrite', urlRewrite: { hostname: 'a.b' } }] }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')?.reason, 'IncompatibleFilters');
  assert.match(condition(r.status, 'Accepted')!.message, /^spec\.rules\[0\]\.filters: RequestRedirect and URLRewrite cannot be used together/);
});

test('route_redirect_with_backends_is_incompatible', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: {} }], backendRefs: [{ name: 'echo-v1', port: 80 }] }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')?.reason, 'IncompatibleFilters');
});

test('route_replace_prefix_match_needs_one_path_prefix_match', () => {
  const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' } } };
  const ok = compiled({ rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/prefix/one' } }], filters: [rewrite], backendRefs: [{ name: 'echo-v1', port: 80 }] }] });
  assert.deepEqual(ok.route.rules[0]!.filters, [{ type: 'URLRewrite', path: { type: 'ReplacePrefixMatch', value: '/one' } }]);
  const exact = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { type: 'Exact', value: '/x' } }], filters: [rewrite] }] }), ctx());
  assert.match(condition(exact.status, 'Accepted')!.message, /ReplacePrefixMatch needs exactly one match, of type PathPrefix/);
  const two = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { value: '/a' } }, { path: { value: '/b' } }], filters: [rewrite] }] }), ctx());
  assert.equal(condition(two.status, 'Accepted')?.reason, 'IncompatibleFilters');
});

test('route_replace_prefix_match_in_a_backend_filter_is_checked_too', () => {
  const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } };
  const r = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { type: 'Exact', value: '/x' } }], backendRefs: [{ name: 'echo-v1', port: 80, filters: [rewrite] }] }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')?.reason, 'IncompatibleFilters');
});

test('route_path_modifier_needs_its_field', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replacePrefixMatch: '/x' } } }] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.filters\[0\]\.urlRewrite\.path\.replacePrefixMatch: must not be set when type is ReplaceFullPath/);
});

test('route_repeated_filter_is_invalid_but_mirror_may_repeat', () => {
  const mod = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'A', value: '1' }] } };
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [mod, mod] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /filter RequestHeaderModifier cannot be repeated/);
  const mirror = { type: 'RequestMirror', requestMirror: { backendRef: { name: 'echo-v2', port: 80 } } };
  assert.equal(compiled({ rules: [{ filters: [mirror, mirror] }] }).route.rules[0]!.filters.length, 2);
});

test('route_header_modifier_names_lower_cased_first_set_wins', () => {
  const r = compiled({ rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }], add: [{ name: 'X-B', value: 'b' }], remove: ['X-C', 'x-c'] } }] }] });
  assert.deepEqual(r.route.rules[0]!.filters, [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-a', value: '1' }], add: [{ name: 'x-b', value: 'b' }], remove: ['x-c'] } }]);
});

test('route_filter_with_the_wrong_member_is_invalid', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'RequestHeaderModifier', responseHeaderModifier: { set: [] } }] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /filters\[0\]\.responseHeaderModifier: must not be set when type is RequestHeaderModifier/);
});

test('route_mirror_percent_fraction_and_default', () => {
  const mirror = (m: Record<string, unknown>) => compiled({ rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'echo-v2', port: 80 }, ...m } }] }] }).route.rules[0]!.filters[0];
  assert.deepEqual(mirror({}), { type: 'RequestMirror', mirror: { port: 80, percent: 100, service: 'default/echo-v2.default.svc.cluster.local' } });
  assert.equal((mirror({ percent: 42 }) as { mirror: { percent: number } }).mirror.percent, 42);
  assert.equal((mirror({ fraction: { numerator: 1, denominator: 3 } }) as { mirror: { percent: number } }).mirror.percent, 100 / 3);
  assert.equal((mirror({ fraction: { numerator: 5 } }) as { mirror: { percent: number } }).mirror.percent, 5);
  const both = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'echo-v2', port: 80 }, percent: 1, fraction: { numerator: 1 } } }] }] }), ctx());
  assert.match(condition(both.status, 'Accepted')!.message, /only one of percent and fraction/);
});

test('route_mirror_to_missing_service_is_unresolved_backend_not_found', () => {
  const r = compiled({ rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'nope', port: 80 } } }], backendRefs: [{ name: 'echo-v1', port: 80 }] }] });
  const f = r.route.rules[0]!.filters[0] as { mirror: { unresolved?: string; service?: string } };
  assert.match(f.mirror.unresolved!, /Service default\/nope does not exist/);
  assert.equal(f.mirror.service, undefined);
  assert.equal(condition(r.status, 'ResolvedRefs')?.reason, 'BackendNotFound');
  assert.match(condition(r.status, 'ResolvedRefs')!.message, /spec\.rules\[0\]\.filters\[0\]\.requestMirror\.backendRef/);
});

test('route_missing_backend_is_unresolved_and_keeps_its_weight', () => {
  const r = compiled({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 80 }, { name: 'gone', port: 80, weight: 20 }] }] });
  assert.deepEqual(r.route.rules[0]!.backends[1], { port: 80, weight: 20, filters: [], unresolved: 'Service default/gone does not exist (or is not in the mesh)' });
  assert.deepEqual(condition(r.status, 'ResolvedRefs'), {
    type: 'ResolvedRefs',
    status: 'False',
    reason: 'BackendNotFound',
    message: 'Unresolved: spec.rules[0].backendRefs[1]: Service default/gone does not exist (or is not in the mesh). Requests sent to an unresolved backend get 500.',
  });
  assert.equal(condition(r.status, 'Accepted')?.status, 'True');
  assert.equal(validateResource({ kind: 'Route', key: r.route.key, body: r.route }).ok, true);
});

test('route_backend_of_another_kind_is_invalid_kind', () => {
  const r = compiled({ rules: [{ backendRefs: [{ group: 'multicluster.x-k8s.io', kind: 'ServiceImport', name: 'x', port: 80 }] }] });
  assert.equal(condition(r.status, 'ResolvedRefs')?.reason, 'InvalidKind');
  assert.match(r.route.rules[0]!.backends[0]!.unresolved!, /kind ServiceImport is not supported/);
});

test('route_backend_port_missing_on_the_service_is_backend_not_found', () => {
  const r = compiled({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 9999 }] }] });
  assert.equal(condition(r.status, 'ResolvedRefs')?.reason, 'BackendNotFound');
  assert.match(condition(r.status, 'ResolvedRefs')!.message, /has no TCP port 9999/);
});

test('route_backend_without_port_is_invalid', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ backendRefs: [{ name: 'echo-v1' }] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.backendRefs\[0\]\.port: is required when the backend is a Service/);
});

test('route_backend_weight_zero_allowed_and_bounded', () => {
  assert.equal(compiled({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 0 }] }] }).route.rules[0]!.backends[0]!.weight, 0);
  const r = compileRoute('HTTPRoute', http({ rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 1_000_001 }] }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /weight: 1000001 is not an integer in 0\.\.1000000/);
});

test('route_cross_namespace_backend_without_grant_is_ref_not_permitted', () => {
  const c = ctx([svc('echo'), svc('db', 'data')]);
  const r = compiled({ rules: [{ backendRefs: [{ name: 'db', namespace: 'data', port: 80 }] }] }, c);
  assert.equal(condition(r.status, 'ResolvedRefs')?.reason, 'RefNotPermitted');
  assert.match(r.route.rules[0]!.backends[0]!.unresolved!, /no ReferenceGrant in data allows HTTPRoutes from default/);
});

test('route_cross_namespace_backend_with_grant_resolves', () => {
  const grants = indexReferenceGrants([referenceGrant('g', 'data', 'default')]);
  const r = compiled({ rules: [{ backendRefs: [{ name: 'db', namespace: 'data', port: 80 }] }] }, ctx([svc('echo'), svc('db', 'data')], grants));
  assert.equal(r.route.rules[0]!.backends[0]!.service, 'data/db.data.svc.cluster.local');
  assert.equal(condition(r.status, 'ResolvedRefs')?.status, 'True');
});

test('route_grant_for_another_name_or_kind_does_not_allow', () => {
  const c = (g: ReturnType<typeof referenceGrant>) => ctx([svc('echo'), svc('db', 'data')], indexReferenceGrants([g]));
  const spec = { rules: [{ backendRefs: [{ name: 'db', namespace: 'data', port: 80 }] }] };
  assert.equal(condition(compiled(spec, c(referenceGrant('g', 'data', 'default', { toName: 'other' }))).status, 'ResolvedRefs')?.reason, 'RefNotPermitted');
  assert.equal(condition(compiled(spec, c(referenceGrant('g', 'data', 'default', { fromKind: 'GRPCRoute' }))).status, 'ResolvedRefs')?.reason, 'RefNotPermitted');
  assert.equal(condition(compiled(spec, c(referenceGrant('g', 'data', 'default', { toName: 'db' }))).status, 'ResolvedRefs')?.status, 'True');
});

test('consumer_route_to_its_own_parent_service_needs_no_grant', () => {
  // MeshConsumerRoute: a route in the consumer's namespace, parent and backend the producer's Service.
  const c = ctx([svc('echo-v1', 'gateway-conformance-mesh')]);
  const r = compileRoute('HTTPRoute', route('mesh-echo-add-header', {
    parentRefs: [{ group: '', kind: 'Service', name: 'echo-v1', namespace: 'gateway-conformance-mesh' }],
    rules: [{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Header-Set', value: 'set' }] } }], backendRefs: [{ name: 'echo-v1', namespace: 'gateway-conformance-mesh', port: 80 }] }],
  }, { ns: 'gateway-conformance-mesh-consumer' }), c);
  assert.deepEqual(r.route?.parents, [{ service: 'gateway-conformance-mesh/echo-v1.gateway-conformance-mesh.svc.cluster.local' }]);
  assert.equal(r.route?.rules[0]!.backends[0]!.service, 'gateway-conformance-mesh/echo-v1.gateway-conformance-mesh.svc.cluster.local');
  assert.equal(condition(r.status, 'ResolvedRefs')?.status, 'True');
  assert.equal(r.route?.namespace, 'gateway-conformance-mesh-consumer');
});

test('consumer_route_with_two_parents_cannot_reach_the_other_parent_without_a_grant', () => {
  // Attack: a route in `attacker` with parents shop/web and payments/ledger and backend
  // payments/ledger would send requests arriving at shop's waypoint to ledger's pods under
  // that waypoint's identity, skipping payments' waypoint. No exemption with two parents.
  const c = ctx([svc('web', 'shop'), svc('ledger', 'payments')]);
  const r = compileRoute('HTTPRoute', route('steal', {
    parentRefs: [{ group: '', kind: 'Service', name: 'web', namespace: 'shop' }, { group: '', kind: 'Service', name: 'ledger', namespace: 'payments' }],
    rules: [{ backendRefs: [{ name: 'ledger', namespace: 'payments', port: 80 }] }],
  }, { ns: 'attacker' }), c);
  assert.equal(r.route?.rules[0]!.backends[0]!.service, undefined);
  assert.match(r.route!.rules[0]!.backends[0]!.unresolved!, /no ReferenceGrant in payments allows HTTPRoutes from attacker/);
  assert.equal(condition(r.status, 'ResolvedRefs', 0)?.reason, 'RefNotPermitted');
  assert.equal(condition(r.status, 'ResolvedRefs', 1)?.reason, 'RefNotPermitted');
  // With a grant from payments it resolves.
  const granted = ctx([svc('web', 'shop'), svc('ledger', 'payments')], indexReferenceGrants([referenceGrant('g', 'payments', 'attacker')]));
  const ok = compileRoute('HTTPRoute', route('steal', {
    parentRefs: [{ group: '', kind: 'Service', name: 'web', namespace: 'shop' }, { group: '', kind: 'Service', name: 'ledger', namespace: 'payments' }],
    rules: [{ backendRefs: [{ name: 'ledger', namespace: 'payments', port: 80 }] }],
  }, { ns: 'attacker' }), granted);
  assert.equal(ok.route?.rules[0]!.backends[0]!.service, 'payments/ledger.payments.svc.cluster.local');
});

test('route_regex_with_oversized_program_is_rejected_naming_the_field', () => {
  // Linear time, but linear in the program too: this one costs ~600 ms per 16 KB value.
  const r = compileRoute('HTTPRoute', http({ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '(?:a|aa){1000}b' } }] }] }), ctx());
  assert.equal(r.route, undefined);
  const accepted = condition(r.status, 'Accepted')!;
  assert.equal(accepted.status, 'False');
  assert.match(accepted.message, /spec\.rules\[0\]\.matches\[0\]\.path\.value: .* program size 4003 is larger than the limit 100/);
  // An ordinary expression is within the limit.
  assert.equal(condition(compiled({ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+/users/[a-z0-9-]+' } }] }] }).status, 'Accepted')?.status, 'True');
});

test('route_header_modifier_value_node_cannot_send_is_rejected_naming_the_field', () => {
  // Node throws ERR_INVALID_CHAR on these: a waypoint must never receive them.
  for (const value of ['a\x07b', 'a\x7fb', 'caf\u0113', 'a\r\nx-injected: 1', 'a\0']) {
    for (const kind of ['requestHeaderModifier', 'responseHeaderModifier']) {
      const type = kind === 'requestHeaderModifier' ? 'RequestHeaderModifier' : 'ResponseHeaderModifier';
      const r = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type, [kind]: { add: [{ name: 'X-A', value }] } }] }] }), ctx());
      assert.equal(r.route, undefined, JSON.stringify(value));
      assert.match(condition(r.status, 'Accepted')!.message, new RegExp(`spec\\.rules\\[0\\]\\.filters\\[0\\]\\.${kind}\\.add\\[0\\]\\.value: .* is not an HTTP field value`));
    }
  }
  // Tab, space and obs-text (0x80-0xff) are field-value characters.
  const ok = compiled({ rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: 'a\tb c\u00e9' }] } }] }] });
  assert.deepEqual(ok.route.rules[0]!.filters[0], { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-a', value: 'a\tb c\u00e9' }] } });
  // Header names are RFC 9110 tokens.
  const badName = compileRoute('HTTPRoute', http({ rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X A', value: '1' }] } }] }] }), ctx());
  assert.match(condition(badName.status, 'Accepted')!.message, /requestHeaderModifier\.set\[0\]\.name: "X A" is not a valid header name/);
});

test('route_that_lost_its_service_parents_gets_an_empty_status_to_remove_our_entries', () => {
  const obj = route('r', { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }] }) as Record<string, unknown>;
  assert.equal(compileRoute('HTTPRoute', obj as never, ctx()).status, undefined, 'never ours: no status');
  obj.status = { parents: [{ parentRef: parent, controllerName: 'ambient.dev/waypoint', conditions: [] }, { parentRef: { name: 'gw' }, controllerName: 'example.com/gateway', conditions: [] }] };
  const r = compileRoute('HTTPRoute', obj as never, ctx());
  assert.equal(r.route, undefined);
  assert.deepEqual(r.status, { routeKind: 'HTTPRoute', namespace: 'default', name: 'r', generation: 1, parents: [] });  // Written, it keeps only the other controller's entry.
  assert.deepEqual(desiredParents(r.status!, (obj.status as { parents: unknown[] }).parents, new Date()), [{ parentRef: { name: 'gw' }, controllerName: 'example.com/gateway', conditions: [] }]);
});

test('route_parent_service_missing_is_no_matching_parent', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'ghost' }] }), ctx());
  assert.equal(r.route, undefined);
  assert.deepEqual(condition(r.status, 'Accepted'), { type: 'Accepted', status: 'False', reason: 'NoMatchingParent', message: 'spec.parentRefs[0]: Service default/ghost does not exist (or is not in the mesh)' });
});

test('route_parent_port_must_exist_on_the_service', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 81 }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')?.reason, 'NoMatchingParent');
  assert.match(condition(r.status, 'Accepted')!.message, /has no TCP port 81/);
});

test('route_parent_section_name_picks_the_named_port', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http-alt' }] }), ctx());
  assert.deepEqual(r.route?.parents, [{ service: 'default/echo.default.svc.cluster.local', port: 8080 }]);
  const both = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http-alt', port: 80 }] }), ctx());
  assert.equal(condition(both.status, 'Accepted')?.reason, 'NoMatchingParent');
});

test('route_parent_without_port_applies_to_every_port', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }] }), ctx());
  assert.deepEqual(r.route?.parents, [{ service: 'default/echo.default.svc.cluster.local' }]);
});

test('route_headless_parent_is_unsupported', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }] }), ctx([svc('echo', 'default', { headless: true })]));
  assert.equal(condition(r.status, 'Accepted')?.reason, 'UnsupportedValue');
});

test('route_gateway_parents_are_ignored_without_status', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ name: 'public-gw' }, { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'x' }] }), ctx());
  assert.deepEqual(r, { problems: [] });
  const mixed = compileRoute('HTTPRoute', route('r', { parentRefs: [{ name: 'public-gw' }, { group: '', kind: 'Service', name: 'echo' }] }), ctx());
  assert.equal(mixed.status?.parents.length, 1);
  assert.equal(mixed.status?.parents[0]?.parentRef.name, 'echo');
});

test('route_service_parent_without_core_group_is_ignored_with_a_hint', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ kind: 'Service', name: 'echo' }] }), ctx());
  assert.equal(r.status, undefined);
  assert.match(r.problems[0]!, /spec\.parentRefs\[0\]: kind Service without group "" names a gateway\.networking\.k8s\.io Service/);
});

test('route_one_parent_rejected_another_accepted', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'ghost' }, { group: '', kind: 'Service', name: 'echo' }] }), ctx());
  assert.deepEqual(r.route?.parents, [{ service: 'default/echo.default.svc.cluster.local' }]);
  assert.equal(condition(r.status, 'Accepted', 0)?.status, 'False');
  assert.equal(condition(r.status, 'Accepted', 1)?.status, 'True');
});

test('route_parent_without_waypoint_is_accepted_with_a_note', () => {
  const r = compileRoute('HTTPRoute', route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }] }), ctx([svc('echo', 'default', { waypoint: false })]));
  assert.match(condition(r.status, 'Accepted')!.message, /has no waypoint yet/);
  assert.ok(r.route);
});

test('route_timeouts_parsed_to_milliseconds', () => {
  const r = compiled({ rules: [{ timeouts: { request: '1h2m3s', backendRequest: '500ms' } }] });
  assert.deepEqual(r.route.rules[0]!.timeouts, { requestMs: 3_723_000, backendRequestMs: 500 });
  assert.deepEqual(compiled({ rules: [{ timeouts: { request: '0s', backendRequest: '10s' } }] }).route.rules[0]!.timeouts, { requestMs: 0, backendRequestMs: 10_000 });
});

test('route_backend_request_longer_than_request_is_invalid', () => {
  const r = compileRoute('HTTPRoute', http({ rules: [{ timeouts: { request: '1s', backendRequest: '2s' } }] }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.timeouts\.backendRequest: "2s" is longer than request "1s"/);
});

test('a_timeout_that_is_not_a_gep_2257_duration_makes_the_route_unaccepted', () => {
  // The syntax itself is core/duration.test.ts's; here that a route field is read by it.
  const r = compileRoute('HTTPRoute', http({ rules: [{ timeouts: { request: '1.5s' } }] }), ctx());
  assert.equal(condition(r.status, 'Accepted')!.reason, 'UnsupportedValue');
  assert.match(condition(r.status, 'Accepted')!.message, /spec\.rules\[0\]\.timeouts\.request: "1\.5s" is not a duration \(GEP-2257: /);
});

test('route_rule_names_must_be_unique', () => {
  const r = compiled({ rules: [{ name: 'a' }, { name: 'b' }, { name: 'a', matches: [{ path: { value: '/x' } }] }] });
  assert.deepEqual(r.route.rules.map((x) => x.name), ['a', 'b']);
  assert.match(condition(r.status, 'PartiallyInvalid')!.message, /spec\.rules\[2\]\.name: "a" is the name of another rule/);
});

test('route_too_many_rules_rejects_the_route', () => {
  const r = compileRoute('HTTPRoute', http({ rules: Array.from({ length: 17 }, () => ({})) }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /^spec\.rules: holds 17 entries, more than the 16 the API allows/);
});

test('route_created_is_the_creation_timestamp', () => {
  assert.equal(compileRoute('HTTPRoute', http({}, { created: '2025-03-04T05:06:07Z' }), ctx()).route?.created, '2025-03-04T05:06:07Z');
});

test('route_without_creation_timestamp_counts_as_newest', () => {
  const r = compileRoute('HTTPRoute', http({}, { created: 'not a time' }), ctx());
  assert.equal(r.route?.created, '9999-12-31T23:59:59Z');
  assert.equal(validateResource({ kind: 'Route', key: r.route!.key, body: r.route }).ok, true);
});

test('grpc_route_defaults_to_match_all_and_exact_method', () => {
  const r = compileRoute('GRPCRoute', route('g', { parentRefs: [parent], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }, { matches: [{ method: { service: 'pkg.Svc', method: 'Get' }, headers: [{ name: 'Env', value: 'canary' }] }] }] }, { kind: 'GRPCRoute' }), ctx());
  assert.equal(r.route?.key, 'default/GRPCRoute/g');
  assert.deepEqual(r.route?.rules[0]!.matches, [{}]);
  assert.deepEqual(r.route?.rules[1]!.matches, [{ grpc: { type: 'Exact', service: 'pkg.Svc', method: 'Get' }, headers: [{ type: 'Exact', name: 'env', value: 'canary' }] }]);
  assert.equal(validateResource({ kind: 'Route', key: r.route!.key, body: r.route }).ok, true);
});

test('grpc_route_method_names_checked', () => {
  const bad = compileRoute('GRPCRoute', route('g', { parentRefs: [parent], rules: [{ matches: [{ method: { service: 'pkg/Svc' } }] }] }, { kind: 'GRPCRoute' }), ctx());
  assert.match(condition(bad.status, 'Accepted')!.message, /matches\[0\]\.method\.service: "pkg\/Svc" is not a gRPC service name/);
  const empty = compileRoute('GRPCRoute', route('g', { parentRefs: [parent], rules: [{ matches: [{ method: { type: 'Exact' } }] }] }, { kind: 'GRPCRoute' }), ctx());
  assert.match(condition(empty.status, 'Accepted')!.message, /one or both of service and method must be set/);
});

test('grpc_route_rejects_http_only_filters', () => {
  const r = compileRoute('GRPCRoute', route('g', { parentRefs: [parent], rules: [{ filters: [{ type: 'URLRewrite', urlRewrite: {} }] }] }, { kind: 'GRPCRoute' }), ctx());
  assert.match(condition(r.status, 'Accepted')!.message, /"URLRewrite" is not a filter type of GRPCRoute/);
});

test('route_object_without_name_gives_no_status', () => {
  assert.deepEqual(compileRoute('HTTPRoute', { metadata: { namespace: 'x' } }, ctx()), { problems: ['metadata.name or metadata.namespace is missing'] });
});

test('route_garbage_spec_never_throws', () => {
  for (const spec of [null, 3, 'x', [], { parentRefs: 'x' }, { parentRefs: [null, 3, { group: '', kind: 'Service' }] }, { parentRefs: [parent], rules: 'x' }, { parentRefs: [parent], rules: [null, { matches: [null] }, { filters: [{}] }, { backendRefs: [null, {}] }] }]) {
    assert.doesNotThrow(() => compileRoute('HTTPRoute', route('r', spec), ctx()), JSON.stringify(spec));
  }
});

test('route_references_name_parents_backends_and_mirrors', () => {
  const refs = routeReferences(route('r', {
    parentRefs: [{ group: '', kind: 'Service', name: 'echo' }, { name: 'svc', namespace: 'other' }],
    rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'm', namespace: 'mirror', port: 80 } } }], backendRefs: [{ name: 'b', port: 80 }, { name: 'c', namespace: 'data', port: 80 }] }],
  }));
  assert.deepEqual(refs, { services: ['data/c', 'default/b', 'default/echo', 'mirror/m', 'other/svc'], grantNamespaces: ['data', 'mirror'] });
});

test('translate_emits_route_after_services_and_reports_unresolved_backends', () => {
  const r = translate(cluster({
    namespaces: [namespace('default')],
    services: [service('echo'), service('echo-v1')],
    httpRoutes: [route('r', { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80 }, { name: 'ghost', port: 80 }] }] })],
  }), { trustDomain: TD });
  assert.deepEqual(r.resources.map((x) => `${x.kind}/${x.key}`), ['Service/default/echo-v1.default.svc.cluster.local', 'Service/default/echo.default.svc.cluster.local', 'Route/default/HTTPRoute/r']);
  assert.equal(r.routeStatuses.length, 1);
  assert.equal(r.routeStatuses[0]!.parents[0]!.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, 'BackendNotFound');
  assert.ok(r.problems.some((p) => p.kind === 'HTTPRoute' && p.key === 'default/r' && /ghost/.test(p.message)));
});

test('route_retry_compiles_codes_attempts_and_backoff', () => {
  const r = compiled({ rules: [{ retry: { codes: [500, 503], attempts: 3, backoff: '100ms' } }] });
  assert.deepEqual(r.route.rules[0]!.retry, { codes: [500, 503], attempts: 3, backoffMs: 100 });
  assert.equal(validateResource({ kind: 'Route', key: r.route.key, body: r.route }).ok, true);
});

test('route_retry_without_attempts_gets_two_and_no_backoff', () => {
  assert.deepEqual(compiled({ rules: [{ retry: {} }] }).route.rules[0]!.retry, { codes: [], attempts: 2 });
});

test('route_without_retry_has_none', () => {
  assert.equal(compiled({ rules: [{}] }).route.rules[0]!.retry, undefined);
});

test('route_retry_faults_name_the_field', () => {
  const msg = (retry: unknown) => condition(compileRoute('HTTPRoute', http({ rules: [{ retry }] }), ctx()).status, 'Accepted')!.message;
  assert.match(msg({ codes: [200] }), /spec\.rules\[0\]\.retry\.codes\[0\]/);
  assert.match(msg({ codes: [503, 503] }), /spec\.rules\[0\]\.retry\.codes\[1\]: 503 is listed twice/);
  assert.match(msg({ attempts: 0 }), /spec\.rules\[0\]\.retry\.attempts/);
  assert.match(msg({ attempts: 11 }), /spec\.rules\[0\]\.retry\.attempts/);
  assert.match(msg({ backoff: '100' }), /spec\.rules\[0\]\.retry\.backoff: "100" is not a duration/);
  assert.match(msg({ tries: 1 }), /spec\.rules\[0\]\.retry\.tries: is not a field of retry/);
});

test('route_retry_on_the_wire_is_checked_by_every_reader', () => {
  const r = compiled({ rules: [{ retry: { codes: [503] } }] }).route;
  const bad = { ...r, rules: [{ ...r.rules[0]!, retry: { codes: [200], attempts: 2 } }] };
  const v = validateResource({ kind: 'Route', key: r.key, body: bad });
  assert.equal(v.ok, false);
  assert.match(v.ok ? '' : v.error, /rules\[0\]\.retry\.codes\[0\]: 200 is not a status code/);
});
