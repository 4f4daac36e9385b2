// Which Rollout drives a Service's weights when several name it (pure). Two Rollouts moving
// one Service's HTTPRoute would each put back the other's weights on every pass, so one
// drives and the others wait, saying so (controller/rollout-driver.ts). A Rollout claims
// its Service while it runs or is paused (its status is Progressing or Paused for its
// current spec) or has not started yet; a finished one (Succeeded or RolledBack for its
// current spec) and one whose spec cannot be read claim nothing. Of the claimants, one
// already running for its spec comes first (a Rollout restarted by a change of its spec
// does not cut into another that is mid-way), then the oldest, then by name.
import { readRolloutSpec } from './rollout-spec.js';
import { rolloutRevision } from './rollout-plan.js';
import { readStoredStatus } from './rollout-targets.js';

export interface RolloutClaim {
  name: string;
  service: string;
  /** It is Progressing or Paused for its current spec. */
  active: boolean;
  /** creationTimestamp, ms since the epoch (0 when unknown). */
  createdAt: number;
}

interface RolloutLike {
  metadata?: { name?: string; creationTimestamp?: unknown; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: unknown;
}

function timeOf(v: unknown): number {
  const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/** The Service a Rollout object claims, or undefined when it claims none (finished, invalid, being deleted). */
export function rolloutClaim(o: RolloutLike): RolloutClaim | undefined {
  const name = o.metadata?.name;
  if (!name || o.metadata?.deletionTimestamp) return undefined;
  const read = readRolloutSpec(o.spec);
  if (!read.ok) return undefined;
  const status = readStoredStatus(o.status);
  const current = status !== undefined && status.revision === rolloutRevision(read.spec);
  if (current && (status.phase === 'Succeeded' || status.phase === 'RolledBack')) return undefined;
  return { name, service: read.spec.service, active: current, createdAt: timeOf(o.metadata?.creationTimestamp) };
}

/** The Rollout (of one namespace's claims) that drives Service `service`, or undefined when none claims it. */
export function serviceDriver(claims: readonly RolloutClaim[], service: string): RolloutClaim | undefined {
  return claims
    .filter((c) => c.service === service)
    .sort((a, b) => Number(b.active) - Number(a.active) || a.createdAt - b.createdAt || a.name.localeCompare(b.name))[0];
}
