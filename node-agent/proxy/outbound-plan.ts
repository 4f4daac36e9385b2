// Outbound: what the node agent does with a connection that an enrolled pod's iptables
// redirected to 15001 (DESIGN.md section 2, step 3). A pure function of the config
// snapshot, the source workload and the original destination; the executor then carries
// the plan out on sockets and records the outcome once (section 7, "Decide, then act").
//
// The rules, in the order they apply (ztunnel src/proxy/outbound.rs `build_request`):
//
//  1. The source must be a pod on this agent's node: the agent may only present
//     identities of its own node's pods (DESIGN.md section 3, "Identity").
//  2. Loop protection: the agent's own ports (15001, 15006, 15008, 15053) on loopback, on
//     the source's own addresses, or on any enrolled pod are refused. Those ports are
//     served by an agent, not by an app; letting a connection reach them would nest
//     tunnels or loop through the agent. ztunnel refuses them on loopback outbound and,
//     after resolution, on the receiving side; refusing at the source as well gives the
//     app an immediate, clearly logged refusal instead of a 400 from a remote agent.
//  3. A Service VIP (looked up before workload IPs, as ztunnel's `find_upstream` does):
//     a. the Service has a waypoint -> HBONE to a waypoint pod with the original VIP:port
//        as the CONNECT target; the waypoint applies L7 policy and picks the endpoint.
//        This holds whatever the port and even with no healthy endpoint: the waypoint
//        owns that decision (and answers 503 itself), as in ztunnel;
//     b. the port is not one of the Service's TCP ports -> refused;
//     c. pick among healthy endpoints whose target port is known (the Service's numeric
//        targetPort, or a named one resolved per endpoint: `endpointTargetPort`). None ->
//        refused, as kube-proxy REJECTs a Service without ready endpoints: the app sees
//        "connection refused" at once rather than a hang. Unhealthy endpoints are never
//        used as a fallback;
//     d. the endpoint is enrolled -> HBONE to endpointIP:15008, CONNECT endpointIP:targetPort,
//        expecting the endpoint's identity; not enrolled -> plain TCP to endpointIP:targetPort.
//     Service-addressed traffic ignores the chosen endpoint's own workload waypoint: the
//     Service's waypoint (or its absence) decides, as in ztunnel.
//  4. A known workload IP: its waypoint, if it has one and the source is not that waypoint
//     -> HBONE to the waypoint with the pod IP:port as target; else enrolled -> HBONE to
//     podIP:15008, CONNECT podIP:port; not enrolled -> plain TCP.
//  5. Anything else (outside the mesh, the internet) -> plain TCP to the original
//     destination.
//
// Waypoint resolution. WaypointRef names the waypoint's Service; we pick one of that
// Service's healthy endpoints (round-robin like any Service) and open HBONE straight to
// that pod, not to the waypoint's VIP. This is what ztunnel does (`fetch_waypoint` ->
// `find_upstream_from_service` in Waypoint resolution mode), and for good reasons: the
// agent's own sockets bypass capture and need not rely on kube-proxy for the VIP; the
// expected peer identity is exactly the chosen pod's (the Service's pods could in
// principle run under different service accounts); and a waypoint with no healthy pod is
// known at once. The peer port is the waypoint Service's target port for WaypointRef.port
// when the Service lists that port, else WaypointRef.port itself (15008). (The model's
// comment on WaypointRef says "resolved to its VIPs"; we resolve to its endpoints.) A
// waypoint that cannot be resolved refuses the connection: bypassing it would skip the L7
// policy the operator asked for (fail closed; ztunnel's `UnknownWaypoint` error).

import { endpointTargetPort, type Endpoint, type MeshService, type ServicePort, type WaypointRef, type Workload } from '../../core/config/model.js';
import { roundRobin, type Picker, type RoundRobinCounters } from './balancer.js';
import { canonicalIp, formatAddress, ipFamily, isLoopback } from '../../core/ip.js';
import { AGENT_PORTS, isAgentPort } from './ports.js';
import { findTcpPort, ownsIp, type ProxyState } from '../state/snapshot.js';

export interface Address {
  ip: string;
  port: number;
}

/** One endpoint a connection could go to: the workload, the address to reach it at. */
export interface EndpointCandidate {
  readonly workload: Workload;
  readonly endpoint: Endpoint;
  readonly ip: string;
  /** The target port on this endpoint (for a waypoint: its HBONE port). */
  readonly port: number;
}

/** How to choose among candidates: inject a Picker, or hand over the agent's round-robin
 * counters. One of the two is required, so that forgetting the counters cannot silently
 * send every connection to the first endpoint. */
export type OutboundOptions =
  | { pick: Picker<EndpointCandidate>; counters?: undefined }
  | { counters: RoundRobinCounters; pick?: undefined };

/** What every plan carries for metrics and the access log (reporter=source). */
export interface OutboundContext {
  reporter: 'source';
  sourceWorkload: string;
  /** The identity the tunnel presents: the source pod's, never the agent's. */
  sourceIdentity: string;
  /** The address the app connected to (SO_ORIGINAL_DST), canonical form. */
  originalDst: Address;
  /** The Service the app addressed (by VIP), when it did. */
  service?: string;
  serviceHostname?: string;
  /** The workload at the far end of this hop: the chosen endpoint, the addressed pod, or
   * the waypoint pod when going through one (ztunnel's `actual_destination_workload`,
   * which is what Istio reports as destination_workload on the source side). */
  destinationWorkload?: string;
}

export interface HbonePlan extends OutboundContext {
  kind: 'hbone';
  via: 'endpoint' | 'waypoint';
  /** Where to open the mTLS connection: the destination's or the waypoint's HBONE port. */
  peer: Address;
  /** The CONNECT :authority: endpointIP:targetPort, or, via a waypoint, the original
   * destination (VIP:port or podIP:port) so the waypoint can route it. */
  target: Address;
  /** The SPIFFE identity the peer's certificate must carry. */
  expectedIdentity: string;
  /** Set when via is 'waypoint': the waypoint's Service key and the chosen waypoint pod. */
  waypoint?: { service: string; workload: string };
}

export type PassthroughReason =
  /** The destination is a known workload (or a Service endpoint) that is not enrolled. */
  | 'not-enrolled'
  /** The destination is neither a Service VIP nor a workload the mesh knows. */
  | 'unknown-destination';

export interface PassthroughPlan extends OutboundContext {
  kind: 'passthrough';
  /** Plain TCP to here (the chosen endpoint for a VIP, else the original destination). */
  target: Address;
  reason: PassthroughReason;
}

export type OutboundRejectReason =
  | 'source-not-local'
  | 'agent-port'
  | 'unknown-service-port'
  | 'no-healthy-endpoints'
  | 'waypoint-unavailable';

export interface RejectPlan extends OutboundContext {
  kind: 'reject';
  reason: OutboundRejectReason;
  /** For the log line: says what was wrong and the likely cause. */
  message: string;
}

export type OutboundPlan = HbonePlan | PassthroughPlan | RejectPlan;

export function planOutbound(state: ProxyState, source: Workload, dst: Address, opts: OutboundOptions): OutboundPlan {
  const pick: Picker<EndpointCandidate> = opts.pick ?? roundRobin<EndpointCandidate>(opts.counters);
  const original: Address = { ip: canonicalIp(dst.ip), port: dst.port };
  const ctx: OutboundContext = {
    reporter: 'source',
    sourceWorkload: source.uid,
    sourceIdentity: source.identity,
    originalDst: original,
  };
  const reject = (reason: OutboundRejectReason, message: string, extra: Partial<OutboundContext> = {}): RejectPlan => ({
    ...ctx,
    ...extra,
    kind: 'reject',
    reason,
    message,
  });

  if (state.localNode !== undefined && source.node !== state.localNode) {
    return reject(
      'source-not-local',
      `source workload ${source.uid} runs on node ${source.node}, not on this agent's node ${state.localNode}; the agent proxies only for its own node's pods`,
    );
  }

  const addressed = state.workloadByIp(original.ip);
  if (
    isAgentPort(original.port) &&
    (isLoopback(original.ip) || ownsIp(source, original.ip) || addressed?.protocol === 'HBONE')
  ) {
    return reject('agent-port', agentPortMessage(original));
  }

  // 3. Service VIP.
  const vip = state.serviceByVip(original.ip, original.port, source.namespace);
  if (vip !== undefined) {
    const { service, servicePort } = vip;
    const svcCtx = { service: service.key, serviceHostname: service.hostname };
    if (service.waypoint !== undefined && !isWaypointWorkload(state, service.waypoint, source)) {
      return viaWaypoint(state, service.waypoint, `service ${service.key}`, ctx, svcCtx, original, pick);
    }
    if (servicePort === undefined) {
      return reject(
        'unknown-service-port',
        `service ${service.key} has no TCP port ${original.port} (ports: ${service.ports.map((p) => `${p.port}/${p.protocol}`).join(', ') || 'none'})`,
        svcCtx,
      );
    }
    const candidates = serviceCandidates(state, service, servicePort, ipFamily(original.ip));
    if (candidates.length === 0) {
      const ready = service.endpoints.filter((e) => e.healthy).length;
      return reject(
        'no-healthy-endpoints',
        `service ${service.key} port ${original.port} has no healthy endpoint (${service.endpoints.length} endpoints, ${ready} ready); ` +
          'the connection is refused, as kube-proxy does; are its pods Ready and does a named targetPort exist on them?',
        svcCtx,
      );
    }
    const chosen = candidates[checkedPick(pick, candidates, service.key)]!;
    const to: Address = { ip: chosen.ip, port: chosen.port };
    const hopCtx = { ...svcCtx, destinationWorkload: chosen.workload.uid };
    if (chosen.workload.protocol !== 'HBONE') {
      return { ...ctx, ...hopCtx, kind: 'passthrough', target: to, reason: 'not-enrolled' };
    }
    if (isAgentPort(to.port)) return reject('agent-port', agentPortMessage(to), hopCtx);
    return direct(ctx, hopCtx, chosen.workload, to);
  }

  // 4. A workload addressed by its own IP.
  if (addressed !== undefined) {
    if (addressed.waypoint !== undefined && !isWaypointWorkload(state, addressed.waypoint, source)) {
      return viaWaypoint(state, addressed.waypoint, `workload ${addressed.uid}`, ctx, {}, original, pick);
    }
    const hopCtx = { destinationWorkload: addressed.uid };
    if (addressed.protocol !== 'HBONE') {
      return { ...ctx, ...hopCtx, kind: 'passthrough', target: original, reason: 'not-enrolled' };
    }
    return direct(ctx, hopCtx, addressed, original);
  }

  // 5. Outside the mesh.
  return { ...ctx, kind: 'passthrough', target: original, reason: 'unknown-destination' };
}

/** The endpoints of `service` that can take a connection on `servicePort`: healthy, known
 * to the agent, with an address, and with a target port (a named targetPort resolves per
 * endpoint; an endpoint whose pod does not declare that name is skipped, as Kubernetes'
 * FindPort and ztunnel do). The address is one of the same family as the original destination when the
 * workload has one (dual-stack pods). */
export function serviceCandidates(
  state: ProxyState,
  service: MeshService,
  servicePort: ServicePort,
  family: 4 | 6 | undefined,
): EndpointCandidate[] {
  return healthyEndpoints(state, service, family, (endpoint) => endpointTargetPort(servicePort, endpoint));
}

/** The waypoint pods a connection could go to, with their HBONE port (see the header). */
export function waypointCandidates(state: ProxyState, ref: WaypointRef, family: 4 | 6 | undefined): EndpointCandidate[] {
  const service = state.serviceByKey(ref.service);
  if (service === undefined) return [];
  const sp = findTcpPort(service, ref.port);
  // The waypoint Service's own mapping of the HBONE port when it lists it; else the
  // port itself (ztunnel's Waypoint resolution mode does not require the Service port).
  return healthyEndpoints(state, service, family, (endpoint) => (sp === undefined ? ref.port : endpointTargetPort(sp, endpoint)));
}

/** Healthy endpoints with a known workload, an address of `family` and a port from `portOf`. */
function healthyEndpoints(
  state: ProxyState,
  service: MeshService,
  family: 4 | 6 | undefined,
  portOf: (endpoint: MeshService['endpoints'][number]) => number | undefined,
): EndpointCandidate[] {
  const out: EndpointCandidate[] = [];
  for (const endpoint of service.endpoints) {
    if (!endpoint.healthy) continue;
    const workload = state.workloadByUid(endpoint.workloadUid);
    if (workload === undefined) continue;
    const ip = pickIp(workload, family);
    if (ip === undefined) continue;
    const port = portOf(endpoint);
    if (port === undefined || port <= 0) continue;
    out.push({ workload, endpoint, ip, port });
  }
  return out;
}

function viaWaypoint(
  state: ProxyState,
  ref: WaypointRef,
  what: string,
  ctx: OutboundContext,
  extra: Partial<OutboundContext>,
  original: Address,
  pick: Picker<EndpointCandidate>,
): HbonePlan | RejectPlan {
  const candidates = waypointCandidates(state, ref, ipFamily(original.ip));
  if (candidates.length === 0) {
    const why =
      state.serviceByKey(ref.service) === undefined
        ? `its Service ${ref.service} is unknown to this agent`
        : `its Service ${ref.service} has no healthy endpoint`;
    return {
      ...ctx,
      ...extra,
      kind: 'reject',
      reason: 'waypoint-unavailable',
      message: `${what} uses waypoint ${ref.service}, but ${why}; refusing rather than bypassing the waypoint's policy (is the waypoint Deployment running?)`,
    };
  }
  const chosen = candidates[checkedPick(pick, candidates, ref.service)]!;
  return {
    ...ctx,
    ...extra,
    destinationWorkload: chosen.workload.uid,
    kind: 'hbone',
    via: 'waypoint',
    peer: { ip: chosen.ip, port: chosen.port },
    target: original,
    expectedIdentity: chosen.workload.identity,
    waypoint: { service: ref.service, workload: chosen.workload.uid },
  };
}

function direct(ctx: OutboundContext, extra: Partial<OutboundContext>, workload: Workload, target: Address): HbonePlan {
  return {
    ...ctx,
    ...extra,
    kind: 'hbone',
    via: 'endpoint',
    peer: { ip: target.ip, port: AGENT_PORTS.hbone },
    target,
    expectedIdentity: workload.identity,
  };
}

/** Whether `source` is one of the pods behind the waypoint `ref`: a waypoint sending on
 * to its own destination must not be sent back to itself (ztunnel's `check_from_waypoint`). */
function isWaypointWorkload(state: ProxyState, ref: WaypointRef, source: Workload): boolean {
  const service = state.serviceByKey(ref.service);
  return service !== undefined && service.endpoints.some((e) => e.workloadUid === source.uid);
}

function pickIp(workload: Workload, family: 4 | 6 | undefined): string | undefined {
  const ips = workload.ips.map(canonicalIp);
  return ips.find((ip) => ipFamily(ip) === family) ?? ips[0];
}

function checkedPick(pick: Picker<EndpointCandidate>, candidates: readonly EndpointCandidate[], key: string): number {
  const i = pick(candidates, key);
  if (!Number.isInteger(i) || i < 0 || i >= candidates.length) {
    // A bug in the injected balancer, not a property of the traffic: fail loudly.
    throw new RangeError(`load balancer returned index ${i} for ${candidates.length} candidates of ${key}`);
  }
  return i;
}

function agentPortMessage(to: Address): string {
  const name = Object.entries(AGENT_PORTS).find(([, p]) => p === to.port)?.[0] ?? 'agent';
  return `${formatAddress(to)} is the node agent's own ${name} port (${to.port}); refusing a connection that would loop through the agent`;
}
