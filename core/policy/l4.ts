// What a node agent (L4) makes of a rule holding L7-only fields. Pure.
//
// A node agent sees a connection, not HTTP requests: it cannot evaluate methods, paths,
// hosts, request principals, remote IPs or `when` keys other than L4_CONDITION_KEYS. What
// Istio documents for ztunnel (https://istio.io/latest/docs/ambient/usage/l4-policy/, and
// the status istiod writes: "Within an ALLOW policy, rules matching HTTP attributes are
// omitted" / "DENY policy with HTTP attributes is enforced without the HTTP rules. This will
// be more restrictive than intended."), and what Istio's sidecars do for TCP traffic
// (istio/istio#21742: a DENY keeps only its TCP fields "so that it never grants extra
// permission"):
//
//  1. ALLOW (and AUDIT, treated like ALLOW) rule holding any L7 field: the whole rule is
//     dropped. It matches nothing, so the policy allows less than asked: fail closed.
//  2. DENY rule holding L7 fields: the L7 parts are removed and the rest is enforced, so the
//     rule matches every connection its L7 form could match, and more: fail closed.
//     `to: [{ports: [8080], methods: [POST]}]` denies every connection to 8080;
//     `to: [{methods: [POST]}]` denies every connection to the workload (an operation left
//     with no field is any operation); `from: [{requestPrincipals: ["*"]}]` any source;
//     a `when` condition with an L7 key is removed (it could hold, so the rule is applied as
//     if it did).
//
// Where this differs from ztunnel's implementation, on purpose: istiod sends ztunnel an EMPTY
// match for an entry that held only L7 fields, and ztunnel skips empty matches, so such a
// DENY has no effect at all (istio/istio#61126, whose fix only changed the status message to
// "this DENY policy has no enforceable rules at ztunnel and will have no effect"). A DENY the
// operator wrote that silently denies nothing is the failure mode the mesh exists to avoid;
// we fail closed as the documentation and the sidecars do, and the policy's status says so.
import type { PolicyAction, PolicyCondition, PolicyOperation, PolicyRule, PolicySource } from '../config/model.js';
import { isL4ConditionKey, L7_OPERATION_FIELDS, L7_SOURCE_FIELDS } from './types.js';

const present = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

function l7SourceFields(s: PolicySource): string[] {
  return L7_SOURCE_FIELDS.filter((f) => present(s[f]));
}

function l7OperationFields(o: PolicyOperation): string[] {
  return L7_OPERATION_FIELDS.filter((f) => present(o[f]));
}

/**
 * The L7-only fields of `rule`, in spec order, as stable paths relative to the rule:
 *   `from[<i>].source.<field>`    e.g. `from[0].source.requestPrincipals`
 *   `to[<i>].operation.<field>`   e.g. `to[1].operation.methods`
 *   `when[<i>].key <key>`         e.g. `when[0].key request.headers[x-user]`
 * (a `when` entry is named by its index and its key, since the key is what makes it L7).
 * Empty when the rule is L4 only.
 */
export function l7FieldsOf(rule: PolicyRule): string[] {
  const out: string[] = [];
  (rule.from ?? []).forEach((s, i) => {
    for (const f of l7SourceFields(s ?? {})) out.push(`from[${i}].source.${f}`);
  });
  (rule.to ?? []).forEach((o, i) => {
    for (const f of l7OperationFields(o ?? {})) out.push(`to[${i}].operation.${f}`);
  });
  (rule.when ?? []).forEach((c, i) => {
    if (!isL4ConditionKey(c?.key)) out.push(`when[${i}].key ${c?.key}`);
  });
  return out;
}

function withoutFields<T extends object>(o: T, fields: readonly string[]): T {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!fields.includes(k)) copy[k] = v;
  return copy as T;
}

function isEmptyEntry(o: object): boolean {
  return Object.values(o).every((v) => !present(v));
}

/**
 * The rule as a node agent enforces it (see the header). `rule` undefined: the rule matches
 * nothing at L4. `notes`: what the projection did, one sentence each, naming the rule's own
 * paths (relative to the rule: the caller prefixes `rules[<i>]`).
 */
export function projectForNodeAgent(rule: PolicyRule, action: PolicyAction): { rule: PolicyRule | undefined; notes: string[] } {
  const l7 = l7FieldsOf(rule);
  if (l7.length === 0) return { rule, notes: [] };
  const list = l7.join(', ');
  if (action !== 'DENY') {
    return {
      rule: undefined,
      notes: [
        `holds the L7 field${l7.length > 1 ? 's' : ''} ${list}: an ${action} rule with an L7 field is dropped at the node agent and matches nothing (enforce it in a waypoint)`,
      ],
    };
  }
  const notes: string[] = [
    `holds the L7 field${l7.length > 1 ? 's' : ''} ${list}: the DENY rule is enforced at the node agent without ${l7.length > 1 ? 'them' : 'it'}, on every connection its other fields match (fail closed; enforce it exactly in a waypoint)`,
  ];
  // An entry left with no field matches anything, so the whole list does: [] (any source/operation).
  const from: PolicySource[] = (rule.from ?? []).map((s) => withoutFields(s ?? {}, L7_SOURCE_FIELDS));
  const to: PolicyOperation[] = (rule.to ?? []).map((o) => withoutFields(o ?? {}, L7_OPERATION_FIELDS));
  const anyFrom = from.findIndex(isEmptyEntry);
  const anyTo = to.findIndex(isEmptyEntry);
  if (anyFrom >= 0) notes.push(`from[${anyFrom}].source held only L7 fields: at the node agent it matches every source`);
  if (anyTo >= 0) notes.push(`to[${anyTo}].operation held only L7 fields: at the node agent it matches every port`);
  const l7When = (rule.when ?? []).map((c, i) => ({ c, i })).filter(({ c }) => !isL4ConditionKey(c?.key));
  if (l7When.length > 0) notes.push(`${l7When.map(({ c, i }) => `when[${i}] (${c.key})`).join(', ')} cannot be evaluated at the node agent: the rule is applied as if ${l7When.length > 1 ? 'they hold' : 'it holds'}`);
  const when: PolicyCondition[] = (rule.when ?? []).filter((c) => isL4ConditionKey(c?.key)).map((c) => ({ ...c }));
  return { rule: { from: anyFrom >= 0 ? [] : from, to: anyTo >= 0 ? [] : to, when }, notes };
}
