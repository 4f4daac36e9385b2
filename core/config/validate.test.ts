// Validation of one resource off the wire: what a node agent accepts, and the message it
// NACKs with, naming the field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MeshService, Policy, Workload } from './model.js';
import { validateResource } from './validate.js';

function workload(over: Partial<Workload> & Record<string, unknown> = {}): Workload {
  return {
    uid: '1234',
    name: 'web-0',
    namespace: 'shop',
    serviceAccount: 'web',
    identity: 'spiffe://cluster.local/ns/shop/sa/web',
    node: 'node1',
    ips: ['10.244.0.5'],
    protocol: 'HBONE',
    labels: { app: 'web' },
    canonicalName: 'web',
    canonicalRevision: 'latest',
    mtlsMode: 'STRICT',
    healthy: true,
    ...over,
  } as Workload;
}

function service(over: Partial<MeshService> & Record<string, unknown> = {}): MeshService {
  return {
    key: 'shop/web.shop.svc.cluster.local',
    name: 'web',
    namespace: 'shop',
    hostname: 'web.shop.svc.cluster.local',
    vips: ['10.96.0.10'],
    ports: [{ name: 'http', port: 80, targetPort: 0, protocol: 'TCP' }],
    endpoints: [{ workloadUid: '1234', ports: { '80': 8080 }, healthy: true }],
    ...over,
  } as MeshService;
}

function policy(over: Partial<Policy> & Record<string, unknown> = {}): Policy {
  return {
    key: 'shop/allow-web',
    name: 'allow-web',
    namespace: 'shop',
    scope: 'namespace',
    selector: { app: 'web' },
    action: 'ALLOW',
    rules: [{ from: [{ principals: ['cluster.local/ns/shop/sa/client'], ipBlocks: ['10.0.0.0/8', 'fd00::1'] }], to: [{ ports: [8080], methods: ['GET'] }], when: [{ key: 'request.headers[x]', values: ['y'] }] }],
    ...over,
  } as Policy;
}

const W = (body: unknown, key = '1234') => validateResource({ kind: 'Workload', key, body });
const S = (body: unknown, key = 'shop/web.shop.svc.cluster.local') => validateResource({ kind: 'Service', key, body });
const P = (body: unknown, key = 'shop/allow-web') => validateResource({ kind: 'Policy', key, body });

function error(r: ReturnType<typeof validateResource>): string {
  assert.equal(r.ok, false, 'expected the resource to be rejected');
  return (r as { error: string }).error;
}

test('validate_accepts_a_valid_workload_service_and_policy', () => {
  for (const r of [W(workload()), S(service()), P(policy())]) assert.ok(r.ok, r.ok ? '' : r.error);
});

test('validate_returns_an_equal_copy_not_the_input', () => {
  const body = workload({ waypoint: { service: 'shop/wp.shop.svc.cluster.local', port: 15008 } });
  const r = W(body);
  assert.ok(r.ok);
  assert.deepEqual(r.resource.body, body);
  assert.notEqual(r.resource.body, body);
});

test('validate_rejects_bad_ip_naming_the_field', () => {
  assert.equal(error(W(workload({ ips: ['10.0.0.1', '10.0.0.x'] }))), 'Workload 1234: ips[1]: "10.0.0.x" is not an IP address');
});

test('validate_rejects_ipv6_zone_and_leading_zero_ipv4', () => {
  assert.match(error(W(workload({ ips: ['fe80::1%eth0'] }))), /ips\[0\]: "fe80::1%eth0" is not an IP address/);
  assert.match(error(W(workload({ ips: ['010.0.0.1'] }))), /ips\[0\]/);
});

test('validate_accepts_ipv6_addresses', () => {
  assert.ok(W(workload({ ips: ['10.244.0.5', 'fd00::5'] })).ok);
});

test('validate_rejects_workload_without_ips_or_with_duplicates', () => {
  assert.match(error(W(workload({ ips: [] }))), /ips: must hold at least one address/);
  assert.match(error(W(workload({ ips: ['10.0.0.1', '10.0.0.1'] }))), /ips\[1\]: duplicate address "10.0.0.1" \(also at ips\[0\]\)/);
});

test('validate_rejects_identity_that_is_not_spiffe', () => {
  assert.match(error(W(workload({ identity: 'https://cluster.local/ns/shop/sa/web' }))), /^Workload 1234: identity: invalid SPIFFE ID .*must start with spiffe:\/\//);
});

test('validate_rejects_identity_of_another_service_account', () => {
  assert.match(error(W(workload({ identity: 'spiffe://cluster.local/ns/shop/sa/admin' }))), /identity: .* does not match namespace "shop" and serviceAccount "web"/);
});

test('validate_rejects_key_that_does_not_match_body', () => {
  assert.equal(error(W(workload(), '9999')), 'Workload 9999: key: "9999" does not match the body\'s uid "1234"');
  assert.match(error(S(service(), 'shop/other.shop.svc.cluster.local')), /key: "shop\/other.shop.svc.cluster.local" does not match the body's key "shop\/web.shop.svc.cluster.local"/);
});

test('validate_rejects_wrong_types_naming_the_field', () => {
  assert.match(error(W(workload({ healthy: 'yes' as never }))), /^Workload 1234: healthy: must be true or false, got "yes"$/);
  assert.match(error(W(workload({ labels: { app: 1 } as never }))), /labels\["app"\]: must be a string, got 1/);
  assert.match(error(W(workload({ protocol: 'QUIC' as never }))), /protocol: "QUIC" is not one of HBONE, TCP/);
  assert.match(error(W(workload({ mtlsMode: 'DISABLE' as never }))), /mtlsMode: "DISABLE" is not one of STRICT, PERMISSIVE/);
});

test('validate_rejects_missing_fields', () => {
  const body = workload() as unknown as Record<string, unknown>;
  delete body.node;
  assert.match(error(W(body)), /^Workload 1234: node: must be a string, got undefined$/);
});

test('validate_rejects_host_network_hbone_workload', () => {
  assert.match(error(W(workload({ hostNetwork: true }))), /protocol: a host-network workload is never enrolled/);
  assert.ok(W(workload({ hostNetwork: true, protocol: 'TCP' })).ok);
});

test('validate_rejects_waypoint_with_bad_port', () => {
  assert.match(error(W(workload({ waypoint: { service: 'shop/wp.shop.svc.cluster.local', port: 0 } }))), /waypoint\.port: 0 is not a port number \(1..65535\)/);
});

test('validate_rejects_ports_out_of_range_naming_the_field', () => {
  assert.match(error(S(service({ ports: [{ port: 65536, targetPort: 80, protocol: 'TCP' }] }))), /^Service shop\/web.shop.svc.cluster.local: ports\[0\]\.port: 65536 is not a port number \(1..65535\)$/);
  assert.match(error(S(service({ ports: [{ port: 80, targetPort: 1.5, protocol: 'TCP' }] }))), /ports\[0\]\.targetPort: 1.5 is not a port number/);
});

test('validate_rejects_duplicate_service_ports_but_allows_same_number_on_two_protocols', () => {
  const p = { port: 53, targetPort: 53 };
  assert.ok(S(service({ endpoints: [], ports: [{ ...p, protocol: 'UDP' }, { ...p, protocol: 'TCP' }] })).ok);
  assert.match(error(S(service({ endpoints: [], ports: [{ ...p, protocol: 'TCP' }, { ...p, protocol: 'TCP' }] }))), /ports\[1\]: duplicate port "53\/TCP"/);
});

test('validate_rejects_endpoint_port_for_a_port_that_is_not_named', () => {
  const s = service({ ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] });
  assert.match(error(S(s)), /endpoints\[0\]\.ports\["80"\]: is not a TCP service port with a named targetPort/);
});

test('validate_rejects_duplicate_endpoints', () => {
  const e = { workloadUid: '1234', ports: {}, healthy: true };
  assert.match(error(S(service({ endpoints: [e, e] }))), /endpoints\[1\]: duplicate workloadUid "1234"/);
});

test('validate_rejects_hostname_not_of_the_service', () => {
  assert.match(
    error(S(service({ key: 'shop/api.shop.svc.cluster.local', hostname: 'api.shop.svc.cluster.local' }), 'shop/api.shop.svc.cluster.local')),
    /hostname: "api.shop.svc.cluster.local" is not web.shop.svc.<cluster domain>/,
  );
});

test('validate_accepts_headless_service_without_vips', () => {
  assert.ok(S(service({ vips: [] })).ok);
});

test('validate_rejects_policy_with_bad_ip_block', () => {
  const bad = policy();
  bad.rules[0]!.from[0]!.ipBlocks = ['10.0.0.0/33'];
  assert.match(error(P(bad)), /^Policy shop\/allow-web: rules\[0\]\.from\[0\]\.ipBlocks\[0\]: "10.0.0.0\/33" is not an IP address or CIDR block$/);
});

test('validate_rejects_policy_scope_inconsistent_with_target_refs', () => {
  assert.match(error(P(policy({ scope: 'targets' }))), /selector: must be absent when scope is targets/);
  const { selector: _s, ...noSel } = policy();
  assert.match(error(P({ ...noSel, scope: 'targets' })), /targetRefs: is required \(non-empty\) when scope is targets/);
  assert.match(error(P(policy({ targetRefs: [{ group: '', kind: 'Service', name: 'web' }] }))), /targetRefs: must be absent when scope is namespace/);
  assert.equal(P({ ...noSel, scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }] }).ok, true);
  assert.match(error(P({ ...noSel, scope: 'targets', targetRefs: [{ group: 'x', kind: 'Service', name: 'web' }] })), /targetRefs\[0\]\.group: "x" is not ""/);
});

test('validate_rejects_unknown_kind_and_non_objects', () => {
  assert.match(error(validateResource({ kind: 'Secret', key: 'x', body: {} })), /^resource x: kind: "Secret" is not one of Workload, Service, Policy, Route, RequestAuthn, TrafficPolicy$/);
  assert.match(error(validateResource('hello')), /^resource <no key>: resource: must be an object/);
  assert.match(error(validateResource({ kind: 'Workload', key: '1234' })), /^Workload 1234: body: must be an object, got undefined$/);
  assert.match(error(validateResource({ kind: 'Workload', key: '', body: workload() })), /key: must not be empty/);
});

test('validate_drops_unknown_fields', () => {
  const r = validateResource({ kind: 'Workload', key: '1234', extra: 1, body: { ...workload(), futureField: { a: 1 } } });
  assert.ok(r.ok);
  assert.equal('futureField' in r.resource.body, false);
  assert.equal('extra' in r.resource, false);
});

test('validate_keeps_proto_named_label_as_a_plain_key', () => {
  const body = JSON.parse(JSON.stringify(workload()).replace('"labels":{', '"labels":{"__proto__":"x",'));
  const r = W(body);
  assert.ok(r.ok);
  const labels = (r.resource.body as Workload).labels;
  assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'x');
});

test('validate_reports_values_json_cannot_show_instead_of_throwing', () => {
  assert.match(error(W(workload({ healthy: 1n as never }))), /healthy: must be true or false, got 1n/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(error(W(workload({ ips: cyclic as never }))), /ips: must be an array, got \[object Object\]/);
});

test('validate_accepts_workload_port_level_mtls_modes', () => {
  const r = W(workload({ mtlsMode: 'STRICT', mtlsPorts: { '8080': 'PERMISSIVE', '65535': 'PERMISSIVE' } }));
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual((r.resource.body as Workload).mtlsPorts, { '8080': 'PERMISSIVE', '65535': 'PERMISSIVE' });
});

test('validate_rejects_bad_port_level_mtls_naming_the_port', () => {
  assert.equal(error(W(workload({ mtlsPorts: { http: 'STRICT' } }))), 'Workload 1234: mtlsPorts["http"]: "http" is not a port number (1-65535, decimal)');
  for (const k of ['0', '65536', '080', '-1', '']) assert.match(error(W(workload({ mtlsPorts: { [k]: 'PERMISSIVE' } }))), /is not a port number/, k);
  assert.match(error(W(workload({ mtlsPorts: { '8080': 'DISABLE' as never } }))), /mtlsPorts\["8080"\]: "DISABLE" is not one of STRICT, PERMISSIVE/);
  assert.match(error(W(workload({ mtlsPorts: ['STRICT'] as never }))), /mtlsPorts: must be an object/);
});

test('validate_drops_port_level_entries_equal_to_the_workload_mode', () => {
  const r = W(workload({ mtlsMode: 'STRICT', mtlsPorts: { '8080': 'STRICT' } }));
  assert.ok(r.ok);
  assert.equal((r.resource.body as Workload).mtlsPorts, undefined);
});

// --- Route (the compiled HTTPRoute/GRPCRoute, core/config/routes.ts) ---

function routeBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'shop/HTTPRoute/web',
    routeKind: 'HTTPRoute',
    name: 'web',
    namespace: 'shop',
    created: '2024-01-01T00:00:00Z',
    parents: [{ service: 'shop/web.shop.svc.cluster.local', port: 80 }],
    hostnames: [],
    rules: [
      {
        name: 'main',
        matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'x-env', value: 'canary' }], queryParams: [{ type: 'RegularExpression', name: 'Q', value: '^a' }], method: 'GET' }],
        filters: [
          { type: 'RequestHeaderModifier', modifier: { set: [{ name: 'x-a', value: '1' }], add: [{ name: 'x-b', value: '2' }], remove: ['x-c'] } },
          { type: 'RequestMirror', mirror: { service: 'shop/m.shop.svc.cluster.local', port: 80, percent: 12.5 } },
        ],
        backends: [
          { service: 'shop/web-v1.shop.svc.cluster.local', port: 80, weight: 90, filters: [] },
          { port: 80, weight: 10, filters: [], unresolved: 'Service shop/gone does not exist' },
        ],
        timeouts: { requestMs: 1000, backendRequestMs: 500 },
      },
      { matches: [{ path: { type: 'Exact', value: '/old' } }], filters: [{ type: 'RequestRedirect', statusCode: 301, scheme: 'https', hostname: 'example.org', port: 443, path: { type: 'ReplaceFullPath', value: '/new' } }], backends: [] },
    ],
    ...over,
  };
}

const routeResource = (over: Record<string, unknown> = {}) => {
  const body = routeBody(over);
  return { kind: 'Route', key: body.key, body };
};

function withRule(rule: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Route', key: 'shop/HTTPRoute/web', body: routeBody({ rules: [{ matches: [{}], filters: [], backends: [], ...rule }] }) };
}

test('validate_route_accepts_a_full_route_and_copies_it', () => {
  const r = validateResource(routeResource());
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.resource.body, routeBody());
});

test('validate_route_key_must_be_namespace_kind_name', () => {
  assert.match(error(validateResource({ kind: 'Route', key: 'shop/web', body: routeBody({ key: 'shop/web' }) })), /^Route shop\/web: key: "shop\/web" is not "shop\/HTTPRoute\/web"$/);
});

test('validate_route_kind_and_created', () => {
  assert.match(error(validateResource(routeResource({ routeKind: 'TCPRoute' }))), /routeKind: "TCPRoute" is not one of HTTPRoute, GRPCRoute/);
  assert.match(error(validateResource(routeResource({ created: 'yesterday' }))), /created: "yesterday" is not an RFC 3339 time/);
});

test('validate_route_needs_a_parent_service', () => {
  assert.match(error(validateResource(routeResource({ parents: [] }))), /parents: must hold at least one parent Service/);
  assert.match(error(validateResource(routeResource({ parents: [{ service: 'web' }] }))), /parents\[0\]\.service: "web" is not a Service key/);
  assert.match(error(validateResource(routeResource({ parents: [{ service: 'shop/web', port: 0 }] }))), /parents\[0\]\.port: 0 is not a port number/);
});

test('validate_route_hostnames_lower_case', () => {
  assert.match(error(validateResource(routeResource({ hostnames: ['Web.Example.com'] }))), /hostnames\[0\]: "Web.Example.com" is not a lower-case hostname/);
  assert.ok(validateResource(routeResource({ hostnames: ['*.example.com'] })).ok);
});

test('validate_route_rule_needs_a_match', () => {
  assert.match(error(validateResource(withRule({ matches: [] }))), /rules\[0\]\.matches: must hold at least one match/);
});

test('validate_route_regex_program_size_is_bounded', () => {
  assert.match(error(validateResource(withRule({ matches: [{ path: { type: 'RegularExpression', value: '(?:a|aa){1000}b' } }] }))), /rules\[0\]\.matches\[0\]\.path\.value: .* program size 4003 is larger than the limit 100/);
  assert.equal(validateResource(withRule({ matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+/.*' } }] })).ok, true);
});

test('validate_route_header_modifier_value_must_be_an_http_field_value', () => {
  const mod = (value: string, name = 'x-a') => withRule({ filters: [{ type: 'RequestHeaderModifier', modifier: { set: [{ name, value }] } }] });
  for (const value of ['a\x07b', 'a\x7fb', 'caf\u0113', 'a\r\nb']) {
    assert.match(error(validateResource(mod(value))), /rules\[0\]\.filters\[0\]\.modifier\.set\[0\]\.value: .* is not an HTTP field value/, JSON.stringify(value));
  }
  assert.equal(validateResource(mod('a\tb c\u00e9')).ok, true);
  assert.match(error(validateResource(mod('1', 'x a'))), /set\[0\]\.name: "x a" is not a lower-case header name/);
});

test('validate_route_path_and_regex', () => {
  assert.match(error(validateResource(withRule({ matches: [{ path: { type: 'Exact', value: 'x' } }] }))), /rules\[0\]\.matches\[0\]\.path\.value: "x" must start with "\/"/);
  assert.match(error(validateResource(withRule({ matches: [{ path: { type: 'RegularExpression', value: '[' } }] }))), /rules\[0\]\.matches\[0\]\.path\.value: "\[" is not a valid regular expression/);
  assert.match(error(validateResource(withRule({ matches: [{ path: { type: 'Glob', value: '/' } }] }))), /path\.type: "Glob" is not one of Exact, PathPrefix, RegularExpression/);
});

test('validate_route_header_names_lower_case_and_distinct', () => {
  assert.match(error(validateResource(withRule({ matches: [{ headers: [{ type: 'Exact', name: 'X-A', value: '1' }] }] }))), /headers\[0\]\.name: "X-A" is not a lower-case header name/);
  assert.match(error(validateResource(withRule({ matches: [{ headers: [{ type: 'Exact', name: 'a', value: '1' }, { type: 'Exact', name: 'a', value: '2' }] }] }))), /headers\[1\]: duplicate header "a"/);
});

test('validate_route_method_upper_case', () => {
  assert.match(error(validateResource(withRule({ matches: [{ method: 'get' }] }))), /matches\[0\]\.method: "get" is not one of GET/);
});

test('validate_route_grpc_fields_per_kind', () => {
  assert.match(error(validateResource(withRule({ matches: [{ grpc: { type: 'Exact', service: 's' } }] }))), /matches\[0\]\.grpc: must be absent in an HTTPRoute match/);
  const grpc = routeBody({ key: 'shop/GRPCRoute/web', routeKind: 'GRPCRoute', rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], filters: [], backends: [] }] });
  assert.match(error(validateResource({ kind: 'Route', key: 'shop/GRPCRoute/web', body: grpc })), /matches\[0\]\.path: must be absent in a GRPCRoute match/);
  const empty = routeBody({ key: 'shop/GRPCRoute/web', routeKind: 'GRPCRoute', rules: [{ matches: [{ grpc: { type: 'Exact' } }], filters: [], backends: [] }] });
  assert.match(error(validateResource({ kind: 'Route', key: 'shop/GRPCRoute/web', body: empty })), /matches\[0\]\.grpc: must set service, method or both/);
});

test('validate_route_filters', () => {
  assert.match(error(validateResource(withRule({ filters: [{ type: 'CORS' }] }))), /rules\[0\]\.filters\[0\]\.type: "CORS" is not one of/);
  assert.match(error(validateResource(withRule({ filters: [{ type: 'RequestRedirect', statusCode: 200 }] }))), /filters\[0\]\.statusCode: 200 is not one of 301, 302, 303, 307, 308/);
  assert.match(error(validateResource(withRule({ filters: [{ type: 'RequestRedirect', statusCode: 302 }, { type: 'URLRewrite' }] }))), /rules\[0\]\.filters: RequestRedirect and URLRewrite cannot be used together/);
  assert.match(error(validateResource(withRule({ filters: [{ type: 'URLRewrite', path: { type: 'ReplaceFullPath', value: 'x' } }] }))), /filters\[0\]\.path\.value: "x" must start with "\/"/);
  assert.match(error(validateResource(withRule({ filters: [{ type: 'RequestMirror', mirror: { service: 'a/b', port: 80, percent: 101 } }] }))), /filters\[0\]\.mirror\.percent: 101 is not a percentage/);
});

test('validate_route_backend_is_a_service_or_unresolved', () => {
  assert.match(error(validateResource(withRule({ backends: [{ port: 80, weight: 1, filters: [] }] }))), /backends\[0\]\.service: must be a string/);
  assert.match(error(validateResource(withRule({ backends: [{ service: 'a/b', port: 80, weight: 1, filters: [], unresolved: 'x' }] }))), /backends\[0\]\.service: must be absent when unresolved is set/);
  assert.match(error(validateResource(withRule({ backends: [{ service: 'a/b', port: 80, weight: -1, filters: [] }] }))), /backends\[0\]\.weight: -1 is not a weight/);
  assert.ok(validateResource(withRule({ backends: [{ port: 0, weight: 1, filters: [], unresolved: 'not a Service' }] })).ok);
});

test('validate_route_timeouts', () => {
  assert.match(error(validateResource(withRule({ timeouts: { requestMs: 1.5 } }))), /timeouts\.requestMs: 1\.5 is not a number of milliseconds/);
  assert.match(error(validateResource(withRule({ timeouts: { requestMs: 100, backendRequestMs: 200 } }))), /timeouts\.backendRequestMs: 200 is longer than requestMs 100/);
  assert.ok(validateResource(withRule({ timeouts: { requestMs: 0, backendRequestMs: 200 } })).ok);
});

test('validate_route_rule_names_distinct_and_sizes_bounded', () => {
  const body = routeBody({ rules: [{ name: 'a', matches: [{}], filters: [], backends: [] }, { name: 'a', matches: [{}], filters: [], backends: [] }] });
  assert.match(error(validateResource({ kind: 'Route', key: 'shop/HTTPRoute/web', body })), /duplicate rule name "a"/);
  const many = routeBody({ rules: Array.from({ length: 17 }, () => ({ matches: [{}], filters: [], backends: [] })) });
  assert.match(error(validateResource({ kind: 'Route', key: 'shop/HTTPRoute/web', body: many })), /rules: holds 17 entries, more than 16/);
});

// RequestAuthn (compiled RequestAuthentication), for waypoints: each rejection class names its field.
function authnBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'shop/jwt',
    name: 'jwt',
    namespace: 'shop',
    scope: 'targets',
    targetRefs: [{ group: '', kind: 'Service', name: 'web' }],
    rules: [
      {
        issuer: 'https://issuer.example',
        audiences: ['web'],
        jwksUri: 'https://issuer.example/jwks.json',
        fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }],
        fromParams: ['access_token'],
        fromCookies: [],
        defaultLocations: true,
        forwardOriginalToken: false,
        outputClaimToHeaders: [],
      },
    ],
    ...over,
  };
}
const authn = (body: Record<string, unknown>, key = 'shop/jwt') => validateResource({ kind: 'RequestAuthn', key, body });
const authnRule = (over: Record<string, unknown>) => authnBody({ rules: [{ ...(authnBody().rules as Array<Record<string, unknown>>)[0], ...over }] });

test('request_authn_valid_is_accepted_as_a_clean_copy', () => {
  const r = authn({ ...authnBody(), extra: 1 });
  assert.equal(r.ok, true);
  assert.equal((r as unknown as { resource: { body: Record<string, unknown> } }).resource.body['extra'], undefined);
});

test('request_authn_key_not_namespace_slash_name_is_rejected', () => {
  assert.match(error(authn(authnBody({ key: 'shop/other' }))), /^RequestAuthn shop\/jwt: key: "shop\/other" is not "shop\/jwt"$/);
});

test('request_authn_resource_key_differs_from_body_key_is_rejected', () => {
  assert.match(error(authn(authnBody(), 'shop/x')), /key: "shop\/x" does not match the body's key "shop\/jwt"/);
});

test('request_authn_unknown_scope_is_rejected', () => {
  assert.match(error(authn(authnBody({ scope: 'mesh' }))), /scope: "mesh" is not one of targets, workloads/);
});

test('request_authn_targets_scope_without_target_refs_is_rejected', () => {
  assert.match(error(authn(authnBody({ targetRefs: [] }))), /targetRefs: must name at least one target/);
});

test('request_authn_target_ref_of_a_wrong_group_is_rejected', () => {
  assert.match(error(authn(authnBody({ targetRefs: [{ group: 'x', kind: 'Service', name: 'web' }] }))), /targetRefs\[0\]\.group: "x" is not ""/);
});

test('request_authn_rule_without_issuer_is_rejected', () => {
  assert.match(error(authn(authnRule({ issuer: '' }))), /rules\[0\]\.issuer: must not be empty/);
});

test('request_authn_rule_without_key_source_is_rejected', () => {
  assert.match(error(authn(authnRule({ jwksUri: undefined }))), /rules\[0\]: sets neither jwks nor jwksUri/);
});

test('request_authn_rule_jwks_uri_not_http_is_rejected', () => {
  assert.match(error(authn(authnRule({ jwksUri: 'ftp://x' }))), /rules\[0\]\.jwksUri: "ftp:\/\/x" is not an http\(s\) URL/);
});

test('request_authn_rule_inline_jwks_without_keys_list_is_rejected', () => {
  assert.match(error(authn(authnRule({ jwksUri: undefined, jwks: { keys: 'x' } }))), /rules\[0\]\.jwks\.keys: must be an array/);
});

test('request_authn_rule_header_name_not_lower_case_token_is_rejected', () => {
  assert.match(error(authn(authnRule({ fromHeaders: [{ name: 'X Token', prefix: '' }] }))), /rules\[0\]\.fromHeaders\[0\]\.name: "X Token" is not a lower-case HTTP header name/);
});

test('request_authn_rule_without_token_location_is_rejected', () => {
  assert.match(error(authn(authnRule({ fromHeaders: [], fromParams: [] }))), /rules\[0\]: names no token location/);
});

test('request_authn_rule_flag_not_boolean_is_rejected', () => {
  assert.match(error(authn(authnRule({ forwardOriginalToken: 'yes' }))), /rules\[0\]\.forwardOriginalToken: must be true or false/);
});

test('request_authn_rule_timeout_not_positive_is_rejected', () => {
  assert.match(error(authn(authnRule({ timeoutMs: 0 }))), /rules\[0\]\.timeoutMs: 0 is not a positive whole number of ms/);
});

test('request_authn_too_many_rules_is_rejected', () => {
  const rule = (authnBody().rules as unknown[])[0];
  assert.match(error(authn(authnBody({ rules: Array.from({ length: 65 }, () => rule) }))), /rules: holds 65 entries, more than 64/);
});
