// What changed between two versions of the mesh config (DESIGN.md "Configuration model":
// a change sends what changed). Pure: resources in, the upserts and removals out. Bodies
// are compared by canonical JSON (object keys sorted, `undefined` members dropped, array
// order kept), so two bodies that would serialise to the same wire bytes after sorting
// are equal however their keys were inserted.
import { compareResources, resourceId, type Resource, type ResourceKind } from './model.js';

export interface ResourceDiff {
  /** New or changed resources, sorted by kind then key. */
  upserted: Resource[];
  /** Resources in `previous` that `next` no longer has, sorted by kind then key. */
  removed: Array<{ kind: ResourceKind; key: string }>;
}

/** JSON with every object's keys in sorted order, at every depth. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      // defineProperty, not assignment: a "__proto__" key must stay a plain key.
      Object.defineProperty(sorted, k, { value: (v as Record<string, unknown>)[k], enumerable: true, writable: true, configurable: true });
    }
    return sorted;
  });
}

/** Indexes resources by `resourceId(kind, key)`: the map `diffResources` takes. */
export function indexResources(resources: Iterable<Resource>): Map<string, Resource> {
  const m = new Map<string, Resource>();
  for (const r of resources) m.set(resourceId(r.kind, r.key), r);
  return m;
}

/**
 * Compares the resources a reader holds (`previous`, as built by `indexResources`) with a
 * complete new set. Entries of `previous` are identified by their own kind and key, so the
 * map's keys are not trusted. A kind and key twice in `next` is a caller's bug (the
 * translator never emits one) and throws a TypeError rather than picking one silently.
 */
export function diffResources(previous: ReadonlyMap<string, Resource>, next: readonly Resource[]): ResourceDiff {
  const before = new Map<string, string>();
  for (const r of previous.values()) before.set(resourceId(r.kind, r.key), canonicalJson(r.body));
  const seen = new Set<string>();
  const upserted: Resource[] = [];
  for (const r of next) {
    const id = resourceId(r.kind, r.key);
    if (seen.has(id)) throw new TypeError(`diffResources: ${r.kind} ${r.key} appears more than once in the new set`);
    seen.add(id);
    if (before.get(id) !== canonicalJson(r.body)) upserted.push(r);
  }
  const removed: Array<{ kind: ResourceKind; key: string }> = [];
  for (const r of previous.values()) {
    const id = resourceId(r.kind, r.key);
    if (seen.has(id)) continue;
    seen.add(id); // once, even when the caller's map holds it under two keys
    removed.push({ kind: r.kind, key: r.key });
  }
  upserted.sort(compareResources);
  removed.sort(compareResources);
  return { upserted, removed };
}
