// Who has misbehaved on HBONE lately, across connections: a peer that resets streams
// before their answer (rapid reset, CVE-2023-44487) or churns through streams faster than
// any real client loses the per-connection GOAWAY's protection by reconnecting, so the
// accounting is kept per source address and per peer identity, not per connection.
// Each key holds one score per kind of event that decays exponentially (half of it every
// halfLifeMs); a score past its budget puts the key in the box for penaltyMs, during which
// the peer's connections are refused. Pure: the caller passes the time.
//
// Identities get `identityFactor` times the budget of an address: the replicas of one
// workload share an identity, and an address is one pod.

export type PeerEvent = 'earlyReset' | 'newStream';

export interface PenaltyRules {
  /** Events an address may have (decayed score) before it is penalised. */
  budgets: Record<PeerEvent, number>;
  /** An identity's budgets are this many times an address's. */
  identityFactor: number;
  halfLifeMs: number;
  penaltyMs: number;
  /** Keys remembered at most; the least recently seen are forgotten first. */
  maxTracked: number;
}

/** A peer as the box knows it: its source address and, once TLS told us, its SPIFFE ID. */
export interface PeerKeys {
  address: string;
  identity?: string;
}

export interface Penalty {
  /** `address` or `identity`: which of the peer's keys is in the box. */
  by: 'address' | 'identity';
  key: string;
  event: PeerEvent;
  until: number;
}

interface Entry {
  scores: Record<PeerEvent, number>;
  at: number;
  penalty?: Penalty;
}

const keyOf = (by: Penalty['by'], value: string) => `${by === 'address' ? 'a' : 'i'}:${value}`;

export class PenaltyBox {
  readonly rules: PenaltyRules;
  readonly #entries = new Map<string, Entry>();

  constructor(rules: PenaltyRules) {
    this.rules = rules;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Counts one event for both of the peer's keys. Returns the penalty this event imposed
   * (the first key whose budget it exceeded), if any.
   */
  record(peer: PeerKeys, event: PeerEvent, now: number): Penalty | undefined {
    let imposed: Penalty | undefined;
    for (const [by, value] of keysOf(peer)) {
      const entry = this.#touch(keyOf(by, value), now);
      if (entry.penalty && entry.penalty.until > now) continue;
      entry.penalty = undefined;
      entry.scores[event] += 1;
      const budget = this.rules.budgets[event] * (by === 'identity' ? this.rules.identityFactor : 1);
      if (entry.scores[event] > budget) {
        entry.penalty = { by, key: value, event, until: now + this.rules.penaltyMs };
        // A peer coming out of the box starts afresh.
        entry.scores = { earlyReset: 0, newStream: 0 };
        imposed ??= entry.penalty;
      }
    }
    return imposed;
  }

  /** Puts a penalty another holder of the same budgets imposed (another data-path worker
   * of the agent) into this box too, until its own end. */
  impose(p: Penalty, now: number): void {
    if (p.until <= now) return;
    const entry = this.#touch(keyOf(p.by, p.key), now);
    entry.penalty = { ...p };
    entry.scores = { earlyReset: 0, newStream: 0 };
  }

  /** The penalty in force against the peer (by address first), if any. */
  penalty(peer: PeerKeys, now: number): Penalty | undefined {
    for (const [by, value] of keysOf(peer)) {
      const p = this.#entries.get(keyOf(by, value))?.penalty;
      if (p && p.until > now) return p;
    }
    return undefined;
  }

  /** The peer's decayed score for `event` (its address's; the identity's when higher, scaled to an address's budget). */
  score(peer: PeerKeys, event: PeerEvent, now: number): number {
    let best = 0;
    for (const [by, value] of keysOf(peer)) {
      const e = this.#entries.get(keyOf(by, value));
      if (!e) continue;
      const s = e.scores[event] * this.#decay(now - e.at);
      best = Math.max(best, by === 'identity' ? s / this.rules.identityFactor : s);
    }
    return best;
  }

  #decay(elapsedMs: number): number {
    return elapsedMs <= 0 ? 1 : 2 ** (-elapsedMs / this.rules.halfLifeMs);
  }

  /** The key's entry with its scores decayed to `now`, moved to the most recently seen end. */
  #touch(key: string, now: number): Entry {
    let entry = this.#entries.get(key);
    if (entry) {
      const f = this.#decay(now - entry.at);
      entry.scores.earlyReset *= f;
      entry.scores.newStream *= f;
      entry.at = Math.max(entry.at, now);
      this.#entries.delete(key);
    } else {
      entry = { scores: { earlyReset: 0, newStream: 0 }, at: now };
      this.#evict(now);
    }
    this.#entries.set(key, entry);
    return entry;
  }

  /** Makes room for one more key: the least recently seen go first, penalised ones last. */
  #evict(now: number): void {
    if (this.#entries.size < this.rules.maxTracked) return;
    for (const [k, e] of this.#entries) {
      if (this.#entries.size < this.rules.maxTracked) return;
      if (!e.penalty || e.penalty.until <= now) this.#entries.delete(k);
    }
    // Every key is penalised: forget the oldest anyway (memory stays bounded).
    for (const k of this.#entries.keys()) {
      if (this.#entries.size < this.rules.maxTracked) return;
      this.#entries.delete(k);
    }
  }
}

function keysOf(peer: PeerKeys): Array<[Penalty['by'], string]> {
  const keys: Array<[Penalty['by'], string]> = [['address', peer.address]];
  if (peer.identity !== undefined) keys.push(['identity', peer.identity]);
  return keys;
}
