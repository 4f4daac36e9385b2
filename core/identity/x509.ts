// X.509 building blocks: node-forge builds the structures (certificates, CSRs) and Node's
// native crypto generates keys and makes the signatures (forge's pure-JS RSA is ~40x
// slower). Parsing of certificates we receive uses Node's X509Certificate.
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { ErrorCodes, MeshError } from '../errors.js';
import { formatSpiffeId, parseSpiffeId, type SpiffeId } from './spiffe.js';

const { asn1 } = forge;
type CertificationRequest = ReturnType<typeof forge.pki.createCertificationRequest>;
// forge exports these two serialisers but its type definitions omit them.
const pki = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: CertificationRequest): forge.asn1.Asn1;
};
const generateKeyPairAsync = promisify(generateKeyPair);

/** RSA 2048, the same default as Istio's workload certificates. */
export const KEY_BITS = 2048;
/** The largest RSA key a CSR may carry: verifying costs grow with the key. */
export const MAX_KEY_BITS = 4096;
/** The only RSA public exponent signed (F4): a large one makes every verification slow. */
export const RSA_PUBLIC_EXPONENT = 65537;
const URI_SAN = 6; // GeneralName tag for uniformResourceIdentifier (RFC 5280 4.2.1.6)

export async function generateKeyPem(bits = KEY_BITS): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

function publicKeyOf(keyPem: string): forge.pki.rsa.PublicKey {
  const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }) as string;
  return pki.publicKeyFromPem(spki) as forge.pki.rsa.PublicKey;
}

function derOf(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** Signs forge's to-be-signed structure with the native key (sha256WithRSAEncryption). */
function nativeSignature(tbs: forge.asn1.Asn1, keyPem: string): string {
  return sign('sha256', derOf(tbs), createPrivateKey(keyPem)).toString('binary');
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive INTEGER (RFC 5280 4.1.2.2)
  if (bytes[0] === 0) bytes[0] = 0x01; // and no leading zero octet to strip
  return bytes.toString('hex');
}

export interface CertificateTemplate {
  subject: forge.pki.CertificateField[];
  publicKey: forge.pki.rsa.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: object[];
}

/** Issues a certificate for `tpl`, signed by `issuerKeyPem` (issuer = `issuerCertPem` or self). */
export function issueCertificate(tpl: CertificateTemplate, issuerKeyPem: string, issuerCertPem?: string): string {
  const cert = pki.createCertificate();
  cert.serialNumber = randomSerial();
  cert.publicKey = tpl.publicKey;
  cert.validity.notBefore = tpl.notBefore;
  cert.validity.notAfter = tpl.notAfter;
  cert.setSubject(tpl.subject);
  const exts = [...tpl.extensions, { name: 'subjectKeyIdentifier' }];
  if (issuerCertPem) {
    const issuer = pki.certificateFromPem(issuerCertPem);
    cert.setIssuer(issuer.subject.attributes);
    const ski = issuer.generateSubjectKeyIdentifier().getBytes();
    exts.push({ name: 'authorityKeyIdentifier', keyIdentifier: ski });
  } else {
    cert.setIssuer(tpl.subject);
  }
  cert.setExtensions(exts);
  // Fill the signature fields the way cert.sign() would, then sign natively.
  cert.siginfo.algorithmOid = pki.oids['sha256WithRSAEncryption']!;
  cert.signatureOid = pki.oids['sha256WithRSAEncryption']!;
  cert.md = forge.md.sha256.create();
  cert.signature = nativeSignature(pki.getTBSCertificate(cert), issuerKeyPem);
  return pki.certificateToPem(cert);
}

export function caTemplate(keyPem: string, commonName: string, organization: string, ttlMs: number, now = new Date()): CertificateTemplate {
  return {
    subject: [
      { name: 'organizationName', value: organization },
      { name: 'commonName', value: commonName },
    ],
    publicKey: publicKeyOf(keyPem),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + ttlMs),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  };
}

/** A workload leaf as Istio issues them: empty subject, the SPIFFE ID as the only (critical) SAN. */
export function leafTemplate(publicKey: forge.pki.rsa.PublicKey, id: SpiffeId, notBefore: Date, notAfter: Date): CertificateTemplate {
  return {
    subject: [],
    publicKey,
    notBefore,
    notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', critical: true, altNames: [{ type: URI_SAN, value: formatSpiffeId(id) }] },
    ],
  };
}

/**
 * A TLS server certificate named by DNS names and IP addresses (not a workload identity):
 * for servers that ordinary Kubernetes clients verify, such as the local cluster's API
 * server.
 */
export function serverTemplate(keyPem: string, names: { dns: string[]; ips: string[] }, notBefore: Date, notAfter: Date): CertificateTemplate {
  return {
    subject: [{ name: 'commonName', value: names.dns[0] ?? names.ips[0] ?? 'server' }],
    publicKey: publicKeyOf(keyPem),
    notBefore,
    notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.dns.map((value) => ({ type: 2, value })), ...names.ips.map((ip) => ({ type: 7, ip }))] },
    ],
  };
}

/** Builds a PKCS#10 CSR asking for `id`, signed by `keyPem`. */
export function createCsr(keyPem: string, id: SpiffeId): string {
  const csr = pki.createCertificationRequest();
  csr.publicKey = publicKeyOf(keyPem);
  csr.setSubject([]);
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [{ name: 'subjectAltName', critical: true, altNames: [{ type: URI_SAN, value: formatSpiffeId(id) }] }],
    },
  ]);
  csr.siginfo.algorithmOid = pki.oids['sha256WithRSAEncryption']!;
  csr.signatureOid = pki.oids['sha256WithRSAEncryption']!;
  csr.md = forge.md.sha256.create();
  csr.signature = nativeSignature(pki.getCertificationRequestInfo(csr), keyPem);
  return pki.certificationRequestToPem(csr);
}

export interface ParsedCsr {
  identity: SpiffeId;
  publicKey: forge.pki.rsa.PublicKey;
}

const CSR_SIGNATURE_HASHES: Record<string, string> = {
  [pki.oids['sha256WithRSAEncryption']!]: 'sha256',
  [pki.oids['sha384WithRSAEncryption']!]: 'sha384',
  [pki.oids['sha512WithRSAEncryption']!]: 'sha512',
};

function csrError(why: string): MeshError {
  return new MeshError(ErrorCodes.CSR_INVALID, `certificate signing request rejected: ${why}`);
}

/**
 * Parses a CSR and checks what a CA must before signing it: an RSA key of 2048 to 4096
 * bits with exponent 65537, a valid self-signature, and exactly one SAN, a URI holding a valid SPIFFE ID.
 */
export function parseCsr(csrPem: string): ParsedCsr {
  let csr: CertificationRequest;
  try {
    csr = pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw csrError(`not a PEM PKCS#10 request with an RSA key (${(err as Error).message})`);
  }
  const key = csr.publicKey as forge.pki.rsa.PublicKey | null;
  if (!key || key.n.bitLength() < KEY_BITS) throw csrError(`the RSA key must have at least ${KEY_BITS} bits`);
  // Checked before the signature: forge's JavaScript RSA with an 8192-bit modulus and
  // exponent blocks the event loop for seconds. The signature is verified natively.
  if (key.n.bitLength() > MAX_KEY_BITS) throw csrError(`the RSA key must have at most ${MAX_KEY_BITS} bits`);
  if (key.e.toString(10) !== String(RSA_PUBLIC_EXPONENT)) throw csrError(`the RSA public exponent must be ${RSA_PUBLIC_EXPONENT}`);
  const hash = CSR_SIGNATURE_HASHES[csr.signatureOid ?? ''];
  if (!hash) throw csrError('its signature algorithm must be sha256, sha384 or sha512 with RSA');
  let signatureOk = false;
  try {
    const info = (csr as unknown as { certificationRequestInfo?: forge.asn1.Asn1 }).certificationRequestInfo ?? pki.getCertificationRequestInfo(csr);
    signatureOk = verify(hash, derOf(info), createPublicKey(pki.publicKeyToPem(key)), Buffer.from(csr.signature as string, 'binary'));
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) throw csrError('its signature does not match its public key');
  const req = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: Array<{ name?: string; altNames?: Array<{ type: number; value: string }> }> } | null;
  const san = req?.extensions?.find((e) => e.name === 'subjectAltName');
  const names = san?.altNames ?? [];
  if (names.length !== 1 || names[0]!.type !== URI_SAN) {
    throw csrError(`it must carry exactly one subject alternative name, a spiffe:// URI (found ${names.length})`);
  }
  return { identity: parseSpiffeId(names[0]!.value), publicKey: key };
}

export interface CertificateInfo {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  subject: string;
  issuer: string;
  uris: string[];
  fingerprint256: string;
}

/** Splits a PEM bundle into its certificates, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? [];
}

export function certificateInfo(pem: string): CertificateInfo {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new MeshError(ErrorCodes.CERT_INVALID, `not a PEM X.509 certificate: ${(err as Error).message}`);
  }
  return {
    serial: x.serialNumber.toLowerCase(),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    isCA: x.ca,
    subject: x.subject ?? '',
    issuer: x.issuer ?? '',
    uris: urisOf(x.subjectAltName),
    fingerprint256: x.fingerprint256,
  };
}

/** URI SANs from Node's `subjectAltName` text form ("URI:spiffe://..., DNS:..."). */
export function urisOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  // Node quotes entries holding ',' or '"' as JSON strings (CVE-2021-44532), so split
  // only on the separators it writes and unquote.
  const out: string[] = [];
  const re = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(subjectAltName); m; m = re.exec(subjectAltName)) {
    const v = m[1]!;
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/** The SPIFFE identity of a workload certificate: its one URI SAN. */
export function identityOfCertificate(subjectAltName: string | undefined): SpiffeId {
  const uris = urisOf(subjectAltName);
  if (uris.length !== 1) {
    throw new MeshError(ErrorCodes.CERT_INVALID, `certificate must carry exactly one URI SAN, found ${uris.length}`);
  }
  return parseSpiffeId(uris[0]!);
}

/** True when `keyPem` is the private key of `certPem`. */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
}
