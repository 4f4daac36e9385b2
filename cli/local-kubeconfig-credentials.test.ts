// The local cluster's admin kubeconfig gives the controller link its credentials by itself:
// what `ambientctl dashboard` and the API client present without --service-account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { newAdminToken } from '../local-cluster/apiserver/admin-token.js';
import { kubeconfigYaml } from '../local-cluster/state.js';
import { credentialSource, kubeconfigCredentials } from './controller-link.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('the_local_admin_kubeconfig_carries_the_admin_token_over_https_with_the_cluster_ca', () => {
  const token = newAdminToken();
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml('local', 40000, token, CA));
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:40000');
  assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
  assert.equal(Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString(), CA);
  assert.equal(kc.getCurrentUser()?.token, token);
});

test('the_controller_link_takes_the_local_admin_kubeconfig_token_without_a_service_account', async () => {
  const token = newAdminToken();
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml('local', 40000, token, CA));
  assert.deepEqual(await kubeconfigCredentials(kc), { token });
  assert.deepEqual(await credentialSource(kc)(), { token });
});
