// Direct tier: the controller program in-process (startController) against the local API
// server on a real Redis. A node agent's ControllerClient connects with a pod-bound token
// over real TLS; what it receives, the CA Secret, /metrics and /healthz/ready are what a
// user would see. Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import type { Resource, Workload } from '../core/config/model.js';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import { CA_FILES } from '../core/identity/ca.js';
import { spiffeId } from '../core/identity/spiffe.js';
import { certificateInfo, createCsr, generateKeyPem } from '../core/identity/x509.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller, type ControllerOptions } from '../controller/controller.js';
import { ControllerClient, type ConfigUpdate } from '../node-agent/controller-client/client.js';
import { waitFor } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { installMeshCrds } from './support/control-plane.js';

const TD = 'cluster.local';
const AUDIENCE = 'ambient-controller';
const WAIT = 8_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let controller: Controller;
let agentToken = '';
const started: Controller[] = [];

function options(extra: Partial<ControllerOptions> = {}): ControllerOptions {
  return {
    kubeConfig: kc,
    trustDomain: TD,
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    audiences: [AUDIENCE],
    limits: { drainTimeoutMs: 1_000 },
    ...extra,
  };
}

async function start(extra: Partial<ControllerOptions> = {}): Promise<Controller> {
  const c = await startController(options(extra));
  started.push(c);
  return c;
}

async function createPod(namespace: string, name: string, sa: string, nodeName: string, ip: string): Promise<void> {
  await core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: { nodeName, serviceAccountName: sa, containers: [{ name: 'c', image: 'busybox' }] } } });
  await core.patchNamespacedPodStatus({ namespace, name, body: { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } } }, MERGE);
}

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'ctrl:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  for (const ns of ['ambient-system', 'apps']) {
    await core.createNamespace({ body: { metadata: { name: ns } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  }
  for (const [ns, sa] of [['ambient-system', 'ambient-node-agent'], ['apps', 'reviews'], ['apps', 'ratings']] as const) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  }
  await createPod('ambient-system', 'agent-a', 'ambient-node-agent', 'node-1', '10.244.1.2');
  await createPod('apps', 'reviews-1', 'reviews', 'node-1', '10.244.1.5');
  await createPod('apps', 'ratings-1', 'ratings', 'node-2', '10.244.2.5');
  const tr = await core.createNamespacedServiceAccountToken({
    namespace: 'ambient-system',
    name: 'ambient-node-agent',
    body: { spec: { audiences: [AUDIENCE], boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'agent-a' } } },
  });
  agentToken = tr.status!.token;
  controller = await start();
});

after(async () => {
  for (const c of started) await c.close();
  await api?.close();
  await redis?.stop();
});

/** A node agent's client on node-1; `workloads` is what it holds now. */
function startAgent() {
  const workloads = new Map<string, Workload>();
  const updates: ConfigUpdate[] = [];
  const client = new ControllerClient({
    address: { host: '127.0.0.1', port: controller.address.port },
    trustBundle: controller.ca.trustBundle,
    controllerIdentity: 'ambient-controller.ambient-system.svc', // the name on its serving certificate, as agents check it
    token: () => agentToken,
    node: 'node-1',
    onUpdate: (u) => {
      updates.push(u);
      if (u.full) workloads.clear();
      for (const r of u.removes) if (r.kind === 'Workload') workloads.delete(r.key);
      for (const r of u.upserts as Resource[]) if (r.kind === 'Workload') workloads.set(r.key, r.body as Workload);
    },
    limits: { reconnectMinMs: 50, reconnectMaxMs: 300, connectTimeoutMs: 3_000, requestTimeoutMs: 5_000 },
  });
  client.on('error', () => {});
  return { client, workloads, updates };
}

const byName = (m: Map<string, Workload>, name: string) => [...m.values()].find((w) => w.name === name);

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${controller.metricsPort}${path}`, { signal: AbortSignal.timeout(WAIT) });
  return { status: res.status, body: await res.text() };
}

function metric(body: string, name: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ca secret', () => {
  test('ca_secret_is_created_on_first_start_and_reused_on_the_second', async () => {
    assert.equal(controller.caSource.source, 'created');
    assert.equal(controller.caSource.secret, 'ambient-system/ambient-ca');
    const secret = await core.readNamespacedSecret({ namespace: 'ambient-system', name: 'ambient-ca' });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), Object.values(CA_FILES).sort());
    const root = Buffer.from(secret.data![CA_FILES.rootCert]!, 'base64').toString();
    assert.deepEqual(controller.ca.trustBundle.pems(), [root]);

    const second = await start();
    assert.equal(second.caSource.source, 'existing');
    assert.deepEqual(second.ca.trustBundle.fingerprints(), controller.ca.trustBundle.fingerprints());
    await second.close();
  });

  test('corrupt_ca_secret_makes_start_fail_naming_the_secret', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await core.createNamespacedSecret({
      namespace: 'ambient-system',
      body: { metadata: { name: 'broken-ca' }, data: { [CA_FILES.caCert]: b64('not a pem'), [CA_FILES.caKey]: b64('nope'), [CA_FILES.rootCert]: b64('not a pem') } },
    });
    const err = await startController(options({ caSecretName: 'broken-ca' })).then(
      (c) => {
        started.push(c);
        assert.fail('started with a corrupt CA Secret');
      },
      (e: unknown) => e,
    );
    assert.ok(isMeshError(err, ErrorCodes.CA_INVALID), String(err));
    assert.match((err as Error).message, /CA Secret ambient-system\/broken-ca is unusable: .*refusing to start/);
    // Not silently replaced.
    const after = await core.readNamespacedSecret({ namespace: 'ambient-system', name: 'broken-ca' });
    assert.equal(Buffer.from(after.data![CA_FILES.caCert]!, 'base64').toString(), 'not a pem');

    await core.createNamespacedSecret({ namespace: 'ambient-system', body: { metadata: { name: 'partial-ca' }, data: { [CA_FILES.caCert]: b64('x') } } });
    const missing = await startController(options({ caSecretName: 'partial-ca' })).then(
      () => assert.fail('started with a partial CA Secret'),
      (e: unknown) => e,
    );
    assert.ok(isMeshError(missing, ErrorCodes.CA_LOAD_FAILED), String(missing));
    assert.match((missing as Error).message, /CA Secret ambient-system\/partial-ca is unusable: it has no key ca-key.pem/);
  });
});

describe('controller', () => {
  test('readiness_follows_sync_and_first_config', async () => {
    await waitFor(() => controller.ready(), WAIT, 'the controller to be ready');
    const ready = await get('/healthz/ready');
    assert.equal(ready.status, 200);
    assert.equal((await get('/nope')).status, 404);
  });

  test('labelling_a_namespace_enrols_its_pods_and_unlabelling_reverts', async (t) => {
    const agent = startAgent();
    t.after(() => agent.client.close());
    agent.client.start();
    await waitFor(() => byName(agent.workloads, 'reviews-1') !== undefined, WAIT, 'reviews-1 to arrive');
    assert.equal(byName(agent.workloads, 'reviews-1')!.protocol, 'TCP');
    assert.equal(byName(agent.workloads, 'ratings-1')?.node, 'node-2', 'the agent gets the whole mesh');

    await core.patchNamespace({ name: 'apps', body: { metadata: { labels: { 'ambient.dev/dataplane-mode': 'ambient' } } } }, MERGE);
    await waitFor(() => byName(agent.workloads, 'reviews-1')?.protocol === 'HBONE' && byName(agent.workloads, 'ratings-1')?.protocol === 'HBONE', WAIT, 'the apps pods to be enrolled');
    assert.equal(byName(agent.workloads, 'agent-a')?.protocol, 'TCP', 'other namespaces are not enrolled');
    const enrolledAt = agent.updates.length;

    await core.patchNamespace({ name: 'apps', body: { metadata: { labels: { 'ambient.dev/dataplane-mode': null } } } }, MERGE);
    await waitFor(() => byName(agent.workloads, 'reviews-1')?.protocol === 'TCP', WAIT, 'reviews-1 to be un-enrolled');
    assert.ok(agent.updates.length > enrolledAt);
    assert.equal(agent.updates.at(-1)!.full, false, 'a change travels as an incremental update');

    // While connected: the metrics say so.
    await waitFor(() => controller.server.status().clients.length === 1, WAIT, 'the stream to be counted');
    const m = await get('/metrics');
    assert.equal(m.status, 200);
    assert.equal(metric(m.body, 'ambient_controller_connected_clients'), 1);
    assert.ok(metric(m.body, 'ambient_controller_config_version')! > 0, 'a config version');
    assert.ok(metric(m.body, 'ambient_controller_config_pushes_total')! >= 3, 'first config, enrol, un-enrol');
    assert.equal(metric(m.body, 'ambient_controller_config_version'), Number(controller.server.status().version));
  });

  test('node_agent_gets_a_certificate_for_a_pod_identity_on_its_node', async (t) => {
    const agent = startAgent();
    t.after(() => agent.client.close());
    const key = await generateKeyPem();
    const issued = await agent.client.requestCertificate(createCsr(key, spiffeId('apps', 'reviews', TD)));
    assert.ok(controller.ca.trustBundle.verifies(issued.chain), 'the chain verifies against the CA in the Secret');
    assert.deepEqual(certificateInfo(issued.chain[0]!).uris, ['spiffe://cluster.local/ns/apps/sa/reviews']);
    // ratings runs on node-2 only.
    await assert.rejects(agent.client.requestCertificate(createCsr(key, spiffeId('apps', 'ratings', TD))), (e: unknown) => isMeshError(e, ErrorCodes.CTRL_CSR_DENIED));
    const m = await get('/metrics');
    assert.equal(metric(m.body, 'ambient_controller_csr_total{result="issued"}'), 1);
    assert.equal(metric(m.body, 'ambient_controller_csr_total{result="refused"}'), 1);
    assert.equal(metric(m.body, 'ambient_controller_csr_duration_seconds_count'), 2);
  });
});

describe('authorization policies', () => {
  const AP = { group: 'ambient.dev', version: 'v1', plural: 'authorizationpolicies' };
  const createAp = (namespace: string, name: string, spec: unknown) =>
    kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ ...AP, namespace, body: { apiVersion: 'ambient.dev/v1', kind: 'AuthorizationPolicy', metadata: { name }, spec } });
  const readAp = (namespace: string, name: string) => kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...AP, namespace, name }) as Promise<{ status?: { conditions?: Array<Record<string, unknown>> } }>;

  /** Polls an async condition, bounded. */
  async function waitForAsync(cond: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + WAIT;
    while (!(await cond())) {
      if (Date.now() > deadline) assert.fail(`timed out after ${WAIT} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The Policy keys an agent on node-1 holds, from its updates. */
  function heldPolicies(updates: ConfigUpdate[]): Set<string> {
    const held = new Set<string>();
    for (const u of updates) {
      if (u.full) held.clear();
      for (const r of u.removes) if (r.kind === 'Policy') held.delete(r.key);
      for (const r of u.upserts as Resource[]) if (r.kind === 'Policy') held.add(r.key);
    }
    return held;
  }

  test('node_agent_gets_only_policies_selecting_its_workloads_and_a_pod_arriving_brings_its_namespaces_policy', async (t) => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'web' } } });
    await createAp('apps', 'apps-deny', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['evil'] } }] }] });
    await createAp('shop', 'shop-allow-nothing', {});
    await createAp('apps', 'ratings-only', { selector: { matchLabels: { app: 'ratings' } }, action: 'DENY', rules: [{}] });
    const agent = startAgent();
    t.after(() => agent.client.close());
    agent.client.start();
    await waitFor(() => heldPolicies(agent.updates).has('apps/apps-deny'), WAIT, 'the apps policy to reach node-1 (reviews-1 runs there)');
    assert.ok(!heldPolicies(agent.updates).has('shop/shop-allow-nothing'), 'no shop pod on node-1: not sent');
    assert.ok(!heldPolicies(agent.updates).has('apps/ratings-only'), 'its selector matches no workload on node-1');

    await createPod('shop', 'web-1', 'web', 'node-1', '10.244.1.9');
    await waitFor(() => heldPolicies(agent.updates).has('shop/shop-allow-nothing'), WAIT, 'the shop policy to follow the pod to node-1');
    await core.deleteNamespacedPod({ namespace: 'shop', name: 'web-1', gracePeriodSeconds: 0 });
    await waitFor(() => !heldPolicies(agent.updates).has('shop/shop-allow-nothing'), WAIT, 'the shop policy to leave node-1 with its last pod');
  });

  // The fail-open window: a node agent serves a pod from its CNI ADD, before the pod has an
  // IP and so before its Workload exists. The policies selecting it must reach the node as
  // soon as the pod is scheduled there, by namespace and by (root-namespace) selector, and
  // follow its labels, though the translated resources do not change at all.
  test('pod_scheduled_without_ip_brings_its_policies_to_the_node_before_its_workload_exists', async (t) => {
    await core.createNamespace({ body: { metadata: { name: 'bank' } } });
    await core.createNamespacedServiceAccount({ namespace: 'bank', body: { metadata: { name: 'teller' } } });
    await createAp('bank', 'bank-deny-evil', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['evil'] } }] }] });
    await createAp('ambient-system', 'mesh-cashiers', { selector: { matchLabels: { role: 'cashier' } }, action: 'DENY', rules: [{ from: [{ source: { namespaces: ['evil'] } }] }] });
    // Both translated (so the pod below changes no resource: only its placement).
    const translated = async () => {
      const config = JSON.parse((await get('/debug/config')).body) as { resources: Resource[] };
      const keys = new Set(config.resources.filter((r) => r.kind === 'Policy').map((r) => r.key));
      return keys.has('bank/bank-deny-evil') && keys.has('ambient-system/mesh-cashiers');
    };
    await waitForAsync(translated, 'the bank and cashier policies to be translated');
    const agent = startAgent();
    t.after(() => agent.client.close());
    agent.client.start();
    await waitFor(() => heldPolicies(agent.updates).has('apps/apps-deny'), WAIT, 'the first config with node-1 policies');
    assert.ok(!heldPolicies(agent.updates).has('bank/bank-deny-evil'), 'no bank pod on node-1 yet: not sent');
    assert.ok(!heldPolicies(agent.updates).has('ambient-system/mesh-cashiers'), 'no cashier on node-1 yet: not sent');

    // Scheduled (spec.nodeName), no status at all: no IP, so no Workload.
    await core.createNamespacedPod({ namespace: 'bank', body: { metadata: { name: 'teller-1' }, spec: { nodeName: 'node-1', serviceAccountName: 'teller', containers: [{ name: 'c', image: 'busybox' }] } } });
    await waitFor(() => heldPolicies(agent.updates).has('bank/bank-deny-evil'), WAIT, 'the bank policy to reach node-1 with the scheduled pod');
    assert.equal(byName(agent.workloads, 'teller-1'), undefined, 'the pod has no Workload yet: the scheduled pod brought the policy');
    assert.ok(!heldPolicies(agent.updates).has('ambient-system/mesh-cashiers'), 'teller-1 is not a cashier');

    // Relabelled while pending: the root-namespace selector policy follows the labels.
    await core.patchNamespacedPod({ namespace: 'bank', name: 'teller-1', body: { metadata: { labels: { role: 'cashier' } } } }, MERGE);
    await waitFor(() => heldPolicies(agent.updates).has('ambient-system/mesh-cashiers'), WAIT, 'the mesh-wide cashier policy to reach node-1');
    assert.equal(byName(agent.workloads, 'teller-1'), undefined);

    // Removals: both leave node-1 with the last pod they select there.
    await core.deleteNamespacedPod({ namespace: 'bank', name: 'teller-1', gracePeriodSeconds: 0 });
    await waitFor(
      () => !heldPolicies(agent.updates).has('bank/bank-deny-evil') && !heldPolicies(agent.updates).has('ambient-system/mesh-cashiers'),
      WAIT,
      'the bank and cashier policies to leave node-1 with teller-1',
    );
    assert.ok(heldPolicies(agent.updates).has('apps/apps-deny'), 'the policies of the pods still there stay');
  });

  test('malformed_policy_gets_accepted_false_status_while_a_valid_one_is_served', async () => {
    await createAp('apps', 'bad-cidr', { action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }] });
    await createAp('apps', 'good', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/evil/sa/x'] } }] }] });
    await waitForAsync(async () => ((await readAp('apps', 'bad-cidr')).status?.conditions?.length ?? 0) > 0, 'the status of apps/bad-cidr to be written');
    const bad = (await readAp('apps', 'bad-cidr')).status!.conditions!;
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!['type'], 'Accepted');
    assert.equal(bad[0]!['status'], 'False');
    assert.equal(bad[0]!['reason'], 'Invalid');
    assert.equal(
      bad[0]!['message'],
      'spec.rules[0].from[0].source.ipBlocks[0]: "10.0.0.0/33" is not an IP address or CIDR block. Until it is fixed it is enforced fail-closed: every connection to every workload of namespace apps is denied.',
    );
    assert.equal(typeof bad[0]!['lastTransitionTime'], 'string');
    assert.equal(bad[0]!['observedGeneration'], 1);
    await waitForAsync(async () => ((await readAp('apps', 'good')).status?.conditions?.length ?? 0) === 2, 'the status of apps/good to be written');
    const good = (await readAp('apps', 'good')).status!.conditions!;
    assert.deepEqual(good.map((c) => `${c['type']}=${c['status']}/${c['reason']}`), ['Accepted=True/Accepted', 'Enforced=True/Enforced']);

    const res = await get('/debug/config');
    assert.equal(res.status, 200);
    const config = JSON.parse(res.body) as { version: string; trustDomain: string; rootNamespace: string; resources: Resource[]; policyStatuses: Array<{ name: string }>; problems: Array<{ key: string }> };
    assert.equal(config.trustDomain, TD);
    assert.equal(config.rootNamespace, 'ambient-system');
    assert.ok(Number(config.version) > 0);
    assert.ok(config.resources.some((r) => r.kind === 'Policy' && r.key === 'apps/good'));
    const standIn = config.resources.find((r) => r.kind === 'Policy' && r.key === 'apps/bad-cidr')?.body as { rules: unknown[]; rejected?: string } | undefined;
    assert.deepEqual(standIn?.rules, [{ from: [], to: [], when: [] }], 'served as its fail-closed stand-in');
    assert.match(standIn?.rejected ?? '', /10\.0\.0\.0\/33/);
    assert.ok(config.policyStatuses.some((s) => s.name === 'bad-cidr'));
    assert.ok(config.problems.some((p) => p.key === 'apps/bad-cidr'));
  });
});
