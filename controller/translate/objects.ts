// Reading cluster objects defensively, and the labels translation looks at
// (DESIGN.md section 3, "Labels and resources").
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Problem } from './input.js';

export { DATAPLANE_MODE_LABEL } from '../../core/config/enrolment.js';
export const USE_WAYPOINT_LABEL = 'ambient.dev/use-waypoint';
/** The namespace of the waypoint `use-waypoint` names, on the same object (Istio's `istio.io/use-waypoint-namespace`). */
export const USE_WAYPOINT_NAMESPACE_LABEL = 'ambient.dev/use-waypoint-namespace';
export const WAYPOINT_FOR_LABEL = 'ambient.dev/waypoint-for';
export const WAYPOINT_GATEWAY_CLASS = 'ambient-waypoint';
/** Set by Gateway API implementations on the pods and Service they deploy for a Gateway. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const DEFAULT_ROOT_NAMESPACE = 'ambient-system';

export type Labels = Readonly<Record<string, string>>;

/** Thrown while translating one object; becomes that object's Problem. */
export class Rejected extends Error {}

/** `<namespace>/<name>` for messages and Problem keys, readable even when fields are missing. */
export function objectKey(meta: V1ObjectMeta | undefined): string {
  const name = typeof meta?.name === 'string' && meta.name !== '' ? meta.name : '<unnamed>';
  return typeof meta?.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/${name}` : name;
}

/** name, namespace and labels, checked: throws Rejected naming the bad field. */
export function readMeta(meta: V1ObjectMeta | undefined, { namespaced = true } = {}): { name: string; namespace: string; labels: Labels } {
  if (meta === null || typeof meta !== 'object') throw new Rejected('metadata is missing');
  if (typeof meta.name !== 'string' || meta.name === '') throw new Rejected('metadata.name is missing');
  if (namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '')) throw new Rejected('metadata.namespace is missing');
  return { name: meta.name, namespace: namespaced ? meta.namespace! : '', labels: readLabels(meta.labels, 'metadata.labels') };
}

/** A label (or matchLabels) map: every value a string. Keys come out sorted. */
export function readLabels(v: unknown, path: string): Labels {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Rejected(`${path} is not a map of strings`);
  const entries = Object.entries(v as Record<string, unknown>);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw new Rejected(`${path}[${JSON.stringify(k)}] is not a string`);
  }
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as Labels;
}

/** creationTimestamp in ms: a Date when the typed client deserialised the object, an RFC
 * 3339 string when it came from a watch event. Missing or unreadable: +Infinity (newest). */
export function creationMs(meta: V1ObjectMeta | undefined): number {
  const t: unknown = meta?.creationTimestamp;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** Code-unit order, never locale-dependent. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `fn` for one object; any failure becomes that object's Problem, so that nothing
 * one object holds can stop the translation of the others. */
export function isolated<T>(problems: Problems, kind: string, key: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    // Rejected is the expected way out; anything else is a bug, still confined to the object.
    const message = err instanceof Rejected ? err.message : `internal error while translating: ${(err as Error)?.message ?? String(err)}`;
    problems.report(kind, key, message);
    return undefined;
  }
}

export class Problems {
  readonly list: Problem[] = [];
  report(kind: string, key: string, message: string): void {
    this.list.push({ kind, key, message });
  }
  sorted(): Problem[] {
    return [...this.list].sort((a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.key, b.key) || compareStrings(a.message, b.message));
  }
}
