// ambientctl as a user runs it: the real executable, its stdout, stderr and exit code;
// `apply`/`delete -f` against the local cluster's API server (in this process, on a
// throwaway Redis on loopback) with a kubeconfig as a user would have.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { splitPem } from '../core/identity/x509.js';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { AMBIENTCTL_BIN, runAmbientctl, type CliResult } from './support/ambientctl.js';

const BIN = AMBIENTCTL_BIN;

function ambientctl(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** ambientctl without blocking this process's event loop (the API server runs in it). */
const ambientctlAsync = (...args: string[]): Promise<CliResult> => runAmbientctl(args);

test('ambientctl --help lists its commands', () => {
  const r = ambientctl('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: ambientctl/);
  assert.match(r.stdout, /\bca\b/);
});

test('ca --ttl refuses what is not a lifetime, naming the flag and the accepted forms', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambientctl-ca-ttl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = ambientctl('ca', 'init', '--dir', join(dir, 'root'), '--ttl', '10x');
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'error: AMB_CERT_INVALID: --ttl: "10x" is not a duration (e.g. 30s, 10m, 2h, 1h30m, 1d)\n');
  const zero = ambientctl('ca', 'init', '--dir', join(dir, 'root'), '--ttl', '0d');
  assert.equal(zero.stderr, 'error: AMB_CERT_INVALID: --ttl: "0d" is shorter than 1s\n');
  assert.throws(() => statSync(join(dir, 'root', 'ca-key.pem')), /ENOENT/, 'nothing written');
});

test('install --timeout refuses what is not a duration before anything is rendered or applied', () => {
  const r = ambientctl('install', '--dry-run', '--timeout', '10x');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: --timeout: "10x" is not a duration (e.g. 30s, 10m, 2h, 1h30m, 500ms, 1.5s; a number alone is seconds)\n');
});

test('ca init, intermediate, issue and inspect build a plug-in CA chain a peer can verify', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambientctl-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(ambientctl('ca', 'init', '--dir', join(dir, 'root')).code, 0);
  assert.equal(statSync(join(dir, 'root', 'ca-key.pem')).mode & 0o777, 0o600);
  assert.equal(ambientctl('ca', 'intermediate', '--root-dir', join(dir, 'root'), '--out', join(dir, 'inter')).code, 0);
  const issued = ambientctl('ca', 'issue', '--dir', join(dir, 'inter'), '--identity', 'spiffe://cluster.local/ns/shop/sa/cart', '--out', join(dir, 'cart'), '--ttl', '2h');
  assert.equal(issued.code, 0, issued.stderr);

  const listed = ambientctl('ca', 'inspect', join(dir, 'cart', 'cert-chain.pem'), '-o', 'json');
  assert.equal(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as Array<{ uris: string[]; isCA: boolean; notAfter: string }>;
  assert.equal(rows.length, 2, 'leaf and intermediate');
  assert.deepEqual(rows[0]!.uris, ['spiffe://cluster.local/ns/shop/sa/cart']);
  assert.equal(rows[1]!.isCA, true);
  const lifetime = new Date(rows[0]!.notAfter).getTime() - Date.now();
  assert.ok(lifetime > 1.9 * 3600e3 && lifetime <= 2 * 3600e3 + 5000, `lifetime ${lifetime} ms`);

  // The chain verifies up to the root the operator created.
  const [leaf, inter] = splitPem(readFileSync(join(dir, 'cart', 'cert-chain.pem'), 'utf8'));
  const root = new X509Certificate(readFileSync(join(dir, 'root', 'root-cert.pem')));
  const interX = new X509Certificate(inter!);
  assert.ok(new X509Certificate(leaf!).verify(interX.publicKey));
  assert.ok(interX.verify(root.publicKey));
  assert.equal(new X509Certificate(readFileSync(join(dir, 'cart', 'root-cert.pem'))).fingerprint256, root.fingerprint256);

  const table = ambientctl('ca', 'inspect', join(dir, 'cart', 'cert-chain.pem'));
  assert.match(table.stdout.split('\n')[0]!, /^IDENTITY\s+SUBJECT\s+SERIAL\s+NOT AFTER\s+CA$/);
  assert.match(table.stdout, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart/);
});

test('errors go to stderr with their code and a non-zero exit', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambientctl-err-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bad = ambientctl('ca', 'issue', '--dir', dir, '--identity', 'spiffe://cluster.local/ns/Shop/sa/cart', '--out', dir);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /AMB_SPIFFE_INVALID: .*namespace "Shop" is not a DNS-1123 label/);
  const missing = ambientctl('ca', 'issue', '--dir', join(dir, 'nope'), '--identity', 'spiffe://cluster.local/ns/shop/sa/cart', '--out', dir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /AMB_CA_LOAD_FAILED: cannot read .*nope\/ca-cert\.pem/);
  const format = ambientctl('ca', 'inspect', '/dev/null', '-o', 'xml');
  assert.notEqual(format.code, 0);
  assert.match(format.stderr, /Allowed choices are table, json, yaml/);
});

describe('apply and delete -f against an API server', () => {
  let redis: TestRedis;
  let server: ApiServer;
  let dir: string;
  let kubeconfig: string;
  let prefixes = 0;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'ambientctl-apply-'));
  });
  after(async () => {
    await server?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh API server (its own key prefix) and a kubeconfig for it. */
  async function freshServer(): Promise<void> {
    await server?.close();
    server = await startApiServer({ redisUrl: redis.url, prefix: `cli${++prefixes}:` });
    kubeconfig = join(dir, `kubeconfig-${prefixes}`);
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: local, cluster: {server: "${server.url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: admin, user: {}}]',
        'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]',
        'current-context: local',
        '',
      ].join('\n'),
    );
  }

  const file = (name: string, ...docs: string[]): string => {
    const p = join(dir, name);
    writeFileSync(p, docs.join('---\n'));
    return p;
  };
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;
  const podWithoutContainers = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec: {}\n';
  const run = (...args: string[]) => ambientctlAsync('--kubeconfig', kubeconfig, ...args);
  const configMaps = async () => JSON.parse((await run('get', 'configmaps', '-o', 'json')).stdout).map((o: { metadata: { name: string } }) => o.metadata.name).sort();

  test('apply_with_two_files_applies_both', async () => {
    await freshServer();
    const a = file('a.yaml', cm('from-a'));
    const b = file('b.yaml', cm('from-b'));
    const r = await run('apply', '-f', a, '-f', b);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configmap/from-a created\nconfigmap/from-b created\n');
    assert.deepEqual(await configMaps(), ['from-a', 'from-b']);
    // Applied again: unchanged, both; and the comma form kubectl accepts.
    const again = await run('apply', '-f', `${a},${b}`);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'configmap/from-a unchanged\nconfigmap/from-b unchanged\n');
  });

  test('apply_file_with_a_bad_middle_document_applies_the_rest_and_exits_1_with_the_servers_message', async () => {
    await freshServer();
    const f = file('mixed.yaml', cm('before'), podWithoutContainers, 'a: [unclosed\n', cm('after'));
    const r = await run('apply', '-f', f);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'configmap/before created\nconfigmap/after created\n');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(lines[0], `Error from server (Invalid): error when creating Pod default/broken from "${f}" (document 2): Pod "broken" is invalid: spec.containers: Required value`);
    assert.match(lines[1]!, new RegExp(`^error: error parsing "${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" \\(document 3\\): `));
    assert.deepEqual(await configMaps(), ['after', 'before']);
  });

  test('server_422_is_printed_as_its_status_message_not_a_json_dump', async () => {
    await freshServer();
    const r = await run('apply', '-f', file('invalid.yaml', podWithoutContainers));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Error from server \(Invalid\): error when creating Pod default\/broken from ".*invalid\.yaml" \(document 1\): Pod "broken" is invalid: spec\.containers: Required value\n$/);
    assert.doesNotMatch(r.stderr, /HTTP-Code|Headers|"kind"|\{/);
    // A refusal outside apply reads the same way.
    const missing = await run('get', 'pods', 'nope');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): pods "nope" not found\n');
  });

  test('delete_with_two_files_goes_on_past_not_found_and_exits_1', async () => {
    await freshServer();
    const a = file('da.yaml', cm('one'), cm('never-created'));
    const b = file('db.yaml', cm('two'));
    assert.equal((await run('apply', '-f', file('setup.yaml', cm('one'), cm('two')))).code, 0);
    const r = await run('delete', '-f', a, '-f', b);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'configmap/one deleted\nconfigmap/two deleted\n');
    assert.equal(r.stderr, `Error from server (NotFound): error when deleting ConfigMap default/never-created from "${a}" (document 2): configmaps "never-created" not found\n`);
    assert.deepEqual(await configMaps(), []);
    const ignored = await run('delete', '-f', a, '-f', b, '--ignore-not-found');
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.equal(ignored.stdout + ignored.stderr, '');
  });

  test('apply_with_a_missing_path_changes_nothing', async () => {
    await freshServer();
    const r = await run('apply', '-f', file('ok.yaml', cm('kept-out')), '-f', join(dir, 'nope.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: the path ".*nope\.yaml" does not exist\n$/);
    assert.deepEqual(await configMaps(), []);
  });
});
