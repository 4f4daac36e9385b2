// LEAST_REQUEST, as Envoy's: prefer endpoints with fewer requests in flight (active
// requests counted by the balancer, balancer.ts track()).
//
// Equal effective weights: power of two choices. Two distinct candidates drawn at random,
// the one with fewer active requests wins (the first drawn on a tie); with two candidates,
// the less loaded, a random one on a tie. Nearly as good as
// scanning all (Mitzenmacher), O(1), and without the herd a global "least" causes when
// several waypoint replicas see the same counts.
//
// Unequal effective weights (configured weights, or an endpoint warming up): Envoy's
// formula, each candidate's weight becomes weight / (active + 1)^bias (bias =
// BALANCE_LIMITS.activeRequestBias = 1), then a deterministic weighted schedule (the smooth
// round robin of round-robin.ts, the same shares as Envoy's EDF scheduler). So weights are
// respected when load is even, and a loaded endpoint gets less. O(candidates) a pick.
// Pure apart from the running weights on the endpoint state.
import type { EndpointState } from './endpoint-set.js';
import { randomIndex, type Random } from './random.js';
import { pickSmooth } from './round-robin.js';

/** Power of `choices` (>= 2) choices among `c` (not empty). */
export function pickFewestOfChoices(c: readonly EndpointState[], random: Random, choices = 2): EndpointState {
  if (c.length === 1) return c[0]!;
  if (choices >= c.length) {
    // Every candidate is a choice: the fewest, ties broken by a random starting point (not
    // always the first, which would take all traffic while counts are equal).
    const start = randomIndex(random, c.length);
    let best = c[start]!;
    for (let k = 1; k < c.length; k++) {
      const e = c[(start + k) % c.length]!;
      if (e.active < best.active) best = e;
    }
    return best;
  }
  let best = c[randomIndex(random, c.length)]!;
  const drawn = [best];
  for (let k = 1; k < choices; k++) {
    let e = c[randomIndex(random, c.length)]!;
    // Distinct draws: with few candidates a repeat is likely, and would waste the choice.
    for (let tries = 0; drawn.includes(e) && tries < 8; tries++) e = c[randomIndex(random, c.length)]!;
    drawn.push(e);
    if (e.active < best.active) best = e;
  }
  return best;
}

/** Weighted: smooth schedule over weight / (active + 1)^bias. */
export function pickLeastRequestWeighted(c: readonly EndpointState[], weightOf: (e: EndpointState) => number, bias: number): EndpointState {
  return pickSmooth(c, bias === 1 ? (e) => weightOf(e) / (e.active + 1) : (e) => weightOf(e) / Math.pow(e.active + 1, bias));
}
