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

/** What the paused table shows: exactly the rows frozen when the user paused (`keep` is the
 * verdict filter), and how many flows arrived since that it would show. */
export function pausedView(frozen: Flow[], live: Flow[], keep: (f: Flow) => boolean = () => true): { rows: Flow[]; newCount: number } {
  const onScreen = new Set(frozen.map((f) => f.id));
  return { rows: frozen.filter(keep), newCount: live.filter((f) => !onScreen.has(f.id) && keep(f)).length };
}

/** `12 new`; `500+ new` once the kept list holds nothing but new flows (older new ones went). */
export function newFlowsNote(newCount: number, max: number = FLOWS_KEPT): string {
  return `${newCount}${newCount >= max ? '+' : ''} new`;
}

/** The namespace choices: `seen` (sorted) with the namespaces of `more` added, `seen` itself
 * when none is new. The union only grows, so choosing a namespace never hides the others. */
export function addNamespaces(seen: string[], more: Iterable<string | null | undefined>): string[] {
  const all = new Set(seen);
  for (const n of more) if (n) all.add(n);
  return all.size === seen.length ? seen : [...all].sort();
}

/** The namespaces a flow touches. */
export function flowNamespaces(flows: Flow[]): Array<string | null> {
  return flows.flatMap((f) => [f.source.namespace, f.destination.namespace]);
}
