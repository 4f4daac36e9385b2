// The admin token: its file (root-only, new at every start) and the bearer check.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import { adminTokenPath, checkBearer, defaultAdminTokenPath, newAdminToken, writeAdminToken } from './admin-token.js';

test('admin_token_is_random_and_url_safe', () => {
  const a = newAdminToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newAdminToken());
});

test('admin_token_path_is_per_node_and_refuses_odd_node_names', () => {
  assert.equal(adminTokenPath('node1', '/d'), '/d/node1/admin-token');
  for (const bad of ['../etc', 'a/b', '', 'Node1', '.hidden']) {
    assert.throws(() => adminTokenPath(bad, '/d'), (err) => isMeshError(err, ErrorCodes.AGENT_ADMIN_TOKEN_FAILED), bad);
  }
});

test('admin_token_default_path_is_the_local_clusters_per_node_directory_there', () => {
  assert.equal(defaultAdminTokenPath({ AMBIENT_CLUSTER: 'dev' }, 'node2'), '/var/run/ambient/dev/node2/admin-token');
  assert.equal(defaultAdminTokenPath({}, 'node2'), '/var/run/ambient-node-agent/node2/admin-token');
});

test('admin_token_file_is_0600_in_a_0700_directory_and_replaced_at_each_start', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'amb-token-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const path = join(root, 'node1', 'admin-token');
  await writeAdminToken(path, 'first');
  await writeAdminToken(path, 'second');
  assert.equal((await readFile(path, 'utf8')).trim(), 'second');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(root, 'node1'))).mode & 0o777, 0o700);
});

test('admin_token_directory_that_is_a_symlink_is_refused', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'amb-token-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'elsewhere'), '');
  await symlink(join(root, 'elsewhere'), join(root, 'node1'));
  await assert.rejects(writeAdminToken(join(root, 'node1', 'admin-token'), 't'), (err) => isMeshError(err, ErrorCodes.AGENT_ADMIN_TOKEN_FAILED));
});

test('check_bearer_accepts_only_the_exact_token', () => {
  assert.equal(checkBearer('Bearer abc', 'abc'), 'ok');
  assert.equal(checkBearer('bearer abc', 'abc'), 'ok');
  assert.equal(checkBearer(undefined, 'abc'), 'missing');
  assert.equal(checkBearer('', 'abc'), 'missing');
  assert.equal(checkBearer('Bearer abd', 'abc'), 'wrong');
  assert.equal(checkBearer('Bearer abcd', 'abc'), 'wrong');
  assert.equal(checkBearer('Basic abc', 'abc'), 'wrong');
  assert.equal(checkBearer('Bearer abc', undefined), 'wrong');
  assert.equal(checkBearer('Bearer ', ''), 'wrong');
});
