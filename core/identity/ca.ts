// The mesh's certificate authority. It signs workload certificates from CSRs whose only
// SAN is a SPIFFE ID of its trust domain. It either owns a self-signed root, or, as a
// plug-in CA, signs with an intermediate that the operator's own root issued (Istio's
// `cacerts` layout: ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem).
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, MeshError } from '../errors.js';
import { DEFAULT_TRUST_DOMAIN, formatSpiffeId, sameSpiffeId, validateTrustDomain, type SpiffeId } from './spiffe.js';
import { TrustBundle } from './trust-bundle.js';
import {
  caTemplate,
  certificateInfo,
  generateKeyPem,
  issueCertificate,
  keyMatchesCertificate,
  leafTemplate,
  parseCsr,
  splitPem,
} from './x509.js';
import { IDENTITY_DEFAULTS } from '../limits.js';
import type { CertificateSigner } from './cert-manager.js';

/** The files of a CA directory (and the keys of its Kubernetes Secret). */
export const CA_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

export interface CaMaterial {
  /** The certificate the CA signs with (a root, or an intermediate). */
  caCert: string;
  caKey: string;
  /** One or more roots: the trust bundle handed to workloads. */
  rootCert: string;
  /** caCert followed by its issuers up to the root (the root itself may be left out). */
  certChain?: string;
}

export interface SignOptions {
  /** When set, the CSR must ask for exactly this identity. */
  identity?: SpiffeId;
  /** Requested lifetime; clamped to the CA's maximum and to the signing cert's own expiry. */
  ttlMs?: number;
  now?: Date;
}

export interface IssuedCertificate {
  identity: SpiffeId;
  /** Leaf first, then the intermediates a peer needs to reach a root. */
  chain: string[];
  /** The trust bundle at signing time. */
  roots: string[];
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CaOptions {
  trustDomain?: string;
  defaultTtlMs?: number;
  maxTtlMs?: number;
}

function caInvalid(why: string): MeshError {
  return new MeshError(ErrorCodes.CA_INVALID, `CA material rejected: ${why}`);
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly trustBundle: TrustBundle;
  readonly #material: Required<CaMaterial>;
  readonly #intermediates: string[];
  readonly #caNotAfter: Date;
  readonly #defaultTtlMs: number;
  readonly #maxTtlMs: number;

  private constructor(material: CaMaterial, opts: CaOptions) {
    this.trustDomain = validateTrustDomain(opts.trustDomain ?? DEFAULT_TRUST_DOMAIN);
    this.#defaultTtlMs = opts.defaultTtlMs ?? IDENTITY_DEFAULTS.workloadCertTtlMs;
    this.#maxTtlMs = opts.maxTtlMs ?? IDENTITY_DEFAULTS.workloadCertMaxTtlMs;
    const caCerts = splitPem(material.caCert);
    if (caCerts.length !== 1) throw caInvalid(`${CA_FILES.caCert} must hold exactly one certificate, found ${caCerts.length}`);
    const ca = certificateInfo(caCerts[0]!);
    if (!ca.isCA) throw caInvalid(`${CA_FILES.caCert} (${ca.subject}) is not a CA certificate (basicConstraints CA:TRUE)`);
    const now = new Date();
    if (ca.notAfter <= now) throw caInvalid(`${CA_FILES.caCert} expired on ${ca.notAfter.toISOString()}`);
    let keyOk = false;
    try {
      keyOk = keyMatchesCertificate(material.caKey, caCerts[0]!);
    } catch (err) {
      throw caInvalid(`${CA_FILES.caKey} is not a readable private key: ${(err as Error).message}`);
    }
    if (!keyOk) throw caInvalid(`${CA_FILES.caKey} is not the key of ${CA_FILES.caCert}`);
    this.trustBundle = TrustBundle.fromPem(material.rootCert);
    const chain = material.certChain ? splitPem(material.certChain) : caCerts;
    if (chain.length === 0 || new X509Certificate(chain[0]!).fingerprint256 !== new X509Certificate(caCerts[0]!).fingerprint256) {
      throw caInvalid(`${CA_FILES.certChain} must start with ${CA_FILES.caCert}`);
    }
    if (!this.trustBundle.verifies(chain, now)) {
      throw caInvalid(`${CA_FILES.caCert} does not chain to any root in ${CA_FILES.rootCert} (check ${CA_FILES.certChain})`);
    }
    // Peers hold the roots; a leaf's chain carries the intermediates between it and them.
    const rootPrints = new Set(this.trustBundle.fingerprints());
    this.#intermediates = chain.filter((p) => !rootPrints.has(new X509Certificate(p).fingerprint256));
    this.#caNotAfter = ca.notAfter;
    this.#material = { ...material, certChain: chain.join('') };
  }

  /** Loads operator-supplied material (plug-in CA) or material saved earlier; validates it. */
  static fromMaterial(material: CaMaterial, opts: CaOptions = {}): CertificateAuthority {
    return new CertificateAuthority(material, opts);
  }

  /** A fresh self-signed root that signs workloads directly. */
  static async createSelfSigned(opts: CaOptions & { rootTtlMs?: number } = {}): Promise<CertificateAuthority> {
    const material = await createRootMaterial(opts.trustDomain ?? DEFAULT_TRUST_DOMAIN, opts.rootTtlMs);
    return new CertificateAuthority(material, opts);
  }

  /** Loads the CA from `dir`, or creates a self-signed one there on first use. */
  static async loadOrCreate(dir: string, opts: CaOptions & { rootTtlMs?: number } = {}): Promise<CertificateAuthority> {
    if (existsSync(join(dir, CA_FILES.caCert))) return CertificateAuthority.load(dir, opts);
    const ca = await CertificateAuthority.createSelfSigned(opts);
    await ca.save(dir);
    return ca;
  }

  static async load(dir: string, opts: CaOptions = {}): Promise<CertificateAuthority> {
    const read = async (name: string, optional = false): Promise<string | undefined> => {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (err) {
        if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `cannot read ${join(dir, name)}: ${(err as Error).message}`, { cause: err });
      }
    };
    // Settled in file order, so that the error names the first file missing, every time.
    const results = await Promise.allSettled([
      read(CA_FILES.caCert),
      read(CA_FILES.caKey),
      read(CA_FILES.rootCert),
      read(CA_FILES.certChain, true),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [caCert, caKey, rootCert, certChain] = results.map((r) => (r as PromiseFulfilledResult<string | undefined>).value);
    return new CertificateAuthority({ caCert: caCert!, caKey: caKey!, rootCert: rootCert!, ...(certChain ? { certChain } : {}) }, opts);
  }

  /** Writes the material to `dir` (key 0600), each file replaced atomically. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const m = this.material();
    const files: Array<[string, string, number]> = [
      [CA_FILES.caCert, m.caCert, 0o644],
      [CA_FILES.caKey, m.caKey, 0o600],
      [CA_FILES.rootCert, m.rootCert, 0o644],
      [CA_FILES.certChain, m.certChain, 0o644],
    ];
    for (const [name, body, mode] of files) {
      const tmp = join(dir, `.${name}.tmp`);
      await writeFile(tmp, body, { mode });
      await rename(tmp, join(dir, name));
    }
  }

  material(): Required<CaMaterial> {
    return { ...this.#material, rootCert: this.trustBundle.toPem() };
  }

  /** The certificate this CA signs with. */
  get signingCertificate(): string {
    return this.#material.caCert;
  }

  /**
   * Signs a workload CSR. The caller decides who may ask for which identity (a node agent
   * only for pods on its node); this checks the CSR itself and the trust domain.
   */
  sign(csrPem: string, opts: SignOptions = {}): IssuedCertificate {
    const { identity, publicKey } = parseCsr(csrPem);
    if (identity.trustDomain !== this.trustDomain) {
      throw new MeshError(
        ErrorCodes.CSR_IDENTITY_MISMATCH,
        `CSR asks for ${formatSpiffeId(identity)} but this CA signs only trust domain ${this.trustDomain}`,
      );
    }
    if (opts.identity && !sameSpiffeId(identity, opts.identity)) {
      throw new MeshError(
        ErrorCodes.CSR_IDENTITY_MISMATCH,
        `CSR asks for ${formatSpiffeId(identity)} but the caller may only have ${formatSpiffeId(opts.identity)}`,
      );
    }
    const now = opts.now ?? new Date();
    const ttl = Math.min(opts.ttlMs ?? this.#defaultTtlMs, this.#maxTtlMs);
    if (!(ttl > 0)) throw new MeshError(ErrorCodes.CSR_INVALID, `requested certificate lifetime ${ttl} ms is not positive`);
    // Backdate a little for clock skew between nodes, never beyond the issuer's lifetime.
    const notBefore = new Date(now.getTime() - Math.min(IDENTITY_DEFAULTS.clockSkewMs, ttl));
    const notAfter = new Date(Math.min(now.getTime() + ttl, this.#caNotAfter.getTime()));
    const leaf = issueCertificate(leafTemplate(publicKey, identity, notBefore, notAfter), this.#material.caKey, this.#material.caCert);
    const info = certificateInfo(leaf);
    return {
      identity,
      chain: [leaf, ...this.#intermediates],
      roots: this.trustBundle.pems(),
      serial: info.serial,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    };
  }

  /**
   * Issues an intermediate CA under this one: how an operator's root hands the mesh a
   * signing certificate (plug-in CA), and how tests build one.
   */
  async issueIntermediate(opts: { commonName?: string; ttlMs?: number } = {}): Promise<CaMaterial> {
    const key = await generateKeyPem();
    const ttl = opts.ttlMs ?? IDENTITY_DEFAULTS.intermediateTtlMs;
    const tpl = caTemplate(key, opts.commonName ?? 'Ambient Mesh Intermediate CA', this.trustDomain, ttl);
    tpl.notAfter = new Date(Math.min(tpl.notAfter.getTime(), this.#caNotAfter.getTime()));
    const cert = issueCertificate(tpl, this.#material.caKey, this.#material.caCert);
    return {
      caCert: cert,
      caKey: key,
      rootCert: this.trustBundle.toPem(),
      certChain: [cert, ...splitPem(this.#material.certChain)].join(''),
    };
  }
}

async function createRootMaterial(trustDomain: string, ttlMs = IDENTITY_DEFAULTS.rootTtlMs): Promise<CaMaterial> {
  validateTrustDomain(trustDomain);
  const key = await generateKeyPem();
  const cert = issueCertificate(caTemplate(key, 'Ambient Mesh Root CA', trustDomain, ttlMs), key);
  return { caCert: cert, caKey: key, rootCert: cert, certChain: cert };
}

/** A signer for CertificateManager backed by a CA in the same process (controller, tests). */
export function inProcessSigner(ca: CertificateAuthority, opts: { ttlMs?: number } = {}): CertificateSigner {
  return {
    sign: async (csrPem, identity) => ca.sign(csrPem, { identity, ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}) }),
  };
}
