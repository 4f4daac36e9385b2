// Pod -> Workload. A pod becomes a Workload once it has an address and is Running, or
// Pending with an address already (init containers still running: Istio issue 48854);
// finished pods (Succeeded, Failed) and pods without an address are not workloads yet.
import { isIP } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import type { MtlsMode, WaypointRef, Workload } from '../../core/config/model.js';
import { formatSpiffeId, spiffeId } from '../../core/identity/spiffe.js';
import { podEnrolment } from '../../core/config/enrolment.js';
import { POD_TEMPLATE_HASH_LABEL, readMeta, Rejected, type Labels } from './objects.js';
import { bindWaypoint, isWaypointMember, type WaypointIndex } from './waypoints.js';

export interface PodContext {
  trustDomain: string;
  namespaceLabels(namespace: string): Labels;
  waypoints: WaypointIndex;
  mtlsMode(namespace: string, labels: Labels): MtlsMode;
  /** A remark about the pod that does not stop its translation. */
  remark(message: string): void;
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

/** Translates a live pod (see isPodLive); throws Rejected naming what is wrong with it. */
export function translatePod(pod: V1Pod, ctx: PodContext): Workload {
  const { name, namespace, labels } = readMeta(pod.metadata);
  const uid = pod.metadata?.uid;
  if (typeof uid !== 'string' || uid === '') throw new Rejected('metadata.uid is missing');
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object') throw new Rejected('spec is missing');

  const ips = podAddresses(pod).map((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0 || ip.includes('%')) throw new Rejected(`status.podIPs[${i}]: ${JSON.stringify(ip)} is not an IP address`);
    return ip;
  });
  const node = spec.nodeName;
  if (typeof node !== 'string' || node === '') throw new Rejected('spec.nodeName is missing although the pod has an address');

  const sa = spec.serviceAccountName || 'default';
  let identity: string;
  try {
    identity = formatSpiffeId(spiffeId(namespace, sa, ctx.trustDomain));
  } catch (err) {
    throw new Rejected(`spec.serviceAccountName: ${(err as Error).message}`);
  }

  const hostNetwork = spec.hostNetwork === true;
  const nsLabels = ctx.namespaceLabels(namespace);
  const isWaypoint = isWaypointMember(ctx.waypoints, namespace, labels);
  const enrolment = podEnrolment({ labels, hostNetwork, isWaypoint }, nsLabels);
  if (enrolment.problem) ctx.remark(enrolment.problem);

  let waypoint: WaypointRef | undefined;
  if (!isWaypoint) {
    const binding = bindWaypoint(ctx.waypoints, 'workload', namespace, labels, nsLabels);
    if (binding.problem) ctx.remark(binding.problem);
    waypoint = binding.ref;
  }

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
  if (waypoint) w.waypoint = waypoint;
  return w;
}
