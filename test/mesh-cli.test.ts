// `ambientctl status|workloads|services|certificates` as a user runs them, where there is
// no local cluster: a clear message on stderr and a non-zero exit (these commands need the
// local cluster for now; docs/operations.md). Their use on a live cluster is tested in test/e2e.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/ambientctl.js', import.meta.url));

function ambientctl(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, AMBIENT_HOME: home } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('status, workloads, services and certificates say clearly that they need the local cluster', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ambientctl-mesh-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  for (const command of ['status', 'workloads', 'services', 'certificates']) {
    const r = ambientctl(home, '--cluster', 'nowhere', command, '-o', 'json');
    assert.notEqual(r.code, 0, `${command} should fail`);
    assert.equal(r.stdout, '', `${command} prints nothing on stdout`);
    assert.match(r.stderr, new RegExp(`^error: \`ambientctl ${command}\` needs the local cluster for now: no local cluster "nowhere" is up on this machine \\(ambientctl cluster up --cluster nowhere\\)`));
    assert.match(r.stderr, /docs\/operations\.md/);
  }
});

test('a kubeconfig or context other than the local cluster\'s is a real cluster: refused the same way', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ambientctl-mesh-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const dir = join(home, 'clusters', 'local');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ name: 'local', nodes: ['node-1'], apiPort: 1, redisPort: 2, createdAt: new Date().toISOString(), repoRoot: '/' }));
  const other = join(home, 'other-kubeconfig');
  writeFileSync(other, 'apiVersion: v1\nkind: Config\n');

  const byFile = ambientctl(home, '--kubeconfig', other, 'status');
  assert.notEqual(byFile.code, 0);
  assert.match(byFile.stderr, /needs the local cluster for now: --kubeconfig .*other-kubeconfig is not the local cluster "local"'s kubeconfig/);

  const byContext = ambientctl(home, '--context', 'prod', 'workloads');
  assert.notEqual(byContext.code, 0);
  assert.match(byContext.stderr, /needs the local cluster for now: --context prod is not the local cluster "local"/);
});

test('the commands are listed in --help', () => {
  const r = ambientctl(tmpdir(), '--help');
  assert.equal(r.code, 0);
  for (const c of ['status', 'workloads', 'services', 'certificates']) assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
});
