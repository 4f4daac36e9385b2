// The waypoint's view of its endpoints, as one read-only JSON document (GET /debug/endpoints
// on 15020, and `endpoints` in the admin server's /config_dump): per Service port it
// serves or has balanced, each endpoint's address, workload, node, locality tier relative
// to the waypoint, health (healthy, ejected with its ejection multiplier and remaining
// time, warming with its slow-start share), requests in flight; and per target whether it
// is in panic mode, the tier it sends to now, the algorithm and the TrafficPolicy in force.
// `ambientctl services` reads it (HEALTH column, `--endpoints`), and the controller may
// scrape it as it scrapes /metrics.
//
// Pure: built from what the balancer (waypoint/balance/balancer.ts view()) and outlier
// detection (waypoint/resilience/outlier.ts snapshot()) hold, given as plain data with the
// clock's `now` (endpoint-state-source.ts reads them from a live waypoint). Nothing here
// changes either.
//
// How the two sources are merged, per endpoint:
// - ejected: outlier detection decides; the balancer learns of an ejection or a return at
//   its next pick, so between the two the detector is the truth.
// - warming: the balancer's slow start (ROUND_ROBIN, LEAST_REQUEST with warmupDuration).
//   An endpoint the detector has returned but the balancer has not yet seen return is
//   shown warming at the ramp's start (its share when the next request is balanced: the
//   ramp begins then).
// - panic: the detector's (fewer than minHealthPercent healthy); the candidates (`tier`,
//   `inRotation`) are computed with the balancer's own rule (locality.ts chooseCandidates)
//   from the merged flags, so they say where the next request may go.
//
// Bounded (ENDPOINT_STATE_LIMITS): at most maxTargets targets and maxEndpoints endpoints
// listed in a document; counts are always over every endpoint, and what was left out is
// counted (`targetsLeftOut`, `endpointsLeftOut`).
import type { LbAlgorithm, TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { EndpointView } from '../balance/balancer.js';
import { endpointKey, type EndpointState } from '../balance/endpoint-set.js';
import { chooseCandidates, type Locality, type Tier } from '../balance/locality.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { EjectionReason, OutlierSnapshot } from '../resilience/outlier.js';

export const ENDPOINT_STATE_LIMITS = {
  /** Service ports listed in one /debug/endpoints document; the rest are counted in `targetsLeftOut`. */
  maxTargets: 512,
  /** Endpoints listed in one document, over all its targets (about 300 bytes each); the
   * rest are counted per target in `endpointsLeftOut` (the target's counts include them). */
  maxEndpoints: 10_000,
} as const;

export type EndpointStateLimits = { -readonly [K in keyof typeof ENDPOINT_STATE_LIMITS]: number };

/** What the waypoint knows of an endpoint's workload (from its config). */
export interface EndpointWorkload {
  name: string;
  namespace: string;
  node?: string;
  zone?: string;
}

/** One Service port, as the sources hold it. */
export interface EndpointTargetInput {
  /** The Service's resource key, `<namespace>/<hostname>`. */
  service: string;
  port: number;
  /** The Service's name and namespace, when the config has the Service. */
  name?: string;
  namespace?: string;
  /** The ready endpoints, as the balancer is given them (Service order). */
  endpoints: readonly UpstreamEndpoint[];
  /** Endpoints Kubernetes reports not ready (not balanced over, only counted). */
  unready?: number;
  workload?: (uid: string) => EndpointWorkload | undefined;
  /** The TrafficPolicy of the port now; absent: none (round robin, no outlier detection). */
  policy?: TrafficPolicy;
  /** The port's balancer (view()), absent until a first request was balanced. */
  balancer?: readonly EndpointView[];
  /** Outlier detection's state for the port, when its policy has outlierDetection and a
   * detector exists. */
  outliers?: OutlierSnapshot;
}

export interface EndpointStateInput {
  /** The waypoint's own Service key. */
  waypoint?: string;
  /** The waypoint's node and zone (locality tiers). */
  local: Locality;
  /** The balancer's and the detector's clock (monotonic ms). */
  now: number;
  /** Wall-clock time of the document (ISO 8601). */
  generatedAt: string;
  targets: readonly EndpointTargetInput[];
  /** Slow start's share at the ramp's start, percent (BALANCE_LIMITS.slowStartMinWeightPercent). */
  slowStartMinPercent: number;
  limits?: Partial<EndpointStateLimits>;
}

export type EndpointHealthState = 'healthy' | 'ejected' | 'warming';
/** An endpoint's locality relative to the waypoint: on its node, in its zone, or elsewhere. */
export type EndpointLocalityTier = 'node' | 'zone' | 'any';

export interface EndpointStateEntry {
  /** `ip:port` (`[ip]:port` for IPv6): the address requests go to. */
  address: string;
  /** The pod (workload) name and namespace, when the waypoint's config has the workload. */
  workload?: string;
  namespace?: string;
  node?: string;
  zone?: string;
  locality: EndpointLocalityTier;
  health: EndpointHealthState;
  /** Whether the next request may go to it: a candidate under health, panic and locality preference. */
  inRotation: boolean;
  /** Requests in flight to it through this waypoint replica. */
  activeRequests: number;
  weight: number;
  /** While ejected: the ejection multiplier (this is its n-th ejection in a row; lowered by
   * one per interval spent back in service), what is left of it, and why. */
  ejection?: { count: number; remainingMs: number; reason?: EjectionReason };
  /** While warming: its share now, in percent of its weight (slow start ramps it from
   * slowStartMinPercent to 100), and how long the ramp still lasts. */
  warming?: { sharePercent: number; remainingMs: number };
}

export interface EndpointCounts {
  /** Ready endpoints (balanced over). */
  total: number;
  /** Not ejected (warming ones included). */
  healthy: number;
  ejected: number;
  warming: number;
  /** Not ready in Kubernetes (not balanced over, not in `total`). */
  unready: number;
}

export interface EndpointStateTarget {
  service: string;
  name?: string;
  namespace?: string;
  port: number;
  /** `<namespace>/<name>` of the TrafficPolicy in force; null: none. */
  trafficPolicy: string | null;
  algorithm: LbAlgorithm;
  localityPreference: boolean;
  /** Slow start's duration; 0: off (or the algorithm does not ramp). */
  warmupMs: number;
  outlierDetection: boolean;
  /** Panic threshold (outlierDetection.minHealthPercent; 0: never). */
  minHealthPercent: number;
  /** Fewer than minHealthPercent healthy: requests go to every endpoint, ejected or not. */
  panic: boolean;
  /** Which endpoints the next request may go to: the waypoint's node, its zone, any
   * healthy one, all (panic), or none (`no_healthy`: 503 UH; `empty`). */
  tier: Tier | 'empty' | 'no_healthy';
  counts: EndpointCounts;
  endpoints: EndpointStateEntry[];
  /** Endpoints not listed (ENDPOINT_STATE_LIMITS.maxEndpoints); counted in `counts`. */
  endpointsLeftOut?: number;
}

export interface EndpointStateDocument {
  waypoint?: string;
  node?: string;
  zone?: string;
  generatedAt: string;
  targets: EndpointStateTarget[];
  /** Targets not listed (ENDPOINT_STATE_LIMITS.maxTargets). */
  targetsLeftOut?: number;
}

/** The policy of a port no TrafficPolicy targets, as the picker balances it (picker.ts NO_POLICY_BALANCER). */
const NO_POLICY = { algorithm: 'ROUND_ROBIN' as LbAlgorithm, warmupMs: 0, localityPreference: false };

/** `ip:port`, as the outlier registry keys endpoints (picker.ts recordKey). */
const outlierKey = (e: UpstreamEndpoint): string => `${e.ip}:${e.port}`;

export function localityOf(local: Locality, node: string | undefined, zone: string | undefined): EndpointLocalityTier {
  if (local.node && node === local.node) return 'node';
  if (local.zone && zone === local.zone) return 'zone';
  return 'any';
}

const slowStartApplies = (a: LbAlgorithm): boolean => a === 'ROUND_ROBIN' || a === 'LEAST_REQUEST';

/** One target's state. `room`: endpoints that may still be listed. */
export function endpointTargetState(t: EndpointTargetInput, o: Pick<EndpointStateInput, 'local' | 'now' | 'slowStartMinPercent'>, room = Infinity): EndpointStateTarget {
  const lb = t.policy?.loadBalancer ?? NO_POLICY;
  const od = t.policy?.outlierDetection;
  const warmupMs = slowStartApplies(lb.algorithm) && lb.warmupMs > 0 ? lb.warmupMs : 0;
  const views = new Map<string, EndpointView>();
  for (const v of t.balancer ?? []) views.set(v.key, v);
  const health = new Map<string, OutlierSnapshot['endpoints'][number]>();
  const outliers = od ? t.outliers : undefined;
  for (const h of outliers?.endpoints ?? []) health.set(h.key, h);

  const seen = new Set<string>();
  const entries: EndpointStateEntry[] = [];
  for (const e of t.endpoints) {
    const address = endpointKey(e);
    if (seen.has(address)) continue; // the balancer keeps the first of duplicates
    seen.add(address);
    const w = e.workloadUid !== undefined ? t.workload?.(e.workloadUid) : undefined;
    const v = views.get(address);
    const h = health.get(outlierKey(e));
    const ejected = h?.ejected ?? false;
    const entry: EndpointStateEntry = {
      address,
      ...(w && { workload: w.name, namespace: w.namespace }),
      ...(w?.node !== undefined && { node: w.node }),
      ...(w?.zone !== undefined && { zone: w.zone }),
      locality: localityOf(o.local, w?.node ?? v?.node, w?.zone ?? v?.zone),
      health: 'healthy',
      inRotation: false,
      activeRequests: v?.active ?? 0,
      weight: v?.weight ?? 1,
    };
    if (ejected) {
      entry.health = 'ejected';
      entry.ejection = {
        count: h!.ejections,
        remainingMs: Math.max(0, Math.round((h!.ejectedUntil ?? o.now) - o.now)),
        ...(h!.ejectionReason !== undefined && { reason: h!.ejectionReason }),
      };
    } else if (warmupMs > 0 && v?.ejected) {
      // Returned by the detector, not yet seen back by the balancer: its ramp starts with
      // the next request balanced, at the ramp's lowest share.
      entry.health = 'warming';
      entry.warming = { sharePercent: o.slowStartMinPercent, remainingMs: warmupMs };
    } else if (warmupMs > 0 && v?.warming) {
      entry.health = 'warming';
      entry.warming = {
        sharePercent: Math.round((v.effectiveWeight / Math.max(1, v.weight)) * 1000) / 10,
        remainingMs: Math.round(v.warmingRemainingMs ?? 0),
      };
    }
    entries.push(entry);
  }

  // Where the next request may go: the balancer's own rule over the merged flags.
  const states: EndpointState[] = entries.map((x) => ({
    key: x.address,
    endpoint: undefined as never,
    weight: x.weight,
    node: x.node ?? views.get(x.address)?.node,
    zone: x.zone ?? views.get(x.address)?.zone,
    ejected: x.health === 'ejected',
    since: undefined,
    active: x.activeRequests,
  }));
  const minHealthPercent = od?.minHealthPercent ?? 0;
  const cands = chooseCandidates(states, { local: o.local, localityPreference: lb.localityPreference, minHealthPercent });
  const inRotation = new Set(cands.endpoints.map((c) => c.key));
  for (const x of entries) x.inRotation = inRotation.has(x.address);

  const counts: EndpointCounts = { total: entries.length, healthy: 0, ejected: 0, warming: 0, unready: t.unready ?? 0 };
  for (const x of entries) {
    if (x.health === 'ejected') counts.ejected++;
    else counts.healthy++;
    if (x.health === 'warming') counts.warming++;
  }
  const listed = entries.length > room ? entries.slice(0, Math.max(0, room)) : entries;
  return {
    service: t.service,
    ...(t.name !== undefined && { name: t.name }),
    ...(t.namespace !== undefined && { namespace: t.namespace }),
    port: t.port,
    trafficPolicy: t.policy ? `${t.policy.namespace}/${t.policy.name}` : null,
    algorithm: lb.algorithm,
    localityPreference: lb.localityPreference,
    warmupMs,
    outlierDetection: od !== undefined,
    minHealthPercent,
    panic: cands.tier === 'panic',
    tier: cands.tier,
    counts,
    endpoints: listed,
    ...(listed.length < entries.length && { endpointsLeftOut: entries.length - listed.length }),
  };
}

/** The whole document, targets sorted by Service key and port. */
export function buildEndpointState(input: EndpointStateInput): EndpointStateDocument {
  const limits = { ...ENDPOINT_STATE_LIMITS, ...input.limits };
  const sorted = [...input.targets].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.port - b.port));
  const kept = sorted.slice(0, Math.max(0, limits.maxTargets));
  let room = limits.maxEndpoints;
  const targets: EndpointStateTarget[] = [];
  for (const t of kept) {
    const s = endpointTargetState(t, input, room);
    room -= s.endpoints.length;
    targets.push(s);
  }
  return {
    ...(input.waypoint !== undefined && { waypoint: input.waypoint }),
    ...(input.local.node !== undefined && { node: input.local.node }),
    ...(input.local.zone !== undefined && { zone: input.local.zone }),
    generatedAt: input.generatedAt,
    targets,
    ...(kept.length < sorted.length && { targetsLeftOut: sorted.length - kept.length }),
  };
}
