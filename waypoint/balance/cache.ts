// The waypoint's balancers, one per Service port (`<service key>:<port>`), kept across
// config updates so that counters (active requests, running weights, warmup clocks) and
// hash tables survive: get() returns the same Balancer and reconfigures it with the
// policy of the moment (balancer.ts configure(): a ring or table is rebuilt only if the
// candidates or its size changed). Bounded: at most maxBalancers, the least recently used
// dropped first (it starts afresh on next use: its endpoints count as present, not warming).
// Each balancer gets its own random generator seeded from the cache's, so a fixed seed
// makes a whole waypoint's choices reproducible in tests. Pure apart from its own state.
import type { LoadBalancer } from '../../core/config/traffic-policy.js';
import { Balancer } from './balancer.js';
import { BALANCE_LIMITS, type BalanceLimits } from './limits.js';
import type { Locality } from './locality.js';
import { nextSeed, seededRandom, type Random } from './random.js';

export interface BalancerCacheOptions {
  now: () => number;
  /** Seeds each balancer's generator. */
  random: Random;
  /** The waypoint's own node and zone. */
  local?: Locality;
  limits?: Partial<BalanceLimits>;
}

export function balancerKey(service: string, port: number): string {
  return `${service}:${port}`;
}

export class BalancerCache {
  readonly #balancers = new Map<string, Balancer>();
  readonly #o: BalancerCacheOptions;
  readonly #max: number;

  constructor(o: BalancerCacheOptions) {
    this.#o = o;
    this.#max = Math.max(1, o.limits?.maxBalancers ?? BALANCE_LIMITS.maxBalancers);
  }

  get size(): number {
    return this.#balancers.size;
  }

  /** The balancer of a Service port, created on first use, configured with `policy`. */
  get(service: string, port: number, policy: LoadBalancer, minHealthPercent = 0): Balancer {
    const key = balancerKey(service, port);
    let b = this.#balancers.get(key);
    if (b) {
      // Most recently used last (a Map keeps insertion order).
      this.#balancers.delete(key);
      this.#balancers.set(key, b);
      b.configure(policy, minHealthPercent);
      return b;
    }
    b = new Balancer({
      policy,
      minHealthPercent,
      now: this.#o.now,
      random: seededRandom(nextSeed(this.#o.random)),
      ...(this.#o.local && { local: this.#o.local }),
      ...(this.#o.limits && { limits: this.#o.limits }),
    });
    this.#balancers.set(key, b);
    while (this.#balancers.size > this.#max) {
      const oldest = this.#balancers.keys().next().value as string;
      this.#balancers.delete(oldest);
    }
    return b;
  }

  /** The balancer of a Service port if there is one (not counted as a use). */
  peek(service: string, port: number): Balancer | undefined {
    return this.#balancers.get(balancerKey(service, port));
  }

  /** The Service ports that have a balancer, least recently used first (not counted as a use). */
  *entries(): IterableIterator<{ service: string; port: number; balancer: Balancer }> {
    for (const [key, balancer] of this.#balancers) {
      const i = key.lastIndexOf(':');
      yield { service: key.slice(0, i), port: Number(key.slice(i + 1)), balancer };
    }
  }

  /** Forgets Service ports the config no longer has. */
  retain(keep: (service: string, port: number) => boolean): void {
    for (const key of [...this.#balancers.keys()]) {
      const i = key.lastIndexOf(':');
      if (!keep(key.slice(0, i), Number(key.slice(i + 1)))) this.#balancers.delete(key);
    }
  }
}
