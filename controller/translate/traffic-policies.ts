// TrafficPolicy.ambient.dev/v1 -> TrafficPolicy resources (core/config/traffic-policy.ts),
// for waypoints only (node agents never balance nor retry HTTP: model.ts isNodeAgentKind),
// and the status each object gets (controller/policy-status.ts writes it).
//
//  - Each object is compiled alone (core/config/traffic-policy-compile.ts); a fault leaves it
//    out alone: status Accepted False, reason Invalid, with the compiler's message (field
//    path and value), and a Problem with code AMB_TRAFFIC_POLICY_INVALID.
//  - Its targetRefs are resolved against the Services of its namespace: a sectionName to the
//    number of the Service port of that name (one that names no port: Invalid, as above); a
//    Service that does not exist leaves that target out (all of them: Accepted False,
//    reason TargetNotFound, Gateway API's policy reason).
//  - Conflicts: two policies naming the same Service port (or both the whole Service): the
//    older (metadata.creationTimestamp, then namespace/name) keeps it, as Gateway API policy
//    attachment (GEP-713) decides; the other loses that target and its status says
//    Conflicted True naming the winner (and Accepted False, reason Conflicted, when it lost
//    every target). A policy naming one port and another naming the whole Service do not
//    conflict: the port's policy applies to that port, the Service's to the others
//    (core/config/traffic-policy-compile.ts trafficPolicyFor).
//
// Pure. translate() and the incremental translation call the same functions: compile each
// object on its own (compileTrafficPolicyObject, cached by the incremental one), then
// resolve all of them together (translateTrafficPolicies), which is cheap (no parsing).
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { MeshService, Resource } from '../../core/config/model.js';
import { compileTrafficPolicy, resolveTrafficPolicyTargets, type TrafficPolicyCompileResult } from '../../core/config/traffic-policy-compile.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { ErrorCodes } from '../../core/errors.js';
import type { PolicyStatus, StatusCondition } from './input.js';
import { compareStrings, objectKey, type Problems } from './objects.js';

export const TRAFFIC_POLICY_KIND = 'TrafficPolicy';

export const TRAFFIC_POLICY_CONDITIONS = Object.freeze({ accepted: 'Accepted', conflicted: 'Conflicted' });

/** Gateway API's policy reasons (apis/v1alpha2/policy_types.go), and NoConflicts. */
export const TRAFFIC_POLICY_REASONS = Object.freeze({
  accepted: 'Accepted',
  invalid: 'Invalid',
  targetNotFound: 'TargetNotFound',
  conflicted: 'Conflicted',
  noConflicts: 'NoConflicts',
});

/** TrafficPolicy.ambient.dev/v1 as read from the API server (the compiler reads the rest). */
export interface TrafficPolicyObject {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: unknown;
}

/** One object compiled on its own. */
export interface CompiledTrafficPolicyObject {
  /** `<namespace>/<name>` as objectKey reads it. */
  key: string;
  namespace?: string;
  name?: string;
  generation: number;
  compiled: TrafficPolicyCompileResult;
}

export function compileTrafficPolicyObject(object: unknown): CompiledTrafficPolicyObject {
  const meta = (object as { metadata?: V1ObjectMeta } | null)?.metadata;
  const out: CompiledTrafficPolicyObject = { key: objectKey(meta), generation: typeof meta?.generation === 'number' ? meta.generation : 0, compiled: compileTrafficPolicy(object) };
  if (typeof meta?.namespace === 'string' && meta.namespace !== '') out.namespace = meta.namespace;
  if (typeof meta?.name === 'string' && meta.name !== '') out.name = meta.name;
  return out;
}

export interface TrafficPolicyContext {
  /** A Service by `<namespace>/<name>` (the translated ones). */
  service: (namespaceName: string) => MeshService | undefined;
  problems: Problems;
  emit: (kind: string, key: string, r: Resource) => boolean;
}

const condition = (type: string, status: StatusCondition['status'], reason: string, message: string): StatusCondition => ({ type, status, reason, message });

interface Candidate {
  obj: CompiledTrafficPolicyObject;
  policy: TrafficPolicy;
  createdMs: number;
  /** Per resolved target: the index of its targetRef. */
  refIndexes: number[];
  missing: Array<{ path: string; name: string }>;
  /** Lost targets: which targetRef, and the policy that keeps it. */
  lost: Array<{ ref: number; what: string; winner: string }>;
}

function describe(t: { service: string; port?: number }): string {
  const [ns, host] = [t.service.slice(0, t.service.indexOf('/')), t.service.slice(t.service.indexOf('/') + 1)];
  const name = host.split('.')[0];
  return t.port === undefined ? `Service ${ns}/${name}` : `Service ${ns}/${name} port ${t.port}`;
}

/**
 * Resolves and emits every compiled TrafficPolicy; returns one status per object whose
 * name and namespace could be read, sorted by namespace, name.
 */
export function translateTrafficPolicies(objects: readonly CompiledTrafficPolicyObject[], ctx: TrafficPolicyContext): PolicyStatus[] {
  const statuses: PolicyStatus[] = [];
  const candidates: Candidate[] = [];
  const status = (o: CompiledTrafficPolicyObject, conditions: StatusCondition[]) => {
    if (o.namespace !== undefined && o.name !== undefined) statuses.push({ namespace: o.namespace, name: o.name, generation: o.generation, conditions });
  };
  const invalid = (o: CompiledTrafficPolicyObject, message: string) => {
    ctx.problems.report(TRAFFIC_POLICY_KIND, o.key, `${ErrorCodes.TRAFFIC_POLICY_INVALID}: not applied: ${message}`);
    status(o, [condition(TRAFFIC_POLICY_CONDITIONS.accepted, 'False', TRAFFIC_POLICY_REASONS.invalid, message)]);
  };
  for (const o of [...objects].sort((a, b) => compareStrings(a.key, b.key))) {
    const c = o.compiled;
    if (!c.ok) {
      invalid(o, c.message);
      continue;
    }
    for (const w of c.warnings) ctx.problems.report(TRAFFIC_POLICY_KIND, o.key, w);
    const ns = c.policy.namespace;
    const resolved = resolveTrafficPolicyTargets(ns, c.refs, (namespace, name) => ctx.service(`${namespace}/${name}`));
    if (!resolved.ok) {
      invalid(o, resolved.message);
      continue;
    }
    const createdMs = Date.parse(c.policy.created);
    candidates.push({ obj: o, policy: { ...c.policy, targets: resolved.targets }, createdMs: Number.isNaN(createdMs) ? Number.POSITIVE_INFINITY : createdMs, refIndexes: resolved.refIndexes, missing: resolved.missing, lost: [] });
  }

  // Conflicts: the older keeps a Service port (GEP-713), then namespace/name.
  candidates.sort((a, b) => a.createdMs - b.createdMs || compareStrings(a.policy.key, b.policy.key));
  const owner = new Map<string, string>();
  for (const cand of candidates) {
    const kept: TrafficPolicy['targets'] = [];
    const keptRefs: number[] = [];
    cand.policy.targets.forEach((t, i) => {
      const claim = `${t.service}#${t.port ?? '*'}`;
      const winner = owner.get(claim);
      if (winner !== undefined) cand.lost.push({ ref: cand.refIndexes[i]!, what: describe(t), winner });
      else {
        owner.set(claim, cand.policy.key);
        kept.push(t);
        keptRefs.push(cand.refIndexes[i]!);
      }
    });
    cand.policy.targets = kept;
    cand.refIndexes = keptRefs;
  }

  for (const cand of candidates.sort((a, b) => compareStrings(a.obj.key, b.obj.key))) {
    const p = cand.policy;
    const notFound = cand.missing.map((m) => `${m.path}: Service ${m.name} does not exist`);
    const conflicted =
      cand.lost.length > 0
        ? condition(
            TRAFFIC_POLICY_CONDITIONS.conflicted,
            'True',
            TRAFFIC_POLICY_REASONS.conflicted,
            cand.lost.map((l) => `spec.targetRefs[${l.ref}]: ${l.what} is already the target of the older TrafficPolicy ${l.winner}, which applies there`).join('; '),
          )
        : condition(TRAFFIC_POLICY_CONDITIONS.conflicted, 'False', TRAFFIC_POLICY_REASONS.noConflicts, 'no older TrafficPolicy targets the same Service port');
    if (p.targets.length === 0) {
      const accepted =
        cand.lost.length > 0
          ? condition(TRAFFIC_POLICY_CONDITIONS.accepted, 'False', TRAFFIC_POLICY_REASONS.conflicted, `not applied: every target is held by an older TrafficPolicy (${[...new Set(cand.lost.map((l) => l.winner))].join(', ')})`)
          : condition(TRAFFIC_POLICY_CONDITIONS.accepted, 'False', TRAFFIC_POLICY_REASONS.targetNotFound, `not applied: ${notFound.join('; ')}`);
      ctx.problems.report(TRAFFIC_POLICY_KIND, cand.obj.key, accepted.message);
      status(cand.obj, [accepted, conflicted]);
      continue;
    }
    for (const n of notFound) ctx.problems.report(TRAFFIC_POLICY_KIND, cand.obj.key, `${n}: that target is left out`);
    for (const l of cand.lost) ctx.problems.report(TRAFFIC_POLICY_KIND, cand.obj.key, `spec.targetRefs[${l.ref}]: conflicts with the older TrafficPolicy ${l.winner}; left out there`);
    const applied = p.targets.map(describe).join(', ');
    const accepted = condition(TRAFFIC_POLICY_CONDITIONS.accepted, 'True', TRAFFIC_POLICY_REASONS.accepted, `applied to ${applied}${notFound.length > 0 ? `; ${notFound.join('; ')}` : ''}`);
    const emitted = ctx.emit(TRAFFIC_POLICY_KIND, cand.obj.key, { kind: 'TrafficPolicy', key: p.key, body: p });
    if (!emitted) {
      status(cand.obj, [condition(TRAFFIC_POLICY_CONDITIONS.accepted, 'False', TRAFFIC_POLICY_REASONS.invalid, 'the compiled policy failed validation (a controller bug, reported in its problems)'), conflicted]);
      continue;
    }
    status(cand.obj, [accepted, conflicted]);
  }
  return statuses.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));
}
