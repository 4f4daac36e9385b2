// The workload certificates the data plane holds, as node agents and waypoints last
// reported them (docs/telemetry.md, "certificates"): the latest list per reporter, already
// screened (screen.ts screenCertificates). A reporter that stopped listing its
// certificates (it lists them at least every certificateReportIntervalMs) is forgotten
// after ttlMs. Pure functions over a Map, and one thin class holding it; no timers, every
// call takes `now` (epoch ms).
//
// Several replicas: each agent reports to one replica, so each replica holds only its own
// clients' lists. snapshot() is what a replica hands to its peers, mergeHeldSnapshots() what
// makes one answer of several; the API reads whichever the controller's `api.heldCertificates`
// option gives it (controller.ts: this replica's snapshot by default) and merges the other
// replicas' with it (the `certificates` part: controller/api/replica-parts.ts).
import { TELEMETRY_LIMITS, type ReportedCertificate } from '../../core/observe/telemetry-wire.js';
import type { ReportSource } from './window.js';

export const HELD_CERTIFICATES_DEFAULTS = {
  /** A reporter's list is dropped this long after it was last sent (3 missed listings). */
  ttlMs: 3 * TELEMETRY_LIMITS.certificateReportIntervalMs,
  /** Reporters (node agents and waypoints) held at once; a new one beyond is not stored. */
  maxReporters: 10_000,
} as const;

export type HeldCertificatesLimits = { -readonly [K in keyof typeof HELD_CERTIFICATES_DEFAULTS]: number };

/** One reporter's latest list. */
export interface HeldSet {
  role: ReportSource['role'];
  node: string;
  /** A waypoint's `<namespace>/<gateway>`. */
  waypoint?: string;
  /** When the list arrived (epoch ms, the receiving replica's clock). */
  reportedAt: number;
  certificates: ReportedCertificate[];
}

/** What one replica holds (or several merged): live lists only. */
export interface HeldCertificatesSnapshot {
  at: number;
  sets: HeldSet[];
}

/** One list per node agent (its node) and per waypoint on a node. (Two replicas of the same
 * waypoint on one node share a key: the later list wins.) */
export function heldSetKey(s: Pick<HeldSet, 'role' | 'node' | 'waypoint'>): string {
  return s.role === 'waypoint' ? `waypoint\u0000${s.waypoint ?? ''}\u0000${s.node}` : `node-agent\u0000${s.node}`;
}

/** Stores `from`'s list, replacing its previous one. False when it is a new reporter and
 * maxReporters are held already (nothing stored). */
export function recordHeld(sets: Map<string, HeldSet>, from: ReportSource, certificates: readonly ReportedCertificate[], now: number, limits: HeldCertificatesLimits): boolean {
  const key = heldSetKey(from);
  if (!sets.has(key) && sets.size >= limits.maxReporters) {
    expireHeld(sets, now, limits.ttlMs);
    if (sets.size >= limits.maxReporters) return false;
  }
  sets.set(key, { role: from.role, node: from.node, ...(from.waypoint !== undefined && { waypoint: from.waypoint }), reportedAt: now, certificates: certificates.map((c) => ({ ...c })) });
  return true;
}

/** A list not renewed within ttlMs (its reporter went away, or reports elsewhere now). */
export function isExpired(s: Pick<HeldSet, 'reportedAt'>, now: number, ttlMs: number): boolean {
  return now - s.reportedAt > ttlMs;
}

/** Drops the expired lists; returns how many. */
export function expireHeld(sets: Map<string, HeldSet>, now: number, ttlMs: number): number {
  let n = 0;
  for (const [k, s] of sets) {
    if (isExpired(s, now, ttlMs)) {
      sets.delete(k);
      n++;
    }
  }
  return n;
}

/** Several replicas' snapshots as one: per reporter the latest list (an agent that moved to
 * another replica reported there last), sorted by key so the answer is stable. */
export function mergeHeldSnapshots(parts: readonly HeldCertificatesSnapshot[]): HeldCertificatesSnapshot {
  const latest = new Map<string, HeldSet>();
  let at = 0;
  for (const p of parts) {
    at = Math.max(at, p.at);
    for (const s of p.sets) {
      const k = heldSetKey(s);
      const held = latest.get(k);
      if (held === undefined || s.reportedAt > held.reportedAt) latest.set(k, s);
    }
  }
  return { at, sets: [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s) };
}

/** This replica's store of reported certificates. */
export class HeldCertificates {
  readonly limits: HeldCertificatesLimits;
  readonly #sets = new Map<string, HeldSet>();
  /** Lists not stored because maxReporters were held. */
  readonly stats = { lists: 0, full: 0 };

  constructor(limits: Partial<HeldCertificatesLimits> = {}) {
    this.limits = { ...HELD_CERTIFICATES_DEFAULTS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`held certificates limit ${k} must be a positive integer, got ${v}`);
    }
  }

  /** A screened list from `from` (the report endpoint on 15012, through MeshTelemetry.ingest). */
  record(from: ReportSource, certificates: readonly ReportedCertificate[], now: number): boolean {
    const ok = recordHeld(this.#sets, from, certificates, now, this.limits);
    if (ok) this.stats.lists++;
    else this.stats.full++;
    return ok;
  }

  /** The live lists now: what the API shows, and what a peer replica merges. */
  snapshot(now: number): HeldCertificatesSnapshot {
    expireHeld(this.#sets, now, this.limits.ttlMs);
    return mergeHeldSnapshots([{ at: now, sets: [...this.#sets.values()] }]);
  }
}
