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
import type { ResourceRef } from '../../core/config/wire.js';
import { buildState, type ProxyState } from './snapshot.js';

/** What an update changes (a controller's update, or the same forwarded to a worker). */
export interface ConfigChange {
  /** The controller's version of the config after this change. */
  version?: string;
  upserts: readonly Resource[];
  removes: readonly ResourceRef[];
}

export interface AppliedUpdate {
  /** The snapshot after the update. */
  state: ProxyState;
  /** Warnings the new snapshot has that the previous one had not. */
  newWarnings: string[];
  /** This was the first update the agent applied. */
  first: boolean;
  /** The change itself. */
  change: ConfigChange;
}

export class AgentState {
  readonly #held = new Map<string, Resource>();
  readonly #localNode: string;
  #state: ProxyState;
  #synced = false;
  #version = '';
  readonly #listeners: Array<(applied: AppliedUpdate) => void> = [];

  constructor(localNode: string) {
    this.#localNode = localNode;
    this.#state = buildState([], { localNode });
  }

  /** The newest snapshot (read-only). */
  snapshot(): ProxyState {
    return this.#state;
  }

  /** The controller's version of the config held ('' before the first). */
  version(): string {
    return this.#version;
  }

  /** A first config has been applied. */
  synced(): boolean {
    return this.#synced;
  }

  /** Every resource held now (a restarted data-path worker starts from them). */
  held(): Resource[] {
    return [...this.#held.values()];
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
  apply(u: ConfigChange): AppliedUpdate {
    for (const r of u.upserts) this.#held.set(resourceId(r.kind, r.key), { kind: r.kind, key: r.key, body: r.body } as Resource);
    for (const r of u.removes) this.#held.delete(resourceId(r.kind, r.key));
    if (u.version !== undefined) this.#version = u.version;
    const seen = new Set(this.#state.warnings);
    this.#state = buildState([...this.#held.values()], { localNode: this.#localNode });
    const applied: AppliedUpdate = {
      state: this.#state,
      newWarnings: this.#state.warnings.filter((w) => !seen.has(w)),
      first: !this.#synced,
      change: u,
    };
    this.#synced = true;
    for (const l of this.#listeners) l(applied);
    return applied;
  }
}
