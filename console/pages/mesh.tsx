// /mesh: controller replicas and leader, agents per node with the config version they
// acknowledged and their problems, waypoints, the certificate expiry timeline, CA roots.
import type { Certificates } from '../api-types.js';
import { api } from '../api.js';
import { Badge, Conditions, Empty, LoadNotices, Page, useApi, useInterval } from '../components.js';
import { EXPIRY_KIND_LABEL, expiryRows } from '../../core/identity/cert-expiry.js';
import { relative } from '../format.js';

/** The certificates the timeline draws at most (the soonest to expire). */
export const TIMELINE_MAX_ROWS = 50;

/** Every certificate (CA roots, signing CA, controller, workloads, waypoints) by expiry: its
 * name and kind as text, a bar of the lifetime it has used, when it expires. */
function Timeline({ certs }: { certs: Certificates }) {
  const now = Date.now();
  const all = expiryRows(certs, now);
  const rows = all.slice(0, TIMELINE_MAX_ROWS);
  return (
    <>
      {certs.workloads.length === 0 && <Empty>No workload certificate reported by the node agents yet.</Empty>}
      <div class="timeline" role="table" aria-label="Certificate expiry">
        {rows.map((r) => (
          <div class="tl-row" role="row" key={r.key}>
            <span class="tl-name" role="cell" title={r.detail}>
              <Badge kind="muted">{EXPIRY_KIND_LABEL[r.kind]}</Badge> <span class="mono">{r.name}</span>
              {(r.kind === 'workload' || r.kind === 'waypoint') && <span class="muted small"> {r.detail}</span>}
            </span>
            <span class="tl-track" role="cell" aria-label={`${(r.used * 100).toFixed(0)}% of its lifetime used`}>
              <span class={`tl-bar ${r.state}`} style={{ left: 0, width: `${(r.used * 100).toFixed(2)}%` }} />
            </span>
            <span class="tl-when" role="cell" title={r.notAfter}>
              {r.state === 'bad' ? `expired ${relative(r.notAfter, now)}` : `expires ${relative(r.notAfter, now)}`}
            </span>
          </div>
        ))}
      </div>
      {all.length > rows.length && <p class="muted">{all.length - rows.length} more expire later.</p>}
    </>
  );
}

/** How often the mesh page reloads the status. */
export const MESH_REFRESH_MS = 10_000;

export function MeshPage() {
  const st = useApi((s) => api.status(s), []);
  useInterval(st.reload, MESH_REFRESH_MS);
  const certs = useApi((s) => api.certificates(s), []);
  const d = st.data;
  return (
    <Page title="Mesh" loaded={st}>
      {d && (
        <>
          {d.problems.length > 0 && (
            <ul class="problems" role="alert">
              {d.problems.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          )}
          <h2>Controller</h2>
          <p>
            Leader: <strong>{d.controller.leader ?? 'none'}</strong>, config version <span class="mono">{d.configVersion}</span>
          </p>
          <table class="list">
            <thead>
              <tr>
                <th>Replica</th>
                <th>Node</th>
                <th>Ready</th>
                <th>Role</th>
                <th>Version</th>
              </tr>
            </thead>
            <tbody>
              {d.controller.replicas.map((r) => (
                <tr key={r.name}>
                  <td>{r.name}</td>
                  <td>{r.node}</td>
                  <td>{r.ready ? <Badge kind="ok">ready</Badge> : <Badge kind="bad">not ready</Badge>}</td>
                  <td>{r.leader ? 'leader' : 'follower'}</td>
                  <td class="mono">{r.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Node agents</h2>
          <table class="list">
            <thead>
              <tr>
                <th>Node</th>
                <th>Connected</th>
                <th>Acked version</th>
                <th>NACKs</th>
                <th>Problems</th>
              </tr>
            </thead>
            <tbody>
              {d.agents.map((a) => (
                <tr key={a.node}>
                  <td>{a.node}</td>
                  <td>{a.connected ? <Badge kind="ok">connected</Badge> : <Badge kind="bad">disconnected</Badge>}</td>
                  <td class="mono">
                    {a.ackedVersion ?? '-'}
                    {a.ackedVersion !== null && a.ackedVersion !== (a.controllerVersion ?? d.configVersion) && <Badge kind="warn">behind</Badge>}
                  </td>
                  <td>{a.nacks.length === 0 ? '-' : a.nacks.map((n) => <div key={n.version}>{n.version}: {n.message}</div>)}</td>
                  <td>{a.problems.length === 0 ? '-' : a.problems.map((p, i) => <div key={i}>{p}</div>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Waypoints</h2>
          {d.waypoints.length === 0 ? (
            <Empty>No waypoints.</Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>Waypoint</th>
                  <th>Address</th>
                  <th>Replicas</th>
                  <th>Services</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {d.waypoints.map((w) => (
                  <tr key={`${w.namespace}/${w.name}`}>
                    <td>
                      {w.namespace}/{w.name}
                    </td>
                    <td class="mono">{w.address ?? '-'}</td>
                    <td>{w.replicas}</td>
                    <td>{w.services.join(', ') || '-'}</td>
                    <td>
                      <Conditions conditions={w.conditions} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Certificate expiry</h2>
          <LoadNotices loaded={certs} />
          {certs.data && <Timeline certs={certs.data} />}
          <h2>CA roots</h2>
          {certs.data && (
            <table class="list">
              <thead>
                <tr>
                  <th>Subject</th>
                  <th>SHA-256 fingerprint</th>
                  <th>Valid from</th>
                  <th>Expires</th>
                </tr>
              </thead>
              <tbody>
                {certs.data.roots.map((r) => (
                  <tr key={r.fingerprint}>
                    <td>{r.subject}</td>
                    <td class="mono small">{r.fingerprint}</td>
                    <td>{r.notBefore}</td>
                    <td>
                      {r.notAfter} ({relative(r.notAfter)})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Page>
  );
}
