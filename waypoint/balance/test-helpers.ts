// Shared fixtures of the balance tests (not a test file itself).
import type { LoadBalancer } from '../../core/config/traffic-policy.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { EndpointInput } from './endpoint-set.js';

export function upstream(ip: string, port = 8080): UpstreamEndpoint {
  return { ip, port, mesh: true, identity: 'spiffe://cluster.local/ns/shop/sa/echo' };
}

/** Endpoint i: 10.0.0.<i+1>:8080. */
export function input(i: number, extra: Omit<EndpointInput, 'endpoint'> = {}): EndpointInput {
  return { endpoint: upstream(`10.0.${i >> 8}.${(i & 255) + 1}`), ...extra };
}

export function inputs(n: number, extra: (i: number) => Omit<EndpointInput, 'endpoint'> = () => ({})): EndpointInput[] {
  return Array.from({ length: n }, (_, i) => input(i, extra(i)));
}

export function keyOf(i: number): string {
  return `10.0.${i >> 8}.${(i & 255) + 1}:8080`;
}

export function policy(algorithm: LoadBalancer['algorithm'], extra: Partial<LoadBalancer> = {}): LoadBalancer {
  return { algorithm, warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537, ...extra };
}

/** Counts of each value. */
export function tally<T>(values: Iterable<T>): Map<T, number> {
  const m = new Map<T, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Asserts every share is within `tolerance` (relative) of its expected share. */
export function sharesWithin(counts: Map<string, number>, expected: Record<string, number>, tolerance: number): string[] {
  let total = 0;
  for (const v of counts.values()) total += v;
  const bad: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    const got = (counts.get(k) ?? 0) / total;
    if (Math.abs(got - want) > want * tolerance) bad.push(`${k}: ${(got * 100).toFixed(1)}% (want ${(want * 100).toFixed(1)}%)`);
  }
  for (const k of counts.keys()) if (!(k in expected)) bad.push(`${k}: unexpected`);
  return bad;
}

export function keys(n: number, prefix = 'user-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
