// The random source every balancer draws from, injected so tests (and benchmarks) are
// deterministic. mulberry32: a 32-bit state PRNG with a full 2^32 period, good enough
// for load spreading (not for secrets: cookie values it makes are not secrets either).
// Pure: no global state; each generator owns its seed.

/** Returns a float in [0, 1). */
export type Random = () => number;

/** A seeded generator (mulberry32). The same seed always gives the same sequence. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [0, n) from `random` (n >= 1). */
export function randomIndex(random: Random, n: number): number {
  const i = Math.floor(random() * n);
  return i < n ? i : n - 1; // a source returning 1.0 by mistake still stays in range
}

/** A seed for a new generator drawn from another (the cache gives each balancer its own). */
export function nextSeed(random: Random): number {
  return Math.floor(random() * 4294967296) >>> 0;
}
