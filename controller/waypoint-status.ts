// A waypoint Gateway's status, as a pure function of the Gateway, the deployer's check and
// plan, and the Deployment and Service it observes (Gateway API v1 GatewayStatus):
//
//  - Accepted: True (reason Accepted, or ListenersNotValid when listeners other than the
//    HBONE one are ignored) when the Gateway can be deployed; False with ListenersNotValid
//    (no usable HBONE listener) or InvalidParameters (a bad replicas annotation), and then
//    nothing is deployed for it.
//  - Programmed: True (Programmed) once its Deployment has a ready replica and its Service
//    an address; False with Pending (being created, or no replica ready yet),
//    AddressNotAssigned (the Service has no cluster IP), or Invalid (not accepted, or an
//    object of its name that the controller does not manage is in the way).
//  - addresses: the Service's cluster IPs, type IPAddress, as soon as it has them.
//  - listeners: one entry per listener with Accepted, Programmed and ResolvedRefs;
//    supportedKinds is empty (mesh routes attach to Services, not to the waypoint) and
//    attachedRoutes 0.
// observedGeneration is the Gateway's generation; lastTransitionTime is kept while a
// condition's status is unchanged (controller/policy-status.ts desiredConditions).
import { canonicalJson } from '../core/config/diff.js';
import { currentConditions, desiredConditions, type WrittenCondition } from './policy-status.js';
import type { Gateway, StatusCondition } from './translate/input.js';
import { WAYPOINT_KINDS, type GatewayCheck, type WaypointKind } from './waypoint-plan.js';

/** The fields of a Deployment and a Service the status reads (typed or plain objects). */
export interface ObservedDeployment {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; replicas?: number };
}
export interface ObservedService {
  spec?: { clusterIP?: string; clusterIPs?: string[] };
}

export interface ListenerStatus {
  name: string;
  supportedKinds: Array<{ group?: string; kind: string }>;
  attachedRoutes: number;
  conditions: WrittenCondition[];
}

export interface GatewayStatus {
  addresses: Array<{ type: 'IPAddress'; value: string }>;
  conditions: WrittenCondition[];
  listeners: ListenerStatus[];
}

export interface StatusInputs {
  check: GatewayCheck;
  /** Objects in the way (planWaypoint conflicts). */
  conflicts: readonly string[];
  deployment?: ObservedDeployment;
  service?: ObservedService;
  /** Managed objects not created yet (or not seen yet). */
  missing: readonly WaypointKind[];
  /** The last write for this waypoint that failed, said in Programmed while it is not True. */
  error?: string;
}

function addressesOf(svc: ObservedService | undefined): string[] {
  const spec = svc?.spec;
  if (!spec) return [];
  const ips = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

/** The Programmed condition (without timestamps). */
export function programmedCondition(i: StatusInputs): StatusCondition {
  const c = programmed(i);
  return c.status !== 'True' && i.error ? { ...c, message: `${c.message}; last attempt failed: ${i.error}` } : c;
}

function programmed(i: StatusInputs): StatusCondition {
  if (!i.check.ok) return { type: 'Programmed', status: 'False', reason: 'Invalid', message: `not deployed: the Gateway is not accepted (${i.check.message})` };
  if (i.conflicts.length > 0) return { type: 'Programmed', status: 'False', reason: 'Invalid', message: i.conflicts.join('; ') };
  if (i.missing.length > 0) return { type: 'Programmed', status: 'False', reason: 'Pending', message: `creating the waypoint's ${i.missing.join(', ')}` };
  const want = i.deployment?.spec?.replicas ?? i.check.replicas;
  const ready = i.deployment?.status?.readyReplicas ?? 0;
  if (addressesOf(i.service).length === 0) return { type: 'Programmed', status: 'False', reason: 'AddressNotAssigned', message: 'the waypoint Service has no cluster IP' };
  if (want === 0) return { type: 'Programmed', status: 'False', reason: 'Pending', message: 'scaled to 0 replicas: traffic sent to this waypoint fails until one runs' };
  if (ready < 1) return { type: 'Programmed', status: 'False', reason: 'Pending', message: `waiting for a waypoint pod to be ready (0/${want} ready)` };
  return { type: 'Programmed', status: 'True', reason: 'Programmed', message: `${ready}/${want} waypoint replicas ready` };
}

function acceptedCondition(check: GatewayCheck): StatusCondition {
  if (!check.ok) return { type: 'Accepted', status: 'False', reason: check.reason, message: check.message };
  if (check.ignoredListeners.length > 0) {
    return { type: 'Accepted', status: 'True', reason: 'ListenersNotValid', message: `serving listener ${JSON.stringify(check.listener)}; ignored: ${check.ignoredListeners.map((l) => `${l.name} (${l.message})`).join('; ')}` };
  }
  return { type: 'Accepted', status: 'True', reason: 'Accepted', message: `a waypoint for ${JSON.stringify(check.listener)} on port ${check.port}` };
}

function listenerConditions(gw: Gateway, check: GatewayCheck, programmed: StatusCondition): Array<{ name: string; conditions: StatusCondition[] }> {
  const list: unknown[] = Array.isArray(gw.spec?.listeners) ? gw.spec!.listeners! : [];
  return list.map((l, i) => {
    const rec = (l && typeof l === 'object' ? l : {}) as { name?: unknown; protocol?: unknown };
    const name = typeof rec.name === 'string' && rec.name !== '' ? rec.name : `#${i}`;
    const resolved: StatusCondition = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'no references to resolve' };
    if (check.ok && check.listener === name && !check.ignoredListeners.some((x) => x.name === name)) {
      return {
        name,
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'the waypoint terminates HBONE on this listener' },
          { ...programmed },
          resolved,
        ],
      };
    }
    const ignored = check.ignoredListeners.find((x) => x.name === name);
    const message = ignored?.message ?? (check.ok ? 'ignored' : check.message);
    const reason = rec.protocol === 'HBONE' && !check.ok ? 'PortUnavailable' : 'UnsupportedProtocol';
    return {
      name,
      conditions: [
        { type: 'Accepted', status: 'False', reason, message },
        { type: 'Programmed', status: 'False', reason: 'Invalid', message: 'not served by the waypoint' },
        resolved,
      ],
    };
  });
}

/** The status to write, given what the Gateway holds now (for lastTransitionTime) and the time. */
export function gatewayStatus(gw: Gateway, inputs: StatusInputs, now: Date): GatewayStatus {
  const generation = typeof gw.metadata?.generation === 'number' ? gw.metadata.generation : 0;
  const current = (gw as { status?: { conditions?: unknown; listeners?: unknown } }).status;
  const programmed = programmedCondition(inputs);
  const conditions = desiredConditions(
    { namespace: gw.metadata?.namespace ?? '', name: gw.metadata?.name ?? '', generation, conditions: [acceptedCondition(inputs.check), programmed] },
    currentConditions(gw as never),
    now,
  );
  const currentListeners: unknown[] = Array.isArray(current?.listeners) ? current!.listeners : [];
  const listeners = listenerConditions(gw, inputs.check, programmed).map((l) => {
    const prev = currentListeners.find((c) => (c as { name?: unknown })?.name === l.name) as { conditions?: unknown } | undefined;
    return {
      name: l.name,
      supportedKinds: [],
      attachedRoutes: 0,
      conditions: desiredConditions({ namespace: '', name: '', generation, conditions: l.conditions }, currentConditions({ status: prev } as never), now),
    };
  });
  const addresses = inputs.check.ok && inputs.conflicts.length === 0 ? addressesOf(inputs.service).map((value) => ({ type: 'IPAddress' as const, value })) : [];
  return { addresses, conditions, listeners };
}

/** Whether the Gateway's status differs from `desired` (key order and absent-vs-empty aside). */
export function statusDiffers(gw: Gateway, desired: GatewayStatus): boolean {
  const s = ((gw as { status?: Record<string, unknown> }).status ?? {}) as Record<string, unknown>;
  const norm = (v: unknown) => canonicalJson(JSON.parse(JSON.stringify(v ?? [])));
  return norm(s['addresses']) !== norm(desired.addresses) || norm(s['conditions']) !== norm(desired.conditions) || norm(s['listeners']) !== norm(desired.listeners);
}

/** What of the three objects is not there yet. */
export function missingKinds(existing: Partial<Record<WaypointKind, unknown>>): WaypointKind[] {
  return WAYPOINT_KINDS.filter((k) => !existing[k]);
}
