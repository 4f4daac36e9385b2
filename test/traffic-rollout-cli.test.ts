// `ambientctl traffic`, `rollout`, `policies` and `authz check` as a user runs them: the real
// executable with a kubeconfig for the local API server (in this process, on a throwaway
// Redis) and no mesh installed. What they print against a real controller is
// test/mesh-api-cli.test.ts; here: a bad argument fails before anything is asked, and
// without credentials for the controller's API, or without the mesh, the error says which
// and what to do.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeConfigForServer } from '../core/kube/config.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { runAmbientctl, type CliResult } from './support/ambientctl.js';


let redis: TestRedis;
let api: ApiServer;
let dir: string;
let kubeconfig: string;

const run = (...args: string[]): Promise<CliResult> => runAmbientctl(['--kubeconfig', kubeconfig, ...args]);

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'trafficcli:' });
  const kc = kubeConfigForServer(api.url);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'shop' } } });
  await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'deployer' } } });
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

describe('ambientctl traffic, rollout, policies and authz check without a mesh', () => {
  test('bad_arguments_fail_before_any_call_naming_the_argument', async () => {
    const neg = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=-5');
    assert.equal(neg.code, 1);
    assert.match(neg.stderr, /^error: "echo-v1=-5": the weight "-5" is not an integer/);
    const both = await run('traffic', 'split', 'echo', '-n', 'shop', '--to', 'echo-v1', 'echo-v2=1');
    assert.match(both.stderr, /not both/);
    const window = await run('traffic', 'show', 'echo', '-n', 'shop', '--window', 'soon');
    assert.equal(window.code, 1);
    assert.match(window.stderr, /^error: --window/);
    const path = await run('authz', 'check', '--from', 'shop/client', '--to', 'echo.shop:80', '--path', 'x');
    assert.equal(path.stderr, 'error: --path: "x" does not start with /\n');
    const sa = await run('rollout', 'status', '-n', 'shop', '--service-account', 'no-slash');
    assert.equal(sa.code, 1);
    assert.match(sa.stderr, /--service-account "no-slash" is not NAMESPACE\/NAME/);
  });

  test('a_kubeconfig_user_without_credentials_is_told_to_use_service_account', async () => {
    for (const args of [['rollout', 'status', '-n', 'shop'], ['traffic', 'show', 'echo', '-n', 'shop'], ['policies'], ['rollout', 'pause', 'echo', '-n', 'shop']]) {
      const r = await run(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /has neither a bearer token nor a client certificate for the controller's API; use a context with credentials, or --service-account NAMESPACE\/NAME/, args.join(' '));
    }
  });

  test('without_the_mesh_the_error_says_so', async () => {
    const r = await run('traffic', 'split', 'echo', '-n', 'shop', 'echo-v1=1', '--service-account', 'shop/deployer');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read the mesh's roots \(ConfigMap ambient-system\/ambient-ca-root\) to verify the controller: .*is the mesh installed\?/);
    const missing = await run('rollout', 'status', '-n', 'shop', '--service-account', 'shop/nobody');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nobody/);
  });
});
