// AuthorizationPolicy -> Policy resources (core/policy/compile.ts), and the status each
// policy gets. A policy that does not compile is left out alone: a Problem and
// `Accepted=False` with the compiler's message (which names the field and the value);
// every other policy keeps working.
//
// Status conditions (written to the object by controller/policy-status.ts):
//
//   Accepted  True   Accepted             compiled; the message carries the compiler's warnings
//             False  Invalid              a field is wrong (type, value, combination)
//             False  Unsupported          valid for Istio but not supported here (CUSTOM, a targetRefs kind)
//   Enforced  (only when Accepted=True) where the policy is enforced and what is changed there:
//             True   Enforced             every rule enforced as written by the node agents of the
//                                         selected workloads
//             False  PartiallyEnforced    a rule holds L7 fields: at the node agent an ALLOW/AUDIT rule
//                                         is dropped (matches nothing), a DENY rule is enforced without
//                                         them (denies every connection its other fields match, e.g. the
//                                         whole port: fail closed)
//             False  DryRun               annotation ambient.dev/dry-run: "true": evaluated and recorded,
//                                         never enforced (the message says where it is evaluated)
//             False  WaypointRequired     targetRefs: a target has no waypoint (or does not exist), so the
//                                         policy is enforced NOWHERE for it: node agents never evaluate
//                                         targetRefs policies (as in Istio ambient)
//             False  WaypointNotImplemented  (retired: waypoints enforce authorization, waypoint/http/authz.ts;
//                                         kept while WAYPOINTS_ENFORCE_AUTHORIZATION could be false)
//   A targetRefs policy whose every target has a waypoint is Enforced=True (or DryRun), the
//   message naming each target's waypoint.
//
// The reasons are CamelCase (metav1.Condition); the precedence when several apply is
// WaypointRequired, WaypointNotImplemented, DryRun, PartiallyEnforced.
import type { MeshService, Policy, Resource } from '../../core/config/model.js';
import { compileAuthorizationPolicy } from '../../core/policy/compile.js';
import { enforcementMessage, type Enforcement } from '../../core/policy/enforcement.js';
import type { AuthorizationPolicy, PolicyStatus, StatusCondition } from './input.js';
import { compareStrings, objectKey, type Problems } from './objects.js';
import { USE_WAYPOINT_LABEL, WAYPOINT_GATEWAY_CLASS } from './objects.js';
import type { WaypointIndex } from './waypoints.js';

export const ACCEPTED_CONDITION = 'Accepted';
export const ENFORCED_CONDITION = 'Enforced';

export const POLICY_REASONS = Object.freeze({
  accepted: 'Accepted',
  invalid: 'Invalid',
  unsupported: 'Unsupported',
  enforced: 'Enforced',
  partiallyEnforced: 'PartiallyEnforced',
  dryRun: 'DryRun',
  waypointRequired: 'WaypointRequired',
  waypointNotImplemented: 'WaypointNotImplemented',
});

/** Whether waypoints enforce authorization policies: they do (waypoint/http/authz.ts, the
 * policies whose targetRefs name the waypoint's Gateway or the destination Service). */
export const WAYPOINTS_ENFORCE_AUTHORIZATION: boolean = true;

export interface AuthorizationContext {
  rootNamespace: string;
  /** The Service resources emitted in this translation, by `<namespace>/<name>`. */
  services: ReadonlyMap<string, MeshService>;
  waypoints: WaypointIndex;
  problems: Problems;
  /** Validates and emits one resource; false when it was refused (already reported). */
  emit: (kind: string, key: string, r: Resource) => boolean;
}

function generationOf(ap: AuthorizationPolicy): number {
  const g: unknown = ap?.metadata?.generation;
  return typeof g === 'number' && Number.isInteger(g) && g >= 0 ? g : 0;
}

/** Where a targetRefs policy's target stands: the waypoint enforcing it, or why there is none. */
function targetStanding(ctx: AuthorizationContext, namespace: string, t: { kind: 'Service' | 'Gateway'; name: string }): { waypoint?: string; problem?: string } {
  if (t.kind === 'Service') {
    const svc = ctx.services.get(`${namespace}/${t.name}`);
    if (!svc) return { problem: `Service ${namespace}/${t.name} does not exist (or is not in the mesh)` };
    if (!svc.waypoint) return { problem: `Service ${namespace}/${t.name} has no waypoint (label it ${USE_WAYPOINT_LABEL}=<gateway>)` };
    return { waypoint: svc.waypoint.service.split('/')[1]?.split('.')[0] ?? svc.waypoint.service };
  }
  const w = ctx.waypoints.byKey.get(`${namespace}/${t.name}`);
  if (!w) return { problem: `Gateway ${namespace}/${t.name} is not a waypoint (no Gateway of class ${WAYPOINT_GATEWAY_CLASS} with that name)` };
  if (!w.ref) return { problem: `Gateway ${namespace}/${t.name} is not usable as a waypoint (${w.unusable})` };
  return { waypoint: t.name };
}

function enforcedCondition(ctx: AuthorizationContext, namespace: string, e: Enforcement): StatusCondition {
  const base = enforcementMessage(e);
  if (e.at === 'waypoint') {
    const standings = (e.targets ?? []).map((t) => ({ t, ...targetStanding(ctx, namespace, t) }));
    const missing = standings.filter((s) => s.problem);
    if (missing.length > 0) {
      return {
        type: ENFORCED_CONDITION,
        status: 'False',
        reason: POLICY_REASONS.waypointRequired,
        message: `NOT ENFORCED for ${missing.map((s) => `${s.t.kind} ${s.t.name}`).join(', ')}: ${missing.map((s) => s.problem).join('; ')}. A targetRefs policy is enforced only by a waypoint; node agents never evaluate it. ${base}`,
      };
    }
    const by = standings.map((s) => `${s.t.kind} ${s.t.name} by waypoint ${namespace}/${s.waypoint}`).join(', ');
    if (!WAYPOINTS_ENFORCE_AUTHORIZATION) {
      return {
        type: ENFORCED_CONDITION,
        status: 'False',
        reason: POLICY_REASONS.waypointNotImplemented,
        message: `NOT ENFORCED: waypoints do not enforce authorization policies yet (targets: ${by}); node agents never evaluate a targetRefs policy. ${base}`,
      };
    }
    if (e.dryRun) return { type: ENFORCED_CONDITION, status: 'False', reason: POLICY_REASONS.dryRun, message: `${base} Targets: ${by}.` };
    return { type: ENFORCED_CONDITION, status: 'True', reason: POLICY_REASONS.enforced, message: `${base} Targets: ${by}.` };
  }
  if (e.dryRun) return { type: ENFORCED_CONDITION, status: 'False', reason: POLICY_REASONS.dryRun, message: base };
  if (!e.complete) return { type: ENFORCED_CONDITION, status: 'False', reason: POLICY_REASONS.partiallyEnforced, message: base };
  return { type: ENFORCED_CONDITION, status: 'True', reason: POLICY_REASONS.enforced, message: base };
}

/** What a refused policy's fail-closed stand-in does, for its status. */
function standInEffect(p: Policy): string {
  const who = p.scope === 'targets' ? 'at the waypoints of its targets' : p.selector ? 'to the workloads it selects' : p.scope === 'global' ? 'to every workload of the mesh' : `to every workload of namespace ${p.namespace}`;
  const what = p.action === 'DENY' ? `every connection ${who} is denied` : `it allows nothing ${who} (only other ALLOW policies allow)`;
  return p.dryRun ? `${what}, in dry run (recorded, not enforced)` : what;
}

/**
 * Compiles every AuthorizationPolicy, emits the Policy resources through ctx.emit, reports
 * each refused policy (and each one enforced nowhere) as a Problem, and returns the status
 * of every policy whose namespace and name could be read.
 */
export function translateAuthorizationPolicies(policies: readonly AuthorizationPolicy[], ctx: AuthorizationContext): PolicyStatus[] {
  const statuses = new Map<string, PolicyStatus>();
  for (const ap of policies) {
    const key = objectKey(ap?.metadata);
    const name = ap?.metadata?.name;
    const namespace = ap?.metadata?.namespace;
    const addressable = typeof name === 'string' && name !== '' && typeof namespace === 'string' && namespace !== '';
    if (addressable && statuses.has(key)) {
      ctx.problems.report('AuthorizationPolicy', key, 'a second object with the same namespace and name; left out');
      continue;
    }
    const r = compileAuthorizationPolicy(ap, { rootNamespace: ctx.rootNamespace });
    const conditions: StatusCondition[] = [];
    if (!r.ok) {
      // Fail closed: the workloads it meant to protect stay protected until it is fixed.
      const standIn = r.standIn && ctx.emit('AuthorizationPolicy', key, { kind: 'Policy', key: r.standIn.key, body: r.standIn }) ? r.standIn : undefined;
      const effect = standIn ? ` Until it is fixed it is enforced fail-closed: ${standInEffect(standIn)}.` : ' It is not enforced.';
      ctx.problems.report('AuthorizationPolicy', key, `${r.reason}: ${r.message};${effect}`);
      conditions.push({ type: ACCEPTED_CONDITION, status: 'False', reason: r.reason === 'Unsupported' ? POLICY_REASONS.unsupported : POLICY_REASONS.invalid, message: `${r.message}.${effect}` });
    } else if (!ctx.emit('AuthorizationPolicy', key, { kind: 'Policy', key: r.policy.key, body: r.policy })) {
      conditions.push({ type: ACCEPTED_CONDITION, status: 'False', reason: POLICY_REASONS.invalid, message: 'the compiled policy failed validation (a bug in the controller; see the controller log)' });
    } else {
      const warn = r.warnings.length ? ` Warnings: ${r.warnings.join('; ')}.` : '';
      conditions.push({ type: ACCEPTED_CONDITION, status: 'True', reason: POLICY_REASONS.accepted, message: `The policy is valid and compiled.${warn}` });
      const enforced = enforcedCondition(ctx, r.policy.namespace, r.enforcement);
      conditions.push(enforced);
      if (enforced.reason === POLICY_REASONS.waypointRequired) ctx.problems.report('AuthorizationPolicy', key, enforced.message);
    }
    if (addressable) statuses.set(key, { namespace, name, generation: generationOf(ap), conditions });
  }
  return [...statuses.values()].sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
}
