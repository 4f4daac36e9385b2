// The node agent's held config and its single writer (DESIGN.md section 7, "One writer for
// state"): the resources the controller pushed, keyed `<kind>/<key>`, and the read-only
// snapshot (snapshot.ts) everything else reads. Only `apply` changes them, and it swaps
// the snapshot in one assignment: a connection in flight keeps the snapshot it planned
// with, every new one reads the newest.
//
// A reconnect's first update (full) carries only what differs from the versions the
// client's hello reported, with removals for the rest: applied like any other, it leaves
// the agent holding exactly the controller's set. Clearing first would drop what did not
// change.
import { resourceId, type Resource } from '../../core/config/model.js';
import type { ConfigUpdate } from '../controller-client/client.js';
import { buildState, type ProxyState } from './snapshot.js';

export interface AppliedUpdate {
  /** The snapshot after the update. */
  state: ProxyState;
  /** Warnings the new snapshot has that the previous one had not. */
  newWarnings: string[];
  /** This was the first update the agent applied. */
  first: boolean;
}

export class AgentState {
  readonly #held = new Map<string, Resource>();
  readonly #localNode: string;
  #state: ProxyState;
  #synced = false;
  readonly #listeners: Array<(applied: AppliedUpdate) => void> = [];

  constructor(localNode: string) {
    this.#localNode = localNode;
    this.#state = buildState([], { localNode });
  }

  /** The newest snapshot (read-only). */
  snapshot(): ProxyState {
    return this.#state;
  }

  /** A first config has been applied. */
  synced(): boolean {
    return this.#synced;
  }

  /** How many resources are held. */
  size(): number {
    return this.#held.size;
  }

  /** Called after every applied update, with the new snapshot. */
  onChange(listener: (applied: AppliedUpdate) => void): void {
    this.#listeners.push(listener);
  }

  /** The one writer: applies a validated update and swaps the snapshot in. */
  apply(u: Pick<ConfigUpdate, 'upserts' | 'removes'>): AppliedUpdate {
    for (const r of u.upserts) this.#held.set(resourceId(r.kind, r.key), { kind: r.kind, key: r.key, body: r.body } as Resource);
    for (const r of u.removes) this.#held.delete(resourceId(r.kind, r.key));
    const seen = new Set(this.#state.warnings);
    this.#state = buildState([...this.#held.values()], { localNode: this.#localNode });
    const applied: AppliedUpdate = {
      state: this.#state,
      newWarnings: this.#state.warnings.filter((w) => !seen.has(w)),
      first: !this.#synced,
    };
    this.#synced = true;
    for (const l of this.#listeners) l(applied);
    return applied;
  }
}
