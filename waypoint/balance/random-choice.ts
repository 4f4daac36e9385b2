// RANDOM: a candidate drawn at random, in proportion to its configured weight (uniform
// when weights are equal, O(1); otherwise a binary search of the cumulative weights, which
// the balancer computes once per candidates list, O(log candidates)). No slow start,
// as Envoy's random balancer. Also the fallback of RING_HASH and MAGLEV for a request
// without a hash key. Pure; the random source is the caller's.
import type { EndpointState } from './endpoint-set.js';
import { randomIndex, type Random } from './random.js';

export function pickUniform(c: readonly EndpointState[], random: Random): EndpointState {
  return c[randomIndex(random, c.length)]!;
}

/** Running sums of the candidates' weights. */
export function cumulativeWeights(c: readonly EndpointState[]): Float64Array {
  const sums = new Float64Array(c.length);
  let total = 0;
  for (let i = 0; i < c.length; i++) sums[i] = total += c[i]!.weight;
  return sums;
}

/** In proportion to weight; `sums` is cumulativeWeights(c). */
export function pickWeightedRandom(c: readonly EndpointState[], sums: Float64Array, random: Random): EndpointState {
  const r = random() * sums[sums.length - 1]!;
  let lo = 0;
  let hi = sums.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sums[mid]! <= r) lo = mid + 1;
    else hi = mid;
  }
  return c[lo]!;
}
