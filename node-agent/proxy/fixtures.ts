// Builders for the planners' unit tests: a workload, a Service, an endpoint and a state
// with sensible defaults, so that each test states only what it is about.

import type { Endpoint, MeshService, Policy, PolicyRule, Resource, ServicePort, Workload } from '../../core/config/model.js';
import { buildState, type ProxyState } from '../state/snapshot.js';

export const NODE = 'node-1';

export function workload(name: string, over: Partial<Workload> = {}): Workload {
  const namespace = over.namespace ?? 'default';
  const serviceAccount = over.serviceAccount ?? name;
  return {
    uid: `uid-${name}`,
    name,
    namespace,
    serviceAccount,
    identity: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`,
    node: NODE,
    ips: [],
    protocol: 'HBONE',
    labels: { app: name },
    canonicalName: name,
    canonicalRevision: 'latest',
    mtlsMode: 'PERMISSIVE',
    healthy: true,
    ...over,
  };
}

export function tcpPort(port: number, targetPort: number, name?: string): ServicePort {
  const p: ServicePort = { port, targetPort, protocol: 'TCP' };
  if (name !== undefined) p.name = name;
  return p;
}

export function service(name: string, over: Partial<MeshService> = {}): MeshService {
  const namespace = over.namespace ?? 'default';
  const hostname = `${name}.${namespace}.svc.cluster.local`;
  return {
    key: `${namespace}/${hostname}`,
    name,
    namespace,
    hostname,
    vips: [],
    ports: [],
    endpoints: [],
    ...over,
  };
}

export function endpoint(w: Workload, ports: Record<string, number> = {}, healthy = true): Endpoint {
  return { workloadUid: w.uid, ports, healthy };
}

/** A compiled authorization policy in `over.namespace` (default 'default'), scope 'namespace'. */
export function policy(name: string, action: Policy['action'], rules: Array<Partial<PolicyRule>>, over: Partial<Policy> = {}): Policy {
  const namespace = over.namespace ?? 'default';
  return {
    key: `${namespace}/${name}`,
    name,
    namespace,
    scope: 'namespace',
    action,
    rules: rules.map((r) => ({ from: r.from ?? [], to: r.to ?? [], when: r.when ?? [] })),
    ...over,
  };
}

export function resources(objs: ReadonlyArray<Workload | MeshService | Policy>): Resource[] {
  return objs.map((o): Resource =>
    'uid' in o
      ? { kind: 'Workload', key: o.uid, body: o }
      : 'action' in o
        ? { kind: 'Policy', key: o.key, body: o }
        : { kind: 'Service', key: o.key, body: o },
  );
}

/** A state on node-1, or on `localNode`; null: no local node (every source accepted). */
export function stateOf(objs: ReadonlyArray<Workload | MeshService | Policy>, localNode: string | null = NODE): ProxyState {
  return buildState(resources(objs), localNode === null ? {} : { localNode });
}
