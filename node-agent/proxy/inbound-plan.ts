// Inbound: what the node agent does with a connection arriving for one of its pods, either
// as an HBONE CONNECT on the pod's 15008 (peer identity from the mTLS certificate) or as
// plaintext captured on the pod's 15006 (DESIGN.md section 2, step 5). Pure; L4
// authorization (core policy engine) runs after an 'accept', on the same inputs.
//
// Rules, in order (ztunnel src/proxy/inbound.rs `build_inbound_request`):
//  1. The pod must still be in config (a pod being deleted, or config not yet received),
//     or be a pod the CNI hand-off announced whose provisional Workload the agent derived
//     (by the controller's rules, until the config speaks of it): else 503, as ztunnel
//     answers when it cannot load the local workload.
//  2. The target must be one of the pod's own IPs: else 400. An agent that forwarded
//     elsewhere would be an open relay with the pod's network position. ztunnel makes one
//     exception (`validate_destination`): a pod that is itself the target's waypoint may
//     receive a CONNECT for the target's address ("waypoint sandwich"). Our waypoints
//     terminate HBONE themselves and are not enrolled, so the exception does not arise.
//  3. The target port must not be an agent port (15001/15006/15008/15053): else 400. ztunnel
//     answers 503 here (its `SelfCall` comes out of the upstream lookup); we answer 400
//     because the request can never succeed, and 503 invites a retry.
//  4. Plaintext (no peer identity) is refused with 401 when the target port's
//     PeerAuthentication mode is STRICT and accepted when PERMISSIVE (Istio's
//     PeerAuthentication semantics; the port's mode is its portLevelMtls entry, resolved in
//     Workload.mtlsPorts, else the workload's mtlsMode).
//  5. Otherwise accept: upstream = the target, on the pod's own address.
//
// Waypoints. When the pod has a waypoint, the caller may still reach it directly (by pod
// IP, or from a client outside the mesh through 15006). Istio's ztunnel does not refuse
// such traffic: it only uses `check_from_waypoint` to avoid sending a waypoint's traffic
// back to the same waypoint, and Istio's documentation tells operators who need the
// waypoint to be unavoidable to write an L4 AuthorizationPolicy on the workload that
// ALLOWs only the waypoint's principal. We do the same for now, and flag such a
// connection (`bypassedWaypoint: true`) so that logs and metrics show it. A connection
// counts as from the waypoint when the peer identity is that of a pod behind the
// workload's waypoint or behind the waypoint of a Service the workload backs (a
// waypoint forwarding Service traffic), and, when the caller gives the peer's IP, that
// IP is one of that pod's (ztunnel checks both, identity alone being shared by replicas
// and any pod of the same service account).

import type { WaypointRef, Workload } from '../../core/config/model.js';
import { canonicalIp, formatAddress } from '../../core/ip.js';
import type { Address } from './outbound-plan.js';
import { AGENT_PORTS, isAgentPort } from './ports.js';
import { ownsIp, type ProxyState } from '../state/snapshot.js';

export interface InboundRequest {
  /** The pod whose 15008 or 15006 listener took the connection. */
  localWorkload: Workload;
  /** The pod's provisional Workload while the config does not have it yet: a pod the CNI
   * hand-off announced, derived by the controller's own rules (core/config/
   * workload-of-pod.ts), STRICT when its PeerAuthentications are unknown. */
  provisional?: Workload;
  /** The peer certificate's SPIFFE identity; undefined for plaintext on 15006. */
  peerIdentity?: string;
  /** The peer's address, when known; tightens the from-waypoint check. */
  peerIp?: string;
  /** The HBONE :authority, or the original destination of a plaintext connection. */
  target: Address;
  /** Set by a caller that has already decided whether the peer is the pod's waypoint;
   * when undefined the planner decides from peerIdentity (and peerIp). */
  fromWaypoint?: boolean;
}

export interface InboundAccept {
  kind: 'accept';
  /** Where to connect: the target, on the pod's own address. */
  upstream: Address;
  reporter: 'destination';
  localWorkload: string;
  peerIdentity?: string;
  /** true when the connection came over HBONE (mutual TLS). */
  mtls: boolean;
  fromWaypoint: boolean;
  /** The pod has a waypoint and this connection did not come through it. */
  bypassedWaypoint: boolean;
  /** The pod's own waypoint (Service key), when it has one. */
  waypoint?: string;
  /** Services the pod backs, for the destination_service label. */
  services: string[];
}

export type InboundRejectReason = 'workload-unknown' | 'target-not-local' | 'agent-port' | 'plaintext-strict';

export interface InboundReject {
  kind: 'reject';
  /** The HBONE response status (DESIGN.md section 3); a plaintext connection is closed. */
  status: 400 | 401 | 503;
  reason: InboundRejectReason;
  message: string;
}

export type InboundPlan = InboundAccept | InboundReject;

export function planInbound(state: ProxyState, req: InboundRequest): InboundPlan {
  // The snapshot's copy is the newest word on mtlsMode and waypoint; until the config has
  // the pod, the provisional Workload the agent derived by the same rules.
  const local = state.workloadByUid(req.localWorkload.uid) ?? (req.provisional?.uid === req.localWorkload.uid ? req.provisional : undefined);
  if (local === undefined) {
    return reject(
      503,
      'workload-unknown',
      `workload ${req.localWorkload.uid} is not in this agent's config (being deleted, or config not yet received)`,
    );
  }
  const target: Address = { ip: canonicalIp(req.target.ip), port: req.target.port };
  if (!ownsIp(local, target.ip)) {
    return reject(
      400,
      'target-not-local',
      `target ${formatAddress(target)} is not an address of workload ${local.uid} (${local.ips.join(', ') || 'no IPs'}); the agent does not relay to other hosts`,
    );
  }
  if (isAgentPort(target.port)) {
    const name = Object.entries(AGENT_PORTS).find(([, p]) => p === target.port)?.[0] ?? 'agent';
    return reject(400, 'agent-port', `target port ${target.port} is the node agent's own ${name} port; refusing a loop through the agent`);
  }
  const mtls = req.peerIdentity !== undefined;
  // The target port's own mode (PeerAuthentication portLevelMtls), else the workload's.
  const portMode = local.mtlsPorts?.[String(target.port)];
  if (!mtls && (portMode ?? local.mtlsMode) === 'STRICT') {
    return reject(
      401,
      'plaintext-strict',
      `plaintext connection to ${formatAddress(target)} refused: workload ${local.namespace}/${local.name} requires mutual TLS ${portMode ? `on port ${target.port} (PeerAuthentication portLevelMtls STRICT)` : '(PeerAuthentication mode STRICT)'}; is the client outside the mesh?`,
    );
  }

  const services = state.servicesForWorkload(local.uid);
  const waypoints: WaypointRef[] = [];
  if (local.waypoint !== undefined) waypoints.push(local.waypoint);
  for (const s of services) if (s.waypoint !== undefined) waypoints.push(s.waypoint);
  const fromWaypoint = req.fromWaypoint ?? (mtls && waypoints.some((w) => isFromWaypoint(state, w, req.peerIdentity!, req.peerIp)));

  const plan: InboundAccept = {
    kind: 'accept',
    upstream: target,
    reporter: 'destination',
    localWorkload: local.uid,
    mtls,
    fromWaypoint,
    bypassedWaypoint: local.waypoint !== undefined && !fromWaypoint,
    services: services.map((s) => s.key),
  };
  if (req.peerIdentity !== undefined) plan.peerIdentity = req.peerIdentity;
  if (local.waypoint !== undefined) plan.waypoint = local.waypoint.service;
  return plan;
}

/** Whether a peer with this identity (and IP, when given) is one of the waypoint's pods. */
export function isFromWaypoint(state: ProxyState, ref: WaypointRef, peerIdentity: string, peerIp?: string): boolean {
  const service = state.serviceByKey(ref.service);
  if (service === undefined) return false;
  return service.endpoints.some((e) => {
    const w = state.workloadByUid(e.workloadUid);
    return w !== undefined && w.identity === peerIdentity && (peerIp === undefined || ownsIp(w, peerIp));
  });
}

function reject(status: 400 | 401 | 503, reason: InboundRejectReason, message: string): InboundReject {
  return { kind: 'reject', status, reason, message };
}
