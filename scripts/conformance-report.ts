// Writes the Gateway API conformance report of the mesh (docs/conformance/) from a run of
// test/e2e/gamma-conformance.test.ts: never typed by hand, always the last run's results.
//
//   node dist/scripts/conformance-report.js                 runs the e2e file (needs root),
//                                                           then writes the report
//   node dist/scripts/conformance-report.js --from RUN.tap  reads a saved run instead, e.g.
//       CI=true node scripts/run-tests.js gamma-conformance | tee RUN.tap
//   options: --out DIR (default docs/conformance), --version V (default: git commit),
//            --url U, --contact C, --organization O, --project P
//
// The report follows the suite's own ConformanceReport (conformance/apis/v1) and its
// accounting (conformance/utils/suite/reports.go and profiles.go): a test counts in a
// profile when all its features are the profile's core or extended features, and is
// extended when any of them is not core. Tests whose features lie outside both mesh
// profiles (response header modification, parentRef port, 303/307/308) count in neither,
// as in the suite; the per-test table (results.md) lists all 23.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { CONFORMANCE_TESTS, SUITE_SOURCE, type ConformanceTestSpec } from '../test/e2e/gamma-cases.js';

export type TestResult = 'SUCCEEDED' | 'FAILED' | 'SKIPPED';

/** The suite's mesh profiles (conformance/utils/suite/profiles.go) and the extended mesh features (pkg/features/mesh.go). */
export const MESH_EXTENDED_FEATURES = [
  'MeshClusterIPMatching',
  'MeshConsumerRoute',
  'MeshHTTPRouteBackendRequestHeaderModification',
  'MeshHTTPRouteNamedRouteRule',
  'MeshHTTPRouteQueryParamMatching',
  'MeshHTTPRouteRedirectPath',
  'MeshHTTPRouteRedirectPort',
  'MeshHTTPRouteRewritePath',
  'MeshHTTPRouteSchemeRedirect',
] as const;
export const PROFILES = [
  { name: 'MESH-GRPC', core: ['Mesh', 'GRPCRoute'], extended: [...MESH_EXTENDED_FEATURES] },
  { name: 'MESH-HTTP', core: ['Mesh', 'HTTPRoute'], extended: [...MESH_EXTENDED_FEATURES] },
] as const;

/** Every feature the mesh claims: all that the 23 tests need, so none is skipped as unsupported. */
export const SUPPORTED_FEATURES: readonly string[] = [...new Set(CONFORMANCE_TESTS.flatMap((t) => t.features))].sort();

/** Results of the top-level tests in node:test TAP output, by name (a later line for the same name wins). */
export function parseTap(tap: string): Map<string, TestResult> {
  const out = new Map<string, TestResult>();
  for (const line of tap.split('\n')) {
    const m = /^(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$/.exec(line);
    if (!m) continue;
    out.set(m[2]!.replace(/\\#/g, '#'), m[3] ? 'SKIPPED' : m[1] === 'ok' ? 'SUCCEEDED' : 'FAILED');
  }
  return out;
}

interface Status {
  result: 'success' | 'partial' | 'failure';
  statistics: { Failed: number; Passed: number; Skipped: number };
  skippedTests?: string[];
  failedTests?: string[];
}
interface ProfileReport {
  name: string;
  summary: string;
  core: Status;
  extended?: Status & { supportedFeatures?: string[]; unsupportedFeatures?: string[] };
}
export interface ConformanceReport {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'ConformanceReport';
  date: string;
  gatewayAPIChannel: string;
  gatewayAPIVersion: string;
  implementation: { contact: string[]; organization: string; project: string; url: string; version: string };
  mode: string;
  profiles: ProfileReport[];
  succeededProvisionalTests?: string[];
}

export interface ReportMeta {
  date: string;
  implementation: ConformanceReport['implementation'];
  gatewayAPIVersion: string;
  gatewayAPIChannel: string;
}

const emptyStatus = (): Status => ({ result: 'success', statistics: { Failed: 0, Passed: 0, Skipped: 0 } });

function tally(s: Status, name: string, result: TestResult): void {
  if (result === 'SUCCEEDED') s.statistics.Passed++;
  else if (result === 'FAILED') {
    s.statistics.Failed++;
    (s.failedTests ??= []).push(name);
  } else {
    s.statistics.Skipped++;
    (s.skippedTests ??= []).push(name);
  }
}

function settle(s: Status): string {
  s.result = s.statistics.Failed > 0 ? 'failure' : s.statistics.Skipped > 0 ? 'partial' : 'success';
  return s.result === 'success' ? 'succeeded' : s.result === 'partial' ? `partially succeeded with ${s.statistics.Skipped} test skips` : `failed with ${s.statistics.Failed} test failures`;
}

/** The profiles a test counts in (getConformanceProfilesForTest). */
export function profilesOf(test: Pick<ConformanceTestSpec, 'features'>): string[] {
  return PROFILES.filter((p) => test.features.every((f) => (p.core as readonly string[]).includes(f) || (p.extended as readonly string[]).includes(f))).map((p) => p.name);
}

/** Whether a test is extended in a profile (isTestExtended). */
export function isExtended(profile: string, test: Pick<ConformanceTestSpec, 'features'>): boolean {
  const p = PROFILES.find((x) => x.name === profile)!;
  return test.features.some((f) => !(p.core as readonly string[]).includes(f));
}

/** The suite's report for these results; a test missing from `results` counts as skipped. */
export function buildReport(results: ReadonlyMap<string, TestResult>, meta: ReportMeta, tests: readonly ConformanceTestSpec[] = CONFORMANCE_TESTS): ConformanceReport {
  const reports = new Map<string, ProfileReport>();
  const provisional: string[] = [];
  for (const t of [...tests].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const result = results.get(t.name) ?? 'SKIPPED';
    if (result === 'SUCCEEDED' && t.provisional) provisional.push(t.name);
    for (const profile of profilesOf(t)) {
      const r = reports.get(profile) ?? { name: profile, summary: '', core: emptyStatus() };
      reports.set(profile, r);
      if (isExtended(profile, t)) tally((r.extended ??= emptyStatus()), t.name, result);
      else tally(r.core, t.name, result);
    }
  }
  const profiles = [...reports.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const r of profiles) {
    let summary = `Core tests ${settle(r.core)}`;
    if (r.extended) {
      summary += `. Extended tests ${settle(r.extended)}`;
      const ext = PROFILES.find((p) => p.name === r.name)!.extended as readonly string[];
      const supported = ext.filter((f) => SUPPORTED_FEATURES.includes(f));
      const unsupported = ext.filter((f) => !SUPPORTED_FEATURES.includes(f));
      if (supported.length) r.extended.supportedFeatures = supported;
      if (unsupported.length) r.extended.unsupportedFeatures = unsupported;
    }
    r.summary = `${summary}.`;
  }
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'ConformanceReport',
    date: meta.date,
    gatewayAPIChannel: meta.gatewayAPIChannel,
    gatewayAPIVersion: meta.gatewayAPIVersion,
    implementation: meta.implementation,
    mode: 'default',
    profiles,
    ...(provisional.length ? { succeededProvisionalTests: provisional } : {}),
  };
}

/** The markdown table of every test: profile, level, provisional, result. */
export function resultsTable(results: ReadonlyMap<string, TestResult>, meta: ReportMeta, source: string, tests: readonly ConformanceTestSpec[] = CONFORMANCE_TESTS): string {
  const rows = tests.map((t) => {
    const profiles = profilesOf(t);
    const where = profiles.length ? profiles.map((p) => `${p} ${isExtended(p, t) ? 'extended' : 'core'}`).join(', ') : 'none (features outside the mesh profiles)';
    const result = results.get(t.name) ?? 'SKIPPED';
    return `| ${t.name} | ${where} | ${t.provisional ? 'yes' : ''} | ${t.features.join(', ')} | ${result === 'SUCCEEDED' ? 'passed' : result === 'FAILED' ? '**failed**' : 'not run'} |`;
  });
  const passed = tests.filter((t) => results.get(t.name) === 'SUCCEEDED').length;
  return `# Mesh conformance: results of the last run

Generated by \`scripts/conformance-report.ts\` from ${source} on ${meta.date}
(implementation version ${meta.implementation.version}); do not edit by hand. ${passed} of
${tests.length} tests passed.

| Test | Profile (level) | Provisional | Features | Result |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function main(argv: string[]): void {
  const opt = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const out = opt('out') ?? join(repo, 'docs/conformance');
  let from = opt('from');
  let date: string;
  if (!from) {
    from = join(out, 'last-run.tap');
    mkdirSync(out, { recursive: true });
    // The whole suite, bounded: generous per-file budget (GAMMA_BUDGET_MS) and test timeout, one cluster.
    const r = spawnSync(process.execPath, ['--test', '--test-timeout=2400000', '--test-reporter=tap', `--test-reporter-destination=${from}`, join(repo, 'dist/test/e2e/gamma-conformance.test.js')], {
      stdio: 'inherit',
      env: { ...process.env, CI: 'true', GAMMA_BUDGET_MS: process.env['GAMMA_BUDGET_MS'] ?? '2100000' },
      timeout: 2_700_000,
    });
    process.stderr.write(`conformance-report: the e2e run exited ${r.status ?? r.signal}\n`);
    date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  } else {
    date = statSync(from).mtime.toISOString().replace(/\.\d+Z$/, 'Z');
  }
  const results = parseTap(readFileSync(from, 'utf8'));
  const commit = git(['-C', repo, 'rev-parse', '--short=12', 'HEAD']);
  const dirty = git(['-C', repo, 'status', '--porcelain']) !== '';
  const meta: ReportMeta = {
    date,
    gatewayAPIVersion: SUITE_SOURCE.release,
    gatewayAPIChannel: 'standard',
    implementation: {
      contact: [opt('contact') ?? 'ambient-mesh maintainers'],
      organization: opt('organization') ?? 'ambient-mesh',
      project: opt('project') ?? 'ambient-mesh',
      url: opt('url') ?? 'unpublished (pass --url)',
      version: opt('version') ?? (commit ? `${commit}${dirty ? '-dirty' : ''}` : 'unknown'),
    },
  };
  const report = buildReport(results, meta);
  const name = `${meta.gatewayAPIChannel}-${meta.implementation.version}-default-report.yaml`;
  mkdirSync(out, { recursive: true });
  const shown = relative(repo, from);
  const header = `# Generated by scripts/conformance-report.ts from the e2e run ${shown} (${date});\n# the suite is conformance/tests/mesh of ${SUITE_SOURCE.repository} at ${SUITE_SOURCE.commit}.\n`;
  writeFileSync(join(out, name), header + stringify(report));
  writeFileSync(join(out, 'results.md'), resultsTable(results, meta, `\`${shown}\``));
  process.stdout.write(`${join(out, name)}\n${join(out, 'results.md')}\n`);
  for (const p of report.profiles) process.stdout.write(`${p.name}: ${p.summary}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
