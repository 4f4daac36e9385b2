// The 23 tests of the Gateway API mesh conformance suite (conformance/tests/mesh/*.go in
// kubernetes-sigs/gateway-api, main at 4564255ac2c3, after v1.6.1) as data: each test's
// features, route manifest and cases, transcribed field for field from its Go file (same
// requests, same expected requests and responses, same backends). The suite's base
// manifests (conformance/mesh/manifests.yaml) translated to our images are BASE_MANIFESTS.
import type { ConformanceCase } from './gamma-compare.js';
import { ROUTE_MANIFESTS } from './gamma-manifests.js';

export const MESH_NS = 'gateway-conformance-mesh';
export const CONSUMER_NS = 'gateway-conformance-mesh-consumer';
/** The suite's source: repository, commit and the last release before it. */
export const SUITE_SOURCE = { repository: 'https://github.com/kubernetes-sigs/gateway-api', commit: '4564255ac2c35d582249b3cdf261bdf51c8bca32', release: 'v1.6.1' };

export interface ConformanceTestSpec {
  name: string;
  description: string;
  /** The test's `Features` (pkg/features names). */
  features: string[];
  provisional: boolean;
  /** The route manifest applied for the test (ROUTE_MANIFESTS), none for MeshBasic. */
  manifest?: string;
  cases: ConformanceCase[];
  /** Weight tests: the expected share of each backend (the case in `cases` is first asserted to succeed). */
  weights?: Record<string, number>;
}

const ns = MESH_NS;

/** MeshHTTPRouteRequestHeaderModifier's cases, also MeshHTTPRouteBackendRequestHeaderModifier's (the suite shares the Test function). */
const requestHeaderModifierCases: ConformanceCase[] = [
  {
    name: '0 request to /set should go to echo-v1',
    request: { path: '/set', headers: { 'Some-Other-Header': 'val' } },
    expectedRequest: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' } },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '1 request to /set (header already set) should go to echo-v1',
    request: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' } },
    expectedRequest: { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'set-overwrites-values' } },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '2 request to /add should go to echo-v1',
    request: { path: '/add', headers: { 'Some-Other-Header': 'val' } },
    expectedRequest: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'add-appends-values' } },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '3 request to /add (header already set) should go to echo-v1',
    request: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value' } },
    expectedRequest: { path: '/add', headers: { 'Some-Other-Header': 'val', 'X-Header-Add': 'some-other-value,add-appends-values' } },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '4 request to /remove should go to echo-v1',
    request: { path: '/remove', headers: { 'X-Header-Remove': 'val' } },
    expectedRequest: { path: '/remove', absentHeaders: ['X-Header-Remove'] },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '5 request to /multiple should go to echo-v1',
    request: { path: '/multiple', headers: { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' } },
    expectedRequest: {
      path: '/multiple',
      headers: {
        'X-Header-Set-1': 'header-set-1',
        'X-Header-Set-2': 'header-set-2',
        'X-Header-Add-1': 'header-add-1',
        'X-Header-Add-2': 'add-val-2,header-add-2',
        'X-Header-Add-3': 'header-add-3',
        'Another-Header': 'another-header-val',
      },
      absentHeaders: ['X-Header-Remove-1', 'X-Header-Remove-2'],
    },
    backend: 'echo-v1',
    namespace: ns,
  },
  {
    name: '6 request to /case-insensitivity should go to echo-v1',
    request: { path: '/case-insensitivity', headers: { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove', 'Another-Header': 'another-header-val' } },
    expectedRequest: {
      path: '/case-insensitivity',
      headers: { 'X-Header-Set': 'header-set', 'X-Header-Add': 'original-val-add,header-add', 'Another-Header': 'another-header-val' },
      absentHeaders: ['x-header-remove', 'X-Header-Remove'],
    },
    backend: 'echo-v1',
    namespace: ns,
  },
];

const routed = (i: number, path: string, backend: string, headers?: Record<string, string>): ConformanceCase => ({
  name: `${i} request to '${path}'${headers ? ' with headers' : ''} should go to ${backend}`,
  request: { path, ...(headers ? { headers } : {}) },
  backend,
  namespace: ns,
});
const notFound = (i: number, path: string, headers?: Record<string, string>): ConformanceCase => ({
  name: `${i} request to '${path}'${headers ? ' with headers' : ''} should receive one of [404]`,
  request: { path, ...(headers ? { headers } : {}) },
  response: { statusCodes: [404] },
});
const redirect = (i: number, path: string, status: number, to: ConformanceCase['redirect']): ConformanceCase => ({
  name: `${i} request to 'echo${path}' should receive one of [${status}]`,
  request: { host: 'echo', path, unfollowRedirect: true },
  response: { statusCodes: [status] },
  redirect: to,
  namespace: ns,
});

export const CONFORMANCE_TESTS: readonly ConformanceTestSpec[] = [
  {
    name: 'MeshBasic',
    description: 'A mesh client can communicate with a mesh server. This tests basic reachability with no configuration applied.',
    features: ['Mesh'],
    provisional: false,
    cases: [{ name: "0 request to 'echo' should receive one of [200]", request: { host: 'echo', method: 'GET' }, response: { statusCodes: [200] } }],
  },
  {
    name: 'MeshFrontend',
    description: 'Mesh rules should only apply to the associated frontend',
    features: ['Mesh', 'HTTPRoute', 'HTTPRouteResponseHeaderModification'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshFrontend'],
    cases: [
      { name: 'Send to service', request: { host: 'echo-v2', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } }, backend: 'echo-v2' },
      // The suite sends to the echo-v2 pod's IP on 8080: `host` is filled in by the harness (POD_IP_OF_ECHO_V2).
      { name: 'Send to pod IP', request: { host: 'POD_IP_OF_ECHO_V2:8080', method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v2' },
    ],
  },
  {
    name: 'MeshFrontendHostname',
    description: 'Mesh parentRef matches Service IP (not Host)',
    features: ['Mesh', 'MeshClusterIPMatching', 'HTTPRoute', 'HTTPRouteResponseHeaderModification'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshFrontend'],
    cases: [
      { name: 'Send to service with wrong hostname', request: { host: 'echo-v2', headers: { Host: 'echo-v1' }, method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } }, backend: 'echo-v2' },
      { name: 'Send to other service with matching hostname', request: { host: 'echo-v1', headers: { Host: 'echo-v2' }, method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v1' },
    ],
  },
  {
    name: 'MeshPorts',
    description: "A mesh route can optionally configure 'port' in parentRef",
    features: ['Mesh', 'HTTPRoute', 'HTTPRouteParentRefPort', 'HTTPRouteResponseHeaderModification'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshPorts'],
    cases: [
      { name: 'Explicit port set, send to that port', request: { host: 'echo-v1', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v1' } }, backend: 'echo-v1' },
      { name: 'Explicit port, send to an excluded port', request: { host: 'echo-v1:8080', method: 'GET' }, response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] }, backend: 'echo-v1' },
      { name: 'No port set', request: { host: 'echo-v2', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v2' } }, backend: 'echo-v2' },
      { name: 'No port set (port 8080)', request: { host: 'echo-v2:8080', method: 'GET' }, response: { statusCodes: [200], headers: { 'X-Header-Set': 'v2' } }, backend: 'echo-v2' },
    ],
  },
  {
    name: 'MeshTrafficSplit',
    description: 'A mesh client can send traffic to a Service which is split between two versions',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshTrafficSplit'],
    cases: [
      { name: "0 request to 'echo/v1' should go to echo-v1", request: { host: 'echo', method: 'GET', path: '/v1' }, response: { statusCodes: [200] }, backend: 'echo-v1' },
      { name: "1 request to 'echo/v2' should go to echo-v2", request: { host: 'echo', method: 'GET', path: '/v2' }, response: { statusCodes: [200] }, backend: 'echo-v2' },
    ],
  },
  {
    name: 'MeshConsumerRoute',
    description: "An HTTPRoute in a namespace other than its parentRef's namespace only affects requests from the route's namespace",
    features: ['Mesh', 'MeshConsumerRoute', 'HTTPRoute', 'HTTPRouteResponseHeaderModification'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshConsumerRoute'],
    cases: [
      {
        name: "request from consumer route's namespace modified by HTTPRoute",
        clientNamespace: CONSUMER_NS,
        request: { host: 'echo-v1.gateway-conformance-mesh', method: 'GET', path: '/' },
        response: { statusCodes: [200], headers: { 'X-Header-Set': 'set' } },
        backend: 'echo-v1',
      },
      {
        name: "request not from consumer route's namespace not modified by HTTPRoute",
        clientNamespace: MESH_NS,
        request: { host: 'echo-v1.gateway-conformance-mesh', method: 'GET', path: '/' },
        response: { statusCodes: [200], absentHeaders: ['X-Header-Set'] },
        backend: 'echo-v1',
      },
    ],
  },
  {
    name: 'MeshHTTPRouteMatching',
    description: 'A single HTTPRoute with path and header matching for different backends',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteMatching'],
    cases: [
      routed(0, '/', 'echo-v1'),
      routed(1, '/example', 'echo-v1'),
      routed(2, '/', 'echo-v1', { Version: 'one' }),
      routed(3, '/v2', 'echo-v2'),
      routed(4, '/v2/example', 'echo-v2'),
      routed(5, '/', 'echo-v2', { Version: 'two' }),
      routed(6, '/v2/', 'echo-v2'),
      // Not a path segment prefix so should not match /v2.
      routed(7, '/v2example', 'echo-v1'),
      routed(8, '/foo/v2/example', 'echo-v1'),
    ],
  },
  {
    name: 'MeshHTTPRouteQueryParamMatching',
    description: 'A single HTTPRoute with query param matching for different backends',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteQueryParamMatching'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteQueryParamMatching'],
    cases: [
      routed(0, '/?animal=whale', 'echo-v1'),
      routed(1, '/?animal=dolphin', 'echo-v2'),
      routed(2, '/?animal=whale&otherparam=irrelevant', 'echo-v1'),
      routed(3, '/?animal=dolphin&color=yellow', 'echo-v2'),
      notFound(4, '/?color=blue'),
      notFound(5, '/?animal=dog'),
      notFound(6, '/?animal=whaledolphin'),
      notFound(7, '/'),
      // Combinations of query param matching with other core matches.
      routed(8, '/path1?animal=whale', 'echo-v1'),
      routed(9, '/?animal=whale', 'echo-v2', { version: 'one' }),
      // Combinations of matches which are OR'd together match even if only one of them is used.
      routed(10, '/path3?animal=shark', 'echo-v1'),
      routed(11, '/path4?animal=kraken', 'echo-v1', { version: 'three' }),
      // Combinations of match types which are ANDed together do not match when only a subset is used.
      notFound(12, '/?animal=shark'),
      notFound(13, '/path4?animal=kraken'),
      // Precedence order defined by the Gateway API spec for requests satisfying several matches.
      routed(14, '/path5?animal=hydra', 'echo-v1'),
    ],
  },
  {
    name: 'MeshHTTPRouteSimpleSameNamespace',
    description: 'A single HTTPRoute in the gateway-conformance-mesh namespace attaches to a Service in the same namespace',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteSimpleSameNamespace'],
    cases: [{ name: 'Simple HTTP request should reach infra-backend', request: { path: '/', host: 'echo' }, response: { statusCodes: [200] }, backend: 'echo-v1', namespace: ns }],
  },
  {
    name: 'MeshHTTPRouteNamedRule',
    description: 'An HTTPRoute with a named HTTPRouteRule',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteNamedRouteRule'],
    provisional: true,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteNamedRule'],
    cases: [
      { name: "0 request to '/named' should go to echo-v1", request: { path: '/named' }, expectedRequest: { path: '/named' }, backend: 'echo-v1', namespace: ns },
      // The suite writes ExpectedRequest.Path "/named" here, which its mesh client never
      // compares; no filter rewrites the path, so "/unnamed" is what arrives, and that is checked.
      { name: "1 request to '/unnamed' should go to echo-v2", request: { path: '/unnamed' }, expectedRequest: { path: '/unnamed' }, backend: 'echo-v2', namespace: ns },
    ],
  },
  {
    name: 'MeshHTTPRouteWeight',
    description: 'An HTTPRoute with weighted backends',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteWeight'],
    cases: [{ name: 'Requests should have a distribution that matches the weight', request: { path: '/', host: 'echo' }, response: { statusCodes: [200] }, namespace: ns }],
    weights: { 'echo-v1': 0.7, 'echo-v2': 0.3 },
  },
  {
    name: 'MeshHTTPRouteRequestHeaderModifier',
    description: 'An HTTPRoute has request header modifier filters applied correctly',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteRequestHeaderModifier'],
    cases: requestHeaderModifierCases,
  },
  {
    name: 'MeshHTTPRouteBackendRequestHeaderModifier',
    description: 'An HTTPRoute backend has request header modifier filters applied correctly',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteBackendRequestHeaderModification'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteBackendRequestHeaderModifier'],
    cases: requestHeaderModifierCases,
  },
  {
    name: 'MeshHTTPRouteRewritePath',
    description: 'An HTTPRoute with path rewrite filter',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteRewritePath'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteRewritePath'],
    cases: [
      { name: "0 request to 'echo/prefix/one/two' should go to echo-v1", request: { path: '/prefix/one/two', host: 'echo' }, expectedRequest: { path: '/one/two' }, backend: 'echo-v1', namespace: ns },
      { name: "1 request to 'echo/strip-prefix/three' should go to echo-v1", request: { path: '/strip-prefix/three', host: 'echo' }, expectedRequest: { path: '/three' }, backend: 'echo-v1', namespace: ns },
      { name: "2 request to 'echo/strip-prefix' should go to echo-v1", request: { path: '/strip-prefix', host: 'echo' }, expectedRequest: { path: '/' }, backend: 'echo-v1', namespace: ns },
      { name: "3 request to 'echo/full/one/two' should go to echo-v1", request: { path: '/full/one/two', host: 'echo' }, expectedRequest: { path: '/one' }, backend: 'echo-v1', namespace: ns },
      {
        name: "4 request to 'echo/full/rewrite-path-and-modify-headers/test' with headers should go to echo-v1",
        request: { host: 'echo', path: '/full/rewrite-path-and-modify-headers/test', headers: { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' } },
        expectedRequest: { path: '/test', headers: { 'X-Header-Add': 'header-val-1', 'X-Header-Add-Append': 'append-val-1,header-val-2', 'X-Header-Set': 'set-overwrites-values' }, absentHeaders: ['X-Header-Remove'] },
        backend: 'echo-v1',
        namespace: ns,
      },
      {
        name: "5 request to 'echo/prefix/rewrite-path-and-modify-headers/one' with headers should go to echo-v1",
        request: { host: 'echo', path: '/prefix/rewrite-path-and-modify-headers/one', headers: { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' } },
        expectedRequest: { path: '/prefix/one', headers: { 'X-Header-Add': 'header-val-1', 'X-Header-Add-Append': 'append-val-1,header-val-2', 'X-Header-Set': 'set-overwrites-values' }, absentHeaders: ['X-Header-Remove'] },
        backend: 'echo-v1',
        namespace: ns,
      },
    ],
  },
  {
    name: 'MeshHTTPRouteRedirectPath',
    description: 'An HTTPRoute with scheme redirect filter',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteRedirectPath'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteRedirectPath'],
    cases: [
      redirect(0, '/original-prefix/lemon', 302, { path: '/replacement-prefix/lemon' }),
      redirect(1, '/full/path/original', 302, { path: '/full-path-replacement' }),
      redirect(2, '/path-and-host', 302, { host: 'example.org', path: '/replacement-prefix' }),
      redirect(3, '/path-and-status', 301, { path: '/replacement-prefix' }),
      redirect(4, '/full-path-and-host', 302, { host: 'example.org', path: '/replacement-full' }),
      redirect(5, '/full-path-and-status', 301, { path: '/replacement-full' }),
    ],
  },
  {
    name: 'MeshHTTPRouteRedirectPort',
    description: 'An HTTPRoute with a port redirect filter',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteRedirectPort'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteRedirectPort'],
    cases: [
      redirect(0, '/port', 302, { port: '8083' }),
      redirect(1, '/port-and-host', 302, { host: 'example.org', port: '8083' }),
      redirect(2, '/port-and-status', 301, { port: '8083' }),
      redirect(3, '/port-and-host-and-status', 302, { port: '8083', host: 'example.org' }),
    ],
  },
  {
    name: 'MeshHTTPRouteRedirectHostAndStatus',
    description: 'An HTTPRoute with hostname and statusCode redirect filters',
    features: ['Mesh', 'HTTPRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteRedirectHostAndStatus'],
    cases: [redirect(0, '/hostname-redirect', 302, { host: 'example.org' }), redirect(1, '/host-and-status', 301, { host: 'example.org' })],
  },
  {
    name: 'MeshHTTPRouteSchemeRedirect',
    description: 'An HTTPRoute with a scheme redirect filter',
    features: ['Mesh', 'HTTPRoute', 'MeshHTTPRouteSchemeRedirect'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshHTTPRouteSchemeRedirect'],
    cases: [
      redirect(0, '/scheme', 302, { scheme: 'https' }),
      redirect(1, '/scheme-and-host', 302, { host: 'example.org', scheme: 'https' }),
      redirect(2, '/scheme-and-status', 301, { scheme: 'https' }),
      redirect(3, '/scheme-and-host-and-status', 302, { scheme: 'https', host: 'example.org' }),
    ],
  },
  ...([303, 307, 308] as const).map(
    (code): ConformanceTestSpec => {
      const path = { 303: '/redirect', 307: '/temporary', 308: '/permanent' }[code];
      return {
        name: `MeshHTTPRoute${code}Redirect`,
        description: `An HTTPRoute with statusCode ${code} redirect filter`,
        features: ['Mesh', 'HTTPRoute', `HTTPRoute${code}RedirectStatusCode`],
        provisional: true,
        manifest: ROUTE_MANIFESTS[`MeshHTTPRoute${code}Redirect`],
        // The suite's request has no host: its client defaults it to "echo".
        cases: [{ ...redirect(0, path, code, { path }), name: `0 request to '${path}' should receive one of [${code}]`, request: { path, unfollowRedirect: true } }],
      };
    },
  ),
  {
    name: 'MeshGRPCRouteWeight',
    description: 'A GRPCRoute with weighted backends in mesh mode',
    features: ['Mesh', 'GRPCRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshGRPCRouteWeight'],
    cases: [{ name: 'Requests should have a distribution that matches the weight', request: { protocol: 'grpc', path: '', host: 'echo:7070' }, response: { statusCodes: [200] }, namespace: ns }],
    weights: { 'echo-v1': 0.7, 'echo-v2': 0.3 },
  },
  {
    name: 'MeshGRPCRouteRequestHeaderModifier',
    description: 'A GRPCRoute with RequestHeaderModifier filter should modify request headers in mesh mode',
    features: ['Mesh', 'GRPCRoute'],
    provisional: false,
    manifest: ROUTE_MANIFESTS['MeshGRPCRouteRequestHeaderModifier'],
    cases: (
      [
        ['Set headers -- overwrites existing header', 'echo-v1', 'echo-v1', 'set', { 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'this-value-should-be-overwritten' }, [], { 'x-test-case': 'set', 'some-other-header': 'this-header-should-be-set', 'x-header-set': 'set-overwrites-values' }],
        ['Add headers -- appends to existing header', 'echo-v1', 'echo-v1', 'add', { 'x-header-add': 'this-value-should-be-appended' }, [], { 'x-test-case': 'add', 'x-header-add': 'this-value-should-be-appended,add-appends-values' }],
        ['Remove headers -- removes headers', 'echo-v1', 'echo-v1', 'remove', { 'x-header-remove': 'this-should-be-removed' }, ['x-header-remove'], { 'x-test-case': 'remove' }],
        [
          'Multiple operations -- set, add, and remove headers',
          'echo-v2',
          'echo-v2',
          'multi',
          { 'x-header-set-2': 'set-header-2', 'x-header-add-2': 'add-header-2', 'x-header-remove-2': 'should-be-removed-2' },
          ['x-header-remove-1', 'x-header-remove-2'],
          { 'x-test-case': 'multi', 'x-header-set-1': 'header-set-1', 'x-header-set-2': 'header-set-2', 'x-header-add-1': 'header-add-1', 'x-header-add-2': 'add-header-2,header-add-2' },
        ],
      ] as Array<[string, 'echo-v1' | 'echo-v2', string, string, Record<string, string>, string[], Record<string, string>]>
    ).map(([name, client, backend, match, headers, absent, expected]) => ({
      name,
      client,
      request: { protocol: 'grpc', host: 'echo:7070', headers: { 'x-test-case': match, ...headers } },
      expectedRequest: { headers: expected, absentHeaders: absent },
      response: { statusCodes: [200] },
      backend,
      namespace: ns,
    })),
  },
];

/** The suite's base manifests (conformance/mesh/manifests.yaml) with our images, enrolled in the mesh, the producer namespace using waypoint `waypoint`. */
export const BASE_MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: ${MESH_NS}
  labels: {gateway-conformance: mesh, ambient.dev/dataplane-mode: ambient, ambient.dev/use-waypoint: waypoint}
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${CONSUMER_NS}
  labels: {gateway-conformance: mesh-consumer, ambient.dev/dataplane-mode: ambient}
---
${echoDeployment(MESH_NS, 'v1')}---
${echoDeployment(MESH_NS, 'v2')}---
${echoService('echo-v1', {app: 'echo', version: 'v1'}, false)}---
${echoService('echo-v2', {app: 'echo', version: 'v2'}, false)}---
${echoService('echo', {app: 'echo'}, true)}---
${echoDeployment(CONSUMER_NS, 'v1')}`;

/** The waypoint of the producer namespace (what `ambientctl waypoint apply -n gateway-conformance-mesh` writes). */
export const WAYPOINT_GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: ${MESH_NS}
spec:
  gatewayClassName: ambient-waypoint
  listeners:
  - {name: mesh, port: 15008, protocol: HBONE}
`;

/**
 * The suite's echo Deployment: one container per served port (ours answers HTTP/1.1, h2c
 * and gRPC on its one PORT), 8080 for HTTP and 7070 for gRPC. The suite's TLS (8443) and
 * TCP (9090) listeners are used by no mesh test and are not run.
 */
function echoDeployment(namespace: string, version: string): string {
  const container = (name: string, port: number) => `      - name: ${name}
        image: ambient-samples/echo
        ports: [{containerPort: ${port}, protocol: TCP}]
        env:
        - {name: PORT, value: "${port}"}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
`;
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-${version}
  namespace: ${namespace}
  labels: {app: echo}
spec:
  selector:
    matchLabels: {app: echo, version: ${version}}
  template:
    metadata:
      labels: {app: echo, version: ${version}}
    spec:
      containers:
${container('echo', 8080)}${container('echo-grpc', 7070)}`;
}

function echoService(name: string, selector: Record<string, string>, h2cGrpc: boolean): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${MESH_NS}
spec:
  selector: {${Object.entries(selector).map(([k, v]) => `${k}: ${v}`).join(', ')}}
  ports:
  - {name: http, port: 80, appProtocol: http, targetPort: 8080}
  - {name: http-alt, port: 8080, appProtocol: http}
  - {name: https, port: 443, targetPort: 8443}
  - {name: tcp, port: 9090}
  - {name: grpc, port: 7070${h2cGrpc ? ', appProtocol: kubernetes.io/h2c' : ''}}
`;
}
