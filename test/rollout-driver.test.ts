// Direct tier: the controller in-process (startController) against the local API server on
// a real Redis, no kubelet. A Rollout of Service echo (stable echo-v1, canary echo-v2) is
// driven by the leader from the waypoint's request metrics, which a fake metrics source
// serves for the waypoint pod (the seam the controller reads /metrics through): it
// advances step by step while the canary answers 200s, with the HTTPRoute's weights read
// back from the API server at each stage; a controller restart in the middle resumes from
// the status; a canary answering 500s is rolled back at once, naming the gate and the
// measured value. Every wait is bounded; no timing is asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller, type ControllerOptions } from '../controller/controller.js';
import type { MetricsSource } from '../controller/rollout-driver.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { pollUntil, installMeshCrds } from './support/control-plane.js';

const WAIT_MS = 20_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RO = { group: 'ambient.dev', version: 'v1', plural: 'rollouts' };
const HR = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let controller: Controller | undefined;

/** What the fake waypoint has counted, per `service/workload` and response code (cumulative, as a waypoint's counters are). */
const counted = new Map<string, Map<string, number>>();
let scrapes = 0;
/** While set, the fake waypoint does not answer (as an unreachable pod). */
let metricsDown = false;

/** `n` requests to `service` answered by `workload` with `code`, as the waypoint would count them. */
function send(service: string, workload: string, code: string, n: number): void {
  const key = `${service}/${workload}`;
  const m = counted.get(key) ?? new Map<string, number>();
  m.set(code, (m.get(code) ?? 0) + n);
  counted.set(key, m);
}

const fakeMetrics: MetricsSource = async (pod) => {
  scrapes++;
  if (metricsDown) throw new Error('connect ECONNREFUSED');
  if (pod.name !== 'waypoint-0' || pod.ip !== '10.9.0.5') throw new Error(`unexpected pod ${pod.namespace}/${pod.name} ${pod.ip}`);
  const lines: string[] = ['# TYPE istio_requests_total counter'];
  for (const [key, codes] of counted) {
    const [service, workload] = key.split('/') as [string, string];
    for (const [code, n] of codes) {
      const l = `reporter="waypoint",destination_service_name="${service}",destination_service_namespace="shop",destination_workload="${workload}",destination_workload_namespace="shop",response_code="${code}"`;
      lines.push(`istio_requests_total{${l}} ${n}`);
      lines.push(`istio_request_duration_milliseconds_bucket{${l},le="10"} ${n}`);
      lines.push(`istio_request_duration_milliseconds_bucket{${l},le="+Inf"} ${n}`);
    }
  }
  return `${lines.join('\n')}\n`;
};

const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => pollUntil(what, fn, WAIT_MS);

const controllerOptions = (): ControllerOptions => ({
  kubeConfig: kc,
  trustDomain: 'cluster.local',
  listen: { host: '127.0.0.1', port: 0 },
  metrics: { host: '127.0.0.1', port: 0 },
  limits: { drainTimeoutMs: 1_000 },
  waypoints: { enabled: false },
  rollouts: { metrics: fakeMetrics, limits: { resyncMs: 100, retryMinMs: 100, retryMaxMs: 500 } },
});

type Status = { phase?: string; step?: number; canaryWeight?: number; message?: string; failedGate?: { gate: string; measured: number; threshold: number } };

async function rolloutStatus(name: string): Promise<Status> {
  const o = (await custom.getNamespacedCustomObject({ ...RO, namespace: 'shop', name })) as { status?: Status };
  return o.status ?? {};
}

/** The HTTPRoute's weights per backend, read from the API server. */
async function weights(route: string): Promise<Record<string, number>> {
  const r = (await custom.getNamespacedCustomObject({ ...HR, namespace: 'shop', name: route })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> } };
  return Object.fromEntries(r.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]));
}

async function service(name: string, selector: Record<string, string>, labels?: Record<string, string>): Promise<void> {
  await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name, ...(labels ? { labels } : {}) }, spec: { selector, ports: [{ port: 80, targetPort: 8080 as never }] } } });
}

async function pod(name: string, labels: Record<string, string>, ip: string): Promise<void> {
  await core.createNamespacedPod({ namespace: 'shop', body: { metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
  await core.patchNamespacedPodStatus({ namespace: 'shop', name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
}

function rollout(name: string, svc: string, stable: string, canary: string) {
  return {
    apiVersion: 'ambient.dev/v1',
    kind: 'Rollout',
    metadata: { name },
    spec: { service: svc, stable, canary, steps: [20, 50, 100], interval: '50ms', gates: { minSuccessRate: 0.95, maxP99Latency: '500ms', minRequests: 10 } },
  };
}

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'rollout:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  for (const ns of ['ambient-system', 'shop']) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => {});
  // The waypoint serving the namespace's Services: one pod, whose metrics are the fake's.
  await core.patchNamespace({ name: 'shop', body: { metadata: { labels: { 'ambient.dev/use-waypoint': 'waypoint' } } } }, MERGE);
  await pod('waypoint-0', { 'gateway.networking.k8s.io/gateway-name': 'waypoint' }, '10.9.0.5');
  for (const app of ['echo-v1', 'echo-v2', 'shop-v1', 'shop-v2']) await pod(`${app}-0`, { app }, `10.9.1.${1 + ['echo-v1', 'echo-v2', 'shop-v1', 'shop-v2'].indexOf(app)}`);
  await service('echo', { svc: 'echo' });
  await service('echo-v1', { app: 'echo-v1' });
  await service('echo-v2', { app: 'echo-v2' });
  await service('cart', { svc: 'cart' });
  await service('shop-v1', { app: 'shop-v1' });
  // The canary of the second rollout is named by an EndpointSlice (no selector).
  await core.createNamespacedService({ namespace: 'shop', body: { metadata: { name: 'shop-v2' }, spec: { ports: [{ port: 80 }] } } });
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: 'shop',
    body: { metadata: { name: 'shop-v2-x', labels: { 'kubernetes.io/service-name': 'shop-v2' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.9.1.4'], targetRef: { kind: 'Pod', name: 'shop-v2-0', namespace: 'shop' } }], ports: [{ port: 80 }] },
  });
  controller = await startController(controllerOptions());
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
});

describe('rollout driver', () => {
  test('a_healthy_canary_advances_step_by_step_survives_a_controller_restart_and_succeeds', async () => {
    // No traffic yet: the first step is set and held (fewer than minRequests). Each batch of
    // minRequests healthy requests then ends exactly one step: the next step measures from
    // the counters read when it began.
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: rollout('echo', 'echo', 'echo-v1', 'echo-v2') });
    const waiting = (step: number) => async () => {
      const st = await rolloutStatus('echo');
      return st.phase === 'Progressing' && st.step === step && /waiting for 10 requests/.test(st.message ?? '') ? st : undefined;
    };
    const first = await until('step 1 (canary 20%) waiting for requests', waiting(0));
    assert.equal(first.canaryWeight, 20);
    assert.deepEqual(await weights('echo'), { 'echo-v1': 80, 'echo-v2': 20 });
    const route = (await custom.getNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'echo' })) as { spec: { parentRefs: unknown[] } };
    assert.deepEqual(route.spec.parentRefs, [{ group: '', kind: 'Service', name: 'echo' }]);
    // The stable's requests are not the canary's.
    send('echo', 'echo-v1', '200', 1000);

    send('echo', 'echo-v2', '200', 10);
    const second = await until('step 2 (canary 50%) waiting for requests', waiting(1));
    assert.equal(second.canaryWeight, 50);
    assert.deepEqual(await weights('echo'), { 'echo-v1': 50, 'echo-v2': 50 });

    // A controller restart in the middle: the new one resumes at step 2, not from the start.
    await controller!.close();
    controller = undefined;
    controller = await startController(controllerOptions());
    const scrapesBefore = scrapes;
    await until('the new controller to look at the rollout', async () => (scrapes > scrapesBefore + 2 ? true : undefined));
    const resumed = await rolloutStatus('echo');
    assert.equal(resumed.step, 1);
    assert.equal(resumed.phase, 'Progressing');
    assert.deepEqual(await weights('echo'), { 'echo-v1': 50, 'echo-v2': 50 });

    send('echo', 'echo-v2', '200', 10);
    const third = await until('step 3 (canary 100%) waiting for requests', waiting(2));
    assert.equal(third.canaryWeight, 100);
    assert.deepEqual(await weights('echo'), { 'echo-v1': 0, 'echo-v2': 100 });

    send('echo', 'echo-v2', '200', 10);
    const done = await until('Succeeded', async () => {
      const st = await rolloutStatus('echo');
      return st.phase === 'Succeeded' ? st : undefined;
    });
    assert.equal(done.canaryWeight, 100);
    assert.equal(done.step, 2);
    assert.equal(done.failedGate, undefined);
    assert.deepEqual(await weights('echo'), { 'echo-v1': 0, 'echo-v2': 100 });
  });

  test('a_canary_answering_500s_is_rolled_back_naming_the_gate_and_the_measured_value', async () => {
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: rollout('cart', 'cart', 'shop-v1', 'shop-v2') });
    await until('step 1 of cart', async () => ((await rolloutStatus('cart')).phase === 'Progressing' ? true : undefined));
    assert.deepEqual(await weights('cart'), { 'shop-v1': 80, 'shop-v2': 20 });
    send('cart', 'shop-v2', '500', 12);
    const s = await until('RolledBack', async () => {
      const st = await rolloutStatus('cart');
      return st.phase === 'RolledBack' ? st : undefined;
    });
    assert.equal(s.canaryWeight, 0);
    assert.equal(s.failedGate?.gate, 'minSuccessRate');
    assert.equal(s.failedGate?.measured, 0);
    assert.equal(s.failedGate?.threshold, 0.95);
    assert.equal(s.message, 'rolled back: canary success rate 0% over 12 requests is under minSuccessRate 95%');
    assert.deepEqual(await weights('cart'), { 'shop-v1': 100, 'shop-v2': 0 });
  });

  test('abort_rolls_back_and_pause_holds_the_weight', async () => {
    await service('pay', { svc: 'pay' });
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: { ...rollout('pay', 'pay', 'echo-v1', 'echo-v2'), spec: { ...rollout('pay', 'pay', 'echo-v1', 'echo-v2').spec, paused: true } } });
    const paused = await until('Paused', async () => {
      const st = await rolloutStatus('pay');
      return st.phase === 'Paused' ? st : undefined;
    });
    assert.equal(paused.canaryWeight, 20);
    assert.deepEqual(await weights('pay'), { 'echo-v1': 80, 'echo-v2': 20 });
    await custom.patchNamespacedCustomObject({ ...RO, namespace: 'shop', name: 'pay', body: { spec: { abort: true } } }, MERGE);
    const aborted = await until('RolledBack by abort', async () => {
      const st = await rolloutStatus('pay');
      return st.phase === 'RolledBack' ? st : undefined;
    });
    assert.match(aborted.message ?? '', /aborted at step 1 of 3/);
    assert.deepEqual(await weights('pay'), { 'echo-v1': 100, 'echo-v2': 0 });
  });

  test('a_finished_rollout_no_longer_writes_the_route_so_weights_set_by_hand_stay', async () => {
    // Finished by an abort: the route was set to the stable, then the status said RolledBack.
    await service('ship', { svc: 'ship' });
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: rollout('ship', 'ship', 'echo-v1', 'echo-v2') });
    await until('ship Progressing', async () => ((await rolloutStatus('ship')).phase === 'Progressing' ? true : undefined));
    await custom.patchNamespacedCustomObject({ ...RO, namespace: 'shop', name: 'ship', body: { spec: { abort: true } } }, MERGE);
    await until('ship RolledBack', async () => ((await rolloutStatus('ship')).phase === 'RolledBack' ? true : undefined));
    assert.deepEqual(await weights('ship'), { 'echo-v1': 100, 'echo-v2': 0 });
    // By hand afterwards (as `ambientctl traffic split` writes it): several passes leave it.
    const route = (await custom.getNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'ship' })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; port?: number; weight: number }> }> } };
    const rules = route.spec.rules.map((r) => ({ ...r, backendRefs: r.backendRefs.map((b) => ({ ...b, weight: b.name === 'echo-v2' ? 30 : 70 })) }));
    await custom.patchNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'ship', body: { spec: { rules } } }, MERGE);
    const driver = controller!.rolloutDriver!;
    const passes = driver.passes;
    await until('three more passes of the driver', () => (driver.passes >= passes + 3 ? true : undefined));
    assert.deepEqual(await weights('ship'), { 'echo-v1': 70, 'echo-v2': 30 });
    assert.equal((await rolloutStatus('ship')).phase, 'RolledBack');
  });

  test('a_rollout_resumed_while_its_canary_cannot_be_measured_is_progressing_and_says_why', async () => {
    await service('hold', { svc: 'hold' });
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: { ...rollout('hold', 'hold', 'echo-v1', 'echo-v2'), spec: { ...rollout('hold', 'hold', 'echo-v1', 'echo-v2').spec, paused: true } } });
    await until('hold Paused', async () => ((await rolloutStatus('hold')).phase === 'Paused' ? true : undefined));
    metricsDown = true;
    try {
      await custom.patchNamespacedCustomObject({ ...RO, namespace: 'shop', name: 'hold', body: { spec: { paused: false } } }, MERGE);
      const held = await until('hold Progressing and holding', async () => {
        const st = await rolloutStatus('hold');
        return /holding/.test(st.message ?? '') ? st : undefined;
      });
      assert.equal(held.phase, 'Progressing', JSON.stringify(held));
      assert.equal(held.canaryWeight, 20);
      assert.match(held.message ?? '', /^resumed at step 1 of 3: canary 20% \(holding: cannot measure the canary: no waypoint pod answered on :15020\/metrics \(shop\/waypoint-0 \(10\.9\.0\.5\): connect ECONNREFUSED\)\)$/);
      assert.deepEqual(await weights('hold'), { 'echo-v1': 80, 'echo-v2': 20 });
    } finally {
      metricsDown = false;
    }
    // Measured again: the hold is gone from the message.
    await until('hold no longer holding', async () => {
      const st = await rolloutStatus('hold');
      return st.phase === 'Progressing' && !/holding/.test(st.message ?? '') ? true : undefined;
    });
  });

  test('a_second_rollout_of_a_service_waits_for_the_first_instead_of_fighting_over_its_route', async () => {
    await service('dup', { svc: 'dup' });
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: { ...rollout('dup-a', 'dup', 'echo-v1', 'echo-v2'), spec: { ...rollout('dup-a', 'dup', 'echo-v1', 'echo-v2').spec, paused: true } } });
    await until('dup-a Paused', async () => ((await rolloutStatus('dup-a')).phase === 'Paused' ? true : undefined));
    // The second one would start at 10%: it waits, the route keeps the first one's weights.
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: { ...rollout('dup-b', 'dup', 'echo-v1', 'echo-v2'), spec: { ...rollout('dup-b', 'dup', 'echo-v1', 'echo-v2').spec, steps: [10, 100] } } });
    const waiting = await until('dup-b waiting', async () => {
      const st = await rolloutStatus('dup-b');
      return st.message ? st : undefined;
    });
    assert.equal(waiting.message, "waiting: Service dup's weights are driven by Rollout shop/dup-a; this one waits until that one has finished or is deleted");
    assert.equal(waiting.phase, undefined);
    const driver = controller!.rolloutDriver!;
    const passes = driver.passes;
    await until('three more passes of the driver', () => (driver.passes >= passes + 3 ? true : undefined));
    assert.deepEqual(await weights('dup'), { 'echo-v1': 80, 'echo-v2': 20 });
    assert.equal((await rolloutStatus('dup-a')).phase, 'Paused');
    // The first one ends: the second one drives.
    await custom.patchNamespacedCustomObject({ ...RO, namespace: 'shop', name: 'dup-a', body: { spec: { abort: true } } }, MERGE);
    const started = await until('dup-b Progressing', async () => {
      const st = await rolloutStatus('dup-b');
      return st.phase === 'Progressing' ? st : undefined;
    });
    assert.equal(started.canaryWeight, 10);
    assert.equal((await rolloutStatus('dup-a')).phase, 'RolledBack');
    assert.deepEqual(await weights('dup'), { 'echo-v1': 90, 'echo-v2': 10 });
  });

  test('an_invalid_spec_is_said_in_the_status_and_nothing_is_moved', async () => {
    await custom.createNamespacedCustomObject({ ...RO, namespace: 'shop', body: { ...rollout('bad', 'echo', 'echo-v1', 'echo-v2'), spec: { ...rollout('bad', 'echo', 'echo-v1', 'echo-v2').spec, interval: '2h' } } });
    const s = await until('the invalid spec message', async () => {
      const st = await rolloutStatus('bad');
      return st.message ? st : undefined;
    });
    // A duration the schema takes (manifests/crds.yaml) but the driver bounds: its status says why.
    assert.equal(s.message, 'invalid spec: spec.interval: "2h" is longer than 1h');
    assert.equal(s.phase, undefined);
  });
});
