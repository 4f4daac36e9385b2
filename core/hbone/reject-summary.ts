// One log line for many refusals: an attacker makes thousands of streams or connections a
// second be refused, and a line each would fill the node's disk (a 600-byte access-log
// line per reset stream made 64 MB in one attack run). The first refusal after a quiet
// interval is logged at once; the rest are counted and logged together at most once per
// interval. Pure: the caller passes the time and flushes when told.

export interface RejectSummaryLine {
  /** Refusals since the last line, by reason. */
  counts: Record<string, number>;
  /** Refusals by peer (address or identity), the busiest first, at most `maxPeers`. */
  peers: Array<{ peer: string; count: number }>;
  /** Peers left out of `peers`. */
  otherPeers: number;
  sinceMs: number;
}

export class RejectSummary {
  readonly #intervalMs: number;
  readonly #maxPeers: number;
  #counts: Record<string, number> = {};
  #peers = new Map<string, number>();
  #since = 0;
  #lastLine = -Infinity;
  #pending = 0;

  constructor(intervalMs: number, maxPeers = 5) {
    this.#intervalMs = intervalMs;
    this.#maxPeers = maxPeers;
  }

  /** Counts a refusal; returns a line to log now, if one is due. */
  add(reason: string, peer: string, now: number): RejectSummaryLine | undefined {
    if (this.#pending === 0) this.#since = now;
    this.#pending++;
    this.#counts[reason] = (this.#counts[reason] ?? 0) + 1;
    // Bounded: a flood from many addresses keeps the first ones seen (plus a count of the rest).
    if (this.#peers.has(peer) || this.#peers.size < 1_000) this.#peers.set(peer, (this.#peers.get(peer) ?? 0) + 1);
    return this.flush(now);
  }

  /** A line for what was counted, when the interval since the last line has passed (or `force`). */
  flush(now: number, force = false): RejectSummaryLine | undefined {
    if (this.#pending === 0 || (!force && now - this.#lastLine < this.#intervalMs)) return undefined;
    const sorted = [...this.#peers].sort((a, b) => b[1] - a[1]);
    const line: RejectSummaryLine = {
      counts: this.#counts,
      peers: sorted.slice(0, this.#maxPeers).map(([peer, count]) => ({ peer, count })),
      otherPeers: Math.max(0, sorted.length - this.#maxPeers),
      sinceMs: now - this.#since,
    };
    this.#counts = {};
    this.#peers = new Map();
    this.#pending = 0;
    this.#lastLine = now;
    return line;
  }

  /** Refusals counted and not yet in a line. */
  get pending(): number {
    return this.#pending;
  }

  /** When the next line may be written. */
  get nextLineAt(): number {
    return this.#lastLine + this.#intervalMs;
  }
}
