// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for (Accept:
// application/json;as=Table;g=meta.k8s.io;v=v1), with the columns kube-apiserver prints
// for the kinds people look at, a CRD's additionalPrinterColumns for the kinds it defines,
// and Name/Age for the rest. Pure: the clock is an argument.
import { evalJsonPath } from './json-path.js';
import type { KObject, KindInfo, PrinterColumn } from './kinds.js';
import { formatLabelSelector, requirementsFromLabelSelector } from './selectors.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  priority: number;
  cell: (o: Any, now: Date) => string | number | boolean | null;
}

// Objects here are arbitrary JSON; printing reads them leniently.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Kubernetes' duration.HumanDuration: "45s", "3m20s", "5h", "2d3h", "400d". */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(s / 3600);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  const y = Math.floor(h / 24 / 365);
  if (y < 8) return `${y}y${Math.floor(h / 24) % 365}d`;
  return `${y}y`;
}

const col = (name: string, cell: Column['cell'], extra: Partial<Column> = {}): Column => ({ name, type: 'string', description: name, priority: 0, cell, ...extra });
const NAME = col('Name', (o) => o.metadata?.name ?? '', { format: 'name', description: 'Name must be unique within a namespace.' });
const AGE = col('Age', (o, now) => (o.metadata?.creationTimestamp ? humanDuration(now.getTime() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>'), {
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
});
const none = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));
const count = (v: unknown): number => (v && typeof v === 'object' ? Object.keys(v).length : 0);

function podStatus(o: Any): string {
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  for (const c of o.status?.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) return c.state.waiting.reason;
    if (c.state?.terminated?.reason) return c.state.terminated.reason;
  }
  return o.status?.reason ?? o.status?.phase ?? 'Unknown';
}

function servicePorts(o: Any): string {
  const ports = (o.spec?.ports ?? []) as Any[];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    NAME,
    col('Ready', (o) => {
      const st = (o.status?.containerStatuses ?? []) as Any[];
      return `${st.filter((c) => c.ready).length}/${(o.spec?.containers ?? []).length}`;
    }, { description: 'The aggregate readiness state of this pod for accepting traffic.' }),
    col('Status', podStatus, { description: 'The aggregate status of the containers in this pod.' }),
    col('Restarts', (o) => ((o.status?.containerStatuses ?? []) as Any[]).reduce((n, c) => n + (c.restartCount ?? 0), 0), { type: 'integer' }),
    AGE,
    col('IP', (o) => none(o.status?.podIP), { priority: 1 }),
    col('Node', (o) => none(o.spec?.nodeName), { priority: 1 }),
  ],
  Deployment: [
    NAME,
    col('Ready', (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`),
    col('Up-to-date', (o) => o.status?.updatedReplicas ?? 0, { type: 'integer' }),
    col('Available', (o) => o.status?.availableReplicas ?? 0, { type: 'integer' }),
    AGE,
    col('Containers', (o) => ((o.spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.name).join(','), { priority: 1 }),
    col('Images', (o) => ((o.spec?.template?.spec?.containers ?? []) as Any[]).map((c) => c.image).join(','), { priority: 1 }),
    col('Selector', (o) => none(formatLabelSelector(requirementsFromLabelSelector(o.spec?.selector ?? {}))), { priority: 1 }),
  ],
  DaemonSet: [
    NAME,
    col('Desired', (o) => o.status?.desiredNumberScheduled ?? 0, { type: 'integer' }),
    col('Current', (o) => o.status?.currentNumberScheduled ?? 0, { type: 'integer' }),
    col('Ready', (o) => o.status?.numberReady ?? 0, { type: 'integer' }),
    col('Up-to-date', (o) => o.status?.updatedNumberScheduled ?? 0, { type: 'integer' }),
    AGE,
  ],
  Service: [
    NAME,
    col('Type', (o) => o.spec?.type ?? 'ClusterIP'),
    col('Cluster-IP', (o) => none(o.spec?.clusterIP)),
    col('External-IP', (o) => none(((o.status?.loadBalancer?.ingress ?? []) as Any[]).map((i) => i.ip ?? i.hostname).join(',') || o.spec?.externalName)),
    col('Port(s)', servicePorts),
    AGE,
    col('Selector', (o) => none(Object.entries(o.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',')), { priority: 1 }),
  ],
  Namespace: [NAME, col('Status', (o) => o.status?.phase ?? 'Active'), AGE],
  Node: [
    NAME,
    col('Status', (o) => {
      const ready = ((o.status?.conditions ?? []) as Any[]).find((c) => c.type === 'Ready');
      const s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
      return o.spec?.unschedulable ? `${s},SchedulingDisabled` : s;
    }),
    col('Roles', (o) =>
      none(Object.keys(o.metadata?.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice('node-role.kubernetes.io/'.length)).join(',')),
    ),
    AGE,
    col('Version', (o) => o.status?.nodeInfo?.kubeletVersion ?? ''),
  ],
  EndpointSlice: [
    NAME,
    col('AddressType', (o) => o.addressType ?? ''),
    col('Ports', (o) => none(((o.ports ?? []) as Any[]).map((p) => p.port ?? '<unset>').join(','))),
    col('Endpoints', (o) => none(((o.endpoints ?? []) as Any[]).flatMap((e) => e.addresses ?? []).join(','))),
    AGE,
  ],
  ServiceAccount: [NAME, col('Secrets', (o) => (o.secrets ?? []).length, { type: 'integer' }), AGE],
  ConfigMap: [NAME, col('Data', (o) => count(o.data) + count(o.binaryData), { type: 'integer' }), AGE],
  Secret: [NAME, col('Type', (o) => o.type ?? 'Opaque'), col('Data', (o) => count(o.data), { type: 'integer' }), AGE],
  Lease: [NAME, col('Holder', (o) => o.spec?.holderIdentity ?? ''), AGE],
  Gateway: [
    NAME,
    col('Class', (o) => o.spec?.gatewayClassName ?? ''),
    col('Address', (o) => ((o.status?.addresses ?? []) as Any[]).map((a) => a.value).join(',')),
    col('Programmed', (o) => ((o.status?.conditions ?? []) as Any[]).find((c) => c.type === 'Programmed')?.status ?? 'Unknown'),
    AGE,
  ],
  CustomResourceDefinition: [NAME, col('Created At', (o) => o.metadata?.creationTimestamp ?? '', { type: 'date' })],
  HTTPRoute: [NAME, col('Hostnames', (o) => ((o.spec?.hostnames ?? []) as string[]).join(',')), AGE],
  GRPCRoute: [NAME, col('Hostnames', (o) => ((o.spec?.hostnames ?? []) as string[]).join(',')), AGE],
};

/** A CRD printer column's cell: the first value its path finds (several joined, as kubectl prints them), typed; null when none. */
function crdCell(c: PrinterColumn, o: Any, now: Date): string | number | boolean | null {
  const found = evalJsonPath(o, c.jsonPath);
  if (found.length === 0) return null;
  const v = found[0];
  switch (c.type) {
    case 'date': {
      const t = typeof v === 'string' ? Date.parse(v) : NaN;
      return Number.isNaN(t) ? null : humanDuration(now.getTime() - t);
    }
    case 'integer':
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    default:
      return found.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
  }
}

/** Columns of a CRD-defined kind: Name, then its printer columns (Age alone when it declares none), as kube-apiserver builds them. */
function crdColumns(columns: readonly PrinterColumn[]): Column[] {
  if (columns.length === 0) return [NAME, AGE];
  return [
    NAME,
    ...columns.map((c) => col(c.name, (o, now) => crdCell(c, o, now), { type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
  ];
}

function columnsOf(k: Pick<KindInfo, 'kind' | 'printerColumns' | 'definedBy'>): Column[] {
  if (k.definedBy !== undefined) return crdColumns(k.printerColumns ?? []);
  return COLUMNS[k.kind] ?? [NAME, AGE];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Does an Accept header ask for a Table (kubectl get's human-readable output)? */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.split(',').some((a) => /(^|;)\s*as=Table/.test(a) && /g=meta\.k8s\.io/.test(a));
}

function rowObject(o: KObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(k: Pick<KindInfo, 'kind' | 'printerColumns' | 'definedBy'>, items: readonly KObject[], opts: { now: Date; resourceVersion?: string; include?: IncludeObject }): unknown {
  const cols = columnsOf(k);
  const include = opts.include ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {},
    columnDefinitions: cols.map(({ cell: _c, ...d }) => ({ ...d, format: d.format ?? '' })),
    rows: items.map((o) => {
      const object = rowObject(o, include);
      return { cells: cols.map((c) => c.cell(o, opts.now)), ...(object ? { object } : {}) };
    }),
  };
}
