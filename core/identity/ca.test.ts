// Unit tests of the mesh CA (ca.ts) and the X.509 building blocks it uses (x509.ts):
// signing workload CSRs, rejecting bad CSRs and bad CA material, persistence, and
// plug-in (intermediate) CAs, including a real TLS handshake on loopback.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import forge from 'node-forge';
import { ErrorCodes, isMeshError, type ErrorCode } from '../errors.js';
import { CA_FILES, CertificateAuthority, type IssuedCertificate } from './ca.js';
import { formatSpiffeId, spiffeId } from './spiffe.js';
import {
  caTemplate,
  certificateInfo,
  createCsr,
  generateKeyPem,
  identityOfCertificate,
  issueCertificate,
  leafTemplate,
  parseCsr,
  splitPem,
  urisOf,
} from './x509.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const app = spiffeId('default', 'app');
const other = spiffeId('default', 'other');

let root: CertificateAuthority;
let otherRoot: CertificateAuthority;
let key: string;
let key2: string;
const tmpDirs: string[] = [];

before(async () => {
  [root, otherRoot, key, key2] = await Promise.all([
    CertificateAuthority.createSelfSigned(),
    CertificateAuthority.createSelfSigned(),
    generateKeyPem(),
    generateKeyPem(),
  ]);
});

after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'amb-ca-test-'));
  tmpDirs.push(d);
  return d;
}

function throwsCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isMeshError(err), `expected a MeshError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function rejectsCode(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMeshError(err), `expected a MeshError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function x509(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

function forgePublicKey(keyPem: string): forge.pki.rsa.PublicKey {
  const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }) as string;
  return forge.pki.publicKeyFromPem(spki) as forge.pki.rsa.PublicKey;
}

type AltName = { type: number; value: string };

/** A CSR built with node-forge directly (so it can hold SANs createCsr never makes). */
function forgeCsr(keyPem: string, altNames: AltName[] | undefined): string {
  const priv = forge.pki.privateKeyFromPem(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.rsa.setPublicKey(priv.n, priv.e);
  csr.setSubject([{ name: 'commonName', value: 'test' }]);
  if (altNames) csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames }] }]);
  csr.sign(priv, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr);
}

const uri = (id = app): AltName => ({ type: 6, value: formatSpiffeId(id) });

function leafOf(issued: IssuedCertificate): X509Certificate {
  return x509(issued.chain[0]!);
}

// ---- signing ----

test('sign_issues_a_leaf_whose_only_san_is_the_spiffe_id', () => {
  const issued = root.sign(createCsr(key, app));
  assert.equal(issued.chain.length, 1, 'a root-signed leaf needs no intermediates');
  const leaf = leafOf(issued);
  assert.equal(leaf.subjectAltName, `URI:${formatSpiffeId(app)}`);
  assert.deepEqual(urisOf(leaf.subjectAltName), [formatSpiffeId(app)]);
  assert.deepEqual({ ...identityOfCertificate(leaf.subjectAltName) }, { ...app });
  assert.deepEqual({ ...issued.identity }, { ...app });
  // the SAN is critical because the subject is empty (RFC 5280 4.2.1.6)
  const f = forge.pki.certificateFromPem(issued.chain[0]!);
  assert.equal(f.subject.attributes.length, 0);
  assert.equal((f.getExtension('subjectAltName') as { critical?: boolean }).critical, true);
});

test('sign_issues_a_leaf_that_is_not_a_ca', () => {
  const leaf = leafOf(root.sign(createCsr(key, app)));
  assert.equal(leaf.ca, false);
  const f = forge.pki.certificateFromPem(leaf.toString());
  assert.equal((f.getExtension('basicConstraints') as { cA?: boolean }).cA, false);
});

test('sign_issues_a_leaf_that_verifies_against_the_ca_key_only', () => {
  const leaf = leafOf(root.sign(createCsr(key, app)));
  const caCert = x509(root.signingCertificate);
  assert.ok(leaf.checkIssued(caCert));
  assert.equal(leaf.verify(caCert.publicKey), true);
  assert.equal(leaf.verify(x509(otherRoot.signingCertificate).publicKey), false);
  assert.equal(leaf.issuer, caCert.subject);
  // the leaf holds the CSR's key
  assert.ok(leaf.checkPrivateKey(createPrivateKey(key)));
  assert.ok(!leaf.checkPrivateKey(createPrivateKey(key2)));
});

test('sign_defaults_to_a_24h_lifetime_backdated_for_clock_skew', () => {
  const now = Date.now();
  const issued = root.sign(createCsr(key, app));
  const leaf = leafOf(issued);
  const notAfter = new Date(leaf.validTo).getTime();
  const notBefore = new Date(leaf.validFrom).getTime();
  assert.ok(Math.abs(notAfter - now - DAY) < MINUTE, `notAfter - now = ${notAfter - now} ms`);
  assert.ok(Math.abs(now - MINUTE - notBefore) < 5_000, `now - notBefore = ${now - notBefore} ms`);
  assert.equal(issued.notAfter.getTime(), notAfter);
  assert.equal(issued.notBefore.getTime(), notBefore);
});

test('sign_backdates_no_more_than_a_short_ttl', () => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const issued = root.sign(createCsr(key, app), { ttlMs: 10_000, now });
  assert.equal(issued.notBefore.getTime(), now.getTime() - 10_000);
  assert.equal(issued.notAfter.getTime(), now.getTime() + 10_000);
});

test('sign_gives_a_positive_random_serial', () => {
  const a = root.sign(createCsr(key, app));
  const b = root.sign(createCsr(key, app));
  const sa = leafOf(a).serialNumber;
  const sb = leafOf(b).serialNumber;
  assert.notEqual(sa, sb);
  for (const s of [sa, sb]) {
    assert.match(s, /^[0-9A-Fa-f]+$/);
    assert.ok(s.length >= 16, `serial ${s} has fewer than 64 bits`);
    assert.ok(parseInt(s.slice(0, 2), 16) < 0x80, `serial ${s} would be negative`);
    assert.ok(BigInt(`0x${s}`) > 0n);
  }
  assert.equal(a.serial, sa.toLowerCase());
});

test('sign_issues_a_leaf_usable_for_tls_client_and_server', () => {
  const leaf = leafOf(root.sign(createCsr(key, app)));
  // Node's X509Certificate.keyUsage lists the extended key usages.
  assert.ok(leaf.keyUsage?.includes(SERVER_AUTH), String(leaf.keyUsage));
  assert.ok(leaf.keyUsage?.includes(CLIENT_AUTH), String(leaf.keyUsage));
  const ku = forge.pki.certificateFromPem(leaf.toString()).getExtension('keyUsage') as Record<string, boolean>;
  assert.equal(ku['digitalSignature'], true);
  assert.equal(ku['keyEncipherment'], true);
  assert.equal(ku['keyCertSign'], false);
});

test('sign_returns_the_roots_as_the_trust_bundle', () => {
  const issued = root.sign(createCsr(key, app));
  assert.deepEqual(issued.roots.map((p) => x509(p).fingerprint256), [x509(root.signingCertificate).fingerprint256]);
  assert.ok(root.trustBundle.verifies(issued.chain));
  assert.ok(!otherRoot.trustBundle.verifies(issued.chain));
});

test('sign_clamps_ttl_to_the_maximum', async () => {
  const ca = await CertificateAuthority.createSelfSigned({ maxTtlMs: 2 * HOUR });
  const now = Date.now();
  const issued = ca.sign(createCsr(key, app), { ttlMs: 10 * DAY });
  assert.ok(Math.abs(issued.notAfter.getTime() - now - 2 * HOUR) < MINUTE, `${issued.notAfter.getTime() - now}`);
  // and the default maximum is 7 days
  const d = root.sign(createCsr(key, app), { ttlMs: 30 * DAY });
  assert.ok(Math.abs(d.notAfter.getTime() - now - 7 * DAY) < MINUTE, `${d.notAfter.getTime() - now}`);
});

test('sign_honours_a_shorter_requested_ttl_and_default_ttl_option', async () => {
  const now = Date.now();
  const short = root.sign(createCsr(key, app), { ttlMs: HOUR });
  assert.ok(Math.abs(short.notAfter.getTime() - now - HOUR) < MINUTE);
  const ca = await CertificateAuthority.createSelfSigned({ defaultTtlMs: 3 * HOUR });
  const d = ca.sign(createCsr(key, app));
  assert.ok(Math.abs(d.notAfter.getTime() - now - 3 * HOUR) < MINUTE);
});

test('sign_clamps_ttl_to_the_ca_expiry', async () => {
  const ca = await CertificateAuthority.createSelfSigned({ rootTtlMs: HOUR });
  const caNotAfter = certificateInfo(ca.signingCertificate).notAfter;
  const issued = ca.sign(createCsr(key, app)); // asks for the 24 h default
  assert.equal(issued.notAfter.getTime(), caNotAfter.getTime());
  assert.ok(ca.trustBundle.verifies(issued.chain));
});

test('sign_rejects_a_non_positive_ttl', () => {
  throwsCode(() => root.sign(createCsr(key, app), { ttlMs: 0 }), ErrorCodes.CSR_INVALID, /not positive/);
  throwsCode(() => root.sign(createCsr(key, app), { ttlMs: -5 }), ErrorCodes.CSR_INVALID, /not positive/);
});

test('sign_rejects_a_csr_for_another_trust_domain', () => {
  const csr = createCsr(key, spiffeId('default', 'app', 'evil.example'));
  throwsCode(() => root.sign(csr), ErrorCodes.CSR_IDENTITY_MISMATCH, /evil\.example.*cluster\.local/);
});

test('sign_rejects_a_csr_for_an_identity_other_than_the_allowed_one', () => {
  const csr = createCsr(key, other);
  throwsCode(() => root.sign(csr, { identity: app }), ErrorCodes.CSR_IDENTITY_MISMATCH, /sa\/other.*sa\/app/);
  // the matching identity is fine
  assert.equal(root.sign(csr, { identity: other }).chain.length, 1);
});

test('sign_rejects_garbage_pem', () => {
  throwsCode(() => root.sign('hello'), ErrorCodes.CSR_INVALID);
  throwsCode(() => root.sign(''), ErrorCodes.CSR_INVALID);
  throwsCode(
    () => root.sign('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    ErrorCodes.CSR_INVALID,
  );
  // a certificate is not a CSR
  throwsCode(() => root.sign(root.signingCertificate), ErrorCodes.CSR_INVALID);
});

test('sign_rejects_a_csr_whose_identity_was_swapped_after_signing', () => {
  const csr = forge.pki.certificationRequestFromPem(createCsr(key, other));
  // Re-encoding an untouched CSR keeps it valid (the control) ...
  const untouched = forge.pki.certificationRequestToPem(csr);
  assert.equal(root.sign(untouched).identity.serviceAccount, 'other');
  // ... but asking for another identity under the old signature does not.
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', critical: true, altNames: [uri(app)] }] }]);
  csr.certificationRequestInfo = null;
  const tampered = forge.pki.certificationRequestToPem(csr);
  assert.deepEqual({ ...parseCsrIdentityUnchecked(tampered) }, { ...app }, 'the tampered CSR does ask for app');
  throwsCode(() => root.sign(tampered), ErrorCodes.CSR_INVALID, /signature does not match/);
});

/** The identity a CSR asks for, read without verifying its signature. */
function parseCsrIdentityUnchecked(pem: string): { trustDomain: string; namespace: string; serviceAccount: string } {
  const csr = forge.pki.certificationRequestFromPem(pem);
  const req = csr.getAttribute({ name: 'extensionRequest' }) as unknown as { extensions: Array<{ altNames: AltName[] }> };
  const [td, , ns, , sa] = req.extensions[0]!.altNames[0]!.value.replace('spiffe://', '').split('/');
  return { trustDomain: td!, namespace: ns!, serviceAccount: sa! };
}

// Regression: forge's csr.verify() threw a bare Error ('Encryption block is invalid.') for a
// corrupted signature, so the CA answered with an untyped error instead of AMB_CSR_INVALID.
test('regression_corrupted_csr_signature_is_csr_invalid_not_a_bare_forge_error', () => {
  const pem = createCsr(key, app);
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 1] ^= 0x01; // the last byte is inside the signature BIT STRING
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
  throwsCode(() => root.sign(bad), ErrorCodes.CSR_INVALID, /signature does not match/);
});

test('forge_built_csr_with_one_uri_san_is_accepted', () => {
  // The control for the SAN-shape cases below: the helper itself makes valid CSRs.
  const issued = root.sign(forgeCsr(key, [uri(app)]));
  assert.equal(leafOf(issued).subjectAltName, `URI:${formatSpiffeId(app)}`);
  // whatever subject the CSR asked for, the leaf's subject is empty
  assert.ok(!leafOf(issued).subject, `subject ${leafOf(issued).subject}`);
  assert.equal(forge.pki.certificateFromPem(issued.chain[0]!).subject.attributes.length, 0);
});

test('sign_rejects_a_csr_with_no_san', () => {
  throwsCode(() => root.sign(forgeCsr(key, undefined)), ErrorCodes.CSR_INVALID, /exactly one subject alternative name.*found 0/);
});

test('sign_rejects_a_csr_with_two_sans', () => {
  throwsCode(() => root.sign(forgeCsr(key, [uri(app), uri(other)])), ErrorCodes.CSR_INVALID, /found 2/);
  throwsCode(() => root.sign(forgeCsr(key, [uri(app), { type: 2, value: 'app.default.svc' }])), ErrorCodes.CSR_INVALID);
});

test('sign_rejects_a_csr_with_a_dns_san', () => {
  throwsCode(() => root.sign(forgeCsr(key, [{ type: 2, value: 'app.default.svc' }])), ErrorCodes.CSR_INVALID, /spiffe:\/\/ URI/);
});

test('sign_rejects_a_csr_with_a_small_rsa_key', async () => {
  const small = await generateKeyPem(1024);
  throwsCode(() => root.sign(createCsr(small, app)), ErrorCodes.CSR_INVALID, /at least 2048 bits/);
});

test('parseCsr_returns_the_requested_identity_and_key', () => {
  const parsed = parseCsr(createCsr(key, app));
  assert.equal(formatSpiffeId(parsed.identity), formatSpiffeId(app));
  assert.equal(parsed.publicKey.n.toString(16), forgePublicKey(key).n.toString(16));
});

// ---- persistence ----

test('loadOrCreate_writes_the_cacerts_files_with_a_private_key_mode', async () => {
  const dir = await tempDir();
  const ca = await CertificateAuthority.loadOrCreate(join(dir, 'ca'));
  for (const name of Object.values(CA_FILES)) {
    const s = await stat(join(dir, 'ca', name));
    assert.ok(s.isFile(), name);
  }
  assert.deepEqual(Object.values(CA_FILES).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
  assert.equal((await stat(join(dir, 'ca', 'ca-key.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'ca'))).mode & 0o077, 0, 'the directory is private');
  const caCert = await readFile(join(dir, 'ca', 'ca-cert.pem'), 'utf8');
  assert.equal(x509(caCert).fingerprint256, x509(ca.signingCertificate).fingerprint256);
  assert.equal(x509(await readFile(join(dir, 'ca', 'root-cert.pem'), 'utf8')).fingerprint256, x509(caCert).fingerprint256);
  assert.ok(x509(caCert).checkPrivateKey(createPrivateKey(await readFile(join(dir, 'ca', 'ca-key.pem'), 'utf8'))));
});

test('loadOrCreate_a_second_time_loads_the_same_root', async () => {
  const dir = await tempDir();
  const first = await CertificateAuthority.loadOrCreate(dir);
  const issued = first.sign(createCsr(key, app));
  const second = await CertificateAuthority.loadOrCreate(dir);
  assert.equal(x509(second.signingCertificate).fingerprint256, x509(first.signingCertificate).fingerprint256);
  assert.deepEqual(second.trustBundle.fingerprints(), first.trustBundle.fingerprints());
  assert.ok(second.trustBundle.verifies(issued.chain));
  // and leaves the second signs verify against the first's bundle
  assert.ok(first.trustBundle.verifies(second.sign(createCsr(key, app)).chain));
});

test('load_from_a_dir_missing_the_key_fails_naming_the_path', async () => {
  const dir = await tempDir();
  await CertificateAuthority.loadOrCreate(dir);
  await unlink(join(dir, 'ca-key.pem'));
  const path = join(dir, 'ca-key.pem');
  await rejectsCode(CertificateAuthority.load(dir), ErrorCodes.CA_LOAD_FAILED, new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  // loadOrCreate does not silently replace a CA whose key went missing
  await rejectsCode(CertificateAuthority.loadOrCreate(dir), ErrorCodes.CA_LOAD_FAILED, /ca-key\.pem/);
});

test('material_round_trips_through_fromMaterial', () => {
  const again = CertificateAuthority.fromMaterial(root.material());
  assert.equal(again.signingCertificate, root.signingCertificate);
  assert.ok(root.trustBundle.verifies(again.sign(createCsr(key, app)).chain));
});

// ---- plug-in CA (intermediate) ----

test('intermediate_signs_leaves_that_chain_to_the_root', async () => {
  const material = await root.issueIntermediate();
  assert.equal(splitPem(material.caCert).length, 1);
  assert.equal(x509(material.caCert).ca, true);
  assert.deepEqual(splitPem(material.certChain!).map((p) => x509(p).fingerprint256), [
    x509(material.caCert).fingerprint256,
    x509(root.signingCertificate).fingerprint256,
  ]);
  const inter = CertificateAuthority.fromMaterial(material);
  const issued = inter.sign(createCsr(key, app));
  assert.equal(issued.chain.length, 2);
  assert.equal(x509(issued.chain[1]!).fingerprint256, x509(material.caCert).fingerprint256);
  assert.deepEqual(issued.roots.map((p) => x509(p).fingerprint256), [x509(root.signingCertificate).fingerprint256]);
  assert.ok(leafOf(issued).verify(x509(material.caCert).publicKey));
  assert.ok(!leafOf(issued).verify(x509(root.signingCertificate).publicKey));
  assert.equal(root.trustBundle.verifies(issued.chain), true);
  assert.equal(root.trustBundle.verifies([issued.chain[0]!]), false, 'the intermediate is needed');
  assert.equal(otherRoot.trustBundle.verifies(issued.chain), false);
});

test('intermediate_lifetime_is_clamped_to_the_root', async () => {
  const shortRoot = await CertificateAuthority.createSelfSigned({ rootTtlMs: 2 * HOUR });
  const material = await shortRoot.issueIntermediate();
  assert.equal(
    new Date(x509(material.caCert).validTo).getTime(),
    new Date(x509(shortRoot.signingCertificate).validTo).getTime(),
  );
});

test('intermediate_signed_leaves_complete_a_real_tls_handshake', async (t) => {
  const inter = CertificateAuthority.fromMaterial(await root.issueIntermediate());
  const serverId = spiffeId('default', 'server');
  const clientId = spiffeId('default', 'client');
  const serverCert = inter.sign(createCsr(key, serverId), { identity: serverId });
  const clientCert = inter.sign(createCsr(key2, clientId), { identity: clientId });

  let peerSan: string | undefined;
  let serverAuthorized: boolean | undefined;
  const server = tls.createServer(
    {
      key,
      cert: serverCert.chain.join(''),
      ca: serverCert.roots,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (s) => {
      serverAuthorized = s.authorized;
      peerSan = s.getPeerCertificate().subjectaltname;
      s.end('hello');
    },
  );
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const client = tls.connect({
    host: '127.0.0.1',
    port,
    key: key2,
    cert: clientCert.chain.join(''),
    ca: clientCert.roots,
    // identity is checked by SPIFFE SAN, not by host name
    checkServerIdentity: () => undefined,
  });
  t.after(() => client.destroy());
  await once(client, 'secureConnect');
  assert.equal(client.authorized, true, String(client.authorizationError));
  assert.equal(client.getPeerCertificate().subjectaltname, `URI:${formatSpiffeId(serverId)}`);
  const chunks: Buffer[] = [];
  for await (const c of client) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'hello');
  assert.equal(serverAuthorized, true);
  assert.equal(peerSan, `URI:${formatSpiffeId(clientId)}`);
});

test('tls_handshake_fails_without_the_intermediate_in_the_chain', async (t) => {
  // The counterpart of the test above: a leaf sent without its intermediate cannot be
  // verified by a peer that holds only the root.
  const inter = CertificateAuthority.fromMaterial(await root.issueIntermediate());
  const serverCert = inter.sign(createCsr(key, app));
  const server = tls.createServer({ key, cert: serverCert.chain[0]!, minVersion: 'TLSv1.3' }, (s) => s.end());
  server.on('tlsClientError', () => {});
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = tls.connect({
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    ca: serverCert.roots,
    checkServerIdentity: () => undefined,
  });
  t.after(() => client.destroy());
  const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

// ---- invalid CA material ----

test('fromMaterial_rejects_a_key_that_does_not_match_the_cert', () => {
  const m = root.material();
  throwsCode(
    () => CertificateAuthority.fromMaterial({ ...m, caKey: otherRoot.material().caKey }),
    ErrorCodes.CA_INVALID,
    /ca-key\.pem is not the key of ca-cert\.pem/,
  );
  throwsCode(() => CertificateAuthority.fromMaterial({ ...m, caKey: 'not a key' }), ErrorCodes.CA_INVALID, /not a readable private key/);
});

test('fromMaterial_rejects_a_leaf_as_ca_cert', () => {
  const issued = root.sign(createCsr(key, app));
  throwsCode(
    () => CertificateAuthority.fromMaterial({ caCert: issued.chain[0]!, caKey: key, rootCert: root.signingCertificate }),
    ErrorCodes.CA_INVALID,
    /is not a CA certificate/,
  );
});

test('fromMaterial_rejects_a_ca_cert_not_chaining_to_root_cert', async () => {
  const material = await root.issueIntermediate();
  throwsCode(
    () => CertificateAuthority.fromMaterial({ ...material, rootCert: otherRoot.signingCertificate }),
    ErrorCodes.CA_INVALID,
    /does not chain to any root/,
  );
  // without cert-chain.pem the intermediate alone still chains to its real root
  const { certChain: _omit, ...noChain } = material;
  assert.ok(CertificateAuthority.fromMaterial(noChain).sign(createCsr(key, app)));
});

test('fromMaterial_rejects_a_cert_chain_not_starting_with_ca_cert', async () => {
  const material = await root.issueIntermediate();
  throwsCode(
    () => CertificateAuthority.fromMaterial({ ...material, certChain: root.signingCertificate }),
    ErrorCodes.CA_INVALID,
    /cert-chain\.pem must start with ca-cert\.pem/,
  );
});

test('fromMaterial_rejects_several_certificates_in_ca_cert', () => {
  const m = root.material();
  throwsCode(
    () => CertificateAuthority.fromMaterial({ ...m, caCert: m.caCert + otherRoot.signingCertificate }),
    ErrorCodes.CA_INVALID,
    /exactly one certificate, found 2/,
  );
});

test('fromMaterial_rejects_an_expired_ca', async () => {
  const caKey = await generateKeyPem();
  const past = new Date(Date.now() - 2 * DAY);
  const expired = issueCertificate(caTemplate(caKey, 'Expired CA', 'cluster.local', DAY, past), caKey);
  assert.ok(new Date(x509(expired).validTo).getTime() < Date.now());
  throwsCode(
    () => CertificateAuthority.fromMaterial({ caCert: expired, caKey, rootCert: expired }),
    ErrorCodes.CA_INVALID,
    /expired/,
  );
  // the same material with a future expiry is accepted (the control)
  const fresh = issueCertificate(caTemplate(caKey, 'Fresh CA', 'cluster.local', DAY), caKey);
  assert.ok(CertificateAuthority.fromMaterial({ caCert: fresh, caKey, rootCert: fresh }));
});

test('fromMaterial_rejects_an_invalid_trust_domain_option', () => {
  throwsCode(() => CertificateAuthority.fromMaterial(root.material(), { trustDomain: 'Bad TD' }), ErrorCodes.SPIFFE_INVALID);
});

test('ca_for_another_trust_domain_signs_only_that_domain', async () => {
  const ca = await CertificateAuthority.createSelfSigned({ trustDomain: 'mesh.example' });
  const id = spiffeId('ns', 'sa', 'mesh.example');
  assert.equal(formatSpiffeId(ca.sign(createCsr(key, id)).identity), 'spiffe://mesh.example/ns/ns/sa/sa');
  throwsCode(() => ca.sign(createCsr(key, app)), ErrorCodes.CSR_IDENTITY_MISMATCH);
  // leafTemplate is what carries the identity: check the building block directly too
  const tpl = leafTemplate(forgePublicKey(key), id, new Date(), new Date(Date.now() + HOUR));
  const cert = issueCertificate(tpl, ca.material().caKey, ca.signingCertificate);
  assert.equal(x509(cert).subjectAltName, 'URI:spiffe://mesh.example/ns/ns/sa/sa');
});
