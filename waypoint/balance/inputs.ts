// From the waypoint's view of a Service port (waypoint/state/served.ts serviceBackends) to
// a balancer's endpoint list: what the balancer layer will call on each config snapshot.
// Pure.
//
// - Endpoints Kubernetes reports not ready (`healthy: false`: the pod is not Ready or the
//   EndpointSlice says not ready) are left out: they are not endpoints to balance over, as
//   kube-proxy and Envoy's EDS treat them. Ejection by outlier detection is different: the
//   endpoint stays in the list, marked, so panic mode can still use it and it returns
//   through slow start (balancer.ts setEjected).
// - Locality: the endpoint's node from its Workload; its zone when the caller knows it
//   (the Workload model has no zone yet: `locate` returns what it has).
// - The list keeps the Service's order (Maglev's turn order and the log's stay stable).
import type { Backend } from '../state/served.js';
import type { EndpointInput } from './endpoint-set.js';

export interface EndpointLocality {
  node?: string;
  zone?: string;
}

export function endpointInputs(backends: readonly Backend[], locate: (workloadUid: string) => EndpointLocality | undefined): EndpointInput[] {
  const out: EndpointInput[] = [];
  for (const b of backends) {
    if (!b.healthy) continue;
    const where = locate(b.workloadUid);
    out.push({
      endpoint: { ip: b.ip, port: b.port, mesh: b.mesh, identity: b.identity, workloadUid: b.workloadUid },
      ...(where?.node !== undefined && { node: where.node }),
      ...(where?.zone !== undefined && { zone: where.zone }),
    });
  }
  return out;
}
