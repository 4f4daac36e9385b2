// `ambientctl waypoint`: the pure part. The Gateway `waypoint apply` writes, the rows of
// `waypoint list` (replicas from the waypoint's Deployment, Programmed and addresses from
// the Gateway's status, and what uses each waypoint: Namespaces, Services and Pods whose
// `ambient.dev/use-waypoint` names it, in its namespace or through
// `ambient.dev/use-waypoint-namespace`), and the conditions `waypoint status` shows.
import type { Column } from './output.js';
import { CliError } from './errors.js';

export const WAYPOINT_CLASS = 'ambient-waypoint';
export const USE_WAYPOINT = 'ambient.dev/use-waypoint';
export const USE_WAYPOINT_NAMESPACE = 'ambient.dev/use-waypoint-namespace';
export const WAYPOINT_FOR = 'ambient.dev/waypoint-for';
export const REPLICAS_ANNOTATION = 'ambient.dev/waypoint-replicas';
export const DEFAULT_WAYPOINT_NAME = 'waypoint';
export const WAYPOINT_FOR_VALUES = ['service', 'workload', 'all'] as const;
/** The most replicas `--replicas` takes (the controller's maxReplicas). */
export const MAX_REPLICAS = 100;

/** A Service's name (DNS-1035 label): the waypoint's Service is named after it. */
const SERVICE_NAME = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;

type Meta = { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
export interface GatewayObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: { gatewayClassName?: string; listeners?: unknown[] };
  status?: { conditions?: Condition[]; addresses?: Array<{ type?: string; value?: string }>; listeners?: Array<{ name?: string; conditions?: Condition[] }> };
}
export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}
export interface LabelledObject {
  kind?: string;
  metadata?: Meta;
}
export interface DeploymentObject {
  metadata?: Meta;
  spec?: { replicas?: number };
  status?: { readyReplicas?: number };
}

/** `--replicas` checked: a whole number 0..MAX_REPLICAS. */
export function parseReplicas(v: string): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) > MAX_REPLICAS) throw new CliError(`--replicas: "${v}" is not a whole number from 0 to ${MAX_REPLICAS}`);
  return Number(v);
}

/** The Gateway `waypoint apply` writes. */
export function waypointGateway(o: { name: string; namespace: string; for: string; replicas?: number }): GatewayObject & { apiVersion: string; kind: string } {
  if (!SERVICE_NAME.test(o.name)) throw new CliError(`--name: "${o.name}" is not a valid waypoint name (a lower-case letter, then lower-case letters, digits and '-', at most 63: its Service is named after it)`);
  if (!(WAYPOINT_FOR_VALUES as readonly string[]).includes(o.for)) throw new CliError(`--for: "${o.for}" is not one of ${WAYPOINT_FOR_VALUES.join(', ')}`);
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { [WAYPOINT_FOR]: o.for },
      ...(o.replicas !== undefined ? { annotations: { [REPLICAS_ANNOTATION]: String(o.replicas) } } : {}),
    },
    spec: { gatewayClassName: WAYPOINT_CLASS, listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  };
}

export const isWaypoint = (g: GatewayObject): boolean => g.spec?.gatewayClassName === WAYPOINT_CLASS;

/** The waypoint (`<namespace>/<name>`) an object's own labels name, or undefined. */
export function namedWaypoint(o: LabelledObject, isNamespace: boolean): string | undefined {
  const labels = o.metadata?.labels ?? {};
  const name = labels[USE_WAYPOINT];
  if (name === undefined || name === 'none') return undefined;
  const own = isNamespace ? o.metadata?.name : o.metadata?.namespace;
  const ns = labels[USE_WAYPOINT_NAMESPACE] || own;
  return ns ? `${ns}/${name}` : undefined;
}

export interface WaypointRow {
  namespace: string;
  name: string;
  for: string;
  replicas: { ready: number; desired: number } | null;
  programmed: string;
  addresses: string[];
  usedBy: { namespaces: string[]; services: string[]; pods: string[] };
}

/** The rows of `waypoint list`, sorted by namespace and name. */
export function waypointRows(gateways: readonly GatewayObject[], deployments: readonly DeploymentObject[], users: { namespaces: readonly LabelledObject[]; services: readonly LabelledObject[]; pods: readonly LabelledObject[] }): WaypointRow[] {
  const byKey = new Map<string, WaypointRow>();
  for (const g of gateways.filter(isWaypoint)) {
    const namespace = g.metadata?.namespace ?? '';
    const name = g.metadata?.name ?? '';
    const dep = deployments.find((d) => d.metadata?.namespace === namespace && d.metadata?.name === name);
    const programmed = g.status?.conditions?.find((c) => c.type === 'Programmed');
    byKey.set(`${namespace}/${name}`, {
      namespace,
      name,
      for: g.metadata?.labels?.[WAYPOINT_FOR] ?? 'service',
      replicas: dep ? { ready: dep.status?.readyReplicas ?? 0, desired: dep.spec?.replicas ?? 1 } : null,
      programmed: programmed ? (programmed.status === 'True' ? 'True' : `${programmed.status ?? 'Unknown'} (${programmed.reason ?? ''})`) : 'Unknown',
      addresses: (g.status?.addresses ?? []).map((a) => a.value ?? '').filter((v) => v !== ''),
      usedBy: { namespaces: [], services: [], pods: [] },
    });
  }
  const add = (list: readonly LabelledObject[], into: 'namespaces' | 'services' | 'pods') => {
    for (const o of list) {
      const key = namedWaypoint(o, into === 'namespaces');
      const row = key === undefined ? undefined : byKey.get(key);
      if (!row) continue;
      row.usedBy[into].push(into === 'namespaces' ? (o.metadata?.name ?? '') : `${o.metadata?.namespace}/${o.metadata?.name}`);
    }
  };
  add(users.namespaces, 'namespaces');
  add(users.services, 'services');
  add(users.pods, 'pods');
  const rows = [...byKey.values()].sort((a, b) => (a.namespace + '/' + a.name < b.namespace + '/' + b.name ? -1 : 1));
  for (const r of rows) for (const l of Object.values(r.usedBy)) l.sort();
  return rows;
}

function usedBy(r: WaypointRow): string {
  const parts = [...r.usedBy.namespaces.map((n) => `ns/${n}`), ...r.usedBy.services.map((s) => `svc/${s}`), ...r.usedBy.pods.map((p) => `pod/${p}`)];
  return parts.length ? parts.join(',') : '<none>';
}

export function waypointColumns(allNamespaces: boolean): Column<WaypointRow>[] {
  return [
    ...(allNamespaces ? [{ header: 'namespace', value: (r: WaypointRow) => r.namespace }] : []),
    { header: 'name', value: (r) => r.name },
    { header: 'for', value: (r) => r.for },
    { header: 'replicas', value: (r) => (r.replicas ? `${r.replicas.ready}/${r.replicas.desired}` : '-') },
    { header: 'programmed', value: (r) => r.programmed },
    { header: 'address', value: (r) => r.addresses.join(',') || '<pending>' },
    { header: 'used by', value: usedBy },
  ];
}

export interface StatusRow {
  namespace: string;
  name: string;
  /** `Gateway`, or `listener <name>`. */
  scope: string;
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** One row per condition of each Gateway and of each of its listeners. */
export function statusRows(gateways: readonly GatewayObject[]): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const g of gateways.filter(isWaypoint)) {
    const namespace = g.metadata?.namespace ?? '';
    const name = g.metadata?.name ?? '';
    const push = (scope: string, cs: readonly Condition[] | undefined) => {
      for (const c of cs ?? []) rows.push({ namespace, name, scope, type: c.type ?? '', status: c.status ?? '', reason: c.reason ?? '', message: c.message ?? '' });
    };
    if (!g.status?.conditions?.length) rows.push({ namespace, name, scope: 'Gateway', type: 'Accepted', status: 'Unknown', reason: 'Pending', message: 'no status yet: is the controller running?' });
    push('Gateway', g.status?.conditions);
    for (const l of g.status?.listeners ?? []) push(`listener ${l.name ?? ''}`, l.conditions);
  }
  return rows;
}

export const STATUS_COLUMNS: Column<StatusRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'name', value: (r) => r.name },
  { header: 'scope', value: (r) => r.scope },
  { header: 'condition', value: (r) => r.type },
  { header: 'status', value: (r) => r.status },
  { header: 'reason', value: (r) => r.reason },
  { header: 'message', value: (r) => r.message },
];

/** Whether `waypoint apply --wait` is done: Programmed=True; or a failure to report (Accepted=False). */
export function waitOutcome(g: GatewayObject | undefined): { done: true; ok: boolean; message: string } | { done: false } {
  const c = (t: string) => g?.status?.conditions?.find((x) => x.type === t);
  const accepted = c('Accepted');
  if (accepted?.status === 'False') return { done: true, ok: false, message: `not accepted: ${accepted.reason}: ${accepted.message}` };
  const programmed = c('Programmed');
  if (programmed?.status === 'True') return { done: true, ok: true, message: `programmed: ${programmed.message ?? ''}`.trim() };
  return { done: false };
}

/** The namespace label `waypoint delete` removes: the namespace's use-waypoint names one of the deleted waypoints of this namespace. */
export function enrolledWith(ns: LabelledObject, deleted: ReadonlySet<string>): boolean {
  const key = namedWaypoint(ns, true);
  return key !== undefined && deleted.has(key);
}
