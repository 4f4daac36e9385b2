// The EndpointSlice controller's decision, as a pure function: the slice a Service with
// a selector should have, from the pods it selects. One slice per Service (the local
// cluster stays far below the 100 endpoints a slice holds by default).
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { isPodReady } from './deployments.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'ambient-local-cluster';

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false; // no selector: endpoints are managed by hand
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** A container port by name or number, as the pod declares it. */
function resolveTargetPort(target: number | string | undefined, port: number, pod: V1Pod | undefined): number | undefined {
  if (target === undefined) return port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod?.spec?.containers ?? []) {
    const p = c.ports?.find((cp) => cp.name === target);
    if (p) return p.containerPort;
  }
  return undefined;
}

export function planEndpointSlice(svc: V1Service, pods: readonly V1Pod[]): V1EndpointSlice | undefined {
  if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) return undefined;
  const selected = pods
    .filter((p) => p.metadata?.namespace === svc.metadata?.namespace && selects(svc.spec!.selector, p.metadata?.labels))
    .filter((p) => p.status?.podIP && !p.metadata?.deletionTimestamp)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: {
      name: svc.metadata!.name!,
      namespace: svc.metadata!.namespace!,
      labels: { [SERVICE_NAME_LABEL]: svc.metadata!.name!, [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata!.name!, uid: svc.metadata!.uid!, controller: true }],
    },
    endpoints: selected.map((p) => ({
      addresses: [p.status!.podIP!],
      conditions: { ready: isPodReady(p), serving: isPodReady(p), terminating: false },
      nodeName: p.spec?.nodeName,
      targetRef: { kind: 'Pod', name: p.metadata!.name!, namespace: p.metadata!.namespace!, uid: p.metadata!.uid! },
    })),
    ports: (svc.spec.ports ?? []).map((sp) => ({
      name: sp.name ?? '',
      protocol: sp.protocol ?? 'TCP',
      port: resolveTargetPort(sp.targetPort as number | string | undefined, sp.port, selected[0]) ?? sp.port,
    })),
  };
}

/** True when the stored slice already says what the plan says (ignoring server-set metadata). */
export function sameSlice(a: V1EndpointSlice | undefined, b: V1EndpointSlice): boolean {
  if (!a) return false;
  return JSON.stringify([a.endpoints ?? [], a.ports ?? []]) === JSON.stringify([b.endpoints, b.ports]);
}
