// The endpoint choice of the data path (forward.ts, mirror.ts, passthrough.ts): one
// Balancer per Service port (cache.ts), driven by the port's TrafficPolicy `loadBalancer`
// and fed by outlier detection (waypoint/resilience/outlier-layer.ts OutlierRegistry.view:
// ejected endpoints, whose return restarts their slow start) and by the retry layer's
// previous tries (a retry prefers another endpoint, Istio's `previous_hosts` predicate).
//
// Without a policy the balancer is NO_POLICY_BALANCER: round robin over the healthy
// endpoints in the Service's order, no locality preference, no slow start: what the
// waypoint did before TrafficPolicy existed.
//
// Cost per pick: the endpoint list is converted to the balancer's input once per list
// (the caller hands the same array for the same config snapshot; a WeakMap remembers the
// conversion), so update() is a no-op between config changes. Outlier feeding costs
// O(endpoints) per pick, only for ports whose policy has outlierDetection.
import type { LoadBalancer, TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { Headers, UpstreamEndpoint } from '../http/chain.js';
import type { OutlierRegistry } from '../resilience/outlier-layer.js';
import type { EndpointHealth } from '../resilience/outlier.js';
import type { Balancer } from './balancer.js';
import { BalancerCache } from './cache.js';
import { endpointKey, type EndpointInput } from './endpoint-set.js';
import { extractHashKey, formatSetCookie } from './hash-key.js';
import type { EndpointLocality } from './inputs.js';
import { BALANCE_LIMITS } from './limits.js';
import type { Locality } from './locality.js';
import { seededRandom, type Random } from './random.js';

/** The balancer of a Service port no TrafficPolicy targets. */
export const NO_POLICY_BALANCER: LoadBalancer = Object.freeze({ algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: false, ringSize: 1024, maglevTableSize: 65537 });

export const PICKER_LIMITS = {
  /** A retry whose pick lands on an endpoint an earlier try of the request used picks
   * again, at most this many times (Envoy's host_selection_retry_max_attempts as Istio sets it). */
  retryRepicks: 5,
} as const;

export interface PickRequest {
  headers?: Headers;
  /** Path and query (queryParameter hashing). */
  path?: string;
  /** The downstream client's IP (sourceIP hashing). */
  sourceIp?: string;
  /** Endpoints (`ip:port` as the request record writes them) earlier tries used. */
  avoid?: readonly string[];
}

export type Picked =
  | {
      endpoint: UpstreamEndpoint;
      /** Ends the request's count on the endpoint (LEAST_REQUEST); call once when done. */
      release: () => void;
      /** A `Set-Cookie` value to add to the response (a generated hash cookie). */
      setCookie?: string;
    }
  | { endpoint: undefined; reason: 'empty' | 'no_healthy' };

export interface EndpointPickerOptions {
  /** The healthy endpoints of a Service port; the same array while the config is unchanged. */
  endpoints: (service: string, port: number) => readonly UpstreamEndpoint[];
  policyFor?: (service: string, port: number) => TrafficPolicy | undefined;
  outliers?: OutlierRegistry;
  /** An endpoint's node and zone (locality preference). */
  locate?: (workloadUid: string) => EndpointLocality | undefined;
  /** The waypoint's own node and zone. */
  local?: Locality;
  now?: () => number;
  random?: Random;
}

interface Converted {
  inputs: EndpointInput[];
  /** Per endpoint: the outlier key (`ip:port`, as forward.ts records it) and the balancer's. */
  keys: string[];
  balancerKeys: string[];
}

/** `ip:port` as forward.ts writes ctx.record.upstream. */
export function recordKey(e: UpstreamEndpoint): string {
  return `${e.ip}:${e.port}`;
}

export class EndpointPicker {
  readonly cache: BalancerCache;
  readonly #o: EndpointPickerOptions;
  readonly #converted = new WeakMap<readonly UpstreamEndpoint[], Converted>();
  readonly #random: Random;
  /** Balancers outlier detection has fed ejections to (cleared when a policy drops it). */
  readonly #fed = new WeakSet<Balancer>();

  constructor(o: EndpointPickerOptions) {
    this.#o = o;
    this.#random = o.random ?? seededRandom(Math.floor(Math.random() * 2 ** 31));
    const now = o.now ?? (() => performance.now());
    this.cache = new BalancerCache({ now, random: this.#random, ...(o.local && { local: o.local }) });
  }

  /** Outlier detection's registry, when the waypoint has one (read-only use: observability). */
  get outliers(): OutlierRegistry | undefined {
    return this.#o.outliers;
  }

  #convert(list: readonly UpstreamEndpoint[]): Converted {
    let c = this.#converted.get(list);
    if (c) return c;
    const locate = this.#o.locate;
    c = { inputs: [], keys: [], balancerKeys: [] };
    for (const endpoint of list) {
      const where = locate && endpoint.workloadUid !== undefined ? locate(endpoint.workloadUid) : undefined;
      c.inputs.push({ endpoint, ...(where?.node !== undefined && { node: where.node }), ...(where?.zone !== undefined && { zone: where.zone }) });
      c.keys.push(recordKey(endpoint));
      c.balancerKeys.push(endpointKey(endpoint));
    }
    this.#converted.set(list, c);
    return c;
  }

  /** An endpoint of `service`'s `port` for one request (or connection). */
  pick(service: string, port: number, req: PickRequest = {}): Picked {
    const policy = this.#o.policyFor?.(service, port);
    const od = policy?.outlierDetection;
    const b = this.cache.get(service, port, policy?.loadBalancer ?? NO_POLICY_BALANCER, od?.minHealthPercent ?? 0);
    const c = this.#convert(this.#o.endpoints(service, port));
    b.update(c.inputs);
    if (od && this.#o.outliers) {
      const snap = this.#o.outliers.view(service, port, c.keys);
      if (snap) {
        this.#fed.add(b);
        const health = new Map<string, EndpointHealth>();
        for (const h of snap.endpoints) health.set(h.key, h);
        for (let i = 0; i < c.keys.length; i++) {
          const h = health.get(c.keys[i]!);
          b.setEjected(c.balancerKeys[i]!, h?.ejected ?? false, h?.returnedAt);
        }
      }
    } else if (this.#fed.delete(b)) {
      // The policy lost outlierDetection: nothing ejects any more, so no endpoint stays out.
      for (const key of c.balancerKeys) b.setEjected(key, false);
    }
    let hashKey: string | undefined;
    let setCookie: string | undefined;
    const spec = policy?.loadBalancer.consistentHash;
    if (spec && (policy.loadBalancer.algorithm === 'RING_HASH' || policy.loadBalancer.algorithm === 'MAGLEV')) {
      const k = extractHashKey(spec, { headers: req.headers ?? {}, path: req.path ?? '/', ...(req.sourceIp !== undefined && { sourceIp: req.sourceIp }) }, this.#random, BALANCE_LIMITS.maxHashKeyChars);
      hashKey = k.key;
      if (k.setCookie) setCookie = formatSetCookie(k.setCookie);
    }
    let r = b.pick(hashKey);
    const avoid = req.avoid;
    if (r.endpoint && avoid && avoid.length > 0 && !r.hashed) {
      for (let i = 0; i < PICKER_LIMITS.retryRepicks && r.endpoint && avoid.includes(recordKey(r.endpoint)); i++) r = b.pick(hashKey);
    }
    if (!r.endpoint) return { endpoint: undefined, reason: r.reason };
    const release = b.track(r.key);
    return setCookie !== undefined ? { endpoint: r.endpoint, release, setCookie } : { endpoint: r.endpoint, release };
  }
}
