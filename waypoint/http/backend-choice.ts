// The weighted choice among a rule's backendRefs (BackendRef.weight in
// apis/v1/shared_types.go): each backend gets weight/(sum of weights) of the requests,
// weight 0 gets none; HTTPRouteRule.backendRefs: a backend that does not resolve keeps
// its share, and the requests that fall to it get 500 (GRPCRouteRule.backendRefs:
// UNAVAILABLE), which the caller answers from `backend.unresolved`.
// Pure: the random source is injected (`() => number` in [0, 1), Math.random in the
// data path, a seeded generator in tests); never throws.
import type { RouteBackend } from '../../core/config/routes.js';

export interface BackendChoice {
  backend: RouteBackend;
  /** Index in the rule's `backends`. */
  index: number;
}

/** A weight as the choice reads it: a finite number above 0, else 0 (never chosen). */
function usableWeight(w: unknown): number {
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? w : 0;
}

/**
 * One backend, chosen with probability weight/(sum of weights). Undefined when there is
 * no backend or every weight is 0: no traffic may go anywhere, and the caller answers
 * 500 (gRPC: UNAVAILABLE) as for a rule whose backends are all invalid.
 * A chosen backend may be `unresolved`: the caller answers 500 for it.
 * A random value outside [0, 1) (a faulty source) is clamped into it.
 */
export function chooseBackend(backends: readonly RouteBackend[], random: () => number): BackendChoice | undefined {
  let total = 0;
  let last = -1;
  for (let i = 0; i < backends.length; i++) {
    const w = usableWeight(backends[i]!.weight);
    if (w > 0) {
      total += w;
      last = i;
    }
  }
  if (last < 0) return undefined;
  let r = random();
  if (!(r >= 0)) r = 0; // NaN and negatives
  if (r >= 1) r = 1 - Number.EPSILON;
  const point = r * total;
  let acc = 0;
  for (let i = 0; i < backends.length; i++) {
    const w = usableWeight(backends[i]!.weight);
    if (w === 0) continue;
    acc += w;
    if (point < acc) return { backend: backends[i]!, index: i };
  }
  // Floating-point rounding can leave `point` a hair above the sum: the last positive one.
  return { backend: backends[last]!, index: last };
}
