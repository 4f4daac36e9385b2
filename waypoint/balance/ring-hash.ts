// RING_HASH: ketama-style consistent hashing, as Envoy's ring hash balancer. Each endpoint
// owns points on a ring of 2^53 positions, hash53(`ip:port_i`) for i = 0.., in proportion
// to its weight, about `ringSize` points in all; a request's key hashes to a position and
// goes to the owner of the first point at or after it (wrapping). Adding an endpoint takes
// over only the arcs before its own points (about 1/(N+1) of keys); removing one gives only
// its arcs to the next points' owners: no other key moves (ring-hash.test.ts measures both).
//
// Point counts: `weight * P` points an endpoint, P (points per unit of weight) the power of
// two that makes the ring hold at least `ringSize` points (Envoy's minimum ring size) and
// fewer than twice that: P = 2^ceil(log2(ringSize / total weight)), at least 1. P depends on
// the set only through which power of two the total weight falls under, so adding or
// removing an endpoint leaves every other endpoint's points where they were, and only the
// keys the endpoint takes (or had) move, except when the total weight crosses ringSize /
// 2^k (with 1024: 8, 16, 32, ... equal endpoints), where P halves or doubles and about half
// of the keys move once. (A count that follows the total exactly, as Envoy's, moves some
// keys of every endpoint on every change.) Every replica of a waypoint computes the same
// ring from the same endpoints. A ring that would exceed maxRingSize gets the largest P
// that fits; when even P = 1 does not, each endpoint gets its weight's share of
// maxRingSize, at least one point.
//
// The ring is built over the candidates of a pick (locality tier, health) by balancer.ts,
// and only again when they change. Build: O(points log points); lookup: a binary search,
// O(log points). Pure.
import { hash53 } from './hash.js';

export interface Ring {
  /** Sorted positions. */
  positions: Float64Array;
  /** owners[i]: index (into the list the ring was built from) of the endpoint owning positions[i]. */
  owners: Uint32Array;
}

/** Points per unit of weight for a total weight (see above). */
export function pointsPerWeight(totalWeight: number, ringSize: number, maxRingSize: number): number {
  let p = 2 ** Math.max(0, Math.ceil(Math.log2(ringSize / totalWeight)));
  while (p > 1 && p * totalWeight > maxRingSize) p /= 2;
  return p;
}

export function buildRing(endpoints: ReadonlyArray<{ key: string; weight: number }>, ringSize: number, maxRingSize = Infinity): Ring {
  const n = endpoints.length;
  let total = 0;
  for (const e of endpoints) total += e.weight;
  const p = pointsPerWeight(total, ringSize, maxRingSize);
  const counts = endpoints.map((e) => (p * total <= maxRingSize ? p * e.weight : Math.max(1, Math.round((e.weight * maxRingSize) / total))));
  let points = 0;
  for (const c of counts) points += c;
  const pos = new Float64Array(points);
  const own = new Uint32Array(points);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const key = endpoints[i]!.key;
    for (let j = 0; j < counts[i]!; j++) {
      pos[k] = hash53(`${key}_${j}`);
      own[k] = i;
      k++;
    }
  }
  const order = Array.from({ length: points }, (_, i) => i);
  order.sort((a, b) => pos[a]! - pos[b]! || own[a]! - own[b]!);
  const positions = new Float64Array(points);
  const owners = new Uint32Array(points);
  for (let i = 0; i < points; i++) {
    positions[i] = pos[order[i]!]!;
    owners[i] = own[order[i]!]!;
  }
  return { positions, owners };
}

/** The index of the endpoint owning `hash`; the ring is not empty. */
export function ringLookup(ring: Ring, hash: number): number {
  const p = ring.positions;
  let lo = 0;
  let hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  return ring.owners[lo === p.length ? 0 : lo]!;
}
