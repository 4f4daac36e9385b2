// Which parts of a compiled policy are enforced where, for its `Enforced` status condition
// and `authz check`: a selector (or selector-less) policy at the node agent of each selected
// workload, rule by rule as the engine's L4 projection (l4.ts) treats it; a targetRefs
// policy at the waypoints of its targets. Pure.
import type { Policy, PolicyAction, PolicyRule, PolicyTargetRef } from '../config/model.js';
import { l7FieldsOf, projectForNodeAgent } from './l4.js';
import { DRY_RUN_ANNOTATION, type EnforcementPoint } from './types.js';

/** How the node agent applies one rule. */
export type NodeAgentTreatment =
  /** Every field of the rule is L4: evaluated as written. */
  | 'as-written'
  /** ALLOW or AUDIT rule holding an L7 field: left out at the node agent (matches nothing, fail closed). */
  | 'dropped'
  /** DENY rule holding L7 fields: enforced without them, so it denies every connection its
   * other fields match, e.g. the whole port (fail closed; core/policy/l4.ts). */
  | 'whole-port'
  /** Scope 'targets': the node agent never evaluates it. */
  | 'not-evaluated';

export interface RuleEnforcement {
  /** Index in `spec.rules`. */
  rule: number;
  nodeAgent: NodeAgentTreatment;
  /** The rule's L7-only fields, as paths inside the rule (`to[0].operation.methods`,
   * `from[1].source.requestPrincipals`, `when[2].key request.headers[x-user]`), in spec
   * order. Empty: an L4 rule. */
  l7Fields: string[];
}

/** Which parts of a compiled policy are enforced where. */
export interface Enforcement {
  /** Where the policy is evaluated: 'node-agent' for selector (or selector-less) policies,
   * 'waypoint' for targetRefs policies (the waypoint of each target). */
  at: EnforcementPoint;
  /** For scope 'targets': the targets whose waypoints enforce it. */
  targets?: PolicyTargetRef[];
  rules: RuleEnforcement[];
  /** Every rule is evaluated as written where the policy is enforced. */
  complete: boolean;
  dryRun: boolean;
}

/**
 * What the node agent does with a rule (the engine's projectForNodeAgent, core/policy/l4.ts,
 * decides; this only names its outcome): L4 rule: as written; ALLOW/AUDIT rule with an L7
 * field: dropped; DENY rule with an L7 field: enforced without it (fail closed).
 */
export function nodeAgentTreatment(rule: PolicyRule, action: PolicyAction): NodeAgentTreatment {
  if (l7FieldsOf(rule).length === 0) return 'as-written';
  return projectForNodeAgent(rule, action).rule === undefined ? 'dropped' : 'whole-port';
}

/** Which parts of `policy` are enforced where. */
export function enforcementOf(policy: Policy): Enforcement {
  const targets = policy.scope === 'targets';
  const rules = policy.rules.map((r, i): RuleEnforcement => ({
    rule: i,
    nodeAgent: targets ? 'not-evaluated' : nodeAgentTreatment(r, policy.action),
    l7Fields: l7FieldsOf(r),
  }));
  const e: Enforcement = {
    at: targets ? 'waypoint' : 'node-agent',
    rules,
    complete: targets || rules.every((r) => r.nodeAgent === 'as-written'),
    dryRun: policy.dryRun === true,
  };
  if (targets) e.targets = policy.targetRefs!;
  return e;
}

/** One paragraph for the policy's status: where it is enforced and what the node agent changes. */
export function enforcementMessage(e: Enforcement): string {
  const parts: string[] = [];
  if (e.at === 'waypoint') {
    const t = (e.targets ?? []).map((r) => `${r.kind} ${r.name}`).join(', ');
    parts.push(`Attached with targetRefs: enforced by the waypoint of each target (${t}), for all its rules (L4 and L7); node agents never evaluate it.`);
  } else {
    const asWritten = e.rules.filter((r) => r.nodeAgent === 'as-written').map((r) => r.rule);
    if (e.rules.length === 0) parts.push('Enforced by the node agent of each selected workload (the policy has no rules).');
    else if (e.complete) parts.push('Enforced by the node agent of each selected workload: every rule as written (L4 fields only).');
    else {
      parts.push(
        asWritten.length
          ? `Enforced by the node agent of each selected workload; rules ${asWritten.map((i) => `[${i}]`).join(', ')} as written.`
          : 'Enforced by the node agent of each selected workload.',
      );
      for (const r of e.rules) {
        if (r.nodeAgent === 'dropped') {
          parts.push(`rules[${r.rule}] holds L7 fields (${r.l7Fields.join(', ')}) that a node agent cannot see: it is dropped there and matches nothing (fail closed).`);
        } else if (r.nodeAgent === 'whole-port') {
          parts.push(
            `rules[${r.rule}] holds L7 fields (${r.l7Fields.join(', ')}) that a node agent cannot see: the DENY rule is enforced there without them, so it denies every connection its other fields match, e.g. the whole port (fail closed).`,
          );
        }
      }
      parts.push('To enforce L7 fields, attach the policy to a waypoint with targetRefs.');
    }
  }
  if (e.dryRun) parts.push(`Dry run (${DRY_RUN_ANNOTATION}: "true"): evaluated and recorded, never enforced.`);
  return parts.join(' ');
}

