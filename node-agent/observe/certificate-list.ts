// The workload certificates a node agent or waypoint lists in its telemetry reports
// (docs/telemetry.md, "certificates"): identity, serial, validity and the issuing CA's
// fingerprint of each certificate it holds; never a key or the certificate itself. The
// list rides on the traffic reports (TelemetryReporter), in full, when it changed and at
// least every certificateReportIntervalMs, so the controller knows the reporter still
// holds them (it forgets a list not renewed within 3 intervals).
import { X509Certificate } from 'node:crypto';
import type { WorkloadCertificate } from '../../core/identity/cert-manager.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import { splitPem } from '../../core/identity/x509.js';
import { TELEMETRY_LIMITS, type ReportedCertificate, type TelemetryReport } from '../../core/observe/telemetry-wire.js';

/** The fingerprint of the CA certificate (an intermediate of the chain, or a root) that
 * signed the chain's leaf; undefined when none of them did. */
export function issuerFingerprint(chainPem: string, roots: readonly string[]): string | undefined {
  const [leafPem, ...intermediates] = splitPem(chainPem);
  if (leafPem === undefined) return undefined;
  try {
    const leaf = new X509Certificate(leafPem);
    for (const pem of [...intermediates, ...roots]) {
      const ca = new X509Certificate(pem);
      if (leaf.checkIssued(ca) && leaf.verify(ca.publicKey)) return ca.fingerprint256;
    }
  } catch {
    // an unreadable certificate has no issuer to name
  }
  return undefined;
}

/** What a report lists for `c` (its issuer computed by `issuer`). */
export function reportedCertificate(c: WorkloadCertificate, issuer: string | undefined): ReportedCertificate {
  return { identity: formatSpiffeId(c.identity), serial: c.serial.toLowerCase(), notBefore: c.notBefore.getTime(), notAfter: c.notAfter.getTime(), ...(issuer !== undefined && { issuer }) };
}

/** The list to report: the wanted identities' certificates, the soonest to expire first, at most `max`. */
export function certificateList(held: readonly WorkloadCertificate[], wanted: (identity: string) => boolean, issuer: (c: WorkloadCertificate) => string | undefined, max: number): ReportedCertificate[] {
  return held
    .filter((c) => wanted(formatSpiffeId(c.identity)))
    .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime() || formatSpiffeId(a.identity).localeCompare(formatSpiffeId(b.identity)))
    .slice(0, max)
    .map((c) => reportedCertificate(c, issuer(c)));
}

/** A report with `certificates` listed: an empty report to carry them when there was no traffic. */
export function withCertificates(report: TelemetryReport | undefined, certificates: ReportedCertificate[] | undefined): TelemetryReport | undefined {
  if (certificates === undefined) return report;
  return { ...(report ?? { edges: [], overflowEdges: 0, flows: [], droppedFlows: 0 }), certificates };
}

export interface CertificateListerOptions {
  /** The certificates held now (CertificateManager.list). */
  held: () => readonly WorkloadCertificate[];
  /** The trust bundle's roots (an issuer may be one of them). */
  roots: () => readonly string[];
  /** The identities to list now: a node agent lists only its own node's workloads' (what
   * the controller accepts), a waypoint only its own. */
  wanted: () => ReadonlySet<string>;
  intervalMs?: number;
  max?: number;
  now?: () => number;
}

/** Decides when a report carries the list (take) and remembers what was sent. */
export class CertificateLister {
  readonly #o: CertificateListerOptions;
  /** `serial` -> issuer fingerprint: the chains are parsed once per certificate. */
  #issuers = new Map<string, string | undefined>();
  #lastSent?: { at: number; signature: string };

  constructor(o: CertificateListerOptions) {
    this.#o = o;
  }

  /** The full list when it changed since the last one taken or intervalMs passed; else undefined. */
  take(): ReportedCertificate[] | undefined {
    const now = (this.#o.now ?? Date.now)();
    const held = this.#o.held();
    const issuers = new Map<string, string | undefined>();
    const issuer = (c: WorkloadCertificate) => {
      const known = this.#issuers.has(c.serial) ? this.#issuers.get(c.serial) : issuerFingerprint(c.cert, this.#o.roots());
      issuers.set(c.serial, known);
      return known;
    };
    const wanted = this.#o.wanted();
    const list = certificateList(held, (id) => wanted.has(id), issuer, this.#o.max ?? TELEMETRY_LIMITS.maxCertificates);
    this.#issuers = issuers; // only the certificates still held
    const signature = JSON.stringify(list.map((c) => [c.identity, c.serial]));
    const interval = this.#o.intervalMs ?? TELEMETRY_LIMITS.certificateReportIntervalMs;
    if (this.#lastSent !== undefined && this.#lastSent.signature === signature && now - this.#lastSent.at < interval) return undefined;
    this.#lastSent = { at: now, signature };
    return list;
  }

  /** The report that carried the last list was lost: list them again in the next one. */
  unsent(): void {
    this.#lastSent = undefined;
  }
}
