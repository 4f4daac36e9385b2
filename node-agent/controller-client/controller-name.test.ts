import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { checkControllerCertificate, formatControllerName, parseControllerName } from './controller-name.js';

const cert = (subjectaltname: string) => ({ subjectaltname }) as PeerCertificate;

test('controller_name_is_a_dns_name_or_a_spiffe_id', () => {
  assert.deepEqual(parseControllerName('ambient-controller.ambient-system.svc'), { kind: 'dns', name: 'ambient-controller.ambient-system.svc' });
  assert.equal(parseControllerName('spiffe://cluster.local/ns/a/sa/b').kind, 'spiffe');
  assert.throws(() => parseControllerName('Not A Name'));
  assert.equal(formatControllerName(parseControllerName('x.y.svc')), 'x.y.svc');
});

test('controller_certificate_must_carry_the_dns_name_exactly', () => {
  const n = parseControllerName('ambient-controller.ambient-system.svc');
  checkControllerCertificate(cert('DNS:ambient-controller.ambient-system.svc, URI:spiffe://cluster.local/ns/ambient-system/sa/ambient-controller'), n);
  // A workload certificate: one SPIFFE URI, even the controller's own ID.
  assert.throws(() => checkControllerCertificate(cert('URI:spiffe://cluster.local/ns/ambient-system/sa/ambient-controller'), n), /names no DNS name, not ambient-controller/);
  assert.throws(() => checkControllerCertificate(cert('DNS:*.ambient-system.svc'), n));
  assert.throws(() => checkControllerCertificate(cert('DNS:ambient-controller.ambient-system.svc.evil'), n));
});
