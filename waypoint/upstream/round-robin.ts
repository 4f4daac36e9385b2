// Endpoint choice for now: round robin per Service port (the next issue adds algorithms as
// a balancer layer; this stays the default). Pure apart from the counters it is given.
import type { UpstreamEndpoint } from '../http/chain.js';

export class RoundRobin {
  readonly #next = new Map<string, number>();
  /** Keys remembered at most; beyond, the map starts afresh (order is all that is lost). */
  static readonly MAX_KEYS = 10_000;

  pick(key: string, endpoints: readonly UpstreamEndpoint[]): UpstreamEndpoint | undefined {
    if (endpoints.length === 0) return undefined;
    if (this.#next.size >= RoundRobin.MAX_KEYS && !this.#next.has(key)) this.#next.clear();
    const i = this.#next.get(key) ?? 0;
    this.#next.set(key, (i + 1) % endpoints.length);
    return endpoints[i % endpoints.length];
  }
}
