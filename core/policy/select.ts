// Which compiled policies apply to a destination, for each enforcement point. Pure.
//
// Node agent (Istio's ztunnel, https://istio.io/latest/docs/reference/config/security/authorization-policy/
// "workload selector" and https://istio.io/latest/docs/ambient/usage/l4-policy/):
//   - a policy in the root namespace without selector applies to every workload of the mesh
//     (scope 'global'); with a selector, to the matching workloads of every namespace;
//   - a policy in another namespace applies to that namespace's workloads (scope
//     'namespace'), narrowed by its selector when it has one;
//   - a selector matches when every one of its matchLabels equals the workload's label; an
//     empty selector matches every workload in scope;
//   - a policy attached with targetRefs (scope 'targets') is for the waypoint of those
//     targets, never for a node agent (istiod does not send it to ztunnel:
//     pilot/pkg/serviceregistry/ambient/authorization.go, "TargetRef is not intended for ztunnel").
// Waypoint: the policies whose targetRefs name one of the waypoint's targets (a Service it
// serves, or its own Gateway) in the policy's own namespace
// (https://istio.io/latest/docs/ambient/usage/l7-features/, "Targeting policies").
import type { Policy, PolicyTargetRef } from '../config/model.js';
import type { PolicySubject } from './types.js';

function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/** Whether a node agent enforces `policy` for a workload like `subject`. */
export function policyAppliesTo(policy: Policy, subject: PolicySubject): boolean {
  if (policy.scope === 'global') return selects(policy.selector, subject.labels);
  if (policy.scope === 'namespace') return policy.namespace === subject.namespace && selects(policy.selector, subject.labels);
  return false;
}

/** The policies a node agent enforces for `subject`, in their input order. */
export function policiesFor(policies: readonly Policy[], subject: PolicySubject): Policy[] {
  return policies.filter((p) => policyAppliesTo(p, subject));
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function refNames(ref: PolicyTargetRef, targets: { services?: readonly string[]; gateway?: string }): boolean {
  if (ref.kind === 'Service') return (ref.group ?? '') === '' && (targets.services ?? []).includes(ref.name);
  if (ref.kind === 'Gateway') return ref.group === GATEWAY_GROUP && targets.gateway !== undefined && ref.name === targets.gateway;
  return false;
}

/** The policies a waypoint enforces for traffic to `targets` (Services it serves, or its
 * own Gateway), all in `targets.namespace`: scope 'targets' whose targetRefs name one. */
export function policiesForTargets(policies: readonly Policy[], targets: { namespace: string; services?: string[]; gateway?: string }): Policy[] {
  return policies.filter(
    (p) => p.scope === 'targets' && p.namespace === targets.namespace && (p.targetRefs ?? []).some((r) => refNames(r, targets)),
  );
}
