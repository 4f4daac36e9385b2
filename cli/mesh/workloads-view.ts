// `ambientctl workloads`: the API's GET /workloads answer as rows. Pure.
import type { List, Workload } from '../../console/api-types.js';
import type { Column } from '../output.js';
import { cmp, orDash, yesNo } from './view-format.js';

export interface WorkloadRow {
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  /** `HBONE` or `TCP`; absent from a controller that does not say. */
  protocol?: string;
  identity: string;
  waypoint?: string;
  mtlsMode?: string;
  /** In the mesh (its traffic is captured by its node's agent). */
  enrolled: boolean;
}

export function workloadRows(answer: List<Workload>): WorkloadRow[] {
  return answer.items
    .map((w): WorkloadRow => ({
      namespace: w.namespace,
      name: w.name,
      node: w.node,
      ips: [...w.ips],
      ...(w.protocol !== undefined && { protocol: w.protocol }),
      identity: w.identity,
      ...(w.waypoint !== null && { waypoint: w.waypoint }),
      ...(w.mtlsMode !== undefined && { mtlsMode: w.mtlsMode }),
      enrolled: w.enrolled,
    }))
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

export const WORKLOAD_COLUMNS: Column<WorkloadRow>[] = [
  { header: 'namespace', value: (r) => r.namespace },
  { header: 'name', value: (r) => r.name },
  { header: 'node', value: (r) => r.node },
  { header: 'ips', value: (r) => r.ips.join(',') || '-' },
  { header: 'protocol', value: (r) => orDash(r.protocol) },
  { header: 'identity', value: (r) => r.identity },
  { header: 'waypoint', value: (r) => orDash(r.waypoint) },
  { header: 'mtls', value: (r) => orDash(r.mtlsMode) },
  { header: 'enrolled', value: (r) => yesNo(r.enrolled) },
];
