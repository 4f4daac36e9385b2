// /services: every service with its addresses, ports, endpoint count and waypoint.
import { api } from '../api.js';
import { Empty, NamespaceFilter, Page, useApi } from '../components.js';
import { serviceHref } from '../format.js';
import type { Location } from '../router.js';

export function ServicesPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const all = useApi((s) => api.services(undefined, s), []);
  const items = (all.data?.items ?? []).filter((x) => !ns || x.namespace === ns);
  const namespaces = [...new Set((all.data?.items ?? []).map((x) => x.namespace))];
  return (
    <Page title="Services" loaded={all} actions={<NamespaceFilter value={ns} namespaces={namespaces} />}>
      {items.length === 0 ? (
        <Empty>No services{ns ? ` in ${ns}` : ''}.</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Addresses</th>
              <th>Ports</th>
              <th>Endpoints</th>
              <th>Waypoint</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={`${s.namespace}/${s.name}`}>
                <td>
                  <a href={serviceHref(s.namespace, s.name)}>{s.name}</a>
                </td>
                <td>{s.namespace}</td>
                <td class="mono">{s.vips.join(', ') || '-'}</td>
                <td>{s.ports.map((p) => `${p.port}/${p.appProtocol ?? p.protocol.toLowerCase()}`).join(', ')}</td>
                <td>{s.endpoints}</td>
                <td>{s.waypoint ?? <span class="muted">none</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
