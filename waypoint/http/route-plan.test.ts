// The route layer's plan for a request: route-match, filters and backend-choice composed
// in the specification's order, with its local answers (404, 500, gRPC statuses).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Route, RouteBackend, RouteFilter, RouteRule } from '../../core/config/routes.js';
import { GrpcStatus } from './grpc-status.js';
import { filterRequestOf, planRoute, type PlanRequest, type RoutePlan } from './route-plan.js';
import type { RouteTarget } from './route-match.js';

const NS = 'mesh';
const svc = (name: string, ns = NS): string => `${ns}/${name}.${ns}.svc.cluster.local`;
const TARGET: RouteTarget = { service: svc('echo'), namespace: NS, port: 80 };
const never = (): number => {
  throw new Error('random must not be drawn');
};

const be = (name: string, weight = 1, extra: Partial<RouteBackend> = {}): RouteBackend => ({ service: svc(name), port: 8080, weight, filters: [], ...extra });

function route(rules: RouteRule[], extra: Partial<Route> = {}): Route {
  return {
    key: `${NS}/HTTPRoute/r`,
    routeKind: 'HTTPRoute',
    name: 'r',
    namespace: NS,
    created: '2026-01-01T00:00:00Z',
    parents: [{ service: svc('echo') }],
    hostnames: [],
    rules,
    ...extra,
  };
}

const rule = (prefix: string, backends: RouteBackend[], filters: RouteFilter[] = []): RouteRule => ({
  matches: [{ path: { type: 'PathPrefix', value: prefix } }],
  filters,
  backends,
});

const req = (path: string, headers: Record<string, string> = {}, sourceNamespace: string | undefined = NS): PlanRequest => ({
  method: 'GET',
  path,
  host: 'echo',
  headers,
  sourceNamespace,
});

function kind<K extends RoutePlan['kind']>(p: RoutePlan, k: K): Extract<RoutePlan, { kind: K }> {
  assert.equal(p.kind, k, JSON.stringify(p));
  return p as Extract<RoutePlan, { kind: K }>;
}

test('no_routes_plans_the_default_forward', () => {
  kind(planRoute([], TARGET, req('/'), never), 'default');
  const elsewhere = route([rule('/', [be('v1')])], { parents: [{ service: svc('other') }] });
  kind(planRoute([elsewhere], TARGET, req('/'), never), 'default');
});

test('routes_without_a_matching_rule_plan_404_and_grpc_unimplemented', () => {
  const p = kind(planRoute([route([rule('/only', [be('v1')])])], TARGET, req('/other'), never), 'reject');
  assert.equal(p.status, 404);
  assert.equal(p.grpcStatus, GrpcStatus.UNIMPLEMENTED);
});

test('matching_rule_forwards_to_its_backend_with_filters_applied', () => {
  const r = route([
    rule('/api', [be('v1')], [
      { type: 'URLRewrite', path: { type: 'ReplacePrefixMatch', value: '/v1' } },
      { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'X-Route', value: 'api' }] } },
    ]),
  ]);
  const p = kind(planRoute([r], TARGET, req('/api/users?id=7', { accept: 'text/plain', host: 'echo' }), () => 0), 'forward');
  assert.equal(p.backend.service, svc('v1'));
  assert.equal(p.request.path, '/v1/users?id=7');
  assert.equal(p.request.authority, 'echo');
  assert.deepEqual(p.request.headers, { accept: 'text/plain', 'x-route': 'api' });
  assert.equal(p.selection.ruleIndex, 0);
});

test('backend_filters_apply_only_to_the_chosen_backend', () => {
  const tagged = be('v2', 1, { filters: [{ type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-backend', value: 'v2' }] } }] });
  const r = route([rule('/', [be('v1'), tagged])]);
  const toV1 = kind(planRoute([r], TARGET, req('/'), () => 0.1), 'forward');
  assert.equal(toV1.request.headers['x-backend'], undefined);
  const toV2 = kind(planRoute([r], TARGET, req('/'), () => 0.9), 'forward');
  assert.equal(toV2.request.headers['x-backend'], 'v2');
});

test('redirect_rule_answers_without_choosing_a_backend', () => {
  const r = route([rule('/old', [], [{ type: 'RequestRedirect', path: { type: 'ReplacePrefixMatch', value: '/new' }, statusCode: 301 }])]);
  const p = kind(planRoute([r], TARGET, req('/old/page'), never), 'redirect');
  assert.equal(p.status, 301);
  assert.equal(p.location, 'http://echo/new/page');
});

test('rule_without_backends_or_redirect_plans_500', () => {
  const p = kind(planRoute([route([rule('/', [])])], TARGET, req('/'), never), 'reject');
  assert.equal(p.status, 500);
  assert.equal(p.grpcStatus, GrpcStatus.UNKNOWN);
});

test('all_zero_weights_plan_500', () => {
  const p = kind(planRoute([route([rule('/', [be('v1', 0), be('v2', 0)])])], TARGET, req('/'), () => 0.5), 'reject');
  assert.equal(p.status, 500);
});

test('unresolved_backend_plans_500_for_its_share_only', () => {
  const missing: RouteBackend = { port: 8080, weight: 1, filters: [], unresolved: 'BackendNotFound' };
  const r = route([rule('/', [be('v1'), missing])]);
  assert.equal(planRoute([r], TARGET, req('/'), () => 0.25).kind, 'forward');
  const p = kind(planRoute([r], TARGET, req('/'), () => 0.75), 'reject');
  assert.equal(p.status, 500);
  assert.match(p.reason, /BackendNotFound/);
});

test('grpcroute_unresolved_backend_is_unavailable_for_grpc_clients', () => {
  const missing: RouteBackend = { port: 7070, weight: 1, filters: [], unresolved: 'BackendNotFound' };
  const g = route([{ matches: [{}], filters: [], backends: [missing] }], { routeKind: 'GRPCRoute', key: `${NS}/GRPCRoute/g` });
  const p = kind(planRoute([g], TARGET, { ...req('/pkg.Svc/M'), method: 'POST' }, () => 0), 'reject');
  assert.equal(p.status, 500);
  assert.equal(p.grpcStatus, GrpcStatus.UNAVAILABLE);
});

test('filter_that_cannot_apply_plans_500', () => {
  const r = route([
    { matches: [{ path: { type: 'Exact', value: '/x' } }], filters: [{ type: 'URLRewrite', path: { type: 'ReplacePrefixMatch', value: '/y' } }], backends: [be('v1')] },
  ]);
  kind(planRoute([r], TARGET, req('/x'), () => 0), 'reject');
});

test('response_modifiers_and_mirrors_of_rule_and_backend_are_carried', () => {
  const mirror = { service: svc('shadow'), port: 80, percent: 100 };
  const backend = be('v1', 1, { filters: [{ type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x', value: 'backend' }] } }] });
  const r = route([
    rule('/', [backend], [
      { type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'x', value: 'rule' }] } },
      { type: 'RequestMirror', mirror },
    ]),
  ]);
  const p = kind(planRoute([r], TARGET, req('/'), () => 0), 'forward');
  assert.deepEqual(p.mirrors, [mirror]);
  assert.deepEqual(
    p.responseModifiers.map((m) => m.set![0]!.value),
    ['backend', 'rule'],
  );
});

test('rule_timeouts_are_carried_to_the_plan', () => {
  const r = route([{ ...rule('/', [be('v1')]), timeouts: { requestMs: 500, backendRequestMs: 200 } }]);
  assert.deepEqual(kind(planRoute([r], TARGET, req('/'), () => 0), 'forward').timeouts, { requestMs: 500, backendRequestMs: 200 });
});

test('consumer_route_plans_only_for_its_namespace_clients', () => {
  const consumer = route([rule('/', [be('v1')], [{ type: 'ResponseHeaderModifier', modifier: { set: [{ name: 'X-Header-Set', value: 'set' }] } }])], {
    namespace: 'consumer',
    key: 'consumer/HTTPRoute/r',
  });
  assert.equal(kind(planRoute([consumer], TARGET, req('/', {}, 'consumer'), () => 0), 'forward').responseModifiers.length, 1);
  kind(planRoute([consumer], TARGET, req('/', {}, NS), () => 0), 'default');
});

test('filter_request_leaves_host_out_and_copies_arrays', () => {
  const cookies = ['a=1', 'b=2'];
  const fr = filterRequestOf({ ...req('/p'), headers: { Host: 'echo:80', cookie: cookies } }, TARGET);
  assert.deepEqual(fr, { scheme: 'http', authority: 'echo:80', port: 80, path: '/p', headers: { cookie: ['a=1', 'b=2'] } });
  assert.notEqual(fr.headers.cookie, cookies);
});

test('host_header_is_forwarded_unmodified_with_its_port', () => {
  const r = route([rule('/', [be('v1')])]);
  const p = kind(planRoute([r], TARGET, { ...req('/'), host: 'echo', headers: { host: 'Echo:8080' } }, () => 0), 'forward');
  assert.equal(p.request.authority, 'Echo:8080');
});

test('redirect_uses_the_host_without_the_port_the_client_sent', () => {
  const r = route([rule('/', [], [{ type: 'RequestRedirect', port: 8083, statusCode: 302 }])]);
  const p = kind(planRoute([r], TARGET, { ...req('/a?b=1'), headers: { host: 'echo:80' } }, never), 'redirect');
  assert.equal(p.location, 'http://echo:8083/a?b=1');
});
