// L4 load balancing for the node agent: which endpoint of a Service a new connection goes
// to. Round-robin, one counter per Service, in a map the caller owns (the agent keeps one
// for its lifetime and prunes it when Services go away), so that the choice is a function
// of its inputs and tests can see and set the counter.
//
// Why round-robin rather than ztunnel's random choice (weighted by workload capacity): it
// spreads short connections evenly without a random source, which keeps the planners
// deterministic under test. The planners take the choice as an injected `Picker`, so a
// different algorithm (random, least-connections fed by the connection tracker) is a
// drop-in. L7 algorithms (least-request, ring hash) belong to the waypoint.

export interface RoundRobinCounter {
  /** Index of the next pick, before reduction modulo the candidate count. */
  next: number;
}

/** Per-Service counters, keyed by the Service key. */
export type RoundRobinCounters = Map<string, RoundRobinCounter>;

/** Chooses one of `candidates` (never empty when called) for the Service `key`; returns
 * its index. */
export type Picker<C> = (candidates: readonly C[], key: string) => number;

export function createCounters(): RoundRobinCounters {
  return new Map();
}

export function counterFor(counters: RoundRobinCounters, key: string): RoundRobinCounter {
  let c = counters.get(key);
  if (c === undefined) {
    c = { next: 0 };
    counters.set(key, c);
  }
  return c;
}

/** The index to use among `n` candidates, advancing the counter; -1 when n is 0 (the
 * counter is left alone, so the rotation resumes where it was once endpoints return). */
export function nextIndex(n: number, counter: RoundRobinCounter): number {
  if (n <= 0) return -1;
  const i = counter.next % n;
  counter.next = (counter.next + 1) % Number.MAX_SAFE_INTEGER;
  return i;
}

/** Round-robin over `endpoints`; undefined when there are none. When the set changes
 * size the rotation continues from the same counter: every endpoint still gets its turn
 * within one pass, which is all round-robin promises. */
export function pickEndpoint<T>(endpoints: readonly T[], counter: RoundRobinCounter): T | undefined {
  const i = nextIndex(endpoints.length, counter);
  return i < 0 ? undefined : endpoints[i];
}

/** A Picker that rotates through candidates per Service key, using `counters`. */
export function roundRobin<C>(counters: RoundRobinCounters): Picker<C> {
  return (candidates, key) => nextIndex(candidates.length, counterFor(counters, key));
}

/** Drops the counters of Services that no longer exist, so the map stays as large as the
 * config and no larger. Call it after each state rebuild. */
export function pruneCounters(counters: RoundRobinCounters, liveKeys: Iterable<string>): void {
  const live = new Set(liveKeys);
  for (const key of counters.keys()) if (!live.has(key)) counters.delete(key);
}
