// Filters as the Gateway API specifies them. `Mesh*_case_N_...` tests reproduce, in
// order, the cases of the Gateway API mesh conformance test of that name
// (conformance/tests/mesh/*.go with its manifest): the request sent and the request
// the backend must see, or the redirect the client must get. The suite compares a
// header's values joined with `,`, as `seen` does here. `HTTPRoute*` tests reproduce
// Gateway-bound conformance tests whose filter semantics are the same in a mesh.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HeaderModifier, RouteFilter } from '../../core/config/routes.js';
import {
  applyFilters,
  applyHeaderModifier,
  applyRuleAndBackendFilters,
  hostWithoutPort,
  modifyPath,
  redirectResponse,
  replacePrefix,
  shouldMirror,
  type FilterOutcome,
  type FilterRequest,
  type HeaderMap,
} from './filters.js';

const never = (): number => {
  throw new Error('random must not be drawn');
};

function freq(path: string, headers: Record<string, string> = {}, over: Partial<FilterRequest> = {}): FilterRequest {
  const h: HeaderMap = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
  return { scheme: 'http', authority: 'echo', port: 80, path, headers: h, ...over };
}

/** A header as the conformance suite reads it: values joined with `,`. */
function seen(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
}

function forwarded(o: FilterOutcome): FilterRequest {
  assert.equal(o.kind, 'forward', JSON.stringify(o));
  return (o as Extract<FilterOutcome, { kind: 'forward' }>).request;
}

function redirected(o: FilterOutcome): { status: number; location: string } {
  assert.equal(o.kind, 'redirect', JSON.stringify(o));
  const r = o as Extract<FilterOutcome, { kind: 'redirect' }>;
  return { status: r.status, location: r.location };
}

const rhm = (modifier: HeaderModifier): RouteFilter => ({ type: 'RequestHeaderModifier', modifier });
const redirect = (f: Omit<Extract<RouteFilter, { type: 'RequestRedirect' }>, 'type' | 'statusCode'> & { statusCode?: number }): RouteFilter => ({
  type: 'RequestRedirect',
  statusCode: 302,
  ...f,
});

// ---------------------------------------------------------------- header modifiers

test('set_replaces_an_existing_value', () => {
  assert.deepEqual(applyHeaderModifier({ 'x-a': 'old' }, { set: [{ name: 'X-A', value: 'new' }] }), { 'x-a': 'new' });
});

test('set_replaces_every_repeated_value', () => {
  assert.deepEqual(applyHeaderModifier({ 'x-a': ['1', '2'] }, { set: [{ name: 'x-a', value: 'new' }] }), { 'x-a': 'new' });
});

test('add_appends_comma_joined_without_space', () => {
  assert.deepEqual(applyHeaderModifier({ 'x-a': 'foo' }, { add: [{ name: 'x-a', value: 'bar,baz' }] }), { 'x-a': 'foo,bar,baz' });
});

test('add_to_an_absent_header_creates_it', () => {
  assert.deepEqual(applyHeaderModifier({}, { add: [{ name: 'X-A', value: 'v' }] }), { 'x-a': 'v' });
});

test('add_set_cookie_appends_a_separate_line', () => {
  assert.deepEqual(applyHeaderModifier({ 'set-cookie': 'a=1' }, { add: [{ name: 'Set-Cookie', value: 'b=2' }] }), { 'set-cookie': ['a=1', 'b=2'] });
});

test('remove_deletes_case_insensitively', () => {
  assert.deepEqual(applyHeaderModifier({ 'x-a': '1', 'x-b': '2', 'x-c': '3' }, { remove: ['X-A', 'x-C'] }), { 'x-b': '2' });
});

test('input_names_are_lower_cased_and_merged', () => {
  assert.deepEqual(applyHeaderModifier({ 'X-A': '1', 'x-a': '2' }, {}), { 'x-a': ['1', '2'] });
});

test('modifier_order_is_set_then_add_then_remove', () => {
  // Invalid per the specification (one action per name), defined anyway.
  const out = applyHeaderModifier({ 'x-a': 'orig' }, { set: [{ name: 'x-a', value: 's' }], add: [{ name: 'x-a', value: 'a' }], remove: ['x-b'] });
  assert.deepEqual(out, { 'x-a': 's,a' });
  assert.deepEqual(applyHeaderModifier({}, { set: [{ name: 'x', value: '1' }], remove: ['x'] }), {});
});

test('only_the_first_entry_of_a_name_counts', () => {
  assert.deepEqual(applyHeaderModifier({}, { set: [{ name: 'x', value: '1' }, { name: 'X', value: '2' }] }), { x: '1' });
});

test('pseudo_header_names_are_ignored', () => {
  assert.deepEqual(applyHeaderModifier({ a: '1' }, { set: [{ name: ':path', value: '/evil' }], remove: [':method', ''] }), { a: '1' });
});

test('the_input_object_is_not_changed', () => {
  const input = { 'x-a': 'old' };
  applyHeaderModifier(input, { set: [{ name: 'x-a', value: 'new' }], remove: ['x-a'] });
  assert.deepEqual(input, { 'x-a': 'old' });
});

test('request_header_set_of_host_sets_the_authority', () => {
  const out = forwarded(applyFilters([rhm({ set: [{ name: 'Host', value: 'other' }], remove: ['host'] })], freq('/'), '/', never));
  assert.equal(out.authority, 'other');
  assert.equal(out.headers.host, undefined);
});

// MeshHTTPRouteRequestHeaderModifier (rule filters) and
// MeshHTTPRouteBackendRequestHeaderModifier (the same filters on the backendRef): the
// same cases, manifests httproute-request-header-modifier(-backend).yaml.
const setF = rhm({ set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }] });
const addF = rhm({ add: [{ name: 'X-Header-Add', value: 'add-appends-values' }] });
const removeF = rhm({ remove: ['X-Header-Remove'] });
const multipleF = rhm({
  set: [
    { name: 'X-Header-Set-1', value: 'header-set-1' },
    { name: 'X-Header-Set-2', value: 'header-set-2' },
  ],
  add: [
    { name: 'X-Header-Add-1', value: 'header-add-1' },
    { name: 'X-Header-Add-2', value: 'header-add-2' },
    { name: 'X-Header-Add-3', value: 'header-add-3' },
  ],
  remove: ['X-Header-Remove-1', 'X-Header-Remove-2'],
});
const caseF = rhm({ set: [{ name: 'X-Header-Set', value: 'header-set' }], add: [{ name: 'X-Header-Add', value: 'header-add' }], remove: ['X-Header-Remove'] });

interface HeaderCase {
  name: string;
  filter: RouteFilter;
  send: Record<string, string>;
  expect: Record<string, string>;
  absent?: string[];
}
const headerCases: HeaderCase[] = [
  { name: 'set_adds_header', filter: setF, send: { 'Some-Other-Header': 'val' }, expect: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' } },
  {
    name: 'set_overwrites_header',
    filter: setF,
    send: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' },
    expect: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' },
  },
  { name: 'add_creates_header', filter: addF, send: { 'Some-Other-Header': 'val' }, expect: { 'Some-Other-Header': 'val', 'X-Header-Add': 'add-appends-values' } },
  {
    name: 'add_appends_to_header',
    filter: addF,
    send: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value' },
    expect: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value,add-appends-values' },
  },
  { name: 'remove_removes_header', filter: removeF, send: { 'X-Header-Remove': 'val' }, expect: {}, absent: ['X-Header-Remove'] },
  {
    name: 'multiple_set_add_remove',
    filter: multipleF,
    send: { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' },
    expect: {
      'X-Header-Set-1': 'header-set-1',
      'X-Header-Set-2': 'header-set-2',
      'X-Header-Add-1': 'header-add-1',
      'X-Header-Add-2': 'add-val-2,header-add-2',
      'X-Header-Add-3': 'header-add-3',
      'Another-Header': 'another-header-val',
    },
    absent: ['X-Header-Remove-1', 'X-Header-Remove-2'],
  },
  {
    name: 'case_insensitivity',
    filter: caseF,
    send: { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove', 'Another-Header': 'another-header-val' },
    expect: { 'X-Header-Set': 'header-set', 'X-Header-Add': 'original-val-add,header-add', 'Another-Header': 'another-header-val' },
    absent: ['x-header-remove', 'X-Header-Remove'],
  },
];

function checkHeaders(out: FilterRequest, c: HeaderCase): void {
  for (const [k, v] of Object.entries(c.expect)) assert.equal(seen(out.headers, k), v, k);
  for (const k of c.absent ?? []) assert.equal(seen(out.headers, k), undefined, k);
}

headerCases.forEach((c, i) => {
  test(`MeshHTTPRouteRequestHeaderModifier_case_${i}_${c.name}`, () => {
    checkHeaders(forwarded(applyFilters([c.filter], freq('/x', c.send), '/x', never)), c);
  });
  test(`MeshHTTPRouteBackendRequestHeaderModifier_case_${i}_${c.name}`, () => {
    checkHeaders(forwarded(applyRuleAndBackendFilters([], [c.filter], freq('/x', c.send), '/x', never)), c);
  });
});

// grpcroute-request-header-modifier.yaml (the rule is chosen by x-test-case; the echo
// client sends it and it must arrive).
const grpcCases: HeaderCase[] = [
  {
    name: 'set_overwrites_existing_header',
    filter: rhm({ set: [{ name: 'x-header-set', value: 'set-overwrites-values' }] }),
    send: { 'x-test-case': 'set', 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'this-value-should-be-overwritten' },
    expect: { 'x-test-case': 'set', 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'set-overwrites-values' },
  },
  {
    name: 'add_appends_to_existing_header',
    filter: rhm({ add: [{ name: 'x-header-add', value: 'add-appends-values' }] }),
    send: { 'x-test-case': 'add', 'x-header-add': 'this-value-should-be-appended' },
    expect: { 'x-test-case': 'add', 'x-header-add': 'this-value-should-be-appended,add-appends-values' },
  },
  {
    name: 'remove_removes_headers',
    filter: rhm({ remove: ['x-header-remove'] }),
    send: { 'x-test-case': 'remove', 'x-header-remove': 'this-should-be-removed' },
    expect: { 'x-test-case': 'remove' },
    absent: ['x-header-remove'],
  },
  {
    name: 'multiple_operations',
    filter: rhm({
      set: [
        { name: 'x-header-set-1', value: 'header-set-1' },
        { name: 'x-header-set-2', value: 'header-set-2' },
      ],
      add: [
        { name: 'x-header-add-1', value: 'header-add-1' },
        { name: 'x-header-add-2', value: 'header-add-2' },
      ],
      remove: ['x-header-remove-1', 'x-header-remove-2'],
    }),
    send: { 'x-test-case': 'multi', 'x-header-set-2': 'set-header-2', 'x-header-add-2': 'add-header-2', 'x-header-remove-2': 'should-be-removed-2' },
    expect: { 'x-test-case': 'multi', 'x-header-set-1': 'header-set-1', 'x-header-set-2': 'header-set-2', 'x-header-add-1': 'header-add-1', 'x-header-add-2': 'add-header-2,header-add-2' },
    absent: ['x-header-remove-1', 'x-header-remove-2'],
  },
];
grpcCases.forEach((c, i) => {
  test(`MeshGRPCRouteRequestHeaderModifier_case_${i}_${c.name}`, () => {
    checkHeaders(forwarded(applyFilters([c.filter], freq('/proto.EchoTestService/Echo', c.send, { port: 7070 }), undefined, never)), c);
  });
});

test('response_header_modifier_is_returned_for_the_response_not_applied_to_the_request', () => {
  const mod: HeaderModifier = { set: [{ name: 'X-Header-Set', value: 'set' }] };
  const o = applyFilters([{ type: 'ResponseHeaderModifier', modifier: mod }], freq('/', { 'x-header-set': 'req' }), '/', never);
  assert.equal(o.kind, 'forward');
  if (o.kind !== 'forward') return;
  assert.deepEqual(o.responseModifiers, [mod]);
  assert.equal(seen(o.request.headers, 'x-header-set'), 'req');
  // MeshFrontend / MeshPorts / MeshConsumerRoute read the header on the response.
  assert.equal(seen(applyHeaderModifier({ 'content-type': 'text/plain' }, mod), 'X-Header-Set'), 'set');
});

// ---------------------------------------------------------------- path modifiers

// The specification's ReplacePrefixMatch table (HTTPPathModifier.replacePrefixMatch).
const prefixTable: [string, string, string, string][] = [
  ['/foo/bar', '/foo', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo', '/xyz/', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
  ['/foo', '/foo', '/xyz', '/xyz'],
  ['/foo/', '/foo', '/xyz', '/xyz/'],
  ['/foo/bar', '/foo', '', '/bar'],
  ['/foo/', '/foo', '', '/'],
  ['/foo', '/foo', '', '/'],
  ['/foo/', '/foo', '/', '/'],
  ['/foo', '/foo', '/', '/'],
];
prefixTable.forEach(([path, pfx, repl, want], i) => {
  test(`replace_prefix_match_spec_table_row_${i}_${path}_${pfx}_${repl || 'empty'}`, () => {
    assert.equal(replacePrefix(path, pfx, repl), want);
  });
});

test('replace_prefix_of_a_path_the_prefix_does_not_match_is_undefined', () => {
  assert.equal(replacePrefix('/foobar', '/foo', '/x'), undefined);
});

test('replace_prefix_slash_prepends_the_replacement', () => {
  assert.equal(replacePrefix('/a/b', '/', '/x'), '/x/a/b');
});

test('path_modifiers_keep_the_query', () => {
  assert.equal(modifyPath('/foo/bar?a=1&b=2', { type: 'ReplacePrefixMatch', value: '/xyz' }, '/foo'), '/xyz/bar?a=1&b=2');
  assert.equal(modifyPath('/foo/bar?a=1', { type: 'ReplaceFullPath', value: '/full' }, undefined), '/full?a=1');
});

test('replace_prefix_match_without_a_prefix_match_is_an_error', () => {
  assert.equal(modifyPath('/foo', { type: 'ReplacePrefixMatch', value: '/x' }, undefined), undefined);
  const o = applyFilters([{ type: 'URLRewrite', path: { type: 'ReplacePrefixMatch', value: '/x' } }], freq('/foo'), undefined, never);
  assert.equal(o.kind, 'error');
});

test('url_rewrite_hostname_replaces_the_authority', () => {
  const out = forwarded(applyFilters([{ type: 'URLRewrite', hostname: 'rewritten.example.org' }], freq('/p?q=1'), '/', never));
  assert.equal(out.authority, 'rewritten.example.org');
  assert.equal(out.path, '/p?q=1');
});

// httproute-rewrite-path.yaml (mesh and Gateway-bound suites: the same cases).
const rw = (type: 'ReplacePrefixMatch' | 'ReplaceFullPath', value: string): RouteFilter => ({ type: 'URLRewrite', path: { type, value } });
const rewriteHeaders = rhm({
  set: [{ name: 'X-Header-Set', value: 'set-overwrites-values' }],
  add: [
    { name: 'X-Header-Add', value: 'header-val-1' },
    { name: 'X-Header-Add-Append', value: 'header-val-2' },
  ],
  remove: ['X-Header-Remove'],
});
const rewriteCases: [string, string, RouteFilter[], string][] = [
  ['/prefix/one/two', '/prefix/one', [rw('ReplacePrefixMatch', '/one')], '/one/two'],
  ['/strip-prefix/three', '/strip-prefix', [rw('ReplacePrefixMatch', '/')], '/three'],
  ['/strip-prefix', '/strip-prefix', [rw('ReplacePrefixMatch', '/')], '/'],
  ['/full/one/two', '/full/one', [rw('ReplaceFullPath', '/one')], '/one'],
  ['/full/rewrite-path-and-modify-headers/test', '/full/rewrite-path-and-modify-headers', [rw('ReplaceFullPath', '/test'), rewriteHeaders], '/test'],
  ['/prefix/rewrite-path-and-modify-headers/one', '/prefix/rewrite-path-and-modify-headers', [rw('ReplacePrefixMatch', '/prefix'), rewriteHeaders], '/prefix/one'],
];
rewriteCases.forEach(([path, pfx, filters, want], i) => {
  test(`MeshHTTPRouteRewritePath_case_${i}_${path}_becomes_${want}`, () => {
    const send = { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' };
    const out = forwarded(applyFilters(filters, freq(path, filters.length > 1 ? send : {}), pfx, never));
    assert.equal(out.path, want);
    if (filters.length > 1) {
      assert.equal(seen(out.headers, 'X-Header-Add'), 'header-val-1');
      assert.equal(seen(out.headers, 'X-Header-Add-Append'), 'append-val-1,header-val-2');
      assert.equal(seen(out.headers, 'X-Header-Set'), 'set-overwrites-values');
      assert.equal(seen(out.headers, 'X-Header-Remove'), undefined);
    }
  });
});

// ---------------------------------------------------------------- redirects

function loc(filter: RouteFilter, path: string, pfx: string | undefined = '/', over: Partial<FilterRequest> = {}): { status: number; location: string } {
  return redirected(applyFilters([filter], freq(path, {}, over), pfx, never));
}

// httproute-redirect-path.yaml (mesh and Gateway-bound suites: the same cases).
const redirectPathCases: [string, string, RouteFilter, number, string][] = [
  ['/original-prefix/lemon', '/original-prefix', redirect({ path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix' } }), 302, 'http://echo/replacement-prefix/lemon'],
  ['/full/path/original', '/full', redirect({ path: { type: 'ReplaceFullPath', value: '/full-path-replacement' } }), 302, 'http://echo/full-path-replacement'],
  ['/path-and-host', '/path-and-host', redirect({ hostname: 'example.org', path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix' } }), 302, 'http://example.org/replacement-prefix'],
  ['/path-and-status', '/path-and-status', redirect({ path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix' }, statusCode: 301 }), 301, 'http://echo/replacement-prefix'],
  ['/full-path-and-host', '/full-path-and-host', redirect({ hostname: 'example.org', path: { type: 'ReplaceFullPath', value: '/replacement-full' } }), 302, 'http://example.org/replacement-full'],
  ['/full-path-and-status', '/full-path-and-status', redirect({ path: { type: 'ReplaceFullPath', value: '/replacement-full' }, statusCode: 301 }), 301, 'http://echo/replacement-full'],
];
redirectPathCases.forEach(([path, pfx, f, status, location], i) => {
  test(`MeshHTTPRouteRedirectPath_case_${i}_${path}`, () => {
    assert.deepEqual(loc(f, path, pfx), { status, location });
  });
});

// httproute-redirect-port.yaml: the client addressed echo:80.
const redirectPortCases: [string, RouteFilter, number, string][] = [
  ['/port', redirect({ port: 8083 }), 302, 'http://echo:8083/port'],
  ['/port-and-host', redirect({ hostname: 'example.org', port: 8083 }), 302, 'http://example.org:8083/port-and-host'],
  ['/port-and-status', redirect({ port: 8083, statusCode: 301 }), 301, 'http://echo:8083/port-and-status'],
  ['/port-and-host-and-status', redirect({ port: 8083, hostname: 'example.org', statusCode: 302 }), 302, 'http://example.org:8083/port-and-host-and-status'],
];
redirectPortCases.forEach(([path, f, status, location], i) => {
  test(`MeshHTTPRouteRedirectPort_case_${i}_${path}`, () => {
    assert.deepEqual(loc(f, path), { status, location });
  });
});

// httproute-redirect-scheme.yaml: https without a port means 443, left out.
const redirectSchemeCases: [string, RouteFilter, number, string][] = [
  ['/scheme', redirect({ scheme: 'https' }), 302, 'https://echo/scheme'],
  ['/scheme-and-host', redirect({ hostname: 'example.org', scheme: 'https' }), 302, 'https://example.org/scheme-and-host'],
  ['/scheme-and-status', redirect({ scheme: 'https', statusCode: 301 }), 301, 'https://echo/scheme-and-status'],
  ['/scheme-and-host-and-status', redirect({ scheme: 'https', statusCode: 302, hostname: 'example.org' }), 302, 'https://example.org/scheme-and-host-and-status'],
];
redirectSchemeCases.forEach(([path, f, status, location], i) => {
  test(`MeshHTTPRouteSchemeRedirect_case_${i}_${path}`, () => {
    assert.deepEqual(loc(f, path), { status, location });
  });
});

test('MeshHTTPRouteRedirectHostAndStatus_case_0_hostname_redirect_302', () => {
  assert.deepEqual(loc(redirect({ hostname: 'example.org' }), '/hostname-redirect'), { status: 302, location: 'http://example.org/hostname-redirect' });
});

test('MeshHTTPRouteRedirectHostAndStatus_case_1_host_and_status_301', () => {
  assert.deepEqual(loc(redirect({ statusCode: 301, hostname: 'example.org' }), '/host-and-status'), { status: 301, location: 'http://example.org/host-and-status' });
});

test('MeshHTTPRoute303Redirect_case_0_keeps_the_path', () => {
  assert.deepEqual(loc(redirect({ statusCode: 303 }), '/redirect'), { status: 303, location: 'http://echo/redirect' });
});

test('MeshHTTPRoute307Redirect_case_0_keeps_the_path', () => {
  assert.deepEqual(loc(redirect({ statusCode: 307 }), '/temporary'), { status: 307, location: 'http://echo/temporary' });
});

test('MeshHTTPRoute308Redirect_case_0_keeps_the_path', () => {
  assert.deepEqual(loc(redirect({ statusCode: 308 }), '/permanent'), { status: 308, location: 'http://echo/permanent' });
});

// httproute-redirect-port-and-scheme.yaml: listeners (for a mesh, Service ports) 80, 8080
// and 443 (https requests).
const portScheme: [string, number, 'http' | 'https', RouteFilter, string][] = [
  ['80_scheme_nil_port_nil', 80, 'http', redirect({ hostname: 'example.org' }), 'http://example.org/p'],
  ['80_scheme_nil_port_80', 80, 'http', redirect({ port: 80, hostname: 'example.org' }), 'http://example.org/p'],
  ['80_scheme_nil_port_8080', 80, 'http', redirect({ port: 8080, hostname: 'example.org' }), 'http://example.org:8080/p'],
  ['80_scheme_https_port_nil', 80, 'http', redirect({ scheme: 'https', hostname: 'example.org' }), 'https://example.org/p'],
  ['80_scheme_https_port_443', 80, 'http', redirect({ scheme: 'https', port: 443, hostname: 'example.org' }), 'https://example.org/p'],
  ['80_scheme_https_port_8443', 80, 'http', redirect({ scheme: 'https', port: 8443, hostname: 'example.org' }), 'https://example.org:8443/p'],
  ['8080_scheme_nil_port_nil', 8080, 'http', redirect({ hostname: 'example.org' }), 'http://example.org:8080/p'],
  ['8080_scheme_nil_port_80', 8080, 'http', redirect({ port: 80, hostname: 'example.org' }), 'http://example.org/p'],
  ['8080_scheme_https_port_nil', 8080, 'http', redirect({ scheme: 'https', hostname: 'example.org' }), 'https://example.org/p'],
  ['443_scheme_nil_port_nil', 443, 'https', redirect({ hostname: 'example.org' }), 'https://example.org/p'],
  ['443_scheme_nil_port_443', 443, 'https', redirect({ port: 443, hostname: 'example.org' }), 'https://example.org/p'],
  ['443_scheme_nil_port_8443', 443, 'https', redirect({ port: 8443, hostname: 'example.org' }), 'https://example.org:8443/p'],
  ['443_scheme_http_port_nil', 443, 'https', redirect({ scheme: 'http', hostname: 'example.org' }), 'http://example.org/p'],
  ['443_scheme_http_port_80', 443, 'https', redirect({ scheme: 'http', port: 80, hostname: 'example.org' }), 'http://example.org/p'],
  ['443_scheme_http_port_8080', 443, 'https', redirect({ scheme: 'http', port: 8080, hostname: 'example.org' }), 'http://example.org:8080/p'],
];
portScheme.forEach(([name, port, scheme, f, location]) => {
  test(`HTTPRouteRedirectPortAndScheme_listener_${name}`, () => {
    assert.equal(loc(f, '/p', '/', { port, scheme }).location, location);
  });
});

test('redirect_keeps_the_query', () => {
  assert.equal(loc(redirect({ hostname: 'example.org' }), '/a?x=1&y=2').location, 'http://example.org/a?x=1&y=2');
  assert.equal(loc(redirect({ path: { type: 'ReplacePrefixMatch', value: '/b' } }), '/a/c?x=1', '/a').location, 'http://echo/b/c?x=1');
});

test('redirect_never_carries_the_request_host_port', () => {
  // The authority has no port; the port comes from the Service port the client used.
  assert.equal(loc(redirect({}), '/p', '/', { port: 8080 }).location, 'http://echo:8080/p');
});

test('redirect_to_an_ipv6_host_brackets_it', () => {
  assert.equal(loc(redirect({ port: 8083 }), '/p', '/', { authority: 'fd00::1' }).location, 'http://[fd00::1]:8083/p');
});

test('redirect_with_an_unknown_status_is_an_error', () => {
  assert.equal(redirectResponse({ type: 'RequestRedirect', statusCode: 200 }, freq('/'), '/'), undefined);
  assert.equal(applyFilters([redirect({ statusCode: 304 })], freq('/'), '/', never).kind, 'error');
});

test('redirect_ends_the_filter_list', () => {
  const o = applyFilters([redirect({}), { type: 'RequestMirror', mirror: { service: 'ns/m', port: 80, percent: 100 } }], freq('/'), '/', never);
  assert.equal(o.kind, 'redirect');
});

test('rule_redirect_skips_the_backend_filters', () => {
  const o = applyRuleAndBackendFilters([redirect({})], [rhm({ set: [{ name: 'x', value: '1' }] })], freq('/'), '/', never);
  assert.equal(o.kind, 'redirect');
});

test('backend_redirect_applies_after_the_rule_filters', () => {
  const o = applyRuleAndBackendFilters([{ type: 'URLRewrite', hostname: 'rewritten' }], [redirect({})], freq('/p'), '/', never);
  assert.deepEqual(redirected(o), { status: 302, location: 'http://rewritten/p' });
});

// ---------------------------------------------------------------- order and mirrors

test('rule_filters_run_before_backend_filters', () => {
  const o = applyRuleAndBackendFilters([rhm({ set: [{ name: 'x', value: 'rule' }] })], [rhm({ add: [{ name: 'x', value: 'backend' }] })], freq('/'), '/', never);
  assert.equal(seen(forwarded(o).headers, 'x'), 'rule,backend');
});

test('filters_of_one_list_run_in_order', () => {
  const o = applyFilters([rhm({ set: [{ name: 'x', value: '1' }] }), rhm({ add: [{ name: 'x', value: '2' }] }), rhm({ set: [{ name: 'y', value: '3' }] })], freq('/'), '/', never);
  assert.deepEqual(forwarded(o).headers, { x: '1,2', y: '3' });
});

test('response_modifiers_are_listed_backend_first_then_rule', () => {
  const ruleMod: HeaderModifier = { set: [{ name: 'x', value: 'rule' }] };
  const backendMod: HeaderModifier = { set: [{ name: 'x', value: 'backend' }] };
  const o = applyRuleAndBackendFilters([{ type: 'ResponseHeaderModifier', modifier: ruleMod }], [{ type: 'ResponseHeaderModifier', modifier: backendMod }], freq('/'), '/', never);
  assert.equal(o.kind, 'forward');
  if (o.kind !== 'forward') return;
  assert.deepEqual(o.responseModifiers, [backendMod, ruleMod]);
  const response = o.responseModifiers.reduce<HeaderMap>((h, m) => applyHeaderModifier(h, m), {});
  assert.equal(response.x, 'rule');
});

test('unknown_filter_type_fails_the_request', () => {
  const o = applyFilters([{ type: 'ExtensionRef' } as never], freq('/'), '/', never);
  assert.equal(o.kind, 'error');
});

test('mirror_at_100_percent_always_at_0_never', () => {
  assert.equal(shouldMirror(100, never), true);
  assert.equal(shouldMirror(0, never), false);
  assert.equal(shouldMirror(-3, never), false);
  assert.equal(shouldMirror(NaN, never), false);
});

test('mirror_percent_compares_the_random_draw', () => {
  assert.equal(shouldMirror(25, () => 0.2499), true);
  assert.equal(shouldMirror(25, () => 0.25), false);
  assert.equal(shouldMirror(0.5, () => 0.004), true);
  assert.equal(shouldMirror(0.5, () => 0.006), false);
});

test('mirror_targets_are_collected_and_unresolved_ones_dropped', () => {
  const ok = { service: 'ns/mirror', port: 80, percent: 100 };
  const bad = { port: 80, percent: 100, unresolved: 'BackendNotFound' };
  const half = { service: 'ns/half', port: 80, percent: 50 };
  const o = applyFilters(
    [
      { type: 'RequestMirror', mirror: ok },
      { type: 'RequestMirror', mirror: bad },
      { type: 'RequestMirror', mirror: half },
    ],
    freq('/'),
    '/',
    () => 0.9,
  );
  assert.equal(o.kind, 'forward');
  if (o.kind === 'forward') assert.deepEqual(o.mirrors, [ok]);
});

test('mirrors_of_rule_and_backend_accumulate', () => {
  const a = { service: 'ns/a', port: 80, percent: 100 };
  const b = { service: 'ns/b', port: 80, percent: 100 };
  const o = applyRuleAndBackendFilters([{ type: 'RequestMirror', mirror: a }], [{ type: 'RequestMirror', mirror: b }], freq('/'), '/', never);
  assert.equal(o.kind, 'forward');
  if (o.kind === 'forward') assert.deepEqual(o.mirrors, [a, b]);
});

test('no_filters_forward_the_request_unchanged', () => {
  const r = freq('/a?b=c', { x: '1' });
  const o = applyFilters([], r, '/', never);
  assert.deepEqual(forwarded(o), r);
});

test('host_without_port_handles_names_ipv4_and_ipv6', () => {
  assert.equal(hostWithoutPort('echo:8080'), 'echo');
  assert.equal(hostWithoutPort('echo'), 'echo');
  assert.equal(hostWithoutPort('10.0.0.1:80'), '10.0.0.1');
  assert.equal(hostWithoutPort('[fd00::1]:80'), 'fd00::1');
  assert.equal(hostWithoutPort('[fd00::1]'), 'fd00::1');
  assert.equal(hostWithoutPort('fd00::1'), 'fd00::1');
});

test('redirect_drops_the_port_of_the_request_authority', () => {
  assert.equal(loc(redirect({}), '/p', '/', { authority: 'echo:80' }).location, 'http://echo/p');
  assert.equal(loc(redirect({ port: 8083 }), '/p', '/', { authority: '[fd00::1]:80' }).location, 'http://[fd00::1]:8083/p');
});

test('framing_headers_cannot_be_modified', () => {
  const input = { 'content-length': '5', 'transfer-encoding': 'chunked', connection: 'keep-alive' };
  const out = applyHeaderModifier(input, {
    set: [{ name: 'Content-Length', value: '0' }],
    add: [{ name: 'Transfer-Encoding', value: 'gzip' }],
    remove: ['connection', 'Upgrade'],
  });
  assert.deepEqual(out, input);
});

test('header_values_with_line_breaks_are_dropped', () => {
  const out = applyHeaderModifier({}, { set: [{ name: 'x', value: 'a\r\nx-evil: 1' }], add: [{ name: 'y', value: 'b\n' }, { name: 'z', value: 'ok' }] });
  assert.deepEqual(out, { z: 'ok' });
});

test('header_names_that_are_not_tokens_are_ignored', () => {
  assert.deepEqual(applyHeaderModifier({}, { set: [{ name: 'bad name', value: '1' }, { name: 'x:y', value: '2' }, { name: 'ok-name', value: '3' }] }), { 'ok-name': '3' });
});

test('header_values_node_cannot_send_are_dropped', () => {
  // A control character or a code point above 0xff makes node:http throw when the header is
  // written: a route author could crash the waypoint with one (the controller refuses such
  // values too; this is the waypoint's own guard).
  const out = applyHeaderModifier({}, { set: [{ name: 'x', value: 'a\u0007' }, { name: 'y', value: 'del\u007f' }, { name: 'w', value: 'snow\u2603' }], add: [{ name: 'z', value: 'tab\tok' }] });
  assert.deepEqual(out, { z: 'tab\tok' });
});
