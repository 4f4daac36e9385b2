// `ambientctl traffic split|show`, `rollout status|pause|resume|abort`, `policies` and `authz
// check` against the controller's real API: the controller in-process on the local API
// server (a throwaway Redis), real objects, callers that are ServiceAccounts with tokens
// requested for them (as --service-account does), checked by TokenReview and authorized by
// SubjectAccessReview. The commands' own functions run with an ApiClient whose link is a
// verified TLS stream to the controller on loopback (what the port-forward carries on a
// cluster). Writes are read back from the API server; a caller without the verb is refused
// and nothing is written. Telemetry for live shares is a waypoint's report, ingested as the
// config stream would.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DiscoveryV1Api, type CoreV1Api, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Controller } from '../controller/controller.js';
import { emptyCounts, type TelemetryReport } from '../core/observe/telemetry-wire.js';
import { ApiClient, ApiError } from '../cli/api-client.js';
import { credentialSource, tlsTo, type ControllerLink } from '../cli/controller-link.js';
import { CliError } from '../cli/errors.js';
import { trafficShow, trafficSplit } from '../cli/traffic.js';
import { rolloutAct, rolloutStatus } from '../cli/rollout.js';
import { authzCheck, policiesListing } from '../cli/mesh/policy-commands.js';
import { createRunningPod, GATEWAY_API as GW, MERGE, pollUntil, startApiEnv, startTestController, type ApiEnv } from './support/control-plane.js';

const WAIT = 8_000;
const AMB = { group: 'ambient.dev', version: 'v1' };
const NS = 'shop';

let env: ApiEnv;
let controller: Controller;
let core: CoreV1Api;
let custom: CustomObjectsApi;
/** shop/deployer may patch HTTPRoutes and Rollouts in shop; other/viewer may not. */
let deployer: ApiClient;
let viewer: ApiClient;

/** The link ambientctl opens, minus the pod choice and the port-forward: TLS verified with the mesh's roots and the controller's name. */
function loopbackClient(sa: { namespace: string; name: string }): ApiClient {
  const credentials = credentialSource(env.kc, sa);
  const roots = controller.ca.trustBundle.pems().join('\n');
  const link: ControllerLink = {
    connect: async () => {
      const raw = net.connect(controller.apiAddress!.port, '127.0.0.1');
      await new Promise<void>((ok, fail) => raw.once('connect', ok).once('error', fail));
      return tlsTo(raw, roots, await credentials());
    },
    credentials,
    repick: () => {},
    via: 'loopback',
  };
  return new ApiClient(link);
}

async function labelPod(name: string, labels: Record<string, string>): Promise<void> {
  await core.patchNamespacedPod({ namespace: NS, name, body: { metadata: { labels } } }, MERGE);
}

async function createService(name: string, selector: Record<string, string>, ports: number[] = [80], labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespacedService({ namespace: NS, body: { metadata: { name, labels }, spec: { selector, ports: ports.map((port, i) => ({ name: `p${i}`, port, targetPort: 8080 as never })) } } });
}

/** What an endpoints controller would write: the Service's ready pods. */
async function createSlice(service: string, pods: Array<[string, string]>): Promise<void> {
  const uids = await Promise.all(pods.map(async ([name]) => (await core.readNamespacedPod({ namespace: NS, name })).metadata!.uid!));
  await env.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: NS,
    body: {
      metadata: { name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      endpoints: pods.map(([name, ip], i) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name, namespace: NS, uid: uids[i]! } })),
      ports: [{ name: 'p0', port: 8080 }],
    },
  });
}

async function backends(name: string): Promise<Array<{ name: string; port?: number; weight?: number }>> {
  const r = (await custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: NS, name })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; port?: number; weight?: number }> }> } };
  return r.spec.rules[0]!.backendRefs;
}

async function rolloutSpec(): Promise<{ paused?: boolean; abort?: boolean }> {
  return ((await custom.getNamespacedCustomObject({ ...AMB, plural: 'rollouts', namespace: NS, name: 'echo' })) as { spec: { paused?: boolean; abort?: boolean } }).spec;
}

/** The ApiError a call fails with (it must fail). */
async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail('the call succeeded');
}

/** A waypoint's report: `v1` and `v2` 2xx requests from shop/client to Service shop/echo, by backend workload. */
function waypointReport(v1: number, v2: number): TelemetryReport {
  const source = { workload: 'client', namespace: NS, identity: 'spiffe://cluster.local/ns/shop/sa/client' };
  const edge = (workload: string, n: number) => ({
    reporter: 'waypoint' as const,
    source,
    destination: { workload, namespace: NS, identity: 'spiffe://cluster.local/ns/shop/sa/echo', service: `${NS}/echo.${NS}.svc.cluster.local` },
    port: 8080,
    protocol: 'http' as const,
    mtls: true,
    viaWaypoint: true,
    ...emptyCounts(),
    requests: { '2xx': n, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 },
    connectionsOpened: 1,
  });
  return { edges: [edge('echo-v1-a', v1), edge('echo-v2-a', v2)], overflowEdges: 0, flows: [], droppedFlows: 0 };
}

before(async () => {
  env = await startApiEnv('meshapicli:', ['ambient-system', NS, 'other']);
  ({ core, custom } = env);
  for (const [ns, name] of [[NS, 'echo'], [NS, 'client'], [NS, 'deployer'], ['other', 'viewer']] as const) await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  await createRunningPod(core, NS, 'echo-v1-a', 'echo', '10.244.1.10');
  await labelPod('echo-v1-a', { app: 'echo', version: 'v1' });
  await createRunningPod(core, NS, 'echo-v2-a', 'echo', '10.244.1.11');
  await labelPod('echo-v2-a', { app: 'echo', version: 'v2' });
  await createRunningPod(core, NS, 'client-a', 'client', '10.244.1.20');
  await labelPod('client-a', { app: 'client' });
  await createService('echo', { app: 'echo' });
  await createService('echo-v1', { app: 'echo', version: 'v1' });
  await createService('echo-v2', { app: 'echo', version: 'v2' });
  await createService('web', { app: 'web' });
  await createService('multi', { app: 'multi' }, [81, 82]);
  await createSlice('echo', [['echo-v1-a', '10.244.1.10'], ['echo-v2-a', '10.244.1.11']]);
  await createSlice('echo-v1', [['echo-v1-a', '10.244.1.10']]);
  await createSlice('echo-v2', [['echo-v2-a', '10.244.1.11']]);
  await custom.createNamespacedCustomObject({
    ...AMB,
    plural: 'authorizationpolicies',
    namespace: NS,
    body: { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name: 'deny-other' }, spec: { selector: { matchLabels: { app: 'echo' } }, action: 'DENY', rules: [{ from: [{ source: { namespaces: ['other'] } }] }] } },
  });
  await custom.createNamespacedCustomObject({
    ...AMB,
    plural: 'rollouts',
    namespace: NS,
    body: { apiVersion: 'ambient.dev/v1', kind: 'Rollout', metadata: { name: 'echo' }, spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [10, 50, 100] } },
  });
  controller = await startTestController(env.kc, { rollouts: { enabled: false }, waypoints: { enabled: false }, api: {} });
  deployer = loopbackClient({ namespace: NS, name: 'deployer' });
  viewer = loopbackClient({ namespace: 'other', name: 'viewer' });
  await pollUntil('the controller to compile the policy with its status', async () => {
    const out = await policiesListing(deployer, { namespace: NS, output: 'json' });
    return /"accepted": "True"/.test(out.stdout) ? true : undefined;
  }, WAIT);
});

after(async () => {
  await controller?.close();
  await env?.close();
});

describe('traffic split and show through the API', () => {
  test('split_creates_the_route_prints_it_and_says_unchanged_or_configured_after', async () => {
    const created = await trafficSplit(deployer, NS, 'echo', ['echo-v1=90', 'echo-v2=10'], {});
    const lines = created.trimEnd().split('\n');
    assert.equal(lines[0], 'httproute.gateway.networking.k8s.io/echo created (echo-v1=90 echo-v2=10)');
    assert.match(lines[1]!, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE$/);
    assert.match(lines[2]!, /^echo\s+0\s+\*\s+echo-v1\s+80\s+90\s+90%$/);
    assert.match(lines[3]!, /^echo\s+0\s+\*\s+echo-v2\s+80\s+10\s+10%$/);
    assert.deepEqual(await backends('echo'), [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }]);
    // The controller plans from its informers: once it has seen the route, the same split is no write.
    await pollUntil('the controller to see the route', async () => ((await trafficSplit(deployer, NS, 'echo', ['echo-v1=90', 'echo-v2=10'], {})).startsWith('httproute.gateway.networking.k8s.io/echo unchanged (echo-v1=90 echo-v2=10)\n') ? true : undefined), WAIT);
    const configured = await trafficSplit(deployer, NS, 'echo', ['echo-v1=50', 'echo-v2=50'], {});
    assert.match(configured, /^httproute\.gateway\.networking\.k8s\.io\/echo configured \(echo-v1=50 echo-v2=50\)\n/);
    assert.deepEqual((await backends('echo')).map((b) => b.weight), [50, 50]);
    const json = JSON.parse(await trafficSplit(deployer, NS, 'echo', ['echo-v1=50', 'echo-v2=50'], { output: 'json' })) as { kind: string; metadata: { name: string } };
    assert.deepEqual([json.kind, json.metadata.name], ['HTTPRoute', 'echo'], '-o json is the HTTPRoute as written');
  });

  test('split_to_sends_everything_to_one_backend_keeping_the_other_at_zero', async () => {
    await pollUntil('the split --to to be written', async () => {
      await trafficSplit(deployer, NS, 'echo', [], { to: 'echo-v2' });
      const b = await backends('echo');
      return b.map((x) => x.weight).join() === '0,100' ? true : undefined;
    }, WAIT);
    assert.deepEqual(await backends('echo'), [{ name: 'echo-v1', port: 80, weight: 0 }, { name: 'echo-v2', port: 80, weight: 100 }]);
  });

  test('a_service_account_without_patch_on_httproutes_cannot_split_and_nothing_is_written', async () => {
    const before = await backends('echo');
    const e = await refusal(trafficSplit(viewer, NS, 'echo', ['echo-v1=1', 'echo-v2=1'], {}));
    assert.equal(e.status, 403);
    assert.equal(e.code, 'AMB_API_FORBIDDEN');
    assert.match(e.message, /^PUT \/api\/v1\/services\/shop\/echo\/split: the controller answered 403 AMB_API_FORBIDDEN: user "system:serviceaccount:other:viewer" may not patch httproutes\.gateway\.networking\.k8s\.io in namespace "shop"/);
    assert.deepEqual(await backends('echo'), before);
  });

  test('split_refuses_bad_weights_here_and_missing_backends_or_ambiguous_ports_at_the_api', async () => {
    await assert.rejects(trafficSplit(deployer, NS, 'echo', ['echo-v1=-5'], {}), (e: Error) => e instanceof CliError && /^"echo-v1=-5": the weight "-5" is not an integer/.test(e.message));
    await assert.rejects(trafficSplit(deployer, NS, 'echo', ['echo-v1=1'], { to: 'echo-v2' }), /not both/);
    const missing = await refusal(trafficSplit(deployer, NS, 'echo', ['echo-v9=1'], {}));
    assert.equal(missing.status, 422);
    assert.match(missing.apiMessage, /^backend Service shop\/echo-v9 does not exist$/);
    const multi = await refusal(trafficSplit(deployer, NS, 'web', ['multi=1'], {}));
    assert.match(multi.apiMessage, /backend Service multi has several ports \(81, 82\) and none is the parent's \(80\)/);
  });

  test('show_prints_the_compiled_weights_and_the_live_share_from_the_telemetry_window', async () => {
    await trafficSplit(deployer, NS, 'echo', ['echo-v1=90', 'echo-v2=10'], {});
    const noTraffic = await pollUntil('the compiled route to carry 90/10', async () => {
      const out = await trafficShow(deployer, NS, 'echo', { window: '1m', output: 'table' });
      return /\necho\s+0\s+\*\s+echo-v1\s+80\s+90\s+90%\s+-\n/.test(out) ? out : undefined;
    }, WAIT);
    assert.match(noTraffic, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE\n/);
    assert.match(noTraffic, /\nLIVE: unavailable: no requests to shop\/echo reached its backends in the last 1m of the controller's telemetry window/);
    controller.telemetry.ingest({ role: 'waypoint', node: 'node-1', waypoint: `${NS}/waypoint` }, waypointReport(45, 5));
    const out = await trafficShow(deployer, NS, 'echo', { window: '1m', output: 'table' });
    assert.match(out, /\necho\s+0\s+\*\s+echo-v1\s+80\s+90\s+90%\s+90% \(45 req\)\n/, out);
    assert.match(out, /\necho\s+0\s+\*\s+echo-v2\s+80\s+10\s+10%\s+10% \(5 req\)\n/, out);
    assert.match(out, /\nLIVE: requests to echo per backend over the last 1m, from the controller's telemetry window \(50 requests\)\n$/);
    const json = JSON.parse(await trafficShow(deployer, NS, 'echo', { window: '1m', output: 'json' })) as { backends: Array<{ backend: string; weight: number }>; live: { available: boolean; requests: Record<string, number> } };
    assert.deepEqual(json.backends.map((b) => [b.backend, b.weight]), [['echo-v1', 90], ['echo-v2', 10]]);
    assert.deepEqual(json.live.requests, { 'echo-v1': 45, 'echo-v2': 5 });
  });

  test('show_of_a_service_without_route_or_outside_the_mesh_says_so', async () => {
    assert.equal(await trafficShow(deployer, NS, 'web', { window: '1m', output: 'table' }), 'No HTTPRoute attaches to Service shop/web: its traffic goes to its own endpoints.\n');
    const e = await refusal(trafficShow(deployer, NS, 'nothing', { window: '1m', output: 'table' }));
    assert.equal(e.status, 404);
    assert.match(e.message, /Service shop\/nothing is not in the mesh's config/);
    await assert.rejects(trafficShow(deployer, NS, 'echo', { window: 'soon', output: 'table' }), (e: Error) => e instanceof CliError && /^--window: "soon" is not a duration \(e\.g\. 30s, 10m, 2h, 1h30m, 500ms, 1\.5s\); it is the part of the controller's telemetry window/.test(e.message));
    await assert.rejects(trafficShow(deployer, NS, 'echo', { window: '2h', output: 'table' }), (e: Error) => e instanceof CliError && /^--window: "2h" is longer than 1h; /.test(e.message));
  });
});

describe('rollout through the API', () => {
  test('status_lists_and_shows_one', async () => {
    const list = await rolloutStatus(deployer, NS, undefined, 'table');
    assert.match(list.stdout, /^NAME\s+SERVICE\s+STABLE\s+CANARY\s+PHASE\s+STEP\s+WEIGHT\s+MESSAGE\n/);
    assert.match(list.stdout, /\necho\s+echo\s+echo-v1\s+echo-v2\s+Pending\s+-\s+-/);
    const one = await rolloutStatus(deployer, NS, 'echo', 'table');
    assert.match(one.stdout, /^Rollout:\s+shop\/echo$/m);
    assert.match(one.stdout, /^Phase:\s+Pending$/m);
    const none = await rolloutStatus(deployer, 'other', undefined, 'table');
    assert.deepEqual(none, { stdout: '', stderr: 'No rollouts found in other namespace.\n' });
    await assert.rejects(rolloutStatus(deployer, NS, 'nope', 'table'), (e: Error) => e instanceof CliError && /^rollout shop\/nope not found/.test(e.message));
  });

  test('status_prints_the_failed_gate_the_driver_wrote', async () => {
    // What the controller's rollout driver writes when a gate fails.
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...AMB,
        plural: 'rollouts',
        namespace: NS,
        name: 'echo',
        body: { status: { phase: 'RolledBack', canaryWeight: 0, step: 1, message: 'rolled back: canary success rate 80% over 50 requests is under minSuccessRate 99%', failedGate: { gate: 'minSuccessRate', measured: 0.8, threshold: 0.99 }, observedGeneration: 1 } },
      },
      MERGE,
    );
    const r = (await rolloutStatus(deployer, NS, 'echo', 'table')).stdout;
    assert.match(r, /^Phase:\s+RolledBack$/m);
    assert.match(r, /^Step:\s+2 of 3 \(steps 10, 50, 100\)$/m);
    assert.match(r, /^Canary weight:\s+0%$/m);
    assert.match(r, /^Failed gate:\s+minSuccessRate: measured 80%, bound 99%$/m);
    const list = (await rolloutStatus(deployer, NS, undefined, 'table')).stdout;
    assert.match(list, /\necho\s+echo\s+echo-v1\s+echo-v2\s+RolledBack\s+2 of 3\s+0%/);
    assert.match((await rolloutStatus(deployer, NS, 'echo', 'yaml')).stdout, /phase: RolledBack/);
  });

  test('pause_resume_abort_patch_the_rollout_read_back_from_the_api_server', async () => {
    assert.equal(await rolloutAct(deployer, NS, 'echo', 'pause'), 'rollout.ambient.dev/echo paused\n');
    assert.equal((await rolloutSpec()).paused, true);
    assert.match((await rolloutStatus(deployer, NS, 'echo', 'table')).stdout, /^Paused:\s+yes/m);
    assert.equal(await rolloutAct(deployer, NS, 'echo', 'abort'), 'rollout.ambient.dev/echo aborted\n');
    assert.equal((await rolloutSpec()).abort, true);
    assert.equal(await rolloutAct(deployer, NS, 'echo', 'resume'), 'rollout.ambient.dev/echo resumed\n');
    assert.deepEqual(await rolloutSpec(), { ...(await rolloutSpec()), paused: false, abort: false });
  });

  test('a_service_account_without_patch_on_rollouts_is_refused_and_a_missing_rollout_is_404', async () => {
    const e = await refusal(rolloutAct(viewer, NS, 'echo', 'pause'));
    assert.equal(e.status, 403);
    assert.match(e.message, /may not patch rollouts\.ambient\.dev "echo" in namespace "shop"/);
    assert.equal((await rolloutSpec()).paused, false);
    const missing = await refusal(rolloutAct(deployer, NS, 'nope', 'pause'));
    assert.equal(missing.status, 404);
  });
});

describe('policies and authz check through the API', () => {
  test('policies_lists_status_selection_and_nodes', async () => {
    const out = await policiesListing(deployer, { namespace: NS, output: 'table' });
    assert.match(out.stdout, /^NAMESPACE +NAME +ACTION +DRY-RUN +ACCEPTED +NODES +SELECTS +MESSAGE\n/);
    assert.match(out.stdout, /\nshop +deny-other +DENY +no +True +node-1 +echo-v1-a,echo-v2-a +/);
    const none = await policiesListing(deployer, { namespace: NS, node: 'node-9', output: 'table' });
    assert.deepEqual(none, { stdout: '', stderr: 'No AuthorizationPolicies found in namespace shop selecting a workload on node-9\n' });
  });

  test('authz_check_renders_the_controllers_decision', async () => {
    const out = await authzCheck(deployer, { from: 'other/viewer', to: 'echo-v1.shop:80', header: [], output: 'table' });
    assert.match(out, /^DENY: denied by DENY policy shop\/deny-other rule 0/);
    assert.match(out, /\nfrom: +spiffe:\/\/cluster\.local\/ns\/other\/sa\/viewer/);
    assert.match(out, /\nto: +Service shop\/echo-v1 port 80 -> /);
    const allowed = JSON.parse(await authzCheck(deployer, { from: 'shop/client', to: 'echo.shop:80', header: [], output: 'json' })) as { decision: string; headline?: string };
    assert.equal(allowed.decision, 'ALLOW');
    assert.equal(allowed.headline, undefined, '-o json is the CheckResult, as before');
    const bad = await refusal(authzCheck(deployer, { from: 'other/viewer', to: 'nothing.shop:80', header: [], output: 'table' }));
    assert.equal(bad.status, 422);
    assert.match(bad.apiMessage, /^to: nothing\.shop:80 is no Service or pod of the mesh/);
    await assert.rejects(authzCheck(deployer, { from: 'other/viewer', to: 'echo.shop:80', path: 'no-slash', header: [], output: 'table' }), /--path: "no-slash" does not start with \//);
  });
});
