// What the server owns in an object, on create and on update: uid, creationTimestamp,
// generation, the status/spec split of kinds with a status subresource. Pure: the caller
// passes the clock and the new uid.
import { apiVersionOf, type KObject, type KindInfo } from './kinds.js';
import { jsonEqual } from './json-values.js';

/** RFC 3339 in seconds, as Kubernetes writes metav1.Time. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Everything an object says except its metadata and status: what `generation` counts changes of. */
function specOf(o: KObject): KObject {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** Kinds whose status a create keeps (the kubelet registers a Node with its status). */
const KEEP_STATUS_ON_CREATE = new Set(['Node']);

export function prepareCreate(k: KindInfo, input: KObject, ctx: { now: Date; uid: string }): KObject {
  // apiVersion and kind first, as kube-apiserver writes them.
  const out: KObject = { apiVersion: apiVersionOf(k), kind: k.kind, ...structuredClone(input) };
  out.apiVersion = apiVersionOf(k);
  out.kind = k.kind;
  const meta = (out.metadata ??= {});
  meta.uid = ctx.uid;
  meta.creationTimestamp = formatTime(ctx.now);
  meta.generation = 1;
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta['selfLink'];
  delete meta['managedFields'];
  if (!k.namespaced) delete meta.namespace;
  // A kind with a status subresource starts with an empty status that its controller fills.
  if (k.status && !KEEP_STATUS_ON_CREATE.has(k.kind)) delete out['status'];
  return out;
}

/**
 * The object to store when `next` replaces `old`. On the main resource, server-owned
 * metadata comes from `old`, and so does status for kinds with a status subresource;
 * generation goes up when anything but metadata and status changed. On /status, only
 * status comes from `next`.
 */
export function prepareUpdate(k: KindInfo, old: KObject, next: KObject, subresource: 'main' | 'status' = 'main'): KObject {
  if (subresource === 'status') {
    const out = structuredClone(old);
    if (next['status'] === undefined) delete out['status'];
    else out['status'] = structuredClone(next['status']);
    return out;
  }
  const out: KObject = { apiVersion: apiVersionOf(k), kind: k.kind, ...structuredClone(next) };
  out.apiVersion = apiVersionOf(k);
  out.kind = k.kind;
  const meta = (out.metadata ??= {});
  const was = old.metadata ?? {};
  meta.name = was.name;
  if (k.namespaced) meta.namespace = was.namespace;
  else delete meta.namespace;
  meta.uid = was.uid;
  meta.creationTimestamp = was.creationTimestamp;
  meta.resourceVersion = was.resourceVersion;
  if (was.deletionTimestamp) meta.deletionTimestamp = was.deletionTimestamp;
  else delete meta.deletionTimestamp;
  if (was.generateName) meta.generateName = was.generateName;
  else delete meta.generateName;
  // Server-side apply's ownership record stays through other writes (they do not record
  // their own); only an apply changes it (apply-patch.ts).
  if (was.managedFields) meta.managedFields = was.managedFields;
  else delete meta['managedFields'];
  if (k.status) {
    if (old['status'] === undefined) delete out['status'];
    else out['status'] = structuredClone(old['status']);
  }
  const gen = was.generation ?? 1;
  meta.generation = jsonEqual(specOf(old), specOf(out)) ? gen : gen + 1;
  return out;
}
