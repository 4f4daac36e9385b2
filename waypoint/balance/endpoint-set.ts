// The endpoints of one Service port as a balancer sees them, with the state that must
// outlive config updates: requests in flight, and when each became new or healthy again
// (slow start).
//
// update() takes the whole list again (from each config snapshot) and keeps the state of
// every endpoint still in it, matched by `ip:port`; a new endpoint starts with no requests
// and, after the first update, warming (`since` = now). Ejection is decided elsewhere
// (waypoint/resilience/outlier.ts) and given here, in the list or through setEjected();
// an endpoint whose ejection ends starts warming again. `version` changes whenever what
// the balancer's choice depends on changed (membership, weight, locality, ejection), so
// derived structures (candidates, ring, table) are recomputed only then.
//
// Duplicate `ip:port` entries: the first is kept. Beyond `maxEndpointsPerSet` the rest of
// the list is left out (in the list's order). Weights are whole numbers clamped to
// 1..maxEndpointWeight; absent is 1. Pure apart from its own state; the clock is the
// caller's (`now` passed in).
import type { UpstreamEndpoint } from '../http/chain.js';

export interface EndpointInput {
  endpoint: UpstreamEndpoint;
  /** Relative weight, default 1. */
  weight?: number;
  /** The endpoint's node (locality tier 1). */
  node?: string;
  /** The endpoint's zone, topology.kubernetes.io/zone (locality tier 2). */
  zone?: string;
  /** Ejected by outlier detection. Absent: unchanged (as setEjected() left it; false for
   * a new endpoint), so the list from a config snapshot does not undo an ejection. */
  ejected?: boolean;
}

export interface EndpointState {
  /** `ip:port`: identity across updates, and what consistent hashing hashes. */
  readonly key: string;
  endpoint: UpstreamEndpoint;
  weight: number;
  node: string | undefined;
  zone: string | undefined;
  ejected: boolean;
  /** When it became new or healthy again (the balancer's clock); undefined: warm. */
  since: number | undefined;
  /** Requests in flight to it through this balancer. */
  active: number;
}

export function endpointKey(e: UpstreamEndpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

export function clampWeight(w: number | undefined, max: number): number {
  if (w === undefined || !Number.isFinite(w)) return 1;
  return Math.min(max, Math.max(1, Math.round(w)));
}

export class EndpointSet {
  #list: EndpointState[] = [];
  readonly #byKey = new Map<string, EndpointState>();
  #seen = false;
  #version = 0;
  #lastInput: readonly EndpointInput[] | undefined;

  constructor(private readonly limits: { maxEndpointsPerSet: number; maxEndpointWeight: number }) {}

  /** Endpoints in the list's order. */
  get list(): readonly EndpointState[] {
    return this.#list;
  }

  get version(): number {
    return this.#version;
  }

  get(key: string): EndpointState | undefined {
    return this.#byKey.get(key);
  }

  /** Replaces the endpoints, keeping the state of those still present. Returns whether
   * anything the choice depends on changed. The same array as last time is a no-op. */
  update(inputs: readonly EndpointInput[], now: number): boolean {
    if (inputs === this.#lastInput) return false;
    this.#lastInput = inputs;
    const next: EndpointState[] = [];
    const keys = new Set<string>();
    let changed = false;
    for (const input of inputs) {
      if (next.length >= this.limits.maxEndpointsPerSet) break;
      const key = endpointKey(input.endpoint);
      if (keys.has(key)) continue;
      keys.add(key);
      const weight = clampWeight(input.weight, this.limits.maxEndpointWeight);
      const old = this.#byKey.get(key);
      const ejected = input.ejected ?? old?.ejected ?? false;
      if (old) {
        if (old.weight !== weight || old.node !== input.node || old.zone !== input.zone || old.ejected !== ejected) changed = true;
        if (old.ejected && !ejected) old.since = now;
        old.endpoint = input.endpoint;
        old.weight = weight;
        old.node = input.node;
        old.zone = input.zone;
        old.ejected = ejected;
        next.push(old);
      } else {
        changed = true;
        next.push({ key, endpoint: input.endpoint, weight, node: input.node, zone: input.zone, ejected, since: this.#seen ? now : undefined, active: 0 });
      }
    }
    if (next.length !== this.#list.length) changed = true;
    else if (!changed) for (let i = 0; i < next.length; i++) if (next[i] !== this.#list[i]) changed = true;
    for (const key of this.#byKey.keys()) if (!keys.has(key)) this.#byKey.delete(key);
    for (const e of next) this.#byKey.set(e.key, e);
    this.#list = next;
    this.#seen = true;
    if (changed) this.#version++;
    return changed;
  }

  /** Marks an endpoint ejected or not (outlier detection's decision). An endpoint coming
   * back starts warming. `returnedAt`, outlier detection's time of its last return (same
   * clock as `now`), restarts the warm-up when this set never saw the ejection (no pick
   * happened while it lasted), so a returning endpoint always ramps up. Returns whether it
   * changed; an unknown key is ignored. */
  setEjected(key: string, ejected: boolean, now: number, returnedAt?: number): boolean {
    const e = this.#byKey.get(key);
    if (!e) return false;
    if (e.ejected === ejected) {
      if (ejected || returnedAt === undefined || (e.since !== undefined && e.since >= returnedAt)) return false;
      e.since = returnedAt;
      this.#version++;
      return true;
    }
    e.ejected = ejected;
    if (!ejected) e.since = now;
    this.#version++;
    return true;
  }
}
