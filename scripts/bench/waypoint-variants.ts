// The waypoint configurations the layer comparison (waypoint-layers.ts, `npm run
// bench:waypoint -- --layers`) puts the same load through, as TrafficPolicy objects in the
// user's shape (docs/traffic-management.md), so that the printed table shows exactly what
// each waypoint was given and the policy goes through the controller's own compiler.
// Every layer is on but never triggers: the backend answers 200 at once (no retry, no
// ejection) and the global limit is far above any rate this machine reaches. What is
// measured is the price of having the layer in the request path. Pure: no I/O.

/** A waypoint configuration of the comparison. */
export type LayerVariant = 'bare' | 'policy' | 'retries' | 'outlier' | 'global-limit' | 'all';

/** Every variant, in table order. */
export const LAYER_VARIANTS: readonly LayerVariant[] = Object.freeze(['bare', 'policy', 'retries', 'outlier', 'global-limit', 'all']);

/** What a default run measures: the bare waypoint, each layer alone, all three together. */
export const DEFAULT_LAYER_VARIANTS: readonly LayerVariant[] = Object.freeze(['bare', 'retries', 'outlier', 'global-limit', 'all']);

/** The highest --rate the layer comparison accepts (requests/s). */
export const MAX_LAYER_RATE = 10_000;

/** The global limit's requests per 1 s window: 100x the highest rate the bench can ask
 * for, and far above any this machine reaches closed loop (it never triggers). */
export const NEVER_TRIGGERING_GLOBAL_LIMIT = 100 * MAX_LAYER_RATE;

/** retries as the issue's example writes them, plus retryNonIdempotent: the load POSTs, so
 * the layer is fully armed (it would retry), and it buffers every body for a replay. */
const RETRIES = Object.freeze({
  attempts: 3,
  perTryTimeout: '2s',
  retryOn: ['5xx', 'gateway-error', 'reset', 'connect-failure'],
  backoff: { base: '25ms', max: '250ms' },
  budget: { percent: 20, minRetriesPerSecond: 3 },
  retryNonIdempotent: true,
});

const OUTLIER = Object.freeze({ consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, minHealthPercent: 0 });

/** failureMode allow (the default, Envoy's): a Redis answer slower than the limiter's
 * command timeout lets the request through instead of failing the run. That it did ask
 * Redis shows in the table (Redis commands per request) and in the waypoint's log lines
 * "global rate limit unavailable", which the bench counts. (With deny, a loaded machine
 * got 429s from timed-out commands: docs/performance.md.) */
const GLOBAL = Object.freeze({ requests: NEVER_TRIGGERING_GLOBAL_LIMIT, per: '1s', key: ['sourcePrincipal'], failureMode: 'allow' });

/** The TrafficPolicy `spec` of a variant without its targetRefs; undefined: no policy. */
export function variantSpec(v: LayerVariant): Record<string, unknown> | undefined {
  switch (v) {
    case 'bare':
      return undefined;
    case 'policy':
      // A policy that only names the balancer the waypoint uses without one: the cost of
      // holding a policy at all (lookup, the policy's balancer), with no layer on.
      return { loadBalancer: { algorithm: 'ROUND_ROBIN' } };
    case 'retries':
      return { retries: RETRIES };
    case 'outlier':
      return { outlierDetection: OUTLIER };
    case 'global-limit':
      return { rateLimits: { global: GLOBAL } };
    case 'all':
      return { outlierDetection: OUTLIER, retries: RETRIES, rateLimits: { global: GLOBAL } };
  }
}

/** The whole TrafficPolicy object of a variant targeting Service `service` in `namespace`. */
export function variantObject(v: LayerVariant, namespace: string, service: string): Record<string, unknown> | undefined {
  const spec = variantSpec(v);
  if (!spec) return undefined;
  return {
    apiVersion: 'ambient.dev/v1',
    kind: 'TrafficPolicy',
    metadata: { name: `bench-${v}`, namespace },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], ...spec },
  };
}

/** The variant needs a Redis (a global rate limit). */
export function needsRedis(v: LayerVariant): boolean {
  const spec = variantSpec(v);
  return !!spec && 'rateLimits' in spec;
}

/** The variants named in a comma-separated list, in table order; throws naming an unknown one. */
export function parseVariants(s: string | undefined): LayerVariant[] {
  if (s === undefined) return [...DEFAULT_LAYER_VARIANTS];
  const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (xs.length === 0) throw new Error('--variants: empty');
  for (const x of xs) if (!LAYER_VARIANTS.includes(x as LayerVariant)) throw new Error(`--variants: unknown ${JSON.stringify(x)} (known: ${LAYER_VARIANTS.join(', ')})`);
  if (!xs.includes('bare')) throw new Error('--variants: must include bare (the ratios are to it)');
  return LAYER_VARIANTS.filter((v) => xs.includes(v));
}

const PLAIN = /^[A-Za-z0-9_./-]+$/;

/** A value in YAML flow style on one line (`{retries: {attempts: 3, retryOn: [5xx]}}`), as
 * the issue writes policies; strings quoted only when they need it. */
export function flowStyle(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(flowStyle).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${flowStyle(x)}`).join(', ')}}`;
  if (typeof v === 'string') return v === '' ? '""' : PLAIN.test(v) && !/^(true|false|null|[-0-9.]+)$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

/** Median of the per-round ratios `xs[i] / base[i]` over the rounds where both were
 * measured (and base is positive): figures of one round ran back to back, so their ratio
 * is steadier on a shared machine than a ratio of medians. Undefined when no round has
 * both. Even counts take the mean of the middle two. */
export function pairedRatio(xs: ReadonlyArray<number | undefined>, base: ReadonlyArray<number | undefined>): number | undefined {
  const rs: number[] = [];
  for (let i = 0; i < Math.min(xs.length, base.length); i++) {
    const x = xs[i];
    const b = base[i];
    if (x !== undefined && b !== undefined && Number.isFinite(x) && Number.isFinite(b) && b > 0) rs.push(x / b);
  }
  return middle(rs);
}

/** The median of the finite values; undefined when there are none. Even counts: the mean of the middle two. */
export function middle(xs: ReadonlyArray<number | undefined>): number | undefined {
  const s = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The order of the paths in round `round` (0-based): rotated by one each round, so no
 * path always runs first (colder) or right after the same neighbour. */
export function roundOrder<T>(paths: readonly T[], round: number): T[] {
  const n = paths.length;
  if (n === 0) return [];
  const k = ((round % n) + n) % n;
  return [...paths.slice(k), ...paths.slice(0, k)];
}
