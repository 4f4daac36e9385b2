// The pod-template hash that names a template's revision on the pods made from it
// (`pod-template-hash`, `controller-revision-hash`). It must depend only on what the
// template says, never on how it was spelled: the same Deployment read from a watch
// event, from a list after a restart (typed deserialization orders keys by the model),
// or from Redis must hash the same, or a restarted controller manager would take every
// running pod for an old revision and replace it. kube-controller-manager hashes its
// Go struct, whose field order is fixed; here the JSON is put in canonical form first:
// object keys sorted, absent (undefined or null) fields dropped, as Go's omitempty
// would, array order kept.
import { createHash } from 'node:crypto';

/** The canonical JSON text of a value: key-order independent, absent fields dropped. */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => {
        const x = (v as Record<string, unknown>)[k];
        return x !== undefined && x !== null && typeof x !== 'function';
      })
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  return JSON.stringify(String(v));
}

/** Ten hex digits of SHA-256 over the template's canonical JSON. */
export function podTemplateHash(template: unknown): string {
  return createHash('sha256').update(canonicalJson(template ?? {})).digest('hex').slice(0, 10);
}
