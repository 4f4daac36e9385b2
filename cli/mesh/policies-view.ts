// `ambientctl policies`: every AuthorizationPolicy as the controller's API lists it (GET
// /policies: the status conditions the controller wrote on the object, the dry-run flag and
// findings, the workloads it selects or its targetRefs), with the nodes those workloads run
// on (GET /workloads). Pure: the API's answers in, rows out.
import type { Condition, Policy as ApiPolicy, Workload as ApiWorkload } from '../../console/api-types.js';
import type { Column } from '../output.js';

export interface PolicyRow {
  namespace: string;
  name: string;
  action: string;
  dryRun: boolean;
  /** The `Accepted` condition's status (`True`, `False`), absent when the controller wrote none yet. */
  accepted?: string;
  /** Why it was refused, or what is not enforced where (the Accepted/Enforced message). */
  message?: string;
  conditions: Condition[];
  /** Nodes the workloads it selects run on (their node agents enforce it). */
  nodes: string[];
  /** Workloads it selects (`namespace/name`). */
  selects: string[];
  /** `targetRefs` (`Service/web`, `Gateway/waypoint`): enforced by waypoints, not node agents. */
  targets?: string[];
  /** What the dry-run policy would have denied in the telemetry window, one sentence each. */
  findings: string[];
}

export interface PoliciesInput {
  /** GET /policies items (every kind; only AuthorizationPolicies are rows). */
  policies: readonly ApiPolicy[];
  /** GET /workloads items: where the selected workloads run. */
  workloads: readonly ApiWorkload[];
  /** Only the policies selecting a workload on this node (a refused one shows anyway). */
  node?: string;
}

const MESSAGE_COLUMN_WIDTH = 60;
const SELECTS_LISTED = 3;

export function policyRows(input: PoliciesInput): PolicyRow[] {
  const nodeOf = new Map(input.workloads.map((w) => [`${w.namespace}/${w.name}`, w.node]));
  const rows: PolicyRow[] = input.policies
    .filter((p) => p.kind === 'AuthorizationPolicy')
    .map((p) => {
      const accepted = p.conditions.find((c) => c.type === 'Accepted');
      const enforced = p.conditions.find((c) => c.type === 'Enforced');
      // The refusal; else what is not enforced as written (Enforced=False: PartiallyEnforced,
      // DryRun, WaypointRequired, ...); a fully enforced policy needs no message.
      const message = accepted?.status === 'False' ? accepted.message : enforced && enforced.status !== 'True' ? enforced.message : undefined;
      let selects = [...(p.selects ?? [])].sort(cmp);
      if (input.node !== undefined) selects = selects.filter((w) => nodeOf.get(w) === input.node);
      const nodes = [...new Set(selects.map((w) => nodeOf.get(w)).filter((n): n is string => !!n))].sort(cmp);
      return {
        namespace: p.namespace,
        name: p.name,
        action: p.action ?? 'ALLOW',
        dryRun: p.dryRun,
        ...(accepted && { accepted: accepted.status }),
        ...(message && { message }),
        conditions: p.conditions,
        nodes,
        selects,
        ...(p.targets && { targets: [...p.targets] }),
        findings: [...p.findings],
      };
    });
  const out = input.node === undefined ? rows : rows.filter((r) => r.selects.length > 0 || r.accepted === 'False');
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

/** The dry-run findings below the table, one line each. */
export function findingLines(rows: readonly PolicyRow[]): string[] {
  return rows.flatMap((r) => r.findings.map((f) => `dry run ${r.namespace}/${r.name}: ${f}`));
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
