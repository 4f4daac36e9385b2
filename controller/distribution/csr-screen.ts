// A CSR is screened before anything expensive is done with it: its public key is read
// from the SubjectPublicKeyInfo by Node's native parser (cheap whatever its size), an RSA
// key above MAX_KEY_BITS (4096) or with an exponent other than 65537 is refused, and only then is
// the signature verified, natively. A JavaScript RSA verification of an 8192-bit key with
// an 8192-bit exponent blocks the event loop for seconds; a native one with e=65537 takes
// microseconds. Pure: data in, a decision out.
//
// PKCS#10 (RFC 2986):
//   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
//   CertificationRequestInfo ::= SEQUENCE { version INTEGER, subject Name, subjectPKInfo SubjectPublicKeyInfo, attributes [0] }
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { MAX_KEY_BITS, RSA_PUBLIC_EXPONENT } from '../../core/identity/x509.js';

const CSR_PUBLIC_EXPONENT = BigInt(RSA_PUBLIC_EXPONENT);

export type CsrScreen = { ok: true; keyBits: number } | { ok: false; reason: 'malformed' | 'key' | 'signature'; message: string };

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  body: number;
  /** Offset after the last content byte. */
  end: number;
}

/** One DER TLV at `at`, within `limit`; undefined when it does not fit or is not DER (indefinite or overlong lengths). */
export function readTlv(buf: Buffer, at: number, limit = buf.length): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags: none in a CSR's outer structure
  let len = buf[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    body += n;
  }
  if (body + len > limit) return undefined;
  return { tag, start: at, body, end: body + len };
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OID = 0x06;

// sha{256,384,512}WithRSAEncryption (RFC 8017 A.2.4): the digests a CSR may be signed with.
const SIGNATURE_HASHES: Record<string, string> = {
  '2a864886f70d01010b': 'sha256',
  '2a864886f70d01010c': 'sha384',
  '2a864886f70d01010d': 'sha512',
};

const PEM = /^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (NEW )?CERTIFICATE REQUEST-----\s*$/;

const malformed = (message: string): CsrScreen => ({ ok: false, reason: 'malformed', message });

/** Checks a PEM CSR's key (RSA, at most `maxKeyBits`, exponent 65537), then its signature, natively. */
export function screenCsr(pem: string, maxKeyBits = MAX_KEY_BITS): CsrScreen {
  const m = PEM.exec(pem);
  if (!m) return malformed('not one PEM "CERTIFICATE REQUEST" block');
  const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
  const outer = readTlv(der, 0);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) return malformed('not a DER SEQUENCE');
  const cri = readTlv(der, outer.body, outer.end);
  if (!cri || cri.tag !== SEQUENCE) return malformed('no certificationRequestInfo');
  const alg = readTlv(der, cri.end, outer.end);
  if (!alg || alg.tag !== SEQUENCE) return malformed('no signatureAlgorithm');
  const sig = readTlv(der, alg.end, outer.end);
  if (!sig || sig.tag !== BIT_STRING || sig.end !== outer.end || sig.end - sig.body < 2 || der[sig.body] !== 0) return malformed('no signature BIT STRING');
  const version = readTlv(der, cri.body, cri.end);
  if (!version || version.tag !== INTEGER) return malformed('no version');
  const subject = readTlv(der, version.end, cri.end);
  if (!subject || subject.tag !== SEQUENCE) return malformed('no subject');
  const spki = readTlv(der, subject.end, cri.end);
  if (!spki || spki.tag !== SEQUENCE) return malformed('no subjectPublicKeyInfo');

  let key: KeyObject;
  try {
    key = createPublicKey({ key: der.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
  } catch (err) {
    return malformed(`unreadable public key (${(err as Error).message})`);
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType !== 'rsa') return { ok: false, reason: 'key', message: `the key must be RSA, not ${key.asymmetricKeyType ?? 'unknown'}` };
  const bits = details.modulusLength ?? 0;
  if (bits > maxKeyBits) return { ok: false, reason: 'key', message: `the RSA key has ${bits} bits; at most ${maxKeyBits} are signed` };
  if (details.publicExponent !== CSR_PUBLIC_EXPONENT) {
    return { ok: false, reason: 'key', message: `the RSA public exponent must be ${CSR_PUBLIC_EXPONENT}, not ${String(details.publicExponent).slice(0, 40)}` };
  }

  const oid = readTlv(der, alg.body, alg.end);
  const hash = oid && oid.tag === OID ? SIGNATURE_HASHES[der.subarray(oid.body, oid.end).toString('hex')] : undefined;
  if (!hash) return { ok: false, reason: 'signature', message: 'the signature algorithm must be sha256, sha384 or sha512 with RSA' };
  let good = false;
  try {
    good = verify(hash, der.subarray(cri.start, cri.end), key, der.subarray(sig.body + 1, sig.end));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'signature', message: 'its signature does not match its public key' };
  return { ok: true, keyBits: bits };
}
