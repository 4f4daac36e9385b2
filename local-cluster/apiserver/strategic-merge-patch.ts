// Strategic merge patch (what `kubectl apply` and `kubectl patch` send for built-in
// kinds), pure. It is a JSON merge patch except that some lists merge element by element
// on a key instead of being replaced: Kubernetes declares the key per Go field
// (`patchMergeKey`); this table holds the fields our kinds have, by field name. Of the `$`
// directives, `$patch: delete` (remove this element or map), `$patch: replace` (replace
// instead of merging) and `$deleteFromPrimitiveList/<field>` are honoured;
// `$setElementOrder/<field>` and `$retainKeys` are accepted and ignored (order and
// retention are cosmetic for the lists we serve). See
// https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md
import { cloneJson, isPlainObject, jsonEqual, setOwn, type JsonObject } from './json-values.js';

/** List fields merged by key; the first candidate present in a patch element is its key. */
export const MERGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  // container ports merge on containerPort, Service ports on port.
  ports: ['containerPort', 'port'],
  env: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  topologySpreadConstraints: ['topologyKey'],
  resourceClaims: ['name'],
};

/** Lists of scalars merged as sets (patchStrategy "merge" with no key). */
const SET_LISTS: ReadonlySet<string> = new Set(['finalizers']);

const DELETE = Symbol('delete');

export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  const out = mergeValue(undefined, target, patch);
  return out === DELETE ? {} : out;
}

function mergeValue(field: string | undefined, target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) return mergeList(field, target, patch);
  if (!isPlainObject(patch)) return cloneJson(patch);
  return mergeMap(target, patch);
}

function mergeMap(target: unknown, patch: JsonObject): unknown | typeof DELETE {
  const directive = patch['$patch'];
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') return stripDirectives(patch);
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const cur = result[field];
      if (Array.isArray(cur) && Array.isArray(value)) setOwn(result, field, cur.filter((x) => !value.some((v) => jsonEqual(v, x))));
      continue;
    }
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const merged = mergeValue(key, result[key], value);
    if (merged === DELETE) delete result[key];
    else setOwn(result, key, merged);
  }
  return result;
}

function mergeList(field: string | undefined, target: unknown, patch: unknown[]): unknown[] {
  // An element `{$patch: replace}` makes the rest of the patch list the whole new list.
  if (patch.some((e) => isPlainObject(e) && e['$patch'] === 'replace')) {
    return patch.filter((e) => !(isPlainObject(e) && e['$patch'] === 'replace')).map(stripDirectives);
  }
  const keys = field ? MERGE_KEYS[field] : undefined;
  const current = Array.isArray(target) ? target : [];
  if (keys && patch.every(isPlainObject)) {
    const result = current.slice();
    for (const el of patch as JsonObject[]) {
      const key = keys.find((k) => el[k] !== undefined);
      const idx = key === undefined ? -1 : result.findIndex((x) => isPlainObject(x) && jsonEqual(x[key], el[key]));
      if (el['$patch'] === 'delete') {
        if (idx >= 0) result.splice(idx, 1);
      } else if (idx >= 0) {
        const merged = mergeMap(result[idx], el);
        if (merged === DELETE) result.splice(idx, 1);
        else result[idx] = merged;
      } else {
        result.push(stripDirectives(el));
      }
    }
    return result;
  }
  if (field && SET_LISTS.has(field)) {
    const result = current.slice();
    for (const v of patch) if (!result.some((x) => jsonEqual(x, v))) result.push(v);
    return result;
  }
  return patch.map(stripDirectives);
}

/** A patch value with every `$` directive removed, for when it is taken as it is. */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isPlainObject(e) && e['$patch'] === 'delete')).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$') || x === null) continue;
    setOwn(out, k, stripDirectives(x));
  }
  return out;
}
