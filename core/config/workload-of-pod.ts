// Pod -> Workload, in one place for the controller's translation and the node agent (which
// derives a provisional Workload for a pod its CNI plugin announces before the
// controller's config speaks of it). Both must agree, field for field: a provisional
// Workload that differs (a PERMISSIVE mode where the namespace is STRICT, another name)
// would serve the pod under rules nobody wrote until the config arrives.
//
// A pod becomes a Workload once it has an address and is Running, or Pending with an
// address already (init containers still running: Istio issue 48854); finished pods
// (Succeeded, Failed) and pods without an address are not workloads yet. The agent, which
// learns the addresses from the CNI hand-off before the pod's status has them, passes them.
import { isIP } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { formatSpiffeId, spiffeId } from '../identity/spiffe.js';
import { podEnrolment } from './enrolment.js';
import type { MtlsMode, WaypointRef, Workload } from './model.js';

type Labels = Readonly<Record<string, string>>;

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Set by the waypoint's Deployment on its pods (Gateway API). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** A pod that cannot be a Workload; the message names the field. */
export class PodNotWorkload extends Error {}

export interface WorkloadOfPodContext {
  trustDomain: string;
  /** A namespace's labels. */
  namespaceLabels(namespace: string): Labels;
  /** Whether the pod is one of a waypoint's own (never enrolled). */
  isWaypoint(namespace: string, labels: Labels): boolean;
  /** The waypoint a (non-waypoint) pod is bound to, when one is; none: not known here. */
  waypoint?(namespace: string, labels: Labels, namespaceLabels: Labels): WaypointRef | undefined;
  /** From the namespace's and workload's PeerAuthentications (core/config/peer-authentication.ts). */
  mtlsMode: (namespace: string, labels: Labels) => MtlsMode;
  /** Port-level modes that differ from mtlsMode (the workload policy's portLevelMtls,
   * resolved: core/config/peer-authentication.ts portModesFor); absent or undefined: none. */
  mtlsPorts?: (namespace: string, labels: Labels) => Record<string, MtlsMode> | undefined;
  /** Addresses known before the pod's status has them (the CNI hand-off); else the status's. */
  ips?: readonly string[];
  /** The node, when spec.nodeName is not set yet (never for a pod the CNI plugin runs for). */
  node?: string;
  /** A remark about the pod that does not stop its derivation. */
  remark?(message: string): void;
}

const CANONICAL_NAME_LABELS = ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'];
const CANONICAL_REVISION_LABELS = ['service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version'];

function firstLabel(labels: Labels, names: readonly string[]): string | undefined {
  for (const n of names) if (labels[n]) return labels[n];
  return undefined;
}

/**
 * The name of what runs the pod, as Istio derives it (GetDeployMetaFromPod): the
 * Deployment behind its controlling ReplicaSet (the ReplicaSet's name minus
 * `-<pod-template-hash>`), or its controlling Deployment when it has no ReplicaSet in
 * between (the local cluster's Deployment controller owns pods directly); otherwise the
 * pod's own name, also for StatefulSets and DaemonSets, as Istio's ambient index does.
 */
export function workloadName(pod: V1Pod, labels: Labels): string {
  const refs = Array.isArray(pod.metadata?.ownerReferences) ? pod.metadata!.ownerReferences : [];
  const owner = refs.find((r) => r?.controller === true);
  const name = owner?.name;
  if (typeof name === 'string' && name !== '') {
    if (owner!.kind === 'Deployment') return name;
    const hash = labels[POD_TEMPLATE_HASH_LABEL];
    if (owner!.kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`) && name.length > hash.length + 1) {
      return name.slice(0, -(hash.length + 1));
    }
  }
  return pod.metadata!.name!;
}

export function canonicalName(pod: V1Pod, labels: Labels): string {
  return firstLabel(labels, CANONICAL_NAME_LABELS) ?? workloadName(pod, labels);
}

export function canonicalRevision(labels: Labels): string {
  return firstLabel(labels, CANONICAL_REVISION_LABELS) ?? 'latest';
}

/** Whether the pod is a workload now (it has an address and may run). */
export function isPodLive(pod: V1Pod): boolean {
  const phase = pod?.status?.phase;
  return (phase === 'Running' || phase === 'Pending') && podAddresses(pod).length > 0;
}

function podAddresses(pod: V1Pod): unknown[] {
  const ips = pod?.status?.podIPs;
  if (Array.isArray(ips) && ips.length > 0) return ips.map((x) => (x && typeof x === 'object' ? (x as { ip?: unknown }).ip : x));
  const one = pod?.status?.podIP;
  return one === undefined || one === null || one === '' ? [] : [one];
}

function isPodReady(pod: V1Pod): boolean {
  const conditions: unknown = pod.status?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => c?.type === 'Ready' && c?.status === 'True');
}

/** name, namespace and labels, checked (the messages the controller reports). */
export function readPodMeta(pod: V1Pod): { name: string; namespace: string; labels: Labels } {
  const meta = pod?.metadata;
  if (meta === null || typeof meta !== 'object') throw new PodNotWorkload('metadata is missing');
  if (typeof meta.name !== 'string' || meta.name === '') throw new PodNotWorkload('metadata.name is missing');
  if (typeof meta.namespace !== 'string' || meta.namespace === '') throw new PodNotWorkload('metadata.namespace is missing');
  const raw: unknown = meta.labels;
  let labels: Labels = {};
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new PodNotWorkload('metadata.labels is not a map of strings');
    const entries = Object.entries(raw as Record<string, unknown>);
    for (const [k, v] of entries) if (typeof v !== 'string') throw new PodNotWorkload(`metadata.labels[${JSON.stringify(k)}] is not a string`);
    labels = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as Labels;
  }
  return { name: meta.name, namespace: meta.namespace, labels };
}

/** The pod's Workload; throws PodNotWorkload naming what is wrong with it. */
export function workloadOfPod(pod: V1Pod, ctx: WorkloadOfPodContext): Workload {
  const { name, namespace, labels } = readPodMeta(pod);
  const uid = pod.metadata?.uid;
  if (typeof uid !== 'string' || uid === '') throw new PodNotWorkload('metadata.uid is missing');
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object') throw new PodNotWorkload('spec is missing');

  const ips = (ctx.ips ?? podAddresses(pod)).map((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0 || ip.includes('%')) throw new PodNotWorkload(`status.podIPs[${i}]: ${JSON.stringify(ip)} is not an IP address`);
    return ip;
  });
  const node = typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : ctx.node;
  if (typeof node !== 'string' || node === '') throw new PodNotWorkload('spec.nodeName is missing although the pod has an address');

  const sa = spec.serviceAccountName || 'default';
  let identity: string;
  try {
    identity = formatSpiffeId(spiffeId(namespace, sa, ctx.trustDomain));
  } catch (err) {
    throw new PodNotWorkload(`spec.serviceAccountName: ${(err as Error).message}`);
  }

  const hostNetwork = spec.hostNetwork === true;
  const nsLabels = ctx.namespaceLabels(namespace);
  const isWaypoint = ctx.isWaypoint(namespace, labels);
  const enrolment = podEnrolment({ labels, hostNetwork, isWaypoint }, nsLabels);
  if (enrolment.problem) ctx.remark?.(enrolment.problem);
  const waypoint = isWaypoint ? undefined : ctx.waypoint?.(namespace, labels, nsLabels);

  const w: Workload = {
    uid,
    name,
    namespace,
    serviceAccount: sa,
    identity,
    node,
    ips: [...new Set(ips)],
    protocol: enrolment.protocol,
    labels: { ...labels },
    canonicalName: canonicalName(pod, labels),
    canonicalRevision: canonicalRevision(labels),
    mtlsMode: ctx.mtlsMode(namespace, labels),
    healthy: isPodReady(pod),
  };
  if (hostNetwork) w.hostNetwork = true;
  const mtlsPorts = ctx.mtlsPorts?.(namespace, labels);
  if (mtlsPorts && Object.keys(mtlsPorts).length > 0) w.mtlsPorts = { ...mtlsPorts };
  if (waypoint) w.waypoint = waypoint;
  return w;
}
