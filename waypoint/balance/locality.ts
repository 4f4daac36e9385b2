// Which endpoints a pick chooses among: health, panic mode and locality preference, in
// that order. Pure.
//
// 1. No endpoints: none ('empty').
// 2. Panic mode (Envoy's healthy panic threshold; `minHealthPercent` of the policy's
//    outlierDetection, 0 = never): when fewer than that percentage of the endpoints are
//    healthy (not ejected), every endpoint is a candidate, ejected or not, and locality
//    is not applied (Envoy disables zone-aware routing in panic too): a few overloaded
//    survivors would otherwise take everything.
// 3. No healthy endpoint (and not in panic): none ('no_healthy'), the caller answers 503
//    with response flag UH as Envoy does.
// 4. Locality preference (the policy's `localityPreference`, on by default): the healthy
//    endpoints on the waypoint's own node if there is at least one; else those in its
//    zone if at least one; else every healthy endpoint. A simple priority failover: a tier
//    takes all traffic while it has one healthy endpoint (no spill-over by capacity, unlike
//    Envoy's locality weighted balancing; documented in docs/traffic-management.md). An
//    endpoint or a waypoint without a node (zone) never matches on it.

import type { EndpointState } from './endpoint-set.js';

export interface Locality {
  node?: string;
  zone?: string;
}

export type Tier = 'node' | 'zone' | 'any' | 'panic';

export type Candidates =
  | { tier: Tier; endpoints: EndpointState[] }
  | { tier: 'empty' | 'no_healthy'; endpoints: [] };

export interface CandidateOptions {
  /** The waypoint's own locality. */
  local: Locality;
  localityPreference: boolean;
  /** 0..100; 0 disables panic mode. */
  minHealthPercent: number;
}

/** Whether `healthy` of `total` endpoints is below the panic threshold. */
export function inPanic(healthy: number, total: number, minHealthPercent: number): boolean {
  return minHealthPercent > 0 && total > 0 && healthy * 100 < minHealthPercent * total;
}

export function chooseCandidates(all: readonly EndpointState[], o: CandidateOptions): Candidates {
  if (all.length === 0) return { tier: 'empty', endpoints: [] };
  const healthy = all.filter((e) => !e.ejected);
  if (inPanic(healthy.length, all.length, o.minHealthPercent)) return { tier: 'panic', endpoints: [...all] };
  if (healthy.length === 0) return { tier: 'no_healthy', endpoints: [] };
  if (o.localityPreference) {
    const { node, zone } = o.local;
    if (node) {
      const same = healthy.filter((e) => e.node === node);
      if (same.length > 0) return { tier: 'node', endpoints: same };
    }
    if (zone) {
      const same = healthy.filter((e) => e.zone === zone);
      if (same.length > 0) return { tier: 'zone', endpoints: same };
    }
  }
  return { tier: 'any', endpoints: healthy };
}
