// /workloads/{ns}/{name}: identity, node, enrolment, certificate expiry, the policies that
// select it with their status, inbound and outbound edges, recent flows.
import { api } from '../api.js';
import { Badge, Conditions, Empty, LoadNotices, Page, useApi } from '../components.js';
import { expiryState } from '../../core/identity/cert-expiry.js';
import { relative } from '../format.js';
import { EdgesTable } from './edges-table.js';
import { FlowsTable } from './flows-table.js';

/** "expires in 21h 3m", flagged when expired or in its last quarter of life. */
function CertificateExpiry({ notBefore, notAfter }: { notBefore: string; notAfter: string }) {
  const now = Date.now();
  const state = expiryState(Date.parse(notBefore), Date.parse(notAfter), now);
  if (state === 'bad') return <Badge kind="bad">expired {relative(notAfter, now)}</Badge>;
  return <>expires {relative(notAfter, now)}{state === 'warn' && <> <Badge kind="warn">renewal due</Badge></>}</>;
}

/** How many recent flows the workload page asks for (then keeps its own). */
export const WORKLOAD_FLOWS_LIMIT = 200;

export function WorkloadPage({ ns, name }: { ns: string; name: string }) {
  const w = useApi((s) => api.workload(ns, name, s), [ns, name]);
  const flows = useApi((s) => api.flows(ns, WORKLOAD_FLOWS_LIMIT, s), [ns]);
  const d = w.data;
  const mine = (flows.data?.items ?? []).filter(
    (f) => (f.source.namespace === ns && f.source.workload === name) || (f.destination.namespace === ns && f.destination.workload === name),
  );
  return (
    <Page title={<>Workload {ns}/{name}</>} loaded={w}>
      {d && (
        <>
          <dl class="facts">
            <dt>Identity</dt>
            <dd class="mono">{d.identity}</dd>
            <dt>Node</dt>
            <dd>{d.node}</dd>
            <dt>Addresses</dt>
            <dd>{d.ips.join(', ') || '-'}</dd>
            <dt>Enrolment</dt>
            <dd>{d.enrolled ? <Badge kind="ok">in the mesh</Badge> : <Badge kind="muted">not enrolled</Badge>}</dd>
            <dt>Waypoint</dt>
            <dd>{d.waypoint ?? 'none'}</dd>
            <dt>Certificate</dt>
            <dd>
              {d.certificate ? (
                <>
                  <CertificateExpiry notBefore={d.certificate.notBefore} notAfter={d.certificate.notAfter} /> ({d.certificate.notAfter}), serial <span class="mono">{d.certificate.serial}</span>
                  <span class="muted">, as node {d.node}'s agent reported {relative(d.certificate.reportedAt)}</span>
                </>
              ) : (
                `none reported by node ${d.node}'s agent`
              )}
            </dd>
          </dl>
          <h2>Policies selecting it</h2>
          {d.policies.length === 0 ? (
            <Empty>No policy selects this workload.</Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>Policy</th>
                  <th>Kind</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {d.policies.map((p) => (
                  <tr key={`${p.kind}/${p.namespace}/${p.name}`}>
                    <td>{p.namespace}/{p.name}</td>
                    <td>{p.kind}</td>
                    <td>
                      <Conditions conditions={p.conditions} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Traffic</h2>
          <EdgesTable edges={d.inbound} caption="Inbound edges" />
          <EdgesTable edges={d.outbound} caption="Outbound edges" />
          <h2>Recent flows</h2>
          <LoadNotices loaded={flows} />
          <FlowsTable flows={mine} />
        </>
      )}
    </Page>
  );
}
