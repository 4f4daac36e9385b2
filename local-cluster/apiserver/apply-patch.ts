// Server-side apply (PATCH with Content-Type application/apply-patch+yaml), pure. The body
// is the manager's whole intent for the object (an "applied configuration"); the server
// keeps, in metadata.managedFields, which fields each manager applied (operation Apply,
// fieldsV1), and on each apply:
//  - a field this manager applied before and applies no more is removed from the object,
//    unless another manager owns it too;
//  - a field another manager owns with a different value is a conflict: 409 naming the
//    fields and their managers, or, with force=true, the field changes hands;
//  - fields nobody applied (written by create, update or merge patch) stay;
//  - the applied fields are merged in: maps field by field, lists with a merge key
//    (containers by name, env by name, ports...) element by element, other lists whole.
// Same value, several managers: shared ownership, no conflict. This follows
// kube-apiserver's structured merge for the built-in kinds with the merge keys of
// strategic-merge-patch.ts; custom resources' lists are atomic (their schemas declare no
// list-map keys). Writes other than apply keep managedFields as they are (no Update
// entries are recorded).
import { ApiError, type StatusCause } from './api-errors.js';
import { cloneJson, isPlainObject, jsonEqual, setOwn, type JsonObject } from './json-values.js';
import { MERGE_KEYS } from './strategic-merge-patch.js';

/** fieldsV1: `f:<field>` for a map's field, `k:<json key>` for a list element by its merge key, `.` for the element itself. */
export type FieldsV1 = { [path: string]: FieldsV1 };

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
  subresource?: string;
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  apiVersion: string;
  /** RFC 3339 time of this apply. */
  now: string;
  /** Lists merged by key (built-in kinds); false: every list is atomic (custom resources). */
  mergeLists: boolean;
}

export interface ApplyConflict {
  manager: string;
  /** `.spec.replicas`, `.spec.template.spec.containers[name="c"].image`: the field as kube-apiserver names it. */
  field: string;
}

export type ApplyResult = { object: JsonObject } | { conflicts: ApplyConflict[] };

/** Fields the server owns, never in a manager's set. */
const SERVER_FIELDS: Readonly<Record<string, ReadonlySet<string>>> = {
  '': new Set(['apiVersion', 'kind', 'status']),
  metadata: new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']),
};

type Path = string[];
const enc = (p: Path) => JSON.stringify(p);
const dec = (s: string) => JSON.parse(s) as Path;

function keyFieldOf(field: string | undefined, el: unknown, mergeLists: boolean): string | undefined {
  if (!mergeLists || field === undefined || !isPlainObject(el)) return undefined;
  return MERGE_KEYS[field]?.find((k) => el[k] !== undefined && el[k] !== null);
}

/** `k:{"name":"c"}`: a list element by its merge key. */
function elementKey(keyField: string, el: JsonObject): string {
  return `k:${JSON.stringify({ [keyField]: el[keyField] })}`;
}

/** The leaf paths of an applied configuration: every field it sets (and every keyed list element, as `.`). */
export function fieldPaths(applied: JsonObject, mergeLists: boolean): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, path: Path, field: string | undefined, depth: number) => {
    if (isPlainObject(v)) {
      const skip = depth === 0 ? SERVER_FIELDS[''] : depth === 1 && field === 'metadata' ? SERVER_FIELDS['metadata'] : undefined;
      const keys = Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null && !skip?.has(k));
      // An empty map the manager sets is a field of its own; one emptied by the server's fields is not.
      if (Object.keys(v).length === 0 && depth > 0) out.add(enc(path));
      for (const k of keys) walk(v[k], [...path, `f:${k}`], k, depth + 1);
      return;
    }
    if (Array.isArray(v) && v.length > 0 && v.every((el) => keyFieldOf(field, el, mergeLists) !== undefined)) {
      for (const el of v as JsonObject[]) {
        const p = [...path, elementKey(keyFieldOf(field, el, mergeLists)!, el)];
        out.add(enc([...p, '.']));
        for (const k of Object.keys(el).filter((x) => el[x] !== undefined && el[x] !== null)) walk(el[k], [...p, `f:${k}`], k, depth + 2);
      }
      return;
    }
    out.add(enc(path));
  };
  walk(applied, [], undefined, 0);
  return out;
}

/** fieldsV1 of a set of leaf paths. */
export function toFieldsV1(paths: Iterable<string>): FieldsV1 {
  const root: FieldsV1 = {};
  for (const s of paths) {
    let node = root;
    for (const el of dec(s)) {
      if (!Object.prototype.hasOwnProperty.call(node, el)) setOwn(node, el, {});
      node = node[el]!;
    }
  }
  return root;
}

/** The leaf paths of a fieldsV1 (a node without children is a leaf). */
export function fromFieldsV1(f: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: Path) => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) out.add(enc(path));
    for (const k of keys) walk(node[k], [...path, k]);
  };
  walk(f, []);
  return out;
}

/** The field as kube-apiserver prints it in a conflict: `.spec.containers[name="c"].image`. */
export function describePath(s: string): string {
  return dec(s)
    .filter((el) => el !== '.')
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      const key = JSON.parse(el.slice(2)) as JsonObject;
      return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    })
    .join('');
}

type Located = { found: false } | { found: true; value: unknown; parent: JsonObject | unknown[]; at: string | number };

/** The value at a leaf path in an object (its parent, to remove it). */
function locate(obj: JsonObject, path: Path): Located {
  let parent: JsonObject | unknown[] = obj;
  let at: string | number = '';
  let value: unknown = obj;
  for (const el of path) {
    if (el === '.') break;
    if (el.startsWith('f:')) {
      if (!isPlainObject(value)) return { found: false };
      const k = el.slice(2);
      if (!Object.prototype.hasOwnProperty.call(value, k)) return { found: false };
      parent = value;
      at = k;
      value = value[k];
    } else {
      if (!Array.isArray(value)) return { found: false };
      const [k, v] = Object.entries(JSON.parse(el.slice(2)) as JsonObject)[0]!;
      const i = value.findIndex((x) => isPlainObject(x) && jsonEqual(x[k], v));
      if (i < 0) return { found: false };
      parent = value;
      at = i;
      value = value[i];
    }
  }
  return { found: true, value, parent, at };
}

function remove(obj: JsonObject, path: Path): void {
  const l = locate(obj, path);
  if (!l.found || path.length === 0) return;
  if (Array.isArray(l.parent)) l.parent.splice(l.at as number, 1);
  else delete l.parent[l.at as string];
}

/** Drops maps left empty by removals (a removed label's `labels: {}`), never the root. */
function pruneEmpty(v: unknown): void {
  if (Array.isArray(v)) v.forEach(pruneEmpty);
  else if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      pruneEmpty(v[k]);
      if (isPlainObject(v[k]) && Object.keys(v[k] as JsonObject).length === 0) delete v[k];
    }
  }
}

/** The applied configuration merged into the live object: maps by field, keyed lists by element, the rest replaced. */
export function mergeApplied(live: unknown, applied: unknown, field: string | undefined, mergeLists: boolean): unknown {
  if (isPlainObject(applied)) {
    const out: JsonObject = isPlainObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) {
      if (v === undefined || v === null) continue;
      setOwn(out, k, mergeApplied(out[k], v, k, mergeLists));
    }
    return out;
  }
  if (Array.isArray(applied) && applied.length > 0 && applied.every((el) => keyFieldOf(field, el, mergeLists) !== undefined) && Array.isArray(live)) {
    const rest = live.slice();
    const out: unknown[] = [];
    for (const el of applied as JsonObject[]) {
      const kf = keyFieldOf(field, el, mergeLists)!;
      const i = rest.findIndex((x) => isPlainObject(x) && jsonEqual(x[kf], el[kf]));
      out.push(mergeApplied(i >= 0 ? rest.splice(i, 1)[0] : undefined, el, undefined, mergeLists));
    }
    // Elements others added stay, after the applied ones.
    return [...out, ...rest];
  }
  return cloneJson(applied);
}

const isApplyOf = (e: ManagedFieldsEntry, manager: string) => e.manager === manager && e.operation === 'Apply' && !e.subresource;

/** The entries of metadata.managedFields that are well formed (others are dropped, as kube-apiserver resets bad ones). */
export function managedFieldsOf(obj: JsonObject | undefined): ManagedFieldsEntry[] {
  const mf = (obj?.['metadata'] as JsonObject | undefined)?.['managedFields'];
  if (!Array.isArray(mf)) return [];
  return mf.filter((e): e is ManagedFieldsEntry => isPlainObject(e) && typeof e['manager'] === 'string' && (e['operation'] === 'Apply' || e['operation'] === 'Update') && isPlainObject(e['fieldsV1']));
}

/**
 * One apply of `applied` by `o.manager` to `live` (undefined: the object does not exist
 * yet): the object to store, with its managedFields, or the conflicts that stop it.
 */
export function serverSideApply(live: JsonObject | undefined, applied: JsonObject, o: ApplyOptions): ApplyResult {
  const mine = fieldPaths(applied, o.mergeLists);
  const entries = managedFieldsOf(live).map((e) => ({ ...e, paths: fromFieldsV1(e.fieldsV1) }));
  const prev = entries.find((e) => isApplyOf(e, o.manager));
  const current = live ?? {};

  // Conflicts: a field I apply that another manager owns with another value.
  const conflicts: ApplyConflict[] = [];
  for (const e of entries) {
    if (e === prev) continue;
    for (const p of mine) {
      if (!e.paths.has(p) || dec(p).at(-1) === '.') continue;
      const l = locate(current, dec(p));
      const a = locate(applied, dec(p));
      if (l.found && a.found && jsonEqual(l.value, a.value)) continue;
      if (!o.force) conflicts.push({ manager: e.manager, field: describePath(p) });
      else e.paths.delete(p);
    }
  }
  if (conflicts.length) return { conflicts };

  // Fields I no longer apply and nobody else owns leave the object.
  const next = cloneJson(current);
  if (prev) {
    const removed = [...prev.paths].filter((p) => !mine.has(p) && !entries.some((e) => e !== prev && e.paths.has(p)));
    // Deepest first, so an element's fields go before the element.
    for (const p of removed.sort((a, b) => dec(b).length - dec(a).length)) remove(next, dec(p));
    if (removed.length) pruneEmpty(next);
  }
  const object = mergeApplied(next, applied, undefined, o.mergeLists) as JsonObject;

  const same = prev !== undefined && prev.paths.size === mine.size && [...mine].every((p) => prev.paths.has(p));
  const mineEntry: ManagedFieldsEntry =
    same && prev.apiVersion === o.apiVersion
      ? stripPaths(prev)
      : { manager: o.manager, operation: 'Apply', apiVersion: o.apiVersion, time: o.now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(mine) };
  const managed: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (e === prev) managed.push(mineEntry);
    else if (e.paths.size === 0) continue; // everything it owned was forced away
    else if (e.paths.size === fromFieldsV1(e.fieldsV1).size) managed.push(stripPaths(e));
    else managed.push({ ...stripPaths(e), time: o.now, fieldsV1: toFieldsV1(e.paths) });
  }
  if (!prev) managed.push(mineEntry);
  const meta = (isPlainObject(object['metadata']) ? object['metadata'] : {}) as JsonObject;
  meta['managedFields'] = managed;
  object['metadata'] = meta;
  return { object };
}

function stripPaths(e: ManagedFieldsEntry & { paths?: Set<string> }): ManagedFieldsEntry {
  const { paths: _p, ...rest } = e;
  return rest;
}

/** 409 as kube-apiserver answers a conflicting apply without force: the fields and who owns them. */
export function applyConflictError(k: { group: string; plural: string }, name: string, conflicts: readonly ApplyConflict[]): ApiError {
  const n = conflicts.length;
  const message = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`).join(', ')}`;
  return new ApiError(409, 'Conflict', message, {
    name,
    ...(k.group ? { group: k.group } : {}),
    kind: k.plural,
    causes: conflicts.map((c): StatusCause => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: c.field })),
  });
}
