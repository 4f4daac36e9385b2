// Namespaced tier: the Gateway API mesh conformance suite (GAMMA, the 23 tests of
// conformance/tests/mesh) reproduced on the 2-node local cluster. One cluster for the file:
// the suite's base manifests with our echo (gamma-cases.ts), both namespaces enrolled, the
// producer namespace using the waypoint `waypoint`. Then one test per conformance test,
// named exactly after it: its route manifest applied verbatim, every case requested from
// an echo pod as the suite's client does (curl for HTTP, test/support/grpc-call.js for
// gRPC, run in the pod's network namespace with `ip netns exec`, as `ambientctl exec`
// does, without paying for an ambientctl start per request), compared by
// gamma-compare.ts with the suite's eventual consistency (3 answers in a row within 30 s),
// and the route deleted whatever happens.
//
// Knobs: GAMMA_NO_WAYPOINT=1 leaves the Gateway out (the L4 mesh alone);
// GAMMA_BUDGET_MS bounds the whole file (default below, inside run-tests.js's 10 minutes);
// AMBIENT_E2E_KEEP=1 keeps the cluster. scripts/conformance-report.ts turns the results
// into docs/conformance/'s report.
import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '../support/netns.js';
import { e2eCluster, ok, type PodRow, sleep, until } from '../support/e2e.js';
import { podNetnsName } from '../../local-cluster/network/topology.js';
import { BASE_MANIFESTS, CONFORMANCE_TESTS, CONSUMER_NS, MESH_NS, WAYPOINT_GATEWAY, type ConformanceTestSpec } from './gamma-cases.js';
import { compareCase, distributionErrors, echoAnswer, parseCurlOutput, requestPath, WEIGHT_MAX_RUNS, WEIGHT_SAMPLE_REQUESTS, type ConformanceCase, type Observation } from './gamma-compare.js';

/** The suite's MaxTimeToConsistency, RequiredConsecutiveSuccesses and (near) DefaultPollInterval. */
const CASE_BOUND_MS = 30_000;
const REQUIRED_SUCCESSES = 3;
const POLL_MS = 200;
/** Cases of one test run at once (the suite runs them in parallel). */
const CASE_CONCURRENCY = 4;
/** One request (curl --max-time, the gRPC client's timeout), and one exec around it. */
const REQUEST_TIMEOUT_S = 5;
const EXEC_TIMEOUT_MS = 20_000;
const BATCH_EXEC_TIMEOUT_MS = 180_000;
/** How long the waypoint Gateway may take to be Programmed before the tests run anyway. */
const WAYPOINT_WAIT_MS = 120_000;
/** The whole file, from its start; a test that would begin later fails at once, saying so. */
const FILE_BUDGET_MS = Number(process.env['GAMMA_BUDGET_MS'] ?? 540_000);
const FILE_START = Date.now();

const GRPC_CALL = fileURLToPath(new URL('../support/grpc-call.js', import.meta.url));
const cluster = e2eCluster('gamma');
const { home, ctl } = cluster;
const WITH_WAYPOINT = process.env['GAMMA_NO_WAYPOINT'] !== '1';

// The cluster outlives each test: upWithMesh registers its teardown on this context, run once after the file.
const teardown: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const f of teardown.reverse()) await f();
});
const fileContext = { after: (fn: () => void | Promise<void>) => void teardown.push(fn) } as unknown as TestContext;

interface Env {
  /** `${namespace}/${app version}` -> the suite's client pod there. */
  clients: Record<string, PodRow>;
  echoV2Ip: string;
  /** Why the waypoint is not serving, when it is not (printed with every failure). */
  waypointNote: string;
}

let setup: Promise<Env> | undefined;
function environment(): Promise<Env> {
  setup ??= (async () => {
    await cluster.upWithMesh(fileContext);
    cluster.applyYaml('gamma-base', BASE_MANIFESTS);
    if (WITH_WAYPOINT) cluster.applyYaml('gamma-waypoint', WAYPOINT_GATEWAY);
    const v1 = (await cluster.readyPods(MESH_NS, 'app=echo,version=v1', 1))[0]!;
    const v2 = (await cluster.readyPods(MESH_NS, 'app=echo,version=v2', 1))[0]!;
    const consumer = (await cluster.readyPods(CONSUMER_NS, 'app=echo,version=v1', 1))[0]!;
    let waypointNote = WITH_WAYPOINT ? '' : 'GAMMA_NO_WAYPOINT=1: no waypoint Gateway was applied';
    if (WITH_WAYPOINT) {
      const programmed = await until('the waypoint Gateway to be Programmed', () => gatewayProgrammed() || undefined, WAYPOINT_WAIT_MS).then(
        () => true,
        () => false,
      );
      if (!programmed) waypointNote = `the waypoint Gateway was not Programmed within ${WAYPOINT_WAIT_MS / 1000} s: ${gatewayConditions()}`;
    }
    return {
      clients: { [`${MESH_NS}/echo-v1`]: v1, [`${MESH_NS}/echo-v2`]: v2, [`${CONSUMER_NS}/echo-v1`]: consumer },
      echoV2Ip: v2.status.podIP ?? '',
      waypointNote,
    };
  })();
  return setup;
}

function gatewayStatus(): Array<{ type: string; status: string; reason?: string; message?: string }> {
  const r = ctl('get', 'gateway', 'waypoint', '-n', MESH_NS, '-o', 'json');
  if (r.code !== 0) return [];
  try {
    const gw = JSON.parse(r.stdout) as { status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } };
    return gw.status?.conditions ?? [];
  } catch {
    return [];
  }
}
const gatewayProgrammed = () => gatewayStatus().some((c) => c.type === 'Programmed' && c.status === 'True');
function gatewayConditions(): string {
  const conditions = gatewayStatus();
  return conditions.length ? conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}: ${c.message ?? ''})` : ''}`).join(', ') : 'it has no status conditions (no controller wrote any)';
}

/** Runs `argv` in `pod`'s network namespace without blocking the event loop (cases run side by side). */
function execIn(pod: PodRow, argv: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', podNetnsName(cluster.name, pod.metadata.uid), ...argv], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: unknown; killed?: boolean }) | null;
      const code = !e ? 0 : typeof e.code === 'number' ? e.code : 1;
      const why = e?.killed ? ` (killed after ${timeoutMs} ms)` : e && typeof e.code !== 'number' ? ` (${e.message})` : '';
      resolve({ code, stdout, stderr: stderr.trim() + why });
    });
  });
}

/** The suite's client pod for a case: the first echo pod of that version in that namespace. */
function clientOf(env: Env, c: ConformanceCase): PodRow {
  const namespace = c.clientNamespace ?? MESH_NS;
  const pod = env.clients[`${namespace}/${c.client ?? 'echo-v1'}`];
  assert.ok(pod, `no client pod ${c.client ?? 'echo-v1'} in ${namespace}`);
  return pod;
}

/** The URL host as the suite's CalculateHost writes it: port 80 dropped for http. */
const urlHost = (host: string) => host.replace(/:80$/, '');

function curlArgs(c: ConformanceCase): string[] {
  const r = c.request;
  const args = ['curl', '-s', '-S', '-i', '--max-time', String(REQUEST_TIMEOUT_S), '-X', r.method ?? 'GET'];
  for (const [k, v] of Object.entries(r.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(`http://${urlHost(r.host ?? 'echo')}${requestPath(r)}`);
  return args;
}

function grpcArgs(c: ConformanceCase, count = 1): string[] {
  const host = c.request.host ?? 'echo';
  const args = [process.execPath, GRPC_CALL, '--authority', host, '--timeout', String(REQUEST_TIMEOUT_S * 1000)];
  for (const [k, v] of Object.entries(c.request.headers ?? {})) args.push('-H', `${k}:${v}`);
  if (count > 1) args.push('--count', String(count));
  args.push(`http://${host}`);
  return args;
}

interface GrpcLine {
  httpStatus: number;
  grpcStatus: number | null;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  message: unknown;
  error?: string;
}

function grpcObservation(line: GrpcLine): Observation | string {
  if (line.error && line.httpStatus === 0) return `gRPC call failed: ${line.error}`;
  const obs: Observation = { status: line.httpStatus, grpcStatus: line.grpcStatus, headers: Object.fromEntries(Object.entries(line.headers).map(([k, v]) => [k.toLowerCase(), [v]])) };
  const echo = echoAnswer(line.message);
  if (echo) obs.echo = echo;
  return obs;
}

/** One request of a case from its client pod: the observation, or why there is none. */
async function request(env: Env, c: ConformanceCase): Promise<Observation | string> {
  const grpc = c.request.protocol === 'grpc';
  const r = await execIn(clientOf(env, c), grpc ? grpcArgs(c) : curlArgs(c), EXEC_TIMEOUT_MS);
  if (r.code !== 0) return `${grpc ? 'grpc-call' : 'curl'} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`;
  if (!grpc) return parseCurlOutput(r.stdout);
  try {
    return grpcObservation(JSON.parse(r.stdout.trim().split('\n')[0]!) as GrpcLine);
  } catch {
    return `grpc-call printed no result: ${r.stdout.slice(0, 300)}`;
  }
}

const budgetLeft = () => FILE_START + FILE_BUDGET_MS - Date.now();

/** The suite's MakeRequestAndExpectEventuallyConsistentResponse: REQUIRED_SUCCESSES matching answers in a row within CASE_BOUND_MS. */
async function expectEventually(env: Env, c: ConformanceCase): Promise<void> {
  const bound = Math.min(CASE_BOUND_MS, budgetLeft());
  const deadline = Date.now() + bound;
  let successes = 0;
  let attempts = 0;
  let last = 'no request made';
  for (;;) {
    const got = await request(env, c);
    attempts++;
    const why = typeof got === 'string' ? got : compareCase(c, got);
    if (why === undefined) {
      if (++successes >= REQUIRED_SUCCESSES) return;
      continue;
    }
    successes = 0;
    last = `${why}\n  last answer: ${typeof got === 'string' ? '(none)' : JSON.stringify(got)}`;
    if (Date.now() >= deadline) break;
    await sleep(POLL_MS);
  }
  assert.fail(`no ${REQUIRED_SUCCESSES} expected answers in a row within ${Math.round(bound / 1000)} s (${attempts} attempts); the last: ${last}${env.waypointNote ? `\n  note: ${env.waypointNote}` : ''}`);
}

/** The backends of WEIGHT_SAMPLE_REQUESTS requests of `c`, sent in one batch from its client (the suite's RequestBatch). */
async function batch(env: Env, c: ConformanceCase): Promise<string[] | string> {
  const client = clientOf(env, c);
  const n = WEIGHT_SAMPLE_REQUESTS;
  if (c.request.protocol === 'grpc') {
    const r = await execIn(client, grpcArgs(c, n), BATCH_EXEC_TIMEOUT_MS);
    if (r.code !== 0) return `grpc-call exited ${r.code}: ${r.stderr.trim()}`;
    const pods: string[] = [];
    for (const line of r.stdout.trim().split('\n')) {
      const obs = grpcObservation(JSON.parse(line) as GrpcLine);
      if (typeof obs === 'string') return obs;
      if (obs.status !== 200 || obs.grpcStatus !== 0 || !obs.echo) return `a call answered HTTP ${obs.status}, grpc-status ${obs.grpcStatus}`;
      pods.push(obs.echo.pod);
    }
    return pods;
  }
  // One curl, n transfers over one keep-alive connection, one line per answer: status and the echo's pod.
  const url = `http://${urlHost(c.request.host ?? 'echo')}${requestPath(c.request)}`;
  const args = ['curl', '-s', '--max-time', String(REQUEST_TIMEOUT_S), '-w', '%{http_code} %header{x-echo-pod}\\n'];
  for (let i = 0; i < n; i++) args.push('-o', '/dev/null', url);
  const r = await execIn(client, args, BATCH_EXEC_TIMEOUT_MS);
  if (r.code !== 0) return `curl exited ${r.code}: ${r.stderr.trim()}`;
  const pods: string[] = [];
  for (const line of r.stdout.trim().split('\n')) {
    const [code, name] = line.split(' ');
    if (code !== '200' || !name) return `an answer was ${JSON.stringify(line)}, want 200 from an echo pod`;
    pods.push(name);
  }
  return pods;
}

/** The suite's weight check: up to WEIGHT_MAX_RUNS batches, the first within tolerance passes. */
async function expectDistribution(env: Env, c: ConformanceCase, weights: Record<string, number>): Promise<void> {
  const failures: string[] = [];
  for (let run = 1; run <= WEIGHT_MAX_RUNS && budgetLeft() > 0; run++) {
    const pods = await batch(env, c);
    const errs = typeof pods === 'string' ? [pods] : distributionErrors(pods, weights);
    if (errs.length === 0) return;
    failures.push(`run ${run}: ${errs.join('; ')}`);
  }
  assert.fail(`weighted distribution outside tolerance in every run:\n  ${failures.join('\n  ')}${env.waypointNote ? `\n  note: ${env.waypointNote}` : ''}`);
}

async function runConformanceTest(t: TestContext, spec: ConformanceTestSpec): Promise<void> {
  if (!requireRoot(t)) return;
  const env = await environment();
  assert.ok(budgetLeft() > 0, `not run: the file's time budget (${FILE_BUDGET_MS / 1000} s, GAMMA_BUDGET_MS) was spent`);
  const file = `route-${spec.name}`;
  try {
    if (spec.manifest) cluster.applyYaml(file, spec.manifest);
    const cases = spec.cases.map((c) => (c.request.host?.startsWith('POD_IP_OF_ECHO_V2') ? { ...c, request: { ...c.request, host: c.request.host.replace('POD_IP_OF_ECHO_V2', env.echoV2Ip) } } : c));
    if (spec.weights) {
      const c = cases[0]!;
      await t.test(c.name, async () => {
        await expectEventually(env, c);
        await expectDistribution(env, c, spec.weights!);
      });
      return;
    }
    await Promise.all(cases.map((c) => t.test(c.name, () => expectEventually(env, c))));
  } finally {
    if (spec.manifest) ctl('delete', '-f', join(home, `${file}.yaml`), '--ignore-not-found');
  }
}

for (const spec of CONFORMANCE_TESTS) {
  // The first test also brings the cluster up.
  test(spec.name, { timeout: spec === CONFORMANCE_TESTS[0] ? 480_000 : 240_000, concurrency: CASE_CONCURRENCY }, (t) => runConformanceTest(t, spec));
}

test('gamma-conformance: the cluster and its echo pods stayed healthy through the suite', async (t) => {
  if (!requireRoot(t)) return;
  const env = await environment();
  for (const [key, pod] of Object.entries(env.clients)) {
    const ns = key.split('/')[0]!;
    const rows = cluster.pods(ns, 'app=echo').filter((p) => p.metadata.uid === pod.metadata.uid);
    assert.equal(rows.length, 1, `client pod ${key} (${pod.metadata.name}) still exists`);
    assert.ok((rows[0]!.status.containerStatuses ?? []).every((s) => s.restartCount === 0), `${pod.metadata.name} never restarted`);
  }
  ok(ctl('get', 'pods', '-n', MESH_NS), 'get pods');
});
