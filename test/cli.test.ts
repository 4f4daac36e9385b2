// ambientctl as a user runs it: the real executable, its stdout, stderr and exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { splitPem } from '../core/identity/x509.js';

const BIN = fileURLToPath(new URL('../../bin/ambientctl.js', import.meta.url));

function ambientctl(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('ambientctl --help lists its commands', () => {
  const r = ambientctl('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: ambientctl/);
  assert.match(r.stdout, /\bca\b/);
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
