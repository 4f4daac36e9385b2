// `ambientctl status|workloads|services|certificates|policies|authz` as a user runs them,
// where there is no local cluster (and, for authz, with flags that are wrong): a clear message on stderr and a non-zero exit (these commands need the
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
  for (const c of ['status', 'workloads', 'services', 'certificates', 'policies', 'authz']) assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
  const authz = ambientctl(tmpdir(), 'authz', '--help');
  assert.equal(authz.code, 0);
  for (const c of ['check', 'suggest']) assert.match(authz.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
});

// policies and authz check ask the controller's API (test/mesh-api-cli.test.ts); authz suggest
// reads the node agents' observed edges, on the local cluster only.
test('authz suggest says clearly that it needs the local cluster', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ambientctl-mesh-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const cases: Array<[string, string[]]> = [
    ['authz suggest', ['authz', 'suggest', '-n', 'shop', '--since', '30s']],
  ];
  for (const [command, args] of cases) {
    const r = ambientctl(home, '--cluster', 'nowhere', ...args);
    assert.notEqual(r.code, 0, `${command} should fail`);
    assert.equal(r.stdout, '', `${command} prints nothing on stdout`);
    assert.match(r.stderr, new RegExp(`^error: \`ambientctl ${command}\` needs the local cluster for now: no local cluster "nowhere" is up on this machine`));
  }
});

test('authz flags are checked before anything is asked of the cluster', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'ambientctl-mesh-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  // --cluster nowhere: a flag error must come first, not "needs the local cluster".
  const run = (...args: string[]) => ambientctl(home, '--cluster', 'nowhere', ...args);
  const cases: Array<[string[], RegExp]> = [
    [['authz', 'check', '--from', 'frontend', '--to', 'web.shop:80'], /^error: --from: "frontend" is neither spiffe:\/\/<trust domain>\/ns\/<namespace>\/sa\/<service account> nor <namespace>\/<service account>/],
    [['authz', 'check', '--from', 'spiffe://cluster.local/frontend', '--to', 'web.shop:80'], /^error: --from: "spiffe:\/\/cluster.local\/frontend" is not a workload identity of the mesh/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web:80'], /^error: --to: "web:80" names no namespace: expected SERVICE.NAMESPACE:PORT or POD.NAMESPACE:PORT/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop'], /^error: --to: "web.shop" has no port/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:http'], /^error: --to: "web.shop:http" has port "http", not a number from 1 to 65535/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--source-ip', 'nope'], /^error: --source-ip: "nope" is not an IP address/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--header', 'x-user'], /^error: --header: "x-user" is not NAME=VALUE/],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '--path', 'api'], /^error: --path: "api" does not start with \//],
    [['authz', 'check', '--from', 'shop/frontend', '--to', 'web.shop:80', '-o', 'xml'], /error: option '-o, --output <format>' argument 'xml' is invalid/],
    [['authz', 'check', '--to', 'web.shop:80'], /error: required option '--from <identity>' not specified/],
    [['authz', 'suggest', '-n', 'shop', '--since', '10x'], /^error: --since: "10x" is not a duration \(e.g. 30s, 10m, 2h/],
    [['authz', 'suggest', '-n', 'shop', '--since', '0s'], /^error: --since: "0s" must be longer than zero/],
    [['authz', 'suggest'], /^error: `ambientctl authz suggest` needs -n NAMESPACE/],
    [['authz', 'suggest', '-n', 'shop', '-o', 'table'], /error: option '-o, --output <format>' argument 'table' is invalid/],
  ];
  for (const [args, expected] of cases) {
    const r = run(...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, expected, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /needs the local cluster/, args.join(' '));
  }
});
