// RANDOM: a candidate drawn at random, in proportion to its configured weight (uniform
// when weights are equal, O(1); a cumulative scan otherwise, O(candidates)). No slow start,
// as Envoy's random balancer. Also the fallback of RING_HASH and MAGLEV for a request
// without a hash key. Pure; the random source is the caller's.
import type { EndpointState } from './endpoint-set.js';
import { randomIndex, type Random } from './random.js';

export function pickUniform(c: readonly EndpointState[], random: Random): EndpointState {
  return c[randomIndex(random, c.length)]!;
}

export function pickWeightedRandom(c: readonly EndpointState[], random: Random): EndpointState {
  let total = 0;
  for (const e of c) total += e.weight;
  let r = random() * total;
  for (const e of c) {
    r -= e.weight;
    if (r < 0) return e;
  }
  return c[c.length - 1]!;
}
