// The most recent flows (finished connections and requests), in a ring of fixed capacity:
// each flow gets the next sequence number; when full, the oldest is overwritten. Readers
// ask for what came after a sequence number they saw (the reporter: after its last report;
// the console: after the last row it shows), and learn how many they missed. Pure.
export interface Sequenced<T> {
  seq: number;
  item: T;
}

export class FlowRing<T> {
  readonly capacity: number;
  readonly #items: Array<Sequenced<T> | undefined>;
  /** The sequence number of the newest item (0: none yet). */
  #last = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`flow ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#items = new Array<Sequenced<T> | undefined>(capacity);
  }

  /** The newest sequence number (0 when empty). */
  get lastSeq(): number {
    return this.#last;
  }

  /** The oldest sequence number still held (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return Math.max(1, this.#last - this.capacity + 1);
  }

  get size(): number {
    return Math.min(this.#last, this.capacity);
  }

  push(item: T): number {
    const seq = ++this.#last;
    this.#items[(seq - 1) % this.capacity] = { seq, item };
    return seq;
  }

  /**
   * The items after `seq` (oldest first), at most `limit` of them: the newest `limit` when
   * more are held (a reader that fell behind gets what is recent). `missed`: items after
   * `seq` that are no longer held or were left out by the limit.
   */
  since(seq: number, limit: number = this.capacity, filter?: (item: T) => boolean): { items: Array<Sequenced<T>>; missed: number } {
    const from = Math.max(seq + 1, this.firstSeq);
    let missed = Math.max(0, from - (seq + 1));
    const out: Array<Sequenced<T>> = [];
    for (let s = from; s <= this.#last; s++) {
      const e = this.#items[(s - 1) % this.capacity]!;
      if (filter === undefined || filter(e.item)) out.push(e);
    }
    if (out.length > limit) {
      missed += filter === undefined ? out.length - limit : 0;
      return { items: out.slice(out.length - limit), missed };
    }
    return { items: out, missed };
  }
}
