// The controller's serving certificate on 15012. It is named by a DNS name
// (`<service>.<namespace>.svc`, default ambient-controller.ambient-system.svc), which the
// workload CA never puts in a workload certificate (CertificateAuthority.sign issues
// exactly one SAN, a `spiffe://…/ns/<n>/sa/<sa>` URI): a workload certificate, whatever
// identity it carries, cannot pose as the controller to an agent that checks the name.
// The controller's SPIFFE ID is carried as well, for clients that still check it (the
// controller never signs its own namespace's identities for callers, so that check holds
// too). Signed by the mesh CA directly, renewed at half-life.
import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import type { CertificateAuthority } from '../core/identity/ca.js';
import { formatSpiffeId, type SpiffeId } from '../core/identity/spiffe.js';
import { IDENTITY_DEFAULTS } from '../core/limits.js';
import { certificateInfo, generateKeyPem, issueCertificate, serverTemplate, splitPem } from '../core/identity/x509.js';

const URI_SAN = 6;

export interface ServingCertificate {
  key: string;
  /** Leaf then intermediates, PEM. */
  cert: string;
  notAfter: Date;
}

/** `<service>.<namespace>.svc`: the name agents check on the controller's certificate. */
export function controllerServerName(namespace: string, service = 'ambient-controller'): string {
  return `${service}.${namespace}.svc`;
}

/** Issues a serving certificate named `dnsName` (and carrying `identity`), from `ca`. */
export async function issueServingCertificate(ca: CertificateAuthority, o: { dnsName: string; identity: SpiffeId; ttlMs: number; now?: Date }): Promise<ServingCertificate> {
  const key = await generateKeyPem();
  const m = ca.material();
  const now = o.now ?? new Date();
  const caNotAfter = certificateInfo(m.caCert).notAfter;
  const notBefore = new Date(now.getTime() - Math.min(IDENTITY_DEFAULTS.clockSkewMs, o.ttlMs));
  const notAfter = new Date(Math.min(now.getTime() + o.ttlMs, caNotAfter.getTime()));
  const tpl = serverTemplate(key, { dns: [o.dnsName], ips: [] }, notBefore, notAfter);
  const san = tpl.extensions.find((e) => (e as { name?: string }).name === 'subjectAltName') as { altNames: object[] };
  san.altNames.push({ type: URI_SAN, value: formatSpiffeId(o.identity) });
  const leaf = issueCertificate(tpl, m.caKey, m.caCert);
  const roots = new Set(ca.trustBundle.fingerprints());
  const intermediates = splitPem(m.certChain).filter((p) => !roots.has(new X509Certificate(p).fingerprint256));
  return { key, cert: [leaf, ...intermediates].join(''), notAfter };
}

/** Keeps a serving certificate fresh: a new one at half its lifetime ('rotated'), retried after a failure ('error'). */
export class ServingCertificateRenewer extends EventEmitter<{ rotated: [ServingCertificate]; error: [Error] }> {
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(
    private readonly issue: () => Promise<ServingCertificate>,
    private readonly retryMs = 60_000,
  ) {
    super();
  }

  /** Issues the first certificate (rejects when it cannot) and schedules its renewals. */
  async start(): Promise<ServingCertificate> {
    const first = await this.issue();
    this.#schedule(first);
    return first;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(c: ServingCertificate): void {
    if (this.#stopped) return;
    this.#arm(Math.max(1_000, (c.notAfter.getTime() - Date.now()) / 2));
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.issue().then(
        (c) => {
          if (this.#stopped) return;
          this.emit('rotated', c);
          this.#schedule(c);
        },
        (err: Error) => {
          if (this.#stopped) return;
          this.emit('error', err);
          this.#arm(this.retryMs);
        },
      );
    }, Math.min(ms, 2 ** 31 - 1));
    this.#timer.unref();
  }
}
