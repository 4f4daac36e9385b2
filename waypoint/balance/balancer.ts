// One Service port's load balancer: the endpoint set and its state (endpoint-set.ts), the
// candidates of a pick (locality.ts: panic mode, health, locality tiers), and the policy's
// algorithm over them (round-robin.ts, least-request.ts, random-choice.ts, ring-hash.ts,
// maglev.ts), with slow start (slow-start.ts) for ROUND_ROBIN and LEAST_REQUEST.
//
// Where it sits: the request chain's balancer layer (waypoint/http/chain.ts) will hold a
// BalancerCache (cache.ts), update a Service port's balancer from each config snapshot
// (update(): the same array again is free), give it outlier detection's ejections
// (setEjected(), or `ejected` in the list), extract the hash key (hash-key.ts) for
// RING_HASH / MAGLEV, call pick(), and track() the request while it is in flight so
// LEAST_REQUEST sees the load. A pick that finds no endpoint says why: 'empty' (the
// Service port has none) or 'no_healthy' (all ejected, not in panic: 503, flag UH).
//
// What is recomputed when: candidates, only when the endpoint set's version or the
// configuration changed (not per pick); a ring or Maglev table, only when the candidates
// (keys, weights, order) or the table size changed, never for a config update that leaves
// them as they were (stats.tableBuilds counts builds); the weighted schedule, likewise.
// So a pick is O(1) for equal weights (cursor, two choices, uniform random, Maglev),
// O(log n) for a ring, weighted RANDOM and unequal effective weights (EDF).
//
// Clock and randomness are injected (`now`, `random`): tests run on a fake clock and a fixed
// seed. No I/O, no logger.
import type { LoadBalancer } from '../../core/config/traffic-policy.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import { EndpointSet, type EndpointInput, type EndpointState } from './endpoint-set.js';
import { hash53 } from './hash.js';
import { loadAdjusted, pickFewestOfChoices } from './least-request.js';
import { BALANCE_LIMITS, type BalanceLimits } from './limits.js';
import { chooseCandidates, type Candidates, type Locality, type Tier } from './locality.js';
import { buildMaglev, maglevLookup, maglevTableSize } from './maglev.js';
import { cumulativeWeights, pickUniform, pickWeightedRandom } from './random-choice.js';
import { randomIndex, type Random } from './random.js';
import { buildRing, ringLookup, type Ring } from './ring-hash.js';
import { EdfSchedule, pickCursor, type CursorState } from './round-robin.js';
import { slowStartFactor, type SlowStartParams } from './slow-start.js';

export interface BalancerOptions {
  policy: LoadBalancer;
  /** outlierDetection.minHealthPercent of the policy (0 or absent: no panic mode). */
  minHealthPercent?: number;
  /** The waypoint's own node and zone, for locality preference. */
  local?: Locality;
  /** Milliseconds, monotonic (performance.now in the waypoint, a fake clock in tests). */
  now: () => number;
  random: Random;
  limits?: Partial<BalanceLimits>;
}

export type PickResult =
  | {
      endpoint: UpstreamEndpoint;
      /** `ip:port`, for track() and setEjected(). */
      key: string;
      tier: Tier;
      /** Chosen by the hash key (RING_HASH / MAGLEV with a key). */
      hashed: boolean;
    }
  | { endpoint: undefined; reason: 'empty' | 'no_healthy' };

/** One endpoint as observability shows it (`ambientctl services`, per-endpoint metrics). */
export interface EndpointView {
  key: string;
  active: number;
  weight: number;
  /** Weight times the slow-start factor now (the configured weight where slow start does not apply). */
  effectiveWeight: number;
  ejected: boolean;
  warming: boolean;
  /** While warming: ms until its slow start reaches the full weight. */
  warmingRemainingMs?: number;
  node?: string;
  zone?: string;
}

type Table = { sig: string; ring?: Ring; maglev?: Int32Array };

const weightOf = (e: EndpointState): number => e.weight;

export class Balancer {
  readonly stats = { tableBuilds: 0 };
  readonly #limits: BalanceLimits;
  readonly #set: EndpointSet;
  readonly #now: () => number;
  readonly #random: Random;
  readonly #local: Locality;
  #policy!: LoadBalancer;
  #minHealthPercent = 0;
  #slow!: SlowStartParams;
  #configGen = 0;
  // Candidates, cached for (set version, config generation); #candsEpoch counts recomputations.
  #cands: Candidates = { tier: 'empty', endpoints: [] };
  #candsVersion = -1;
  #candsGen = -1;
  #candsEpoch = 0;
  #uniform = true;
  /** cumulativeWeights of the candidates (weighted RANDOM), computed on first need. */
  #sums: Float64Array | undefined;
  #warmUntil = -Infinity;
  #table: Table | undefined;
  #edf: EdfSchedule | undefined;
  #edfFor = -1;
  /** The candidates epoch the table was checked for. */
  #tableFor = -1;
  readonly #cursor: CursorState;

  constructor(o: BalancerOptions) {
    this.#limits = { ...BALANCE_LIMITS, ...o.limits };
    this.#set = new EndpointSet(this.#limits);
    this.#now = o.now;
    this.#random = o.random;
    this.#local = o.local ?? {};
    this.#cursor = { next: randomIndex(o.random, 1 << 30) };
    this.configure(o.policy, o.minHealthPercent ?? 0);
  }

  get policy(): LoadBalancer {
    return this.#policy;
  }

  /** outlierDetection.minHealthPercent as configured (0: no panic mode). Read-only, for observability. */
  get minHealthPercent(): number {
    return this.#minHealthPercent;
  }

  /** The slow-start parameters in force (warmupMs 0: off), for observability. */
  get slowStart(): Readonly<SlowStartParams> {
    return this.#slow;
  }

  /** A new policy (config update). Endpoint state is kept; a changed policy restarts the
   * weighted schedule. */
  configure(policy: LoadBalancer, minHealthPercent = 0): void {
    const mhp = Number.isFinite(minHealthPercent) ? Math.min(100, Math.max(0, minHealthPercent)) : 0;
    const old = this.#policy;
    if (old === policy && mhp === this.#minHealthPercent) return;
    if (
      old &&
      old.algorithm === policy.algorithm &&
      old.warmupMs === policy.warmupMs &&
      old.localityPreference === policy.localityPreference &&
      old.ringSize === policy.ringSize &&
      old.maglevTableSize === policy.maglevTableSize &&
      mhp === this.#minHealthPercent
    ) {
      this.#policy = policy;
      return;
    }
    this.#policy = policy;
    this.#minHealthPercent = mhp;
    this.#slow = { warmupMs: policy.warmupMs > 0 ? policy.warmupMs : 0, minWeightPercent: this.#limits.slowStartMinWeightPercent, aggression: this.#limits.slowStartAggression };
    this.#configGen++;
  }

  /** The Service port's endpoints, from a config snapshot; see EndpointSet.update. */
  update(endpoints: readonly EndpointInput[]): boolean {
    return this.#set.update(endpoints, this.#now());
  }

  /** Outlier detection's decision for one endpoint (`ip:port`). */
  setEjected(key: string, ejected: boolean, returnedAt?: number): boolean {
    return this.#set.setEjected(key, ejected, this.#now(), returnedAt);
  }

  /** Picks an endpoint. `hashKey`: the request's key for RING_HASH / MAGLEV (hash-key.ts);
   * absent there, the pick is RANDOM. Ignored by the other algorithms. */
  pick(hashKey?: string): PickResult {
    const cands = this.#candidates();
    if (cands.tier === 'empty' || cands.tier === 'no_healthy') return { endpoint: undefined, reason: cands.tier };
    const c = cands.endpoints;
    let e: EndpointState;
    let hashed = false;
    switch (this.#policy.algorithm) {
      case 'ROUND_ROBIN': {
        const warm = this.#warmUntil === -Infinity || this.#now() >= this.#warmUntil;
        if (this.#uniform && warm) e = pickCursor(c, this.#cursor);
        else {
          const w = warm ? weightOf : this.#warmingWeightOf();
          e = this.#schedule(c, w).pick(w);
        }
        break;
      }
      case 'LEAST_REQUEST': {
        const warm = this.#warmUntil === -Infinity || this.#now() >= this.#warmUntil;
        if (this.#uniform && warm) e = pickFewestOfChoices(c, this.#random, this.#limits.leastRequestChoices);
        else {
          const w = loadAdjusted(warm ? weightOf : this.#warmingWeightOf(), this.#limits.activeRequestBias);
          e = this.#schedule(c, w).pick(w);
        }
        break;
      }
      case 'RING_HASH':
      case 'MAGLEV': {
        if (hashKey === undefined) {
          e = this.#randomPick(c);
          break;
        }
        const t = this.#hashTable(c);
        const h = hash53(hashKey.length > this.#limits.maxHashKeyChars ? hashKey.slice(0, this.#limits.maxHashKeyChars) : hashKey);
        e = c[t.ring ? ringLookup(t.ring, h) : maglevLookup(t.maglev!, h)]!;
        hashed = true;
        break;
      }
      default: // RANDOM
        e = this.#randomPick(c);
    }
    return { endpoint: e.endpoint, key: e.key, tier: cands.tier, hashed };
  }

  /** Counts a request in flight to endpoint `key` until the returned function is called
   * (once; later calls do nothing). An unknown key counts nothing. */
  track(key: string): () => void {
    const e = this.#set.get(key);
    if (!e) return () => {};
    e.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (e.active > 0) e.active--;
    };
  }

  /** The endpoints and their state now. */
  view(): EndpointView[] {
    const now = this.#now();
    const slow = this.#policy.algorithm === 'ROUND_ROBIN' || this.#policy.algorithm === 'LEAST_REQUEST';
    return this.#set.list.map((e) => {
      const f = slowStartFactor(now, e.since, this.#slow);
      const warming = slow && f < 1;
      return {
        key: e.key,
        active: e.active,
        weight: e.weight,
        effectiveWeight: slow ? e.weight * f : e.weight,
        ejected: e.ejected,
        warming,
        ...(warming && e.since !== undefined && { warmingRemainingMs: Math.max(0, e.since + this.#slow.warmupMs - now) }),
        ...(e.node !== undefined && { node: e.node }),
        ...(e.zone !== undefined && { zone: e.zone }),
      };
    });
  }

  #randomPick(c: readonly EndpointState[]): EndpointState {
    if (this.#uniform) return pickUniform(c, this.#random);
    this.#sums ??= cumulativeWeights(c);
    return pickWeightedRandom(c, this.#sums, this.#random);
  }

  /** The weighted schedule over the candidates, rebuilt when they (or the policy) change. */
  #schedule(c: readonly EndpointState[], weightOf: (e: EndpointState) => number): EdfSchedule {
    if (!this.#edf || this.#edfFor !== this.#candsEpoch) {
      this.#edf = new EdfSchedule(c, weightOf, randomIndex(this.#random, c.length));
      this.#edfFor = this.#candsEpoch;
    }
    return this.#edf;
  }

  /** Effective weights while some candidate warms up. */
  #warmingWeightOf(): (e: EndpointState) => number {
    const now = this.#now();
    return (x) => x.weight * slowStartFactor(now, x.since, this.#slow);
  }

  #candidates(): Candidates {
    if (this.#candsVersion === this.#set.version && this.#candsGen === this.#configGen) return this.#cands;
    this.#candsVersion = this.#set.version;
    this.#candsGen = this.#configGen;
    this.#candsEpoch++;
    this.#cands = chooseCandidates(this.#set.list, { local: this.#local, localityPreference: this.#policy.localityPreference, minHealthPercent: this.#minHealthPercent });
    const c = this.#cands.endpoints;
    this.#uniform = c.every((e) => e.weight === c[0]!.weight);
    this.#sums = undefined;
    let until = -Infinity;
    if (this.#slow.warmupMs > 0) for (const e of c) if (e.since !== undefined) until = Math.max(until, e.since + this.#slow.warmupMs);
    this.#warmUntil = until;
    return this.#cands;
  }

  #hashTable(c: readonly EndpointState[]): Table {
    // Checked once per candidates generation; the signature (O(candidates) to compute) then
    // says whether a new generation really changed what the table is built from.
    if (this.#table && this.#tableFor === this.#candsEpoch) return this.#table;
    this.#tableFor = this.#candsEpoch;
    const maglev = this.#policy.algorithm === 'MAGLEV';
    const size = maglev ? maglevTableSize(this.#policy.maglevTableSize, this.#limits) : this.#ringSize();
    let sig = `${maglev ? 'M' : 'R'}${size}`;
    for (const e of c) sig += `,${e.key}*${e.weight}`;
    if (this.#table?.sig === sig) return this.#table;
    this.stats.tableBuilds++;
    this.#table = maglev ? { sig, maglev: buildMaglev(c, size) } : { sig, ring: buildRing(c, size, this.#limits.maxRingSize) };
    return this.#table;
  }

  #ringSize(): number {
    const s = this.#policy.ringSize;
    if (!Number.isFinite(s)) return this.#limits.defaultRingSize;
    return Math.min(this.#limits.maxRingSize, Math.max(this.#limits.minRingSize, Math.floor(s)));
  }
}
