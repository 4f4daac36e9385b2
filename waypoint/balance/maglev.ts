// MAGLEV: Google's Maglev consistent hashing (Eisenbud et al., NSDI 2016), as Envoy's
// maglev balancer. A lookup table of M slots (M prime, 65537 by default) is filled by the
// endpoints in turns, each taking the next free slot of its own permutation
// (offset + j * skip) mod M, with offset = hash53(key, seed 0) mod M and skip =
// hash53(key, seed 1) mod (M - 1) + 1 (coprime with M, so each permutation visits every
// slot). A request's key hashes to slot hash mod M: O(1) lookups, and every endpoint
// holds M/N slots give or take one (a more even spread than a ring). Disruption when the
// set changes is small but, unlike a ring, not zero: a few keys of other endpoints move
// too (the paper's figure 12; maglev.test.ts bounds it).
//
// Weights, as Envoy: in round r an endpoint takes a slot only while r * weight reaches its
// running target, which grows by the largest weight each time it takes one, so it fills
// slots in proportion to its weight.
//
// A table size that is not a prime in [minMaglevTableSize, maxMaglevTableSize] becomes
// defaultMaglevTableSize (the compiler validates; this keeps a bad value from making a
// table whose permutations miss slots). Build: O(M log M) expected; memory 4 bytes a slot.
// Built by balancer.ts over the candidates, and only again when they change. Pure.
import { hash53 } from './hash.js';

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export function maglevTableSize(wanted: number, limits: { minMaglevTableSize: number; maxMaglevTableSize: number; defaultMaglevTableSize: number }): number {
  return isPrime(wanted) && wanted >= limits.minMaglevTableSize && wanted <= limits.maxMaglevTableSize ? wanted : limits.defaultMaglevTableSize;
}

/** The table: slot -> index into `endpoints`. Empty endpoints give an empty table. */
export function buildMaglev(endpoints: ReadonlyArray<{ key: string; weight: number }>, size: number): Int32Array {
  const n = endpoints.length;
  if (n === 0) return new Int32Array(0);
  const table = new Int32Array(size).fill(-1);
  // Whole numbers below 2^31 in Int32Arrays and a subtraction instead of `%` in the probe
  // loop: the build is the cost of every change to the candidates (~M ln M probes).
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  const target = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const key = endpoints[i]!.key;
    pos[i] = hash53(key, 0) % size;
    skip[i] = (hash53(key, 1) % (size - 1)) + 1;
    maxWeight = Math.max(maxWeight, endpoints[i]!.weight);
  }
  let filled = 0;
  for (let round = 0; ; round++) {
    for (let i = 0; i < n; i++) {
      if (round * endpoints[i]!.weight < target[i]!) continue;
      target[i] = target[i]! + maxWeight;
      const step = skip[i]!;
      let c = pos[i]!;
      while (table[c] !== -1) {
        c += step;
        if (c >= size) c -= size;
      }
      table[c] = i;
      c += step;
      pos[i] = c >= size ? c - size : c;
      if (++filled === size) return table;
    }
  }
}

/** The index of the endpoint owning `hash`; the table is not empty. */
export function maglevLookup(table: Int32Array, hash: number): number {
  return table[hash % table.length]!;
}
