// Versions and differences, pure. The controller holds one ResourceTable: the current set
// of resources, each stamped with the global version at which it last changed. What a
// client must be sent is always computed the same way, by computeDelta, from what the
// client holds (its hello on connect, then what it was sent) and what it should hold now
// (the table, scoped to its node). One function serves the three cases the protocol has:
// a first start (holds nothing), a reconnect (holds an older set), and an incremental push
// (holds the previous update) -- and a slow client that skipped updates is just a client
// that holds an older set, so coalescing costs nothing extra.
//
// A resource's version is `<n>-<digest>`: n is the global version it last changed at, the
// digest is 16 hex digits of SHA-256 over its body in canonical JSON. Two versions with
// the same digest denote the same content, whichever controller process (a restarted one,
// another replica) stamped them, so a node agent that reconnects to another replica gets
// only real differences, not everything again. Counters alone cannot promise that: two
// replicas count independently.
import { createHash } from 'node:crypto';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { canonicalJson, diffResources } from '../../core/config/diff.js';
import { compareResources, resourceKey, type Resource, type Workload, type MeshService, type Policy } from '../../core/config/model.js';
import { RESOURCE_KINDS, parseResourceId, resourceId, type ResourceRef, type VersionedResource } from '../../core/config/wire.js';

export { canonicalJson };

export function digestOf(canonicalBody: string): string {
  return createHash('sha256').update(canonicalBody).digest('hex').slice(0, 16);
}

export function formatResourceVersion(changedAt: number, digest: string): string {
  return `${changedAt}-${digest}`;
}

/** The content digest a resource version carries, or undefined for a version we did not mint. */
export function versionDigest(version: string): string | undefined {
  const m = /^[0-9]{1,16}-([0-9a-f]{16})$/.exec(version);
  return m?.[1];
}

/** True when a client holding `held` has the content `current` denotes. */
export function sameContent(held: string | undefined, current: string): boolean {
  if (held === undefined) return false;
  if (held === current) return true; // what we sent: no need to read the digests
  const d = versionDigest(held);
  return d !== undefined && d === versionDigest(current);
}

export interface TableEntry {
  id: string;
  resource: VersionedResource;
  /** The resource as it goes on the wire (JSON), made once per change and shared by every client. */
  wire: string;
  /** The content digest in resource.version. */
  digest: string;
}

/** What apply() and replace() were given that changed the table: the entries before and after. */
export interface TableChange {
  id: string;
  /** Undefined: the resource is new. */
  before?: TableEntry;
  /** Undefined: the resource was removed. */
  after?: TableEntry;
}

export interface ReplaceResult {
  /** The global version after the call (unchanged when nothing changed). */
  version: number;
  changed: boolean;
  upserted: string[];
  removed: string[];
  /** The same changes with their entries before and after (for the scope's indexes). */
  changes: TableChange[];
}

function invalid(why: string): MeshError {
  return new MeshError(ErrorCodes.XDS_INVALID_RESOURCE, `resources not accepted for distribution: ${why}`);
}

/**
 * The controller's current resources. replace() takes the whole new set (what translation
 * produced), finds what changed by content, and bumps the global version once if anything
 * did. The stored resources are private copies: a caller mutating its objects afterwards
 * does not change what clients are sent.
 */
export class ResourceTable {
  #version: number;
  #entries = new Map<string, TableEntry>();
  #ready = false;

  constructor(initialVersion = 0) {
    this.#version = initialVersion;
  }

  get version(): number {
    return this.#version;
  }

  /** False until the first replace(): a controller that has not computed config must not tell clients "you should hold nothing". */
  get ready(): boolean {
    return this.#ready;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): TableEntry | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<TableEntry> {
    return this.#entries.values();
  }

  /** A new version with the same content: when what a client should hold changed for another reason (its scope). */
  bump(): number {
    return ++this.#version;
  }

  /** Validates the whole set first (nothing is applied when one resource is unusable), then applies it. */
  replace(resources: readonly Resource[]): ReplaceResult {
    for (const r of resources) {
      const why = checkResource(r);
      if (why) throw invalid(why);
    }
    const previous = new Map<string, Resource>();
    for (const [id, e] of this.#entries) previous.set(id, e.resource);
    let diff;
    try {
      diff = diffResources(previous, resources);
    } catch (err) {
      throw invalid((err as Error).message); // a kind and key twice
    }
    const first = !this.#ready;
    this.#ready = true;
    const changed = diff.upserted.length > 0 || diff.removed.length > 0;
    // The first set is a version even when empty: clients may then be told what to hold.
    if (!changed && !first) return { version: this.#version, changed: false, upserted: [], removed: [], changes: [] };
    const next = ++this.#version;
    const changes: TableChange[] = [];
    for (const r of diff.removed) {
      const id = resourceId(r.kind, r.key);
      changes.push({ id, before: this.#entries.get(id)! });
      this.#entries.delete(id);
    }
    for (const r of diff.upserted) {
      const id = resourceId(r.kind, r.key);
      const after = entryOf(r, canonicalJson(r.body), next);
      changes.push({ id, ...(this.#entries.has(id) ? { before: this.#entries.get(id)! } : {}), after });
      this.#entries.set(id, after);
    }
    return {
      version: next,
      changed: true,
      upserted: diff.upserted.map((r) => resourceId(r.kind, r.key)),
      removed: diff.removed.map((r) => resourceId(r.kind, r.key)),
      changes,
    };
  }

  /**
   * Applies a change to the current set: `upserts` (new or changed resources) and
   * `removes`, validated first (nothing is applied when one is unusable). Costs what was
   * given, not the size of the table: a resource whose content is unchanged (same digest)
   * keeps its version. The first call on an empty table makes it ready, as replace() does.
   */
  apply(upserts: readonly Resource[], removes: ReadonlyArray<{ kind: Resource['kind']; key: string }>): ReplaceResult {
    const seen = new Set<string>();
    const prepared: Array<{ id: string; r: Resource; canonical: string; digest: string }> = [];
    for (const r of upserts) {
      const why = checkResource(r);
      if (why) throw invalid(why);
      const id = resourceId(r.kind, r.key);
      if (seen.has(id)) throw invalid(`${r.kind} ${r.key} appears more than once in the new set`);
      seen.add(id);
      const canonical = canonicalJson(r.body);
      prepared.push({ id, r, canonical, digest: digestOf(canonical) });
    }
    const removeIds: string[] = [];
    for (const r of removes) {
      const id = resourceId(r.kind, r.key);
      if (seen.has(id)) throw invalid(`${r.kind} ${r.key} is both upserted and removed`);
      if (this.#entries.has(id)) removeIds.push(id);
    }
    const changedUpserts = prepared.filter((p) => this.#entries.get(p.id)?.digest !== p.digest);
    const first = !this.#ready;
    this.#ready = true;
    if (changedUpserts.length === 0 && removeIds.length === 0 && !first) return { version: this.#version, changed: false, upserted: [], removed: [], changes: [] };
    const next = ++this.#version;
    const changes: TableChange[] = [];
    for (const id of removeIds) {
      changes.push({ id, before: this.#entries.get(id)! });
      this.#entries.delete(id);
    }
    for (const p of changedUpserts) {
      const after = entryOf(p.r, p.canonical, next, p.digest);
      changes.push({ id: p.id, ...(this.#entries.has(p.id) ? { before: this.#entries.get(p.id)! } : {}), after });
      this.#entries.set(p.id, after);
    }
    return { version: next, changed: true, upserted: changedUpserts.map((p) => p.id), removed: removeIds, changes };
  }
}

/** A table entry for `r` (whose canonical JSON is `canonical`) changed at version `at`. */
function entryOf(r: Resource, canonical: string, at: number, digest = digestOf(canonical)): TableEntry {
  const version = formatResourceVersion(at, digest);
  // A private copy: a caller mutating its object later does not change what is sent.
  const copy = { kind: r.kind, key: r.key, body: JSON.parse(canonical) as Resource['body'], version } as VersionedResource;
  const id = resourceId(r.kind, r.key);
  const wire = `{"kind":${JSON.stringify(r.kind)},"key":${JSON.stringify(r.key)},"version":"${version}","body":${canonical}}`;
  return { id, resource: copy, wire, digest };
}

/** Why a resource cannot be distributed, or undefined. */
export function checkResource(r: Resource): string | undefined {
  if (typeof r !== 'object' || r === null) return 'a resource is not an object';
  if (!RESOURCE_KINDS.includes(r.kind)) return `unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.key !== 'string' || r.key === '') return `a ${r.kind} has no key`;
  if (typeof r.body !== 'object' || r.body === null || Array.isArray(r.body)) return `${resourceId(r.kind, r.key)} has no body object`;
  let expected: unknown;
  try {
    expected = resourceKey(r.kind, r.body as Workload | MeshService | Policy);
  } catch {
    expected = undefined;
  }
  if (expected !== r.key) return `${resourceId(r.kind, r.key)} has a body whose key is ${JSON.stringify(expected)}`;
  return undefined;
}

export interface Delta<T extends { id: string } = TableEntry> {
  upserts: T[];
  removes: ResourceRef[];
}

/**
 * What a client holding `held` (`<kind>/<key>` -> version) must be sent to hold exactly
 * `desired`: the resources it lacks or holds with other content, and removals of what it
 * holds but should not. Sorted (kind, then key), so that the same state always gives the
 * same bytes.
 */
export function computeDelta<T extends { id: string; resource: VersionedResource }>(held: ReadonlyMap<string, string>, desired: Iterable<T>): Delta<T> {
  const upserts: T[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(d.id);
    if (!sameContent(held.get(d.id), d.resource.version)) upserts.push(d);
  }
  const removeIds: string[] = [];
  for (const id of held.keys()) if (!wanted.has(id)) removeIds.push(id);
  upserts.sort((a, b) => compareResources(a.resource, b.resource));
  const removes = removeIds.flatMap((id) => parseResourceId(id) ?? []);
  removes.sort(compareResources);
  return { upserts, removes };
}

/** What a client holds after applying `delta` in full (the server's view of it). */
export function applyDelta(held: Map<string, string>, delta: Delta<{ id: string; resource: { version: string } }>): void {
  for (const u of delta.upserts) held.set(u.id, u.resource.version);
  for (const r of delta.removes) held.delete(resourceId(r.kind, r.key));
}
