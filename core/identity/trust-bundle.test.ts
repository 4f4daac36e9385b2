// Unit tests of the trust bundle: the set of roots a proxy trusts, rotation, and chain
// verification against it.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { before, test } from 'node:test';
import forge from 'node-forge';
import { ErrorCodes, isMeshError } from '../errors.js';
import { CertificateAuthority } from './ca.js';
import { spiffeId } from './spiffe.js';
import { TrustBundle } from './trust-bundle.js';
import { caTemplate, createCsr, generateKeyPem, issueCertificate, leafTemplate, type CertificateTemplate } from './x509.js';

const HOUR = 3_600_000;
const id = spiffeId('default', 'app');

let rootA: CertificateAuthority;
let rootB: CertificateAuthority;
let leafKey: string;

before(async () => {
  [rootA, rootB, leafKey] = await Promise.all([
    CertificateAuthority.createSelfSigned(),
    CertificateAuthority.createSelfSigned(),
    generateKeyPem(),
  ]);
});

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function publicKeyOf(keyPem: string): forge.pki.rsa.PublicKey {
  const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }) as string;
  return forge.pki.publicKeyFromPem(spki) as forge.pki.rsa.PublicKey;
}

function leafChain(ca: CertificateAuthority): string[] {
  return ca.sign(createCsr(leafKey, id)).chain;
}

test('holds_several_roots_for_rotation', () => {
  const b = new TrustBundle([rootA.signingCertificate, rootB.signingCertificate]);
  assert.equal(b.size, 2);
  assert.deepEqual(b.fingerprints(), [fingerprint(rootA.signingCertificate), fingerprint(rootB.signingCertificate)]);
  assert.equal(b.pems().length, 2);
  // a leaf of either root verifies while both are held
  assert.ok(b.verifies(leafChain(rootA)));
  assert.ok(b.verifies(leafChain(rootB)));
});

test('add_returns_true_for_new_and_false_for_duplicate', () => {
  const b = new TrustBundle();
  assert.equal(b.size, 0);
  assert.equal(b.add(rootA.signingCertificate), true);
  assert.equal(b.add(rootA.signingCertificate), false);
  // the same certificate with different PEM whitespace is still a duplicate
  assert.equal(b.add(`\n\n${rootA.signingCertificate.replace(/\n/g, '\r\n')}`), false);
  assert.equal(b.size, 1);
});

test('constructor_ignores_duplicate_roots', () => {
  const b = new TrustBundle([rootA.signingCertificate, rootB.signingCertificate, rootA.signingCertificate]);
  assert.equal(b.size, 2);
});

test('fromPem_splits_a_bundle_and_round_trips_through_toPem', () => {
  const b = TrustBundle.fromPem(rootA.signingCertificate + rootB.signingCertificate);
  assert.equal(b.size, 2);
  const again = TrustBundle.fromPem(b.toPem());
  assert.deepEqual(again.fingerprints(), b.fingerprints());
});

test('fromPem_rejects_a_bundle_with_no_certificate', () => {
  assert.throws(() => TrustBundle.fromPem('not a pem'), (e) => isMeshError(e, ErrorCodes.CA_INVALID));
  assert.throws(() => TrustBundle.fromPem(''), (e) => isMeshError(e, ErrorCodes.CA_INVALID));
});

test('add_refuses_a_non_ca_certificate', () => {
  const b = new TrustBundle();
  const [leaf] = leafChain(rootA);
  assert.throws(
    () => b.add(leaf!),
    (e) => isMeshError(e, ErrorCodes.CA_INVALID) && /is not a CA certificate/.test(e.message),
  );
  assert.equal(b.size, 0);
});

test('add_refuses_garbage', () => {
  const b = new TrustBundle();
  assert.throws(
    () => b.add('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    (e) => isMeshError(e, ErrorCodes.CA_INVALID),
  );
  assert.equal(b.size, 0);
});

test('remove_by_fingerprint_completes_a_rotation', () => {
  const b = new TrustBundle([rootA.signingCertificate, rootB.signingCertificate]);
  const chainA = leafChain(rootA);
  assert.equal(b.remove(fingerprint(rootA.signingCertificate)), true);
  assert.equal(b.remove(fingerprint(rootA.signingCertificate)), false);
  assert.equal(b.size, 1);
  assert.deepEqual(b.fingerprints(), [fingerprint(rootB.signingCertificate)]);
  assert.equal(b.verifies(chainA), false);
  assert.equal(b.verifies(leafChain(rootB)), true);
});

test('verifies_false_for_a_chain_to_a_root_not_held', () => {
  const b = new TrustBundle([rootA.signingCertificate]);
  assert.equal(b.verifies(leafChain(rootB)), false);
});

test('verifies_false_for_an_empty_chain', () => {
  assert.equal(new TrustBundle([rootA.signingCertificate]).verifies([]), false);
});

test('verifies_a_root_itself', () => {
  const b = new TrustBundle([rootA.signingCertificate]);
  assert.equal(b.verifies([rootA.signingCertificate]), true);
  assert.equal(b.verifies([rootB.signingCertificate]), false);
});

test('verifies_a_chain_through_an_intermediate', async () => {
  const inter = CertificateAuthority.fromMaterial(await rootA.issueIntermediate());
  const chain = leafChain(inter);
  assert.equal(chain.length, 2);
  const b = new TrustBundle([rootB.signingCertificate, rootA.signingCertificate]);
  assert.equal(b.verifies(chain), true);
  // the chain as a leaf alone does not reach the root
  assert.equal(b.verifies([chain[0]!]), false);
  // links in the wrong order do not verify
  assert.equal(b.verifies([chain[1]!, chain[0]!]), false);
  assert.equal(new TrustBundle([rootB.signingCertificate]).verifies(chain), false);
});

test('verifies_false_once_the_leaf_has_expired', () => {
  const b = new TrustBundle([rootA.signingCertificate]);
  const chain = rootA.sign(createCsr(leafKey, id), { ttlMs: HOUR });
  assert.equal(b.verifies(chain.chain), true);
  assert.equal(b.verifies(chain.chain, new Date(Date.now() + 2 * HOUR)), false);
  // and before it is valid
  assert.equal(b.verifies(chain.chain, new Date(Date.now() - 2 * HOUR)), false);
});

test('verifies_false_when_the_root_has_expired', async () => {
  // A root valid from 3 h ago to 1 h ago, and a leaf under it valid from 2.5 h to 1.5 h ago.
  const key = await generateKeyPem();
  const now = Date.now();
  const rootTpl = caTemplate(key, 'Expired Root', 'cluster.local', 2 * HOUR, new Date(now - 3 * HOUR));
  const root = issueCertificate(rootTpl, key);
  const leaf = issueCertificate(
    leafTemplate(publicKeyOf(leafKey), id, new Date(now - 2.5 * HOUR), new Date(now - 1.5 * HOUR)),
    key,
    root,
  );
  const b = new TrustBundle([root]);
  assert.equal(b.verifies([leaf]), false);
  assert.equal(b.verifies([root]), false);
  // the same chain verified at a time inside both validities: only expiry made it fail
  assert.equal(b.verifies([leaf], new Date(now - 2 * HOUR)), true);
});

test('verifies_false_when_a_signature_does_not_match', () => {
  // A certificate claiming rootA as issuer but signed with rootB's key.
  const mB = rootB.material();
  const tpl: CertificateTemplate = leafTemplate(publicKeyOf(leafKey), id, new Date(Date.now() - 60_000), new Date(Date.now() + HOUR));
  const forged = issueCertificate(tpl, mB.caKey, rootA.signingCertificate);
  const x = new X509Certificate(forged);
  assert.ok(x.checkIssued(new X509Certificate(rootA.signingCertificate)), 'names say rootA issued it');
  assert.equal(new TrustBundle([rootA.signingCertificate]).verifies([forged]), false);
});

// Regression: verifies() checked only names and signatures, so a leaf without a keyUsage
// extension could act as an issuer.
test('regression_verifies_false_for_a_chain_through_a_non_ca_issuer', async () => {
  // A leaf of rootA with no keyUsage extension (so OpenSSL's issuer check alone would not
  // catch it) must not be usable to issue further certificates.
  const midKey = await generateKeyPem();
  const now = Date.now();
  const midTpl: CertificateTemplate = {
    subject: [{ name: 'commonName', value: 'not-a-ca' }],
    publicKey: publicKeyOf(midKey),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + HOUR),
    extensions: [{ name: 'basicConstraints', cA: false, critical: true }],
  };
  const m = rootA.material();
  const mid = issueCertificate(midTpl, m.caKey, m.caCert);
  assert.equal(new X509Certificate(mid).ca, false);
  const leaf = issueCertificate(leafTemplate(publicKeyOf(leafKey), id, new Date(now - 60_000), new Date(now + HOUR)), midKey, mid);
  const b = new TrustBundle([rootA.signingCertificate]);
  assert.equal(b.verifies([mid]), true, 'the non-CA certificate itself chains to the root');
  assert.equal(b.verifies([leaf, mid]), false);
});

test('onChange_is_told_of_each_root_added_or_removed_and_not_of_no_ops', () => {
  const b = new TrustBundle([rootA.signingCertificate]);
  let calls = 0;
  const off = b.onChange(() => calls++);
  b.add(rootA.signingCertificate); // already held
  assert.equal(calls, 0);
  b.add(rootB.signingCertificate);
  assert.equal(calls, 1);
  b.remove(fingerprint(rootA.signingCertificate));
  assert.equal(calls, 2);
  b.remove(fingerprint(rootA.signingCertificate)); // already gone
  assert.equal(calls, 2);
  off();
  b.add(rootA.signingCertificate);
  assert.equal(calls, 2, 'unsubscribed');
});

test('replace_swaps_the_roots_in_one_change_and_refuses_bad_input_whole', () => {
  const b = new TrustBundle([rootA.signingCertificate]);
  let calls = 0;
  b.onChange(() => calls++);
  assert.equal(b.replace([rootB.signingCertificate]), true);
  assert.equal(calls, 1);
  assert.deepEqual(b.fingerprints(), [fingerprint(rootB.signingCertificate)]);
  assert.equal(b.replace([rootB.signingCertificate]), false, 'same set: no change');
  assert.equal(calls, 1);
  assert.throws(() => b.replace([rootA.signingCertificate, 'garbage']), (e) => isMeshError(e, ErrorCodes.CA_INVALID));
  assert.throws(() => b.replace([]), (e) => isMeshError(e, ErrorCodes.CA_INVALID));
  assert.deepEqual(b.fingerprints(), [fingerprint(rootB.signingCertificate)], 'a refused replace changes nothing');
});

test('a_throwing_subscriber_does_not_keep_others_from_the_change', () => {
  const b = new TrustBundle();
  let told = false;
  b.onChange(() => {
    throw new Error('boom');
  });
  b.onChange(() => (told = true));
  b.add(rootA.signingCertificate);
  assert.ok(told);
});
