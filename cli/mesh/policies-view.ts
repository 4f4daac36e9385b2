// `ambientctl policies`: every AuthorizationPolicy with its status as the controller wrote
// it on the object (Accepted, Enforced: rejected ones show too, with their message), joined
// with what the node agents hold (their /config_dump `policies`): which nodes hold each,
// and the workloads each selects there. Pure: the objects and dumps in, rows out.
import type { Policy, Workload } from '../../core/config/model.js';
import { DRY_RUN_ANNOTATION, type PolicySubject } from '../../core/policy/types.js';
import type { Column } from '../output.js';
import type { AgentDump, AuthorizationPolicyObject, PolicyCondition } from './types.js';

/** How a workload is matched by a compiled policy: the engine's `policiesFor`. */
export type PolicySelector = (policies: readonly Policy[], subject: PolicySubject) => Policy[];

export interface PolicyRow {
  namespace: string;
  name: string;
  action: string;
  dryRun: boolean;
  /** The `Accepted` condition's status (`True`, `False`), absent when the controller wrote none yet. */
  accepted?: string;
  /** Why it was refused, or what is not enforced where (the Accepted/Enforced message). */
  message?: string;
  conditions: PolicyCondition[];
  /** Nodes whose agent holds the compiled policy. */
  nodes: string[];
  /** Workloads it selects (`namespace/name`) among those the agents asked hold. */
  selects: string[];
  /** `targetRefs` (`Service/web`, `Gateway/waypoint`): enforced by waypoints, not node agents. */
  targets?: string[];
  /** Whether the Kubernetes object was read (false: seen only in an agent's dump). */
  object: boolean;
}

export interface PoliciesInput {
  /** The AuthorizationPolicy objects from the API server; undefined when they could not be read. */
  objects?: AuthorizationPolicyObject[];
  dumps: AgentDump[];
  /** Only this namespace. */
  namespace?: string;
  /** Only what this node's agent holds (and only its workloads). */
  node?: string;
}

const MESSAGE_COLUMN_WIDTH = 60;
const SELECTS_LISTED = 3;

export function policyRows(input: PoliciesInput, select: PolicySelector): PolicyRow[] {
  const dumps = input.node === undefined ? input.dumps : input.dumps.filter((d) => d.node === input.node);
  const compiled = new Map<string, Policy>();
  const holders = new Map<string, string[]>();
  for (const d of dumps) {
    for (const p of d.policies) {
      if (!compiled.has(p.key)) compiled.set(p.key, p);
      holders.set(p.key, [...(holders.get(p.key) ?? []), d.node]);
    }
  }
  const workloads = new Map<string, Workload>();
  for (const d of dumps) for (const w of d.workloads) if (!workloads.has(w.uid)) workloads.set(w.uid, w);
  const candidates = [...workloads.values()].filter((w) => input.node === undefined || w.node === input.node);

  const rows = new Map<string, PolicyRow>();
  for (const o of input.objects ?? []) {
    const ns = o.metadata.namespace ?? 'default';
    const key = `${ns}/${o.metadata.name}`;
    const conditions = o.status?.conditions ?? [];
    const accepted = conditions.find((c) => c.type === 'Accepted');
    const enforced = conditions.find((c) => c.type === 'Enforced');
    // The refusal; else what is not enforced as written (Enforced=False: PartiallyEnforced,
    // DryRun, WaypointRequired, ...); a fully enforced policy needs no message.
    const message = accepted?.status === 'False' ? accepted.message : enforced && enforced.status !== 'True' ? enforced.message : undefined;
    const refs = o.spec?.targetRefs ?? (o.spec?.targetRef ? [o.spec.targetRef] : []);
    rows.set(key, {
      namespace: ns,
      name: o.metadata.name,
      action: o.spec?.action ?? 'ALLOW',
      dryRun: o.metadata.annotations?.[DRY_RUN_ANNOTATION] === 'true',
      ...(accepted && { accepted: accepted.status }),
      ...(message && { message }),
      conditions,
      nodes: [],
      selects: [],
      ...(refs.length > 0 && { targets: refs.map((r) => `${r.kind ?? '?'}/${r.name ?? '?'}`) }),
      object: true,
    });
  }
  for (const p of compiled.values()) {
    if (rows.has(p.key)) continue;
    rows.set(p.key, {
      namespace: p.namespace,
      name: p.name,
      action: p.action,
      dryRun: p.dryRun === true,
      conditions: [],
      nodes: [],
      selects: [],
      ...(p.targetRefs && { targets: p.targetRefs.map((r) => `${r.kind}/${r.name}`) }),
      object: false,
    });
  }
  for (const [key, row] of rows) {
    row.nodes = [...(holders.get(key) ?? [])].sort(cmp);
    const p = compiled.get(key);
    if (p && p.scope !== 'targets') {
      row.selects = candidates
        .filter((w) => select([p], { namespace: w.namespace, labels: w.labels }).length > 0)
        .map((w) => `${w.namespace}/${w.name}`)
        .sort(cmp);
    }
  }
  let out = [...rows.values()];
  if (input.namespace !== undefined) out = out.filter((r) => r.namespace === input.namespace);
  // --node: what that agent holds; a refused policy is held by no agent, shown anyway.
  if (input.node !== undefined) out = out.filter((r) => r.nodes.length > 0 || r.accepted === 'False');
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

/** `web-1, web-2, web-3 (+2)`; names without the namespace when it is the policy's own. */
export function selectsText(r: PolicyRow): string {
  if (r.targets) return `targets ${r.targets.join(',')}`;
  if (r.selects.length === 0) return r.accepted === 'False' ? '-' : 'none';
  const names = r.selects.map((s) => (s.startsWith(`${r.namespace}/`) ? s.slice(r.namespace.length + 1) : s));
  const shown = names.slice(0, SELECTS_LISTED).join(',');
  return names.length > SELECTS_LISTED ? `${shown} (+${names.length - SELECTS_LISTED})` : shown;
}

export function shortMessage(m: string | undefined, width = MESSAGE_COLUMN_WIDTH): string {
  if (!m) return '-';
  const one = m.replace(/\s+/g, ' ').trim();
  return one.length > width ? `${one.slice(0, width - 3)}...` : one;
}

export const POLICY_COLUMNS: Column<PolicyRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'name', value: (r) => r.name },
  { header: 'action', value: (r) => r.action },
  { header: 'dry-run', value: (r) => (r.dryRun ? 'yes' : 'no') },
  { header: 'accepted', value: (r) => r.accepted ?? '-' },
  { header: 'nodes', value: (r) => r.nodes.join(',') || '-' },
  { header: 'selects', value: selectsText },
  { header: 'message', value: (r) => shortMessage(r.message) },
];

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
