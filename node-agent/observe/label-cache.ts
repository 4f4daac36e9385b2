// Counters with their label sets resolved once, not per event (DESIGN.md section 10:
// "metric children bound per workload pair"). prom-client hashes and validates a label
// object on every inc(); on the per-connection path that is several objects of 19 labels
// per connection. Here each distinct label set gets one entry holding its running values;
// the prom-client counters are filled from the entries when they are collected (a scrape),
// so /metrics reads exactly as before. What maps an event to its entry is the caller's key:
// a short string of the event's fields that decide the labels, resolved against one state
// snapshot (the labels are a pure function of the record and the snapshot).
import type { Counter } from 'prom-client';

/** One label set and its running values, one per counter that has counted it. */
export interface LabelEntry<L extends string, F extends string> {
  readonly labels: Readonly<Record<L, string>>;
  /** Undefined until counted: a counter shows a series only once it was incremented (as prom-client does). */
  readonly values: Partial<Record<F, number>>;
}

/** Resolved keys kept per snapshot before the map is emptied (it refills as events come). */
export const LABEL_CACHE_MAX_KEYS = 4096;

export class LabelCache<L extends string, F extends string> {
  readonly #labelNames: readonly L[];
  /** Label values joined -> entry: the store, bounded by the label sets' cardinality (as prom-client's own). */
  readonly #entries = new Map<string, LabelEntry<L, F>>();
  /** Per snapshot: caller's key -> entry. */
  #resolved = new WeakMap<object, Map<string, LabelEntry<L, F>>>();

  constructor(labelNames: readonly L[]) {
    this.#labelNames = labelNames;
  }

  /** The entry for `key` under `snapshot`; `labels()` is called only the first time. */
  entry(snapshot: object, key: string, labels: () => Record<L, string>): LabelEntry<L, F> {
    let byKey = this.#resolved.get(snapshot);
    if (byKey === undefined) {
      byKey = new Map();
      this.#resolved.set(snapshot, byKey);
    }
    let e = byKey.get(key);
    if (e === undefined) {
      const l = labels();
      const id = this.#labelNames.map((n) => l[n]).join('\u0000');
      e = this.#entries.get(id);
      if (e === undefined) {
        e = { labels: l, values: {} };
        this.#entries.set(id, e);
      }
      if (byKey.size >= LABEL_CACHE_MAX_KEYS) byKey.clear();
      byKey.set(key, e);
    }
    return e;
  }

  /** Adds `n` to `field` of `e`. */
  static add<L extends string, F extends string>(e: LabelEntry<L, F>, field: F, n = 1): void {
    (e.values as Record<F, number>)[field] = (e.values[field] ?? 0) + n;
  }

  /** Writes `field` of every entry into `counter` (its collect hook). */
  fill(counter: Counter<L>, field: F): void {
    counter.reset();
    for (const e of this.#entries.values()) {
      const v = e.values[field];
      if (v !== undefined) counter.inc(e.labels as Record<L, string>, v);
    }
  }
}
