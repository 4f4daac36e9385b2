// PUT /services/{ns}/{name}/split when the controller's cache lags the API server: the
// handler plans from its cached route, whose resourceVersion is stale once anybody (the
// controller's own status write included) changed the route, so the API server answers the
// patch 409. The handler plans once more from the route as stored: the change made meanwhile
// is kept, never overwritten, and a route that no longer fits the split keeps the 409.
// Direct tier: the handler against the local API server (a throwaway Redis), with a cache
// made stale on purpose.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ApiContext } from '../controller/api/context.js';
import { ApiFailure } from '../controller/api/api-error.js';
import { putSplit, SPLIT_OUTCOME_HEADER } from '../controller/api/handlers/split.js';
import type { ApiRequest } from '../controller/api/types.js';
import { GATEWAY_API as GW, MERGE, startApiEnv, type ApiEnv } from './support/control-plane.js';

const NS = 'shop';
let env: ApiEnv;

interface Route {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: { parentRefs?: unknown[]; rules: Array<{ backendRefs?: Array<{ name: string; port?: number; weight?: number }> }> };
}

before(async () => {
  env = await startApiEnv('splitconflict', [NS]);
  for (const name of ['echo', 'echo-v1', 'echo-v2']) {
    await env.core.createNamespacedService({ namespace: NS, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } } });
  }
});
after(() => env?.close());

async function createRoute(name: string): Promise<Route> {
  return (await env.custom.createNamespacedCustomObject({
    ...GW,
    plural: 'httproutes',
    namespace: NS,
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 100 }, { name: 'echo-v2', port: 80, weight: 0 }] }] },
    },
  })) as Route;
}

async function patchRoute(name: string, body: unknown): Promise<Route> {
  return (await env.custom.patchNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: NS, name, body }, MERGE)) as Route;
}

async function readRoute(name: string): Promise<Route> {
  return (await env.custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: NS, name })) as Route;
}

/** The API's context as the handler reads it, its cache holding `cached` (stale on purpose). */
async function contextWithCache(cached: Route): Promise<ApiContext> {
  const services = (await env.core.listNamespacedService({ namespace: NS })).items;
  return {
    kube: env.kc,
    limits: { kubeRequestTimeoutMs: 10_000 },
    state: () => ({ httpRoutes: [cached], services }),
  } as unknown as ApiContext;
}

function splitRequest(weights: Record<string, number>): ApiRequest {
  return { params: { namespace: NS, name: 'echo' }, query: new URLSearchParams(), body: { weights }, user: { username: 'test' }, authorize: async () => {}, audit: () => {} } as unknown as ApiRequest;
}

const weightsOf = (r: Route) => Object.fromEntries((r.spec.rules[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));

test('a_stale_cache_409_is_planned_again_from_the_stored_route_keeping_the_change_made_meanwhile', async () => {
  const stale = await createRoute('echo');
  await patchRoute('echo', { metadata: { labels: { team: 'shop' } } }); // somebody else's write
  const answer = await putSplit(splitRequest({ 'echo-v1': 80, 'echo-v2': 20 }), await contextWithCache(stale));
  assert.equal(answer.headers?.[SPLIT_OUTCOME_HEADER], 'configured');
  const stored = await readRoute('echo');
  assert.deepEqual(weightsOf(stored), { 'echo-v1': 80, 'echo-v2': 20 });
  assert.equal(stored.metadata.labels?.['team'], 'shop', 'the change made meanwhile is kept');
  assert.deepEqual(weightsOf(answer.body as Route), { 'echo-v1': 80, 'echo-v2': 20 }, 'the answer is the route after the write');
});

test('a_409_on_a_route_already_at_the_weights_asked_is_unchanged', async () => {
  const stale = await readRoute('echo');
  await patchRoute('echo', { spec: { rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 50 }, { name: 'echo-v2', port: 80, weight: 50 }] }] } });
  const answer = await putSplit(splitRequest({ 'echo-v1': 50, 'echo-v2': 50 }), await contextWithCache(stale));
  assert.equal(answer.headers?.[SPLIT_OUTCOME_HEADER], 'unchanged');
  assert.deepEqual(weightsOf(await readRoute('echo')), { 'echo-v1': 50, 'echo-v2': 50 });
});

test('a_409_on_a_route_changed_so_the_split_no_longer_fits_stays_a_409_and_nothing_is_written', async () => {
  const stale = await readRoute('echo');
  // Meanwhile its rules became redirects: no weights to set.
  const changed = await patchRoute('echo', { spec: { rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 302, hostname: 'example.test' } }] }] } });
  await assert.rejects(putSplit(splitRequest({ 'echo-v1': 90, 'echo-v2': 10 }), await contextWithCache(stale)), (err) => err instanceof ApiFailure && err.status === 409);
  const stored = await readRoute('echo');
  assert.equal(stored.metadata.resourceVersion, changed.metadata.resourceVersion, 'nothing written');
});
