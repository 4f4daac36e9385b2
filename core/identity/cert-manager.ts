// Holds one workload certificate per identity for a proxy (node agent or waypoint):
// fetches it on first use, renews it when half its lifetime has passed, retries with
// backoff when the CA is unreachable (serving the old certificate until it expires), and
// tells listeners when a certificate changed so that servers swap their TLS context for
// new handshakes while open connections carry on.
import { EventEmitter } from 'node:events';
import { MAX_TIMER_MS } from '../duration.js';
import { ErrorCodes, MeshError } from '../errors.js';
import { IDENTITY_DEFAULTS } from '../limits.js';
import { formatSpiffeId, type SpiffeId } from './spiffe.js';
import { TrustBundle } from './trust-bundle.js';
import { createCsr, generateKeyPem } from './x509.js';

/** Credentials ready for Node's tls options. */
export interface WorkloadCertificate {
  identity: SpiffeId;
  key: string;
  /** Leaf followed by intermediates, as one PEM string (tls `cert`). */
  cert: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** When this manager received it; renewal is timed from here. */
  receivedAt: Date;
}

/** Where certificates come from: the controller over 15012, or a CA in-process. */
export interface CertificateSigner {
  sign(csrPem: string, identity: SpiffeId): Promise<{ chain: string[]; roots: string[]; serial: string; notBefore: Date; notAfter: Date }>;
}

export interface CertificateManagerOptions {
  signer: CertificateSigner;
  trustBundle?: TrustBundle;
  renewAtFraction?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}


interface Entry {
  current?: WorkloadCertificate;
  pending?: Promise<WorkloadCertificate>;
  timer?: NodeJS.Timeout;
  failures: number;
}

export interface CertificateManagerEvents {
  rotated: [cert: WorkloadCertificate];
  error: [err: Error, identity: SpiffeId];
}

export class CertificateManager extends EventEmitter<CertificateManagerEvents> {
  readonly trustBundle: TrustBundle;
  readonly #signer: CertificateSigner;
  readonly #entries = new Map<string, Entry>();
  readonly #renewAt: number;
  readonly #retryMin: number;
  readonly #retryMax: number;
  readonly #now: () => number;
  #closed = false;

  constructor(opts: CertificateManagerOptions) {
    super();
    this.#signer = opts.signer;
    this.trustBundle = opts.trustBundle ?? new TrustBundle();
    this.#renewAt = opts.renewAtFraction ?? IDENTITY_DEFAULTS.renewAtFraction;
    this.#retryMin = opts.retryMinMs ?? IDENTITY_DEFAULTS.renewRetryMinMs;
    this.#retryMax = opts.retryMaxMs ?? IDENTITY_DEFAULTS.renewRetryMaxMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The current certificate for `identity`, fetching it first if needed. */
  async get(identity: SpiffeId): Promise<WorkloadCertificate> {
    if (this.#closed) throw new MeshError(ErrorCodes.CERT_UNAVAILABLE, 'certificate manager is closed');
    const key = formatSpiffeId(identity);
    const entry = this.#entries.get(key) ?? { failures: 0 };
    this.#entries.set(key, entry);
    const cur = entry.current;
    if (cur && cur.notAfter.getTime() > this.#now()) return cur;
    return (entry.pending ??= this.#fetch(identity, entry));
  }

  /** The certificate held now, without fetching; undefined when none or expired. */
  current(identity: SpiffeId): WorkloadCertificate | undefined {
    const cur = this.#entries.get(formatSpiffeId(identity))?.current;
    return cur && cur.notAfter.getTime() > this.#now() ? cur : undefined;
  }

  /** Every identity held, with its certificate (for config dumps). */
  list(): WorkloadCertificate[] {
    return [...this.#entries.values()].flatMap((e) => (e.current ? [e.current] : []));
  }

  /** Stops renewing `identity` and drops its certificate (its last pod left the node). */
  forget(identity: SpiffeId): void {
    const key = formatSpiffeId(identity);
    const entry = this.#entries.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    this.#entries.delete(key);
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) if (e.timer) clearTimeout(e.timer);
    this.#entries.clear();
  }

  async #fetch(identity: SpiffeId, entry: Entry): Promise<WorkloadCertificate> {
    try {
      const key = await generateKeyPem();
      // A fetch (or a renewal whose timer fired just before) stops here when the manager
      // closed meanwhile: a closed manager never asks the CA. (A forgotten identity's
      // caller still gets its certificate; only its renewal is not scheduled, below.)
      if (this.#closed) throw new MeshError(ErrorCodes.CERT_UNAVAILABLE, `certificate for ${formatSpiffeId(identity)} no longer wanted: the certificate manager is closed`);
      const issued = await this.#signer.sign(createCsr(key, identity), identity);
      for (const root of issued.roots) this.trustBundle.add(root);
      const cert: WorkloadCertificate = {
        identity,
        key,
        cert: issued.chain.join(''),
        serial: issued.serial,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        receivedAt: new Date(this.#now()),
      };
      if (this.#entries.get(formatSpiffeId(identity)) !== entry || this.#closed) return cert; // forgotten meanwhile
      const previous = entry.current;
      entry.current = cert;
      entry.failures = 0;
      this.#schedule(identity, entry, this.#renewDelay(cert));
      if (previous) this.emit('rotated', cert);
      return cert;
    } catch (err) {
      entry.failures++;
      const error = err instanceof MeshError ? err : new MeshError(
        ErrorCodes.CERT_UNAVAILABLE,
        `cannot obtain a certificate for ${formatSpiffeId(identity)}: ${(err as Error).message}`,
        { cause: err },
      );
      if (this.listenerCount('error') > 0) this.emit('error', error, identity);
      // Keep trying while a certificate is held; with none, the next get() retries.
      if (entry.current && this.#entries.get(formatSpiffeId(identity)) === entry) {
        const backoff = Math.min(this.#retryMax, this.#retryMin * 2 ** (entry.failures - 1));
        this.#schedule(identity, entry, backoff);
      }
      throw error;
    } finally {
      entry.pending = undefined;
    }
  }

  #renewDelay(cert: WorkloadCertificate): number {
    const received = cert.receivedAt.getTime();
    return Math.max(0, (cert.notAfter.getTime() - received) * this.#renewAt);
  }

  #schedule(identity: SpiffeId, entry: Entry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    // Node runs a timer longer than 2^31-1 ms after 1 ms instead (TimeoutOverflowWarning),
    // which would renew a long-lived certificate in a loop; renewing early is harmless.
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.pending ??= this.#fetch(identity, entry);
      entry.pending.catch(() => {}); // reported through 'error'; retried by #fetch
    }, Math.min(delayMs, MAX_TIMER_MS));
    entry.timer.unref();
  }
}
