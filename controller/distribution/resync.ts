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
  const d = versionDigest(held);
  return d !== undefined && d === versionDigest(current);
}

export interface TableEntry {
  id: string;
  resource: VersionedResource;
  /** The resource as it goes on the wire (JSON), made once per change and shared by every client. */
  wire: string;
}

export interface ReplaceResult {
  /** The global version after the call (unchanged when nothing changed). */
  version: number;
  changed: boolean;
  upserted: string[];
  removed: string[];
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
    if (!changed && !first) return { version: this.#version, changed: false, upserted: [], removed: [] };
    const next = ++this.#version;
    for (const r of diff.removed) this.#entries.delete(resourceId(r.kind, r.key));
    for (const r of diff.upserted) {
      const canonical = canonicalJson(r.body);
      const version = formatResourceVersion(next, digestOf(canonical));
      // A private copy: a caller mutating its object later does not change what is sent.
      const copy = { kind: r.kind, key: r.key, body: JSON.parse(canonical) as Resource['body'], version } as VersionedResource;
      const id = resourceId(r.kind, r.key);
      const wire = `{"kind":${JSON.stringify(r.kind)},"key":${JSON.stringify(r.key)},"version":"${version}","body":${canonical}}`;
      this.#entries.set(id, { id, resource: copy, wire });
    }
    return {
      version: next,
      changed: true,
      upserted: diff.upserted.map((r) => resourceId(r.kind, r.key)),
      removed: diff.removed.map((r) => resourceId(r.kind, r.key)),
    };
  }
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
