// ROUND_ROBIN: each candidate in turn, in proportion to its effective weight (its weight
// times its slow-start factor, balancer.ts).
//
// With equal weights (the common case: Kubernetes endpoints carry none) a cursor walks the
// candidates, O(1) a pick; the balancer starts it at a random place so waypoint replicas
// do not all hit the same endpoint first. With unequal weights, nginx's smooth weighted
// round robin: every candidate's running weight grows by its effective weight, the largest
// is picked and lowered by the total. Over any window of sum(weights) picks each endpoint
// gets exactly its weight's share, interleaved (5:1:1 gives a a b a c a a, not a a a a a b
// c), the same shares as Envoy's EDF scheduler; O(candidates) a pick. Running weights live
// on the endpoint state, so they survive config updates; a candidate list that changes
// (ejection, locality failover) just continues from them. Pure apart from that state.
import type { EndpointState } from './endpoint-set.js';

export interface CursorState {
  next: number;
}

/** Equal weights: the next candidate after the last one picked. `c` is not empty. */
export function pickCursor(c: readonly EndpointState[], s: CursorState): EndpointState {
  const i = s.next % c.length;
  s.next = i + 1;
  return c[i]!;
}

/** Smooth weighted round robin over `c` (not empty) with effective weights from `weightOf`. */
export function pickSmooth(c: readonly EndpointState[], weightOf: (e: EndpointState) => number): EndpointState {
  let total = 0;
  let best = c[0]!;
  let bestCurrent = -Infinity;
  for (const e of c) {
    const w = weightOf(e);
    e.current += w;
    total += w;
    if (e.current > bestCurrent) {
      best = e;
      bestCurrent = e.current;
    }
  }
  best.current -= total;
  return best;
}
