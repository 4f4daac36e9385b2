// Direct tier: the controller's API called with the admin kubeconfig's credential, as
// `ambientctl dashboard` presents it on the local cluster. The local API server has an admin
// token (loopback callers without one are nobody, as `cluster up` runs it); the controller
// runs as its own ServiceAccount. The admin's token is checked by the controller with a
// TokenReview and authorized with a SubjectAccessReview (group system:masters), and the
// write it makes is logged with that user. Every wait is bounded.
import assert from 'node:assert/strict';
import { apiCall, type ApiAnswer } from './support/api-call.js';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Controller } from '../controller/controller.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { newAdminToken } from '../local-cluster/apiserver/admin-token.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { GATEWAY_API as GW, pollUntil, startTestController, installMeshCrds } from './support/control-plane.js';
import { applyMeshRbac } from './support/mesh-rbac.js';
import { startRedis, type TestRedis } from './support/redis.js';

const WAIT = 8_000;
const adminToken = newAdminToken();
let redis: TestRedis;
let api: ApiServer;
let controller: Controller;
let custom: CustomObjectsApi;
const logLines: string[] = [];

const call = (method: string, path: string, token: string | undefined, body?: unknown): Promise<ApiAnswer> => apiCall(controller, method, path, { ...(token !== undefined && { token }), ...(body !== undefined && { body }) });

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'ctladmin:', adminToken });
  const admin = kubeConfigForServer(api.url, adminToken);
  await installMeshCrds(admin);
  const core = admin.makeApiClient(CoreV1Api);
  custom = admin.makeApiClient(CustomObjectsApi);
  for (const name of ['ambient-system', 'apps']) await core.createNamespace({ body: { metadata: { name } } }).catch(() => {});
  await core.createNamespacedServiceAccount({ namespace: 'ambient-system', body: { metadata: { name: 'ambient-controller' } } });
  // Its RBAC is all it has (the local cluster authorizes the mesh's ServiceAccounts by RBAC alone).
  await applyMeshRbac(admin);
  const controllerToken = (await core.createNamespacedServiceAccountToken({ namespace: 'ambient-system', name: 'ambient-controller', body: { spec: { audiences: [] } } })).status!.token;
  for (const name of ['echo-v1', 'echo-v2']) {
    await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name }, spec: { selector: { app: 'echo', version: name.slice(5) }, ports: [{ name: 'http', port: 80 }] } } });
  }
  await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name: 'echo' }, spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 80 }] } } });
  await custom.createNamespacedCustomObject({
    ...GW,
    plural: 'httproutes',
    namespace: 'apps',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'echo' },
      spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ backendRefs: [{ name: 'echo-v1', port: 80, weight: 100 }, { name: 'echo-v2', port: 80, weight: 0 }] }] },
    },
  });
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) }));
  // The controller as it runs in the cluster: its own ServiceAccount's token, never the admin's.
  controller = await startTestController(kubeConfigForServer(api.url, controllerToken), { rollouts: { enabled: false }, waypoints: { enabled: false }, logger, api: {} });
  await pollUntil('the controller to compile the route', async () => ((await call('GET', '/api/v1/routes?namespace=apps', adminToken)).json?.items?.length === 1 ? true : undefined), WAIT);
});

after(async () => {
  await controller?.close();
  await api?.close();
  await redis?.stop();
});

test('the_admin_kubeconfig_token_reads_the_api_through_token_review_and_subject_access_review', async () => {
  const r = await call('GET', '/api/v1/services?namespace=apps', adminToken);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.items.map((s: { name: string }) => s.name).sort(), ['echo', 'echo-v1', 'echo-v2']);
});

test('the_admin_kubeconfig_token_writes_a_split_and_the_write_is_logged_with_the_admin_user', async () => {
  const r = await call('PUT', '/api/v1/services/apps/echo/split', adminToken, { weights: { 'echo-v1': 70, 'echo-v2': 30 } });
  assert.equal(r.status, 200, r.text);
  const route = (await custom.getNamespacedCustomObject({ ...GW, plural: 'httproutes', namespace: 'apps', name: 'echo' })) as { spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> } };
  assert.deepEqual(route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]), [['echo-v1', 70], ['echo-v2', 30]]);
  const writes = logLines.map((l) => JSON.parse(l) as { msg: string; user?: string; groups?: string[] }).filter((l) => l.msg === 'api: write');
  assert.equal(writes.length, 1, logLines.join(''));
  assert.equal(writes[0]!.user, 'ambient-admin');
  assert.deepEqual(writes[0]!.groups, ['system:masters', 'system:authenticated']);
});

test('a_guessed_admin_token_is_401_at_the_controller_api', async () => {
  const guess = `${adminToken.slice(0, -1)}${adminToken.endsWith('A') ? 'B' : 'A'}`;
  for (const token of [guess, newAdminToken(), undefined]) {
    const r = await call('GET', '/api/v1/services?namespace=apps', token);
    assert.equal(r.status, 401, `${token ?? 'no token'}: ${r.text}`);
    assert.equal(r.json.error.code, 'AMB_API_UNAUTHENTICATED');
  }
});
