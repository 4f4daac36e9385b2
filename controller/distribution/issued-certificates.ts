// The workload certificates this replica's CA issued, as `GET /api/v1/certificates` and
// `ambientctl certificates` list them: the newest per (node, identity) -- what that node's
// agent (or waypoint) holds, since it renews before expiry -- kept until an hour after it
// expires, bounded in count (the oldest issued goes first). In memory: a restarted replica
// lists each again at its next renewal.
export interface IssuedCertificate {
  identity: string;
  /** The node of the caller the certificate was issued to. */
  node: string;
  serial: string;
  notBefore: string;
  notAfter: string;
}

export const ISSUED_CERTIFICATES_LIMITS = {
  maxEntries: 20_000,
  /** An expired certificate is still listed this long (its `time left` says expired). */
  keepExpiredMs: 3_600_000,
} as const;

export class IssuedCertificates {
  // Insertion order is issue order: the first key is the oldest issued.
  readonly #byKey = new Map<string, IssuedCertificate>();

  constructor(readonly limits: { maxEntries: number; keepExpiredMs: number } = ISSUED_CERTIFICATES_LIMITS) {}

  record(c: IssuedCertificate): void {
    const key = `${c.node}\0${c.identity}`;
    this.#byKey.delete(key);
    this.#byKey.set(key, { ...c });
    while (this.#byKey.size > this.limits.maxEntries) this.#byKey.delete(this.#byKey.keys().next().value!);
  }

  /** What is listed at `now`, by node then identity. */
  list(now: number = Date.now()): IssuedCertificate[] {
    for (const [k, c] of this.#byKey) if (Date.parse(c.notAfter) + this.limits.keepExpiredMs < now) this.#byKey.delete(k);
    return [...this.#byKey.values()].map((c) => ({ ...c })).sort((a, b) => a.node.localeCompare(b.node) || a.identity.localeCompare(b.identity));
  }
}
