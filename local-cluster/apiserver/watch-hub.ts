// Live fan-out of committed events to the open watches of this process, and the pure
// decision of what one watcher sees of an event.
//
// Events reach the hub in commit order (see store.ts); as a guard, one that arrives ahead
// of a missing predecessor waits up to `gapWaitMs` for it, so watchers always get a
// resourceVersion-ordered stream. This process must be the only writer of its Redis
// prefix: another writer's events would never reach these watchers live.
import { fieldsOf, type KObject, type KindInfo } from './kinds.js';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelRequirement } from './selectors.js';
import type { EventType, StoredEvent } from './store.js';

export interface WatchFilter {
  namespace?: string;
  labels: readonly LabelRequirement[];
  fields: readonly FieldRequirement[];
}

export function matchesFilter(k: KindInfo, obj: KObject, f: WatchFilter): boolean {
  if (f.namespace !== undefined && (obj.metadata?.namespace ?? '') !== f.namespace) return false;
  return matchesLabels(f.labels, obj.metadata?.labels) && matchesFields(f.fields, fieldsOf(k, obj));
}

/**
 * What a watcher whose selection is `f` receives for `ev`, as kube-apiserver's watch cache
 * does: an object that enters the selection arrives as ADDED, one that leaves it as
 * DELETED, one that stays in it as MODIFIED; nothing when it is outside before and after.
 */
export function watchEventFor(k: KindInfo, ev: StoredEvent, f: WatchFilter): { type: EventType; object: KObject } | undefined {
  const now = matchesFilter(k, ev.object, f);
  if (ev.type !== 'MODIFIED') return now ? { type: ev.type, object: ev.object } : undefined;
  const before = ev.prev
    ? (f.namespace === undefined || (ev.object.metadata?.namespace ?? '') === f.namespace) && matchesLabels(f.labels, ev.prev.labels) && matchesFields(f.fields, ev.prev.fields)
    : now;
  if (now && before) return { type: 'MODIFIED', object: ev.object };
  if (now) return { type: 'ADDED', object: ev.object };
  if (before) return { type: 'DELETED', object: ev.object };
  return undefined;
}

interface Subscriber {
  resource: string;
  deliver: (ev: StoredEvent) => void;
  close: () => void;
}

export class WatchHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly pending = new Map<number, StoredEvent>();
  private gapTimer: NodeJS.Timeout | undefined;
  /** The resourceVersion of the last event handed to watchers. */
  lastRv: number;

  constructor(
    startRv: number,
    private readonly gapWaitMs: number,
  ) {
    this.lastRv = startRv;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Registers a watcher of one resource; returns its unsubscribe function. */
  subscribe(resource: string, deliver: (ev: StoredEvent) => void, close: () => void): () => void {
    const s: Subscriber = { resource, deliver, close };
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  publish(ev: StoredEvent): void {
    if (ev.rv <= this.lastRv) return;
    this.pending.set(ev.rv, ev);
    this.drain();
  }

  private drain(): void {
    for (let next = this.pending.get(this.lastRv + 1); next; next = this.pending.get(this.lastRv + 1)) {
      this.pending.delete(next.rv);
      this.emit(next);
    }
    if (this.pending.size === 0) {
      if (this.gapTimer) clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    } else if (!this.gapTimer) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        // The missing versions are not coming (a write that failed after its INCR cannot
        // happen, so: another writer); go on in order.
        for (const rv of [...this.pending.keys()].sort((a, b) => a - b)) {
          const ev = this.pending.get(rv)!;
          this.pending.delete(rv);
          this.emit(ev);
        }
      }, this.gapWaitMs);
      this.gapTimer.unref();
    }
  }

  private emit(ev: StoredEvent): void {
    this.lastRv = ev.rv;
    for (const s of [...this.subscribers]) {
      if (s.resource !== ev.resource) continue;
      // One broken watcher must not fail the write that is being fanned out, nor the others.
      try {
        s.deliver(ev);
      } catch {
        this.subscribers.delete(s);
        try {
          s.close();
        } catch {
          /* already gone */
        }
      }
    }
  }

  /** Ends every open watch (shutdown). */
  closeAll(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    for (const s of [...this.subscribers]) s.close();
    this.subscribers.clear();
  }
}
