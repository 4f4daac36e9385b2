// /workloads: every workload as the data plane holds it, filtered by namespace (?namespace=).
import { api } from '../api.js';
import { Badge, Empty, NamespaceFilter, Page, useApi } from '../components.js';
import { workloadHref } from '../format.js';
import type { Location } from '../router.js';

export function WorkloadsPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const all = useApi((s) => api.workloads(undefined, s), []);
  const items = (all.data?.items ?? []).filter((w) => !ns || w.namespace === ns);
  const namespaces = [...new Set((all.data?.items ?? []).map((w) => w.namespace))];
  return (
    <Page title="Workloads" loaded={all} actions={<NamespaceFilter value={ns} namespaces={namespaces} />}>
      {items.length === 0 ? (
        <Empty>No workloads{ns ? ` in ${ns}` : ''}.</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Identity</th>
              <th>Node</th>
              <th>Mesh</th>
              <th>Waypoint</th>
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={`${w.namespace}/${w.name}`}>
                <td>
                  <a href={workloadHref(w.namespace, w.name)}>{w.name}</a>
                </td>
                <td>{w.namespace}</td>
                <td class="mono">{w.identity}</td>
                <td>{w.node}</td>
                <td>{w.enrolled ? <Badge kind="ok">enrolled</Badge> : <Badge kind="muted">not enrolled</Badge>}</td>
                <td>{w.waypoint ?? <span class="muted">none</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
