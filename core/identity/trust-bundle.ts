// The set of root certificates a proxy trusts. It holds several roots so that a root can
// be rotated: the new root is added everywhere first, workloads are re-issued under it,
// and only then is the old one removed.
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, MeshError } from '../errors.js';
import { splitPem } from './x509.js';

export class TrustBundle {
  readonly #roots = new Map<string, string>(); // fingerprint256 -> PEM

  constructor(pems: Iterable<string> = []) {
    for (const pem of pems) this.add(pem);
  }

  static fromPem(bundle: string): TrustBundle {
    const pems = splitPem(bundle);
    if (pems.length === 0) throw new MeshError(ErrorCodes.CA_INVALID, 'trust bundle holds no PEM certificate');
    return new TrustBundle(pems);
  }

  /** Adds a root; returns false when it was there already. */
  add(pem: string): boolean {
    let x: X509Certificate;
    try {
      x = new X509Certificate(pem);
    } catch (err) {
      throw new MeshError(ErrorCodes.CA_INVALID, `trust bundle entry is not a certificate: ${(err as Error).message}`);
    }
    if (!x.ca) throw new MeshError(ErrorCodes.CA_INVALID, `trust bundle entry ${x.subject} is not a CA certificate`);
    if (this.#roots.has(x.fingerprint256)) return false;
    this.#roots.set(x.fingerprint256, x.toString());
    return true;
  }

  remove(fingerprint256: string): boolean {
    return this.#roots.delete(fingerprint256);
  }

  get size(): number {
    return this.#roots.size;
  }

  /** The roots as PEM strings, in the order they were added: Node's `tls` `ca` option. */
  pems(): string[] {
    return [...this.#roots.values()];
  }

  fingerprints(): string[] {
    return [...this.#roots.keys()];
  }

  toPem(): string {
    return this.pems().join('');
  }

  /**
   * True when `chain` (leaf or CA first, then its issuers) links up, signature by
   * signature, to one of the roots. Validity dates are checked against `now`.
   */
  verifies(chain: string[], now = new Date()): boolean {
    const certs = chain.map((p) => new X509Certificate(p));
    const valid = (x: X509Certificate) => new Date(x.validFrom) <= now && now <= new Date(x.validTo);
    if (!certs.every(valid)) return false;
    for (let i = 0; i + 1 < certs.length; i++) {
      // An issuer must be a CA (RFC 5280 6.1.4 (k)): a leaf, even one without a keyUsage
      // extension that OpenSSL's issuer check would catch, cannot extend a chain.
      const issuer = certs[i + 1]!;
      if (!issuer.ca || !certs[i]!.checkIssued(issuer) || !certs[i]!.verify(issuer.publicKey)) return false;
    }
    const top = certs[certs.length - 1];
    if (!top) return false;
    return this.pems().some((pem) => {
      const root = new X509Certificate(pem);
      if (!valid(root)) return false;
      if (root.fingerprint256 === top.fingerprint256) return true;
      return top.checkIssued(root) && top.verify(root.publicKey);
    });
  }
}
