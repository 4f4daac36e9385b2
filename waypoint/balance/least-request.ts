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
// BALANCE_LIMITS.activeRequestBias = 1), in Envoy's earliest deadline first schedule
// (round-robin.ts EdfSchedule; the weight is read when an endpoint is picked). So weights
// are respected when load is even, and a loaded endpoint gets less. O(log candidates).
// Pure; the schedule is the caller's.
import type { EndpointState } from './endpoint-set.js';
import { randomIndex, type Random } from './random.js';
import type { EdfSchedule } from './round-robin.js';

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

/** weight / (active + 1)^bias, from the weight `weightOf` gives. */
export function loadAdjusted(weightOf: (e: EndpointState) => number, bias: number): (e: EndpointState) => number {
  return bias === 1 ? (e) => weightOf(e) / (e.active + 1) : (e) => weightOf(e) / Math.pow(e.active + 1, bias);
}

/** Weighted: the schedule's next endpoint, its next deadline from weight / (active + 1)^bias. */
export function pickLeastRequestWeighted(schedule: EdfSchedule, weightOf: (e: EndpointState) => number, bias: number): EndpointState {
  return schedule.pick(loadAdjusted(weightOf, bias));
}
