// CSRs no honest client sends, for the tests that play the attacker: any modulus and
// exponent (the key need not exist: a verifier pays for the exponentiation before it
// finds the signature wrong), and a signature of the modulus' length.
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { formatSpiffeId, type SpiffeId } from '../core/identity/spiffe.js';

const URI_SAN = 6;

/** A random odd number of exactly `bits` bits, as forge's BigInteger. */
function randomOdd(bits: number): forge.jsbn.BigInteger {
  const b = randomBytes(Math.ceil(bits / 8));
  b[0] = b[0]! | 0x80;
  b[b.length - 1] = b[b.length - 1]! | 1;
  return new forge.jsbn.BigInteger(b.toString('hex'), 16);
}

/**
 * A PEM CSR asking for `id` with an RSA public key of `modulusBits` bits and exponent
 * `exponentBits` bits long (or exactly 65537 when omitted); its signature is random.
 */
export function forgedCsr(id: SpiffeId, o: { modulusBits: number; exponentBits?: number }): string {
  const n = randomOdd(o.modulusBits);
  const e = o.exponentBits ? randomOdd(o.exponentBits) : new forge.jsbn.BigInteger('65537', 10);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(n, e);
  csr.setSubject([]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', critical: true, altNames: [{ type: URI_SAN, value: formatSpiffeId(id) }] }] }]);
  csr.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption']!;
  csr.signatureOid = forge.pki.oids['sha256WithRSAEncryption']!;
  (csr as unknown as { signature: string }).signature = randomBytes(Math.ceil(o.modulusBits / 8)).toString('binary');
  return forge.pki.certificationRequestToPem(csr);
}
