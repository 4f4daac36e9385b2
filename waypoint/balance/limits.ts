// The load balancers' bounds and fixed parameters (docs/configuration.md, "Load balancing
// (`BALANCE_LIMITS`, waypoint/balance/limits.ts)"; limits.test.ts checks each is documented).
// The per-policy knobs (algorithm, warmup, ring and table sizes) come from the compiled
// TrafficPolicy (core/config/traffic-policy.ts); these bound what any policy can make the
// waypoint hold.

export const BALANCE_LIMITS = {
  /** Balancers (one per Service port) kept by a BalancerCache; the least recently used is
   * dropped beyond (its counters and hash table go; it is rebuilt on next use). */
  maxBalancers: 1024,
  /** Endpoints of one Service port a balancer considers (in the Service's order); the rest
   * are left out. Kubernetes' own EndpointSlices hold 100 each, a Service rarely 1000s. */
  maxEndpointsPerSet: 16_384,
  /** An endpoint's weight is clamped to 1..this (Envoy's endpoint weights are 1..128). */
  maxEndpointWeight: 128,
  /** RING_HASH: the ring size used when the policy's is not a number (Envoy's minimum_ring_size default). */
  defaultRingSize: 1024,
  /** RING_HASH: the ring holds at least this many entries (a policy's `ringSize` below is raised). */
  minRingSize: 64,
  /** RING_HASH: the ring holds at most this many entries (12 bytes each: 3 MiB). */
  maxRingSize: 262_144,
  /** MAGLEV: smallest table size accepted; a smaller policy value is raised to the default. */
  minMaglevTableSize: 251,
  /** MAGLEV: largest table size (4 bytes an entry: 2 MiB); a larger value is lowered to the default. */
  maxMaglevTableSize: 524_309,
  /** MAGLEV: the table size used when the policy's is out of bounds or not prime (Envoy's default). */
  defaultMaglevTableSize: 65_537,
  /** A hash key (header, cookie or query value, source IP) longer than this is hashed on
   * its first this-many characters. */
  maxHashKeyChars: 1024,
  /** Slow start: a warming endpoint's weight never goes below this percentage of its
   * weight (Envoy's `min_weight_percent` default). */
  slowStartMinWeightPercent: 10,
  /** Slow start: the ramp's shape, factor = (elapsed / warmup)^(1 / aggression); 1 is
   * linear (Envoy's `aggression` default). */
  slowStartAggression: 1,
  /** LEAST_REQUEST with unequal weights: effective weight = weight / (active + 1)^bias
   * (Envoy's `active_request_bias` default). */
  activeRequestBias: 1,
  /** LEAST_REQUEST with equal weights: endpoints sampled per pick (power of two choices). */
  leastRequestChoices: 2,
} as const;

export type BalanceLimits = { -readonly [K in keyof typeof BALANCE_LIMITS]: number };
