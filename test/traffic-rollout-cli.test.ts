// `ambientctl traffic split|show` and `ambientctl rollout status|pause|resume|abort` as a
// user runs them: the real executable with a kubeconfig for the local API server (in this
// process, on a throwaway Redis). The split is read back from the API server; a Rollout's
// status is written through its status subresource as the controller's driver writes it.
// No local cluster here: `traffic show` prints the configured weights and why the live
// shares are unavailable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startRedis, type TestRedis } from './support/redis.js';

const BIN = fileURLToPath(new URL('../../bin/ambientctl.js', import.meta.url));
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const HR = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const RO = { group: 'ambient.dev', version: 'v1', plural: 'rollouts' };

let redis: TestRedis;
let api: ApiServer;
let dir: string;
let kubeconfig: string;
let custom: CustomObjectsApi;

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function backends(name: string): Promise<Array<{ name: string; port?: number; weight?: number; filters?: unknown }>> {
  const r = (await custom.getNamespacedCustomObject({ ...HR, namespace: 'shop', name })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; port?: number; weight?: number }> }> } };
  return r.spec.rules[0]!.backendRefs;
}

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'trafficcli:' });
  const kc = kubeConfigForServer(api.url);
  const core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: 'shop' } } });
  for (const [name, ports] of [['echo', [80]], ['echo-v1', [80]], ['echo-v2', [80]], ['multi', [81, 82]], ['web', [80]]] as const) {
    await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name }, spec: { selector: { app: name }, ports: ports.map((port, i) => ({ name: `p${i}`, port })) } } });
  }
  dir = mkdtempSync(join(tmpdir(), 'ambientctl-traffic-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: local, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: admin, user: {}}]',
      'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]',
      'current-context: local',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await api?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ambientctl traffic', () => {
  test('traffic_split_creates_the_route_when_there_is_none', async () => {
    const r = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=90', 'echo-v2=10');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'httproute.gateway.networking.k8s.io/echo created (echo-v1=90 echo-v2=10)\n');
    assert.deepEqual(await backends('echo'), [{ name: 'echo-v1', port: 80, weight: 90 }, { name: 'echo-v2', port: 80, weight: 10 }]);
  });

  test('traffic_split_patches_the_route_and_says_unchanged_when_already_so', async () => {
    const r = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=50', 'echo-v2=50');
    assert.equal(r.stdout, 'httproute.gateway.networking.k8s.io/echo configured (echo-v1=50 echo-v2=50)\n');
    assert.deepEqual((await backends('echo')).map((b) => b.weight), [50, 50]);
    const again = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=50', 'echo-v2=50');
    assert.equal(again.stdout, 'httproute.gateway.networking.k8s.io/echo unchanged (echo-v1=50 echo-v2=50)\n');
  });

  test('traffic_split_to_sends_everything_to_one_backend_keeping_the_other_at_zero', async () => {
    const r = await run('traffic', 'split', 'echo', '-n', 'shop', '--to', 'echo-v2');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await backends('echo'), [{ name: 'echo-v1', port: 80, weight: 0 }, { name: 'echo-v2', port: 80, weight: 100 }]);
  });

  test('traffic_split_refuses_bad_weights_missing_backends_and_ambiguous_ports', async () => {
    const neg = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=-5');
    assert.equal(neg.code, 1);
    assert.match(neg.stderr, /^error: "echo-v1=-5": the weight "-5" is not an integer/);
    const missing = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v9=1');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: backend Service shop/echo-v9 does not exist\n');
    const multi = await run('traffic', 'split', 'web', '-n', 'shop', 'multi=1');
    assert.equal(multi.code, 1);
    assert.match(multi.stderr, /backend Service multi has several ports \(81, 82\) and none is the parent's \(80\)/);
    const both = await run('traffic', 'split', 'echo', '-n', 'shop', '--to', 'echo-v1', 'echo-v2=1');
    assert.match(both.stderr, /not both/);
  });

  test('traffic_split_refuses_several_routes_and_route_picks_one', async () => {
    await custom.createNamespacedCustomObject({
      ...HR,
      namespace: 'shop',
      body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'echo-2' }, spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80 }] }] } },
    });
    const r = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=1');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: 2 HTTPRoutes attach to Service shop/echo (echo, echo-2); pick one with --route NAME\n');
    const picked = await run('traffic', 'split', 'echo', '-n', 'shop', '--route', 'echo-2', 'echo-v1=3', 'echo-v2=1');
    assert.equal(picked.code, 0, picked.stderr);
    assert.deepEqual((await backends('echo-2')).map((b) => [b.name, b.weight]), [['echo-v1', 3], ['echo-v2', 1]]);
    await custom.deleteNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'echo-2' });
  });

  test('traffic_show_prints_the_weights_and_why_live_shares_are_unavailable', async () => {
    await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=90', 'echo-v2=10');
    const r = await run('traffic', 'show', 'echo', '-n', 'shop');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ROUTE\s+RULE\s+MATCHES\s+BACKEND\s+PORT\s+WEIGHT\s+SHARE\s+LIVE\n/);
    assert.match(r.stdout, /\necho\s+0\s+\*\s+echo-v1\s+80\s+90\s+90%\s+-\n/);
    assert.match(r.stdout, /\necho\s+0\s+\*\s+echo-v2\s+80\s+10\s+10%\s+-\n/);
    assert.match(r.stdout, /LIVE: unavailable: the waypoints' metrics are read on the local cluster only for now/);
    const json = JSON.parse((await run('traffic', 'show', 'echo', '-n', 'shop', '-o', 'json')).stdout) as { backends: Array<{ backend: string; weight: number }>; live: { available: boolean } };
    assert.deepEqual(json.backends.map((b) => [b.backend, b.weight]), [['echo-v1', 90], ['echo-v2', 10]]);
    assert.equal(json.live.available, false);
  });

  test('traffic_show_of_a_service_without_route_says_so', async () => {
    const r = await run('traffic', 'show', 'web', '-n', 'shop');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No HTTPRoute attaches to Service shop\/web: its traffic goes to its own endpoints\.\n/);
  });
});

describe('ambientctl rollout', () => {
  before(async () => {
    await custom.createNamespacedCustomObject({
      ...RO,
      namespace: 'shop',
      body: { apiVersion: 'ambient.dev/v1', kind: 'Rollout', metadata: { name: 'echo' }, spec: { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [5, 25, 50, 100], interval: '30s' } },
    });
  });

  test('rollout_status_prints_phase_step_weight_message_and_failed_gate', async () => {
    const pending = await run('rollout', 'status', 'echo', '-n', 'shop');
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /^Phase:\s+Pending$/m);
    // What the controller's rollout driver writes when a gate fails.
    await custom.patchNamespacedCustomObjectStatus(
      {
        ...RO,
        namespace: 'shop',
        name: 'echo',
        body: { status: { phase: 'RolledBack', canaryWeight: 0, step: 1, message: 'rolled back: canary success rate 80% over 50 requests is under minSuccessRate 99%', failedGate: { gate: 'minSuccessRate', measured: 0.8, threshold: 0.99 }, observedGeneration: 1 } },
      },
      MERGE,
    );
    const r = await run('rollout', 'status', 'echo', '-n', 'shop');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Phase:\s+RolledBack$/m);
    assert.match(r.stdout, /^Step:\s+2 of 4 \(steps 5, 25, 50, 100\)$/m);
    assert.match(r.stdout, /^Canary weight:\s+0%$/m);
    assert.match(r.stdout, /^Message:\s+rolled back: canary success rate 80% over 50 requests is under minSuccessRate 99%$/m);
    assert.match(r.stdout, /^Failed gate:\s+minSuccessRate: measured 80%, bound 99%$/m);
    const list = await run('rollout', 'status', '-n', 'shop');
    assert.match(list.stdout, /^NAME\s+SERVICE\s+STABLE\s+CANARY\s+PHASE\s+STEP\s+WEIGHT\s+MESSAGE\necho\s+echo\s+echo-v1\s+echo-v2\s+RolledBack\s+2 of 4\s+0%/);
    const yaml = await run('rollout', 'status', 'echo', '-n', 'shop', '-o', 'yaml');
    assert.match(yaml.stdout, /phase: RolledBack/);
  });

  test('rollout_pause_resume_and_abort_patch_the_spec', async () => {
    const spec = async () => ((await custom.getNamespacedCustomObject({ ...RO, namespace: 'shop', name: 'echo' })) as { spec: { paused?: boolean; abort?: boolean } }).spec;
    const p = await run('rollout', 'pause', 'echo', '-n', 'shop');
    assert.equal(p.stdout, 'rollout.ambient.dev/echo paused\n');
    assert.equal((await spec()).paused, true);
    const a = await run('rollout', 'abort', 'echo', '-n', 'shop');
    assert.equal(a.stdout, 'rollout.ambient.dev/echo aborted\n');
    assert.equal((await spec()).abort, true);
    const r = await run('rollout', 'resume', 'echo', '-n', 'shop');
    assert.equal(r.stdout, 'rollout.ambient.dev/echo resumed\n');
    const s = await spec();
    assert.equal(s.paused, false);
    assert.equal(s.abort, false);
  });

  test('rollout_commands_on_a_missing_rollout_fail_with_the_servers_message', async () => {
    const r = await run('rollout', 'pause', 'nope', '-n', 'shop');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error from server \(NotFound\): .*nope/);
  });
});
