// Unit tests of the conformance report generator (scripts/conformance-report.ts): the suite's
// profile accounting, reproduced, and the TAP it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, isExtended, parseTap, profilesOf, resultsTable, SUPPORTED_FEATURES, type ReportMeta, type TestResult } from '../scripts/conformance-report.js';
import { CONFORMANCE_TESTS } from './e2e/gamma-cases.js';

const meta: ReportMeta = { date: '2026-12-03T18:00:00Z', gatewayAPIVersion: 'v1.6.1', gatewayAPIChannel: 'standard', implementation: { contact: ['c'], organization: 'o', project: 'p', url: 'u', version: 'abc' } };
const all = (r: TestResult) => new Map(CONFORMANCE_TESTS.map((t) => [t.name, r]));

test('profiles as the suite counts them: 7 core and 7 extended MESH-HTTP tests, 3 core MESH-GRPC tests, 7 tests in neither', () => {
  const http = CONFORMANCE_TESTS.filter((t) => profilesOf(t).includes('MESH-HTTP'));
  assert.deepEqual(http.filter((t) => !isExtended('MESH-HTTP', t)).map((t) => t.name).sort(), ['MeshBasic', 'MeshHTTPRouteMatching', 'MeshHTTPRouteRedirectHostAndStatus', 'MeshHTTPRouteRequestHeaderModifier', 'MeshHTTPRouteSimpleSameNamespace', 'MeshHTTPRouteWeight', 'MeshTrafficSplit']);
  assert.equal(http.filter((t) => isExtended('MESH-HTTP', t)).length, 7);
  assert.deepEqual(CONFORMANCE_TESTS.filter((t) => profilesOf(t).includes('MESH-GRPC')).map((t) => t.name).sort(), ['MeshBasic', 'MeshGRPCRouteRequestHeaderModifier', 'MeshGRPCRouteWeight']);
  assert.deepEqual(CONFORMANCE_TESTS.filter((t) => profilesOf(t).length === 0).map((t) => t.name).sort(), ['MeshConsumerRoute', 'MeshFrontend', 'MeshFrontendHostname', 'MeshHTTPRoute303Redirect', 'MeshHTTPRoute307Redirect', 'MeshHTTPRoute308Redirect', 'MeshPorts']);
});

test('all passing: success everywhere, every extended mesh feature claimed, provisional successes listed', () => {
  const r = buildReport(all('SUCCEEDED'), meta);
  assert.deepEqual(r.profiles.map((p) => [p.name, p.core.result, p.core.statistics.Passed, p.extended?.statistics.Passed]), [
    ['MESH-GRPC', 'success', 3, undefined],
    ['MESH-HTTP', 'success', 7, 7],
  ]);
  assert.equal(r.profiles[1]!.summary, 'Core tests succeeded. Extended tests succeeded.');
  assert.ok(r.profiles[1]!.extended!.supportedFeatures!.includes('MeshClusterIPMatching'));
  assert.ok(r.profiles[1]!.extended!.supportedFeatures!.includes('MeshConsumerRoute'));
  assert.equal(r.profiles[1]!.extended!.unsupportedFeatures, undefined);
  assert.deepEqual(r.succeededProvisionalTests, ['MeshHTTPRoute303Redirect', 'MeshHTTPRoute307Redirect', 'MeshHTTPRoute308Redirect', 'MeshHTTPRouteNamedRule']);
  assert.ok(SUPPORTED_FEATURES.includes('HTTPRouteResponseHeaderModification'));
});

test('a failure and a missing test: failure names the test, a test not run counts as skipped', () => {
  const results = all('SUCCEEDED');
  results.set('MeshHTTPRouteWeight', 'FAILED');
  results.delete('MeshHTTPRouteRewritePath');
  const r = buildReport(results, meta);
  const http = r.profiles.find((p) => p.name === 'MESH-HTTP')!;
  assert.equal(http.core.result, 'failure');
  assert.deepEqual(http.core.failedTests, ['MeshHTTPRouteWeight']);
  assert.equal(http.extended!.result, 'partial');
  assert.deepEqual(http.extended!.skippedTests, ['MeshHTTPRouteRewritePath']);
  assert.equal(http.summary, 'Core tests failed with 1 test failures. Extended tests partially succeeded with 1 test skips.');
  assert.match(resultsTable(results, meta, 'x'), /\| MeshHTTPRouteWeight \| MESH-HTTP core \|  \| Mesh, HTTPRoute \| \*\*failed\*\* \|/);
});

test('parseTap reads top-level results only, with SKIP as skipped', () => {
  const tap = ['TAP version 13', '# Subtest: MeshBasic', '    ok 1 - 0 request', 'ok 1 - MeshBasic', '  ---', 'not ok 2 - MeshFrontend', 'ok 3 - MeshPorts # SKIP test name does not match pattern'].join('\n');
  assert.deepEqual([...parseTap(tap)], [
    ['MeshBasic', 'SUCCEEDED'],
    ['MeshFrontend', 'FAILED'],
    ['MeshPorts', 'SKIPPED'],
  ]);
});
