// Reads what /debug/endpoints shows from a live waypoint: the targets (the Service ports it
// serves, the backends its routes name, and every Service port it has balanced), their
// ready endpoints, TrafficPolicies, the balancers' views (EndpointPicker.cache) and
// outlier detection's state (OutlierRegistry.peek), and hands them to the pure builder
// (endpoint-state.ts). Read-only: it neither creates a balancer or a detector nor tells
// either anything (OutlierRegistry.view would start tracking endpoints; peek does not).
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { Balancer } from '../balance/balancer.js';
import type { EndpointPicker } from '../balance/picker.js';
import { BALANCE_LIMITS } from '../balance/limits.js';
import type { Locality } from '../balance/locality.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { WaypointSnapshot } from '../state/store.js';
import { serviceBackends } from '../state/served.js';
import { buildEndpointState, type EndpointStateDocument, type EndpointStateLimits, type EndpointTargetInput, type EndpointWorkload } from './endpoint-state.js';

export interface EndpointStateSources {
  picker: EndpointPicker;
  /** The Service ports to show even before a request was balanced to them. */
  targets: () => Iterable<{ service: string; port: number; name?: string; namespace?: string }>;
  /** The ready endpoints of a port, as the picker is given them. */
  endpoints: (service: string, port: number) => readonly UpstreamEndpoint[];
  /** Endpoints of a port Kubernetes reports not ready. */
  unready?: (service: string, port: number) => number;
  policyFor?: (service: string, port: number) => TrafficPolicy | undefined;
  workload?: (uid: string) => EndpointWorkload | undefined;
  local: Locality;
  waypoint?: string;
  /** The picker's clock (performance.now in the waypoint). */
  now?: () => number;
  limits?: Partial<EndpointStateLimits>;
}

export function collectEndpointState(s: EndpointStateSources): EndpointStateDocument {
  const byKey = new Map<string, { service: string; port: number; name?: string; namespace?: string }>();
  for (const t of s.targets()) if (!byKey.has(`${t.service}:${t.port}`)) byKey.set(`${t.service}:${t.port}`, t);
  const balancers = new Map<string, Balancer>();
  for (const b of s.picker.cache.entries()) {
    const k = `${b.service}:${b.port}`;
    balancers.set(k, b.balancer);
    if (!byKey.has(k)) byKey.set(k, { service: b.service, port: b.port });
  }
  const outliers = s.picker.outliers;
  const targets: EndpointTargetInput[] = [];
  for (const [k, t] of byKey) {
    const policy = s.policyFor?.(t.service, t.port);
    const b = balancers.get(k);
    const o = outliers?.peek(t.service, t.port);
    const unready = s.unready?.(t.service, t.port);
    targets.push({
      ...t,
      endpoints: s.endpoints(t.service, t.port),
      ...(unready !== undefined && { unready }),
      ...(s.workload && { workload: s.workload }),
      ...(policy && { policy }),
      ...(b && { balancer: b.view() }),
      ...(o && { outliers: o }),
    });
  }
  return buildEndpointState({
    ...(s.waypoint !== undefined && { waypoint: s.waypoint }),
    local: s.local,
    now: (s.now ?? (() => performance.now()))(),
    generatedAt: new Date().toISOString(),
    targets,
    slowStartMinPercent: BALANCE_LIMITS.slowStartMinWeightPercent,
    ...(s.limits && { limits: s.limits }),
  });
}

/** The targets of a waypoint's config: every TCP port of each Service bound to it, and the
 * backend Service ports (and mirror targets) of the routes attached to those Services. */
export function configuredTargets(snapshot: WaypointSnapshot, self: string): Array<{ service: string; port: number; name?: string; namespace?: string }> {
  const out: Array<{ service: string; port: number; name?: string; namespace?: string }> = [];
  const named = (key: string, port: number) => {
    const sv = snapshot.mesh.serviceByKey(key);
    out.push({ service: key, port, ...(sv && { name: sv.name, namespace: sv.namespace }) });
  };
  for (const sv of snapshot.mesh.services()) {
    if (sv.waypoint?.service !== self) continue;
    for (const p of sv.ports) if (p.protocol === 'TCP') named(sv.key, p.port);
    for (const r of snapshot.routesFor(sv.key)) {
      for (const rule of r.rules) {
        for (const b of rule.backends) if (b.service !== undefined) named(b.service, b.port);
        for (const f of rule.filters) if (f.type === 'RequestMirror' && f.mirror.service !== undefined) named(f.mirror.service, f.mirror.port);
      }
    }
  }
  return out;
}

/** The sources of a waypoint started whole (start.ts), from its config snapshot. */
export function snapshotSources(snapshot: () => WaypointSnapshot, self: string, readyEndpoints: (service: string, port: number) => readonly UpstreamEndpoint[]): Pick<EndpointStateSources, 'targets' | 'endpoints' | 'unready' | 'workload' | 'policyFor'> {
  return {
    targets: () => configuredTargets(snapshot(), self),
    endpoints: readyEndpoints,
    unready: (service, port) => serviceBackends(snapshot(), service, port).filter((b) => !b.healthy).length,
    workload: (uid) => {
      const w = snapshot().mesh.workloadByUid(uid);
      return w ? { name: w.name, namespace: w.namespace, ...(w.node && { node: w.node }) } : undefined;
    },
    policyFor: (service, port) => snapshot().trafficPolicyFor(service, port),
  };
}
