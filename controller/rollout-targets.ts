// What the rollout driver (./rollout-driver.ts) reads around a Rollout, as pure functions
// of the controller's cached cluster: the waypoint pods serving a Service (whose metrics
// are scraped), the workloads behind a backend Service (how the waypoints' metrics name
// them: destination_workload, the workload's canonical name), and the Rollout's status as
// stored in the object and written back.
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { canonicalName } from '../core/config/workload-of-pod.js';
import { GATEWAY_NAME_LABEL } from './translate/objects.js';
import { waypointTarget } from './translate/waypoints.js';
import type { RolloutGate, RolloutPhase, RolloutStatus } from './rollout-plan.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const PHASES: readonly RolloutPhase[] = ['Progressing', 'Paused', 'Succeeded', 'RolledBack'];
const GATES: readonly RolloutGate[] = ['minSuccessRate', 'maxP99Latency'];

export interface WaypointPod {
  name: string;
  namespace: string;
  ip: string;
  /** ms since the epoch (creationTimestamp), 0 when unknown. */
  createdAt: number;
}

export interface ClusterView {
  namespaces: readonly V1Namespace[];
  pods: readonly V1Pod[];
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
}

const labelsOf = (o: { metadata?: { labels?: Record<string, string> } } | undefined): Record<string, string> => o?.metadata?.labels ?? {};

function live(p: V1Pod): boolean {
  return !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

function timeOf(v: unknown): number {
  const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/**
 * The waypoint that serves Service `namespace/service` (its own use-waypoint label, else
 * its namespace's), or undefined when it has none.
 */
export function serviceWaypoint(view: ClusterView, namespace: string, service: string): { name: string; namespace: string } | undefined {
  const svc = view.services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === service);
  if (!svc) return undefined;
  const own = labelsOf(svc);
  if (own['ambient.dev/use-waypoint'] !== undefined) return waypointTarget(namespace, own);
  const ns = view.namespaces.find((n) => n.metadata?.name === namespace);
  return waypointTarget(namespace, labelsOf(ns));
}

/** The running pods of waypoint `w` that have an IP, sorted by name, at most `max`. */
export function waypointPods(view: ClusterView, w: { name: string; namespace: string }, max: number): WaypointPod[] {
  return view.pods
    .filter((p) => p.metadata?.namespace === w.namespace && labelsOf(p)[GATEWAY_NAME_LABEL] === w.name && live(p) && typeof p.status?.podIP === 'string' && p.status.podIP !== '')
    .map((p) => ({ name: p.metadata!.name!, namespace: w.namespace, ip: p.status!.podIP!, createdAt: timeOf(p.metadata?.creationTimestamp) }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, max);
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The workloads behind Service `namespace/service`, as `<namespace>/<canonical name>` (what
 * the waypoints' destination_workload says): the pods its EndpointSlices name, and the pods
 * its selector matches (a cluster without an endpoints controller has no slices).
 */
export function serviceWorkloads(view: ClusterView, namespace: string, service: string): Set<string> {
  const out = new Set<string>();
  const pods = view.pods.filter((p) => p.metadata?.namespace === namespace && live(p));
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? '', p]));
  const add = (p: V1Pod) => out.add(`${namespace}/${canonicalName(p, labelsOf(p))}`);
  for (const slice of view.endpointSlices) {
    if (slice.metadata?.namespace !== namespace || labelsOf(slice)[SERVICE_NAME_LABEL] !== service) continue;
    for (const ep of slice.endpoints ?? []) {
      const ref = ep.targetRef;
      if (ref?.kind !== 'Pod' || !ref.name) continue;
      const p = byName.get(ref.name);
      if (p) add(p);
    }
  }
  const svc = view.services.find((s) => s.metadata?.namespace === namespace && s.metadata?.name === service);
  for (const p of pods) if (selects(svc?.spec?.selector, labelsOf(p))) add(p);
  return out;
}

/** The status as stored in a Rollout object (stepStartedAt RFC 3339); undefined when it holds none the state machine can resume from. */
export function readStoredStatus(status: unknown): RolloutStatus | undefined {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) return undefined;
  const s = status as Record<string, unknown>;
  const phase = s['phase'];
  if (typeof phase !== 'string' || !PHASES.includes(phase as RolloutPhase)) return undefined;
  const canaryWeight = s['canaryWeight'];
  const step = s['step'];
  const revision = s['revision'];
  if (typeof canaryWeight !== 'number' || !Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) return undefined;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) return undefined;
  if (typeof revision !== 'string') return undefined;
  const out: RolloutStatus = {
    phase: phase as RolloutPhase,
    canaryWeight,
    step,
    message: typeof s['message'] === 'string' ? s['message'] : '',
    stepStartedAt: timeOf(s['stepStartedAt']),
    revision,
  };
  const f = s['failedGate'];
  if (f && typeof f === 'object' && !Array.isArray(f)) {
    const g = f as Record<string, unknown>;
    if (GATES.includes(g['gate'] as RolloutGate) && typeof g['measured'] === 'number' && typeof g['threshold'] === 'number') {
      out.failedGate = { gate: g['gate'] as RolloutGate, measured: g['measured'], threshold: g['threshold'] };
    }
  }
  return out;
}

/** The status object written to the Rollout (merge patch: a gate no longer failing is removed with null). */
export function storedStatus(s: RolloutStatus, observedGeneration: number | undefined): Record<string, unknown> {
  return {
    phase: s.phase,
    canaryWeight: s.canaryWeight,
    step: s.step,
    message: s.message,
    stepStartedAt: new Date(s.stepStartedAt).toISOString(),
    revision: s.revision,
    failedGate: s.failedGate ? { ...s.failedGate } : null,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
}

/** Whether writing `desired` would change the object's status (fields we do not write are ignored). */
export function statusDiffers(current: unknown, desired: Record<string, unknown>): boolean {
  const cur = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(desired)) {
    const c = cur[k] ?? null;
    if (JSON.stringify(c) !== JSON.stringify(v)) return true;
  }
  return false;
}
