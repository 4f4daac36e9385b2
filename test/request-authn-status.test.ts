// Direct tier: RequestAuthentication status through the whole controller, against the local
// API server on a real Redis: the leader writes Accepted (True, or False with the compiler's
// message naming the field and the value) and, for one that selects workloads, Enforced=False
// TargetRefsRequired, each with observedGeneration; a fix is followed by a new status for
// the new generation. The AuthorizationPolicy status writer does it (controller/policy-status.ts).
// Every wait is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startController, type Controller } from '../controller/controller.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { pollUntil, installMeshCrds } from './support/control-plane.js';

const WAIT = 10_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RA = { group: 'ambient.dev', version: 'v1', plural: 'requestauthentications' };
const KEYS = 'https://issuer.example/jwks.json';

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let custom: CustomObjectsApi;
let controller: Controller;

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number; lastTransitionTime?: string };

async function conditions(name: string): Promise<Cond[]> {
  const o = (await custom.getNamespacedCustomObject({ ...RA, namespace: 'apps', name })) as { status?: { conditions?: Cond[] } };
  return o.status?.conditions ?? [];
}

const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined): Promise<T> => pollUntil(what, fn, WAIT);

const create = (name: string, spec: unknown) => custom.createNamespacedCustomObject({ ...RA, namespace: 'apps', body: { apiVersion: 'ambient.dev/v1', kind: 'RequestAuthentication', metadata: { name }, spec } });

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'rastatus:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  for (const ns of ['ambient-system', 'apps']) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => {});
  controller = await startController({
    kubeConfig: kc,
    trustDomain: 'cluster.local',
    listen: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    limits: { drainTimeoutMs: 1_000 },
    debounceMs: 20,
    policyStatusLimits: { retryMinMs: 100, retryMaxMs: 500, resyncMs: 300 },
    waypoints: { enabled: false },
  });
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
});

test('request_authentication_gets_accepted_status_with_observed_generation', async () => {
  await create('jwt', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS }] });
  const cs = await until('Accepted on jwt', async () => {
    const c = await conditions('jwt');
    return c.length > 0 ? c : undefined;
  });
  assert.deepEqual(cs.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'True', 'Accepted']]);
  assert.equal(cs[0]!.observedGeneration, 1);
  assert.match(cs[0]!.lastTransitionTime ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
});

test('invalid_request_authentication_gets_accepted_false_naming_field_and_value_and_a_fix_flips_it', async () => {
  await create('broken', { targetRefs: [{ group: '', kind: 'Service', name: 'echo' }], jwtRules: [{ issuer: 'https://issuer.example', jwksUri: 'ftp://x' }] });
  const refused = await until('Accepted=False on broken', async () => (await conditions('broken')).find((c) => c.type === 'Accepted' && c.status === 'False'));
  assert.equal(refused.reason, 'Invalid');
  assert.match(refused.message, /spec\.jwtRules\[0\]\.jwksUri: "ftp:\/\/x" is not an http\(s\) URL/);
  assert.equal(refused.observedGeneration, 1);

  await custom.patchNamespacedCustomObject({ ...RA, namespace: 'apps', name: 'broken', body: { spec: { jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS }] } } }, MERGE);
  const fixed = await until('Accepted=True after the fix', async () => (await conditions('broken')).find((c) => c.type === 'Accepted' && c.status === 'True'));
  assert.equal(fixed.observedGeneration, 2);
  assert.notEqual(fixed.lastTransitionTime, undefined);
});

test('selector_request_authentication_is_accepted_but_enforced_false_target_refs_required', async () => {
  await create('by-selector', { selector: { matchLabels: { app: 'echo' } }, jwtRules: [{ issuer: 'https://issuer.example', jwksUri: KEYS }] });
  const cs = await until('two conditions on by-selector', async () => {
    const c = await conditions('by-selector');
    return c.length === 2 ? c : undefined;
  });
  assert.deepEqual(cs.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'True', 'Accepted'], ['Enforced', 'False', 'TargetRefsRequired']]);
  assert.match(cs[1]!.message, /NOT ENFORCED: it selects workloads/);
  assert.match(cs[1]!.message, /spec\.targetRefs/);
});

// Repaired on the writer's resync (shortened here), as an AuthorizationPolicy's status is.
test('request_authentication_status_changed_by_someone_else_is_put_back', async () => {
  await until('Accepted on jwt', async () => ((await conditions('jwt')).length > 0 ? true : undefined));
  await custom.patchNamespacedCustomObjectStatus({ ...RA, namespace: 'apps', name: 'jwt', body: { status: { conditions: [{ type: 'Accepted', status: 'False', reason: 'Forged', message: 'x', observedGeneration: 1, lastTransitionTime: '2020-01-01T00:00:00Z' }] } } }, MERGE);
  await until('the status put back', async () => ((await conditions('jwt')).some((c) => c.type === 'Accepted' && c.status === 'True') ? true : undefined));
});
