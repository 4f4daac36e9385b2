// Certificates for tests, all minted by the project's own CA code.
import assert from 'node:assert/strict';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { spiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { createCsr, generateKeyPem, issueCertificate, leafTemplate } from '../../core/identity/x509.js';
import forge from 'node-forge';
import { createPrivateKey, createPublicKey } from 'node:crypto';

export interface Creds {
  key: string;
  cert: string;
  identity: SpiffeId;
}

export async function newCa(trustDomain = 'cluster.local'): Promise<CertificateAuthority> {
  return CertificateAuthority.createSelfSigned({ trustDomain });
}

/** A workload certificate for ns/sa, signed by `ca`. */
export async function issue(ca: CertificateAuthority, ns: string, sa: string, opts: { ttlMs?: number; now?: Date } = {}): Promise<Creds> {
  const identity = spiffeId(ns, sa, ca.trustDomain);
  const key = await generateKeyPem();
  const signed = ca.sign(createCsr(key, identity), { identity, ...opts });
  // Tests build on these certificates: a broken chain here would surface as a confusing
  // TLS failure far away.
  if (!opts.now) assert.ok(ca.trustBundle.verifies(signed.chain), 'issued chain must verify against the CA');
  return { key, cert: signed.chain.join(''), identity };
}

/**
 * A leaf signed by `ca`'s key without going through CA.sign's checks: for certificates
 * the CA itself would refuse (no URI SAN, already expired).
 */
export async function forgeLeaf(
  ca: CertificateAuthority,
  opts: { uri?: string; notBefore: Date; notAfter: Date },
): Promise<{ key: string; cert: string }> {
  const key = await generateKeyPem();
  const pub = forge.pki.publicKeyFromPem(createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'pem' }) as string);
  const tpl = leafTemplate(pub as forge.pki.rsa.PublicKey, spiffeId('x', 'x', ca.trustDomain), opts.notBefore, opts.notAfter);
  tpl.extensions = tpl.extensions.filter((e) => (e as { name: string }).name !== 'subjectAltName');
  if (opts.uri) tpl.extensions.push({ name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: opts.uri }] });
  else tpl.subject = [{ name: 'commonName', value: 'no-uri-san' }];
  const m = ca.material();
  return { key, cert: issueCertificate(tpl, m.caKey, m.caCert) };
}
