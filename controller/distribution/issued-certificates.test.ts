import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IssuedCertificates } from './issued-certificates.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const cert = (node: string, identity: string, serial: string, notAfter = '2026-01-02T00:00:00Z') => ({ node, identity, serial, notBefore: '2026-01-01T00:00:00Z', notAfter });

test('a renewal replaces the certificate of the same node and identity; other nodes keep theirs', () => {
  const l = new IssuedCertificates();
  l.record(cert('node-2', 'spiffe://cluster.local/ns/a/sa/x', '01'));
  l.record(cert('node-1', 'spiffe://cluster.local/ns/a/sa/x', '02'));
  l.record(cert('node-2', 'spiffe://cluster.local/ns/a/sa/x', '03'));
  assert.deepEqual(l.list(NOW).map((c) => [c.node, c.serial]), [['node-1', '02'], ['node-2', '03']]);
});

test('an expired certificate is listed for keepExpiredMs after its notAfter, then dropped', () => {
  const l = new IssuedCertificates({ maxEntries: 10, keepExpiredMs: 60_000 });
  l.record(cert('node-1', 'id', '01', '2026-01-01T11:59:30Z'));
  assert.equal(l.list(NOW).length, 1, '30 s after expiry: still listed');
  assert.equal(l.list(NOW + 31_000).length, 0, '61 s after expiry: gone');
});

test('over maxEntries, the oldest issued goes first', () => {
  const l = new IssuedCertificates({ maxEntries: 2, keepExpiredMs: 0 });
  l.record(cert('n', 'a', '01'));
  l.record(cert('n', 'b', '02'));
  l.record(cert('n', 'a', '03')); // renewed: now the newest
  l.record(cert('n', 'c', '04'));
  assert.deepEqual(l.list(NOW).map((c) => c.serial), ['03', '04']);
});
