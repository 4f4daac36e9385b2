import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { CertificateAuthority } from '../core/identity/ca.js';
import { spiffeId } from '../core/identity/spiffe.js';
import { splitPem } from '../core/identity/x509.js';
import { controllerServerName, issueServingCertificate } from './serving-cert.js';

test('controller_serving_certificate_is_named_by_dns_and_chains_to_the_mesh_root', async () => {
  const ca = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  const c = await issueServingCertificate(ca, { dnsName: controllerServerName('ambient-system'), identity: spiffeId('ambient-system', 'ambient-controller'), ttlMs: 3_600_000 });
  const chain = splitPem(c.cert);
  assert.ok(ca.trustBundle.verifies(chain));
  const x = new X509Certificate(chain[0]!);
  assert.equal(x.ca, false);
  assert.equal(x.subjectAltName, 'DNS:ambient-controller.ambient-system.svc, URI:spiffe://cluster.local/ns/ambient-system/sa/ambient-controller');
  assert.ok(c.notAfter.getTime() - Date.now() <= 3_600_000);
});

test('controller_serving_certificate_from_a_plug_in_ca_carries_its_intermediate', async () => {
  const root = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  const ca = CertificateAuthority.fromMaterial(await root.issueIntermediate(), { trustDomain: 'cluster.local' });
  const c = await issueServingCertificate(ca, { dnsName: 'x.y.svc', identity: spiffeId('y', 'x'), ttlMs: 3_600_000 });
  const chain = splitPem(c.cert);
  assert.equal(chain.length, 2);
  assert.ok(root.trustBundle.verifies(chain));
});
