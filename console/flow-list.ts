// The flows page's list: recent flows and streamed ones merged by id, newest first, bounded; pure.
import type { Flow } from './api-types.js';

/** How many flows the page asks for first and keeps at most (the oldest go). */
export const FLOWS_KEPT = 500;

/** The union of `cur` and `add` by id, newest first, at most `max`; `cur` itself when nothing is new. */
export function mergeFlows(cur: Flow[], add: Flow[], max: number = FLOWS_KEPT): Flow[] {
  const seen = new Set(cur.map((f) => f.id));
  const fresh = add.filter((f) => !seen.has(f.id) && (seen.add(f.id), true));
  if (fresh.length === 0) return cur;
  return [...fresh, ...cur].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, max);
}
