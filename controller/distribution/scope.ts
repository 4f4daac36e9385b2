// Which resources each client of the config stream gets (a ScopeFunction). Pure.
//
// A node agent gets every Workload and Service (it routes to any of them) and only the
// Policy resources that select at least one workload on its node: a policy of scope
// 'global' (root namespace) whose selector matches a workload there, or of scope
// 'namespace' whose namespace holds one its selector matches (no selector: any). Policies
// attached with targetRefs (scope 'targets') are for waypoints and never reach a node
// agent (as istiod never sends them to ztunnel). A waypoint gets every Policy for now.
//
// Policies follow pods: the config stream recomputes what each client should hold on every
// change of the resource set (ConfigStreams.setResources flushes every client), and a pod
// arriving on a node changes its Workload resource (its `node`), so the namespace's
// policies reach that node's agent in the same update, and leave it when the last pod a
// policy selects leaves the node.
//
// The result is computed once per (resource set, node) and shared by that node's streams:
// the set is the config stream's snapshot array, the same object until the next version.
import type { Policy, Workload } from '../../core/config/model.js';
import type { VersionedResource } from '../../core/config/wire.js';
import type { Caller } from './authorize.js';
import type { ScopeFunction } from './config-stream.js';

/** Whether `selector` (matchLabels; absent: everything) matches `labels`. */
function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  return true;
}

/** Whether a node agent enforces `policy` for `workload` (Istio's workload selector semantics). */
export function policySelectsWorkload(policy: Policy, workload: Pick<Workload, 'namespace' | 'labels'>): boolean {
  if (policy.scope === 'global') return selects(policy.selector, workload.labels);
  if (policy.scope === 'namespace') return policy.namespace === workload.namespace && selects(policy.selector, workload.labels);
  return false;
}

/** The resources a node agent on `node` should hold, in input order. */
export function nodeAgentResources(node: string, resources: readonly VersionedResource[]): VersionedResource[] {
  const local: Workload[] = [];
  for (const r of resources) if (r.kind === 'Workload' && (r.body as Workload).node === node) local.push(r.body as Workload);
  return resources.filter((r) => r.kind !== 'Policy' || local.some((w) => policySelectsWorkload(r.body as Policy, w)));
}

/** The ScopeFunction for ControllerServer: node agents get their node's policies, waypoints everything. */
export function createPolicyScope(): ScopeFunction {
  const cache = new WeakMap<readonly VersionedResource[], Map<string, readonly VersionedResource[]>>();
  return (node: string, resources: readonly VersionedResource[], caller: Caller) => {
    if (caller.role !== 'node-agent') return resources;
    let perNode = cache.get(resources);
    if (!perNode) cache.set(resources, (perNode = new Map()));
    let out = perNode.get(node);
    if (!out) perNode.set(node, (out = nodeAgentResources(node, resources)));
    return out;
  };
}
