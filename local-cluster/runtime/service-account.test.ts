import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { projectedTokenVolumes, volumeEnvName } from './service-account.js';

test('projected_token_volumes_are_found_with_their_audience_and_path', () => {
  const pod: V1Pod = {
    spec: {
      containers: [],
      volumes: [
        { name: 'netns', hostPath: { path: '/var/run/netns' } },
        { name: 'controller-token', projected: { sources: [{ serviceAccountToken: { audience: 'ambient.dev/controller', expirationSeconds: 3600, path: 'token' } }] } },
        { name: 'api', projected: { sources: [{ serviceAccountToken: { path: 'sub/token' } }, { configMap: { name: 'x' } }] } },
      ],
    },
  };
  assert.deepEqual(projectedTokenVolumes(pod), [
    { volume: 'controller-token', tokens: [{ path: 'token', audience: 'ambient.dev/controller' }] },
    { volume: 'api', tokens: [{ path: 'sub/token' }] },
  ]);
});

test('projected_token_paths_cannot_leave_their_volume', () => {
  const pod: V1Pod = { spec: { containers: [], volumes: [{ name: 'v', projected: { sources: [{ serviceAccountToken: { path: '../../etc/x' } }, { serviceAccountToken: { path: '/etc/x' } }] } }] } };
  assert.deepEqual(projectedTokenVolumes(pod), []);
});

test('volume_env_name_is_upper_case_with_underscores', () => {
  assert.equal(volumeEnvName('controller-token'), 'AMBIENT_VOLUME_CONTROLLER_TOKEN');
});
