// The set of root certificates a proxy trusts. It holds several roots so that a root can
// be rotated: the new root is added everywhere first, workloads are re-issued under it,
// and only then is the old one removed. Servers subscribe (onChange) so that a root added
// or removed applies to their next handshake at once, not at their next restart.
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, MeshError } from '../errors.js';
import { splitPem } from './x509.js';

export class TrustBundle {
  readonly #roots = new Map<string, string>(); // fingerprint256 -> PEM
  readonly #listeners = new Set<() => void>();

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
    const x = parseRoot(pem);
    if (this.#roots.has(x.fingerprint256)) return false;
    this.#roots.set(x.fingerprint256, x.toString());
    this.#changed();
    return true;
  }

  remove(fingerprint256: string): boolean {
    if (!this.#roots.delete(fingerprint256)) return false;
    this.#changed();
    return true;
  }

  /**
   * Makes the bundle exactly these roots (e.g. the published root ConfigMap changed), with
   * one notification. Every entry is checked before anything changes; false when nothing did.
   */
  replace(pems: Iterable<string>): boolean {
    const next = new Map<string, string>();
    for (const pem of pems) {
      const x = parseRoot(pem);
      next.set(x.fingerprint256, x.toString());
    }
    if (next.size === 0) throw new MeshError(ErrorCodes.CA_INVALID, 'a trust bundle cannot be replaced by no root at all');
    const same = next.size === this.#roots.size && [...next.keys()].every((k) => this.#roots.has(k));
    if (same) return false;
    this.#roots.clear();
    for (const [k, v] of next) this.#roots.set(k, v);
    this.#changed();
    return true;
  }

  /** Calls `listener` after every change (a root added, removed or replaced); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch {
        // One subscriber's failure must not keep the others on the old roots.
      }
    }
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

  /** Fingerprint (SHA-256, as X509Certificate#fingerprint256) of a PEM certificate. */
  static fingerprint(pem: string): string {
    return new X509Certificate(pem).fingerprint256;
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

function parseRoot(pem: string): X509Certificate {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
  } catch (err) {
    throw new MeshError(ErrorCodes.CA_INVALID, `trust bundle entry is not a certificate: ${(err as Error).message}`);
  }
  if (!x.ca) throw new MeshError(ErrorCodes.CA_INVALID, `trust bundle entry ${x.subject} is not a CA certificate`);
  return x;
}
