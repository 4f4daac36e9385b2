// Slow start (warmup): a new endpoint, or one back from ejection, gets a share that ramps
// up instead of its full share at once, so a cold JIT, an empty cache or a barely healed
// process is not flooded (issue 13's "gradual return" of the circuit breaker).
//
// Envoy's formula (slow_start_config): effective weight = weight * max(minWeightPercent,
// timeFactor^(1 / aggression)), timeFactor = elapsed / window. With Envoy's defaults kept
// here (BALANCE_LIMITS: min weight 10 %, aggression 1) the ramp is linear from 10 % at the
// start to 100 % at the end of `warmupMs`, and full from then on.
//
// Which algorithms apply it (balancer.ts), as Envoy: ROUND_ROBIN and LEAST_REQUEST. RANDOM
// uses the configured weights only; RING_HASH and MAGLEV never (a key's endpoint must not
// change while an endpoint warms up, and rebuilding a table every pick would cost too much).
//
// An endpoint present when a balancer first sees its Service port is not warming (`since`
// undefined): a waypoint that restarts must not treat every endpoint as new, as Envoy does
// not for hosts present at cluster creation. Pure.

export interface SlowStartParams {
  warmupMs: number;
  /** Percent of the weight at the start of the ramp. */
  minWeightPercent: number;
  aggression: number;
}

/** The factor (minWeightPercent/100 .. 1) an endpoint's weight is multiplied by at `now`. */
export function slowStartFactor(now: number, since: number | undefined, p: SlowStartParams): number {
  if (since === undefined || !(p.warmupMs > 0)) return 1;
  const elapsed = now - since;
  if (elapsed >= p.warmupMs) return 1;
  const t = elapsed > 0 ? elapsed / p.warmupMs : 0;
  const f = p.aggression === 1 ? t : Math.pow(t, 1 / p.aggression);
  return Math.max(p.minWeightPercent / 100, f);
}

/** Whether an endpoint that became healthy or new at `since` is still warming at `now`. */
export function isWarming(now: number, since: number | undefined, warmupMs: number): boolean {
  return since !== undefined && warmupMs > 0 && now - since < warmupMs;
}
