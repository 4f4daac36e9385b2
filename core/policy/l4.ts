// What a node agent (L4) makes of a rule holding L7-only fields. Pure.
//
// A node agent sees a connection, not HTTP requests: it cannot evaluate methods, paths,
// hosts, request principals, remote IPs or `when` keys other than L4_CONDITION_KEYS. Istio
// specifies what ztunnel does with such rules
// (https://istio.io/latest/docs/ambient/usage/l4-policy/), and istiod implements it when it
// converts an AuthorizationPolicy for ztunnel (istio/istio
// pilot/pkg/serviceregistry/ambient/authorization.go, handleRule and
// convertAuthorizationPolicy), with ztunnel's matcher (istio/ztunnel src/rbac.rs,
// Authorization::matches). We follow that code exactly:
//
//  1. ALLOW (and AUDIT, which we treat like ALLOW) rule holding any L7 field: the whole rule
//     is dropped ("L7 policies never match for ALLOW": handleRule returns no rules). It
//     matches nothing, so the policy allows less than asked: fail closed.
//  2. DENY rule holding L7 fields: each `from` source and `to` operation keeps its L4 fields
//     and loses its L7 ones (handleRule builds each Match from the L4 fields only), so a
//     DENY `to: [{ports: [8080], methods: [GET]}]` denies every connection to 8080: fail
//     closed ("DENY policy with HTTP attributes is enforced without the HTTP rules. This
//     will be more restrictive than requested.").
//  3. Subtle, and istiod's own words (commit fa33fa9, "fix misleading status message for DENY
//     policies with only L7 attributes", istio/istio#61126): a source or operation that held
//     ONLY L7 fields becomes an EMPTY match, and ztunnel SKIPS an empty match ("An empty
//     match sent to ztunnel is skipped (match-none), not match-all"). So that entry matches
//     nothing; when every entry of the rule's `from` (or `to`) is such an entry, the rule
//     can never match and the DENY has no effect at L4 ("After omitting unsupported HTTP
//     attributes, this DENY policy has no enforceable rules at ztunnel and will have no
//     effect"). It is NOT applied to the whole port: that would need a port.
//  4. A DENY `when` condition with an L7 key becomes an empty match too (none of the L4
//     attribute names it), so that condition never holds and, `when` being an AND, the rule
//     never matches at L4.
// The evaluator (evaluate.ts) treats an empty source/operation and a condition without
// values as matching nothing, as ztunnel does; Istio's validation refuses both in a spec,
// so they only arise from this projection.
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
  const notes: string[] = [`holds the L7 field${l7.length > 1 ? 's' : ''} ${list}: the DENY rule is enforced at the node agent without ${l7.length > 1 ? 'them' : 'it'}`];
  const l7When = (rule.when ?? []).map((c, i) => ({ c, i })).filter(({ c }) => !isL4ConditionKey(c?.key));
  if (l7When.length > 0) {
    const names = l7When.map(({ c, i }) => `when[${i}] (${c.key})`).join(', ');
    notes.push(`${names} cannot be evaluated at the node agent and never holds there, so this DENY rule matches nothing at L4 (enforce it in a waypoint)`);
    return { rule: undefined, notes };
  }
  const from: PolicySource[] = (rule.from ?? []).map((s) => withoutFields(s ?? {}, L7_SOURCE_FIELDS));
  const to: PolicyOperation[] = (rule.to ?? []).map((o) => withoutFields(o ?? {}, L7_OPERATION_FIELDS));
  const emptiedFrom = from.map((s, i) => (isEmptyEntry(s) && !isEmptyEntry(rule.from[i] ?? {}) ? i : -1)).filter((i) => i >= 0);
  const emptiedTo = to.map((o, i) => (isEmptyEntry(o) && !isEmptyEntry(rule.to[i] ?? {}) ? i : -1)).filter((i) => i >= 0);
  for (const i of emptiedFrom) notes.push(`from[${i}].source held only L7 fields: it matches nothing at the node agent`);
  for (const i of emptiedTo) notes.push(`to[${i}].operation held only L7 fields: it matches nothing at the node agent`);
  const deadFrom = from.length > 0 && from.every(isEmptyEntry);
  const deadTo = to.length > 0 && to.every(isEmptyEntry);
  if (deadFrom || deadTo) {
    notes.push(`no ${deadFrom ? 'source' : 'operation'} of this DENY rule is left at L4, so it matches nothing at the node agent and has no effect there (enforce it in a waypoint)`);
    return { rule: undefined, notes };
  }
  const when: PolicyCondition[] = (rule.when ?? []).map((c) => ({ ...c }));
  return { rule: { from, to, when }, notes };
}
