// /services/{ns}/{name}: endpoints with health and outlier ejection, waypoint, routes with
// their weights and the live share each backend gets, the traffic split control, rollouts.
import { api } from '../api.js';
import { Badge, Conditions, Empty, Page, useApi, useInterval } from '../components.js';
import { pct, relative, workloadHref } from '../format.js';
import { Rollouts } from './rollouts.js';
import { WeightControl } from './weight-control.js';

/** How often the service page reloads, so the live share follows the traffic. */
export const SERVICE_REFRESH_MS = 5_000;

export function ServicePage({ ns, name }: { ns: string; name: string }) {
  const s = useApi((sig) => api.service(ns, name, sig), [ns, name]);
  useInterval(s.reload, SERVICE_REFRESH_MS);
  const d = s.data;
  const splittable = d?.routes.flatMap((r) => (r.kind === 'HTTPRoute' || r.kind === 'GRPCRoute' ? r.rules : [])).find((rule) => rule.backends.length > 0);
  return (
    <Page title={<>Service {ns}/{name}</>} loaded={s}>
      {d && (
        <>
          <dl class="facts">
            <dt>Addresses</dt>
            <dd class="mono">{d.vips.join(', ') || '-'}</dd>
            <dt>Ports</dt>
            <dd>{d.ports.map((p) => `${p.name ?? ''}${p.name ? ' ' : ''}${p.port}/${p.appProtocol ?? p.protocol.toLowerCase()}`).join(', ')}</dd>
            <dt>Waypoint</dt>
            <dd>{d.waypoint ?? 'none (L4 only)'}</dd>
          </dl>
          <h2>Endpoints</h2>
          {d.endpoints.length === 0 ? (
            <Empty>No endpoints.</Empty>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th>Workload</th>
                  <th>Address</th>
                  <th>Node</th>
                  <th>Health</th>
                  <th>Outlier detection</th>
                </tr>
              </thead>
              <tbody>
                {d.endpoints.map((e) => {
                  const [wns, wname] = e.workload.split('/') as [string, string];
                  return (
                    <tr key={`${e.ip}:${e.port}`}>
                      <td>
                        <a href={workloadHref(wns, wname)}>{e.workload}</a>
                      </td>
                      <td class="mono">
                        {e.ip}:{e.port}
                      </td>
                      <td>{e.node}</td>
                      <td>
                        <Badge kind={e.health === 'healthy' ? 'ok' : e.health === 'unhealthy' ? 'bad' : 'muted'}>{e.health}</Badge>
                      </td>
                      <td>{e.ejected ? <Badge kind="bad">ejected until {relative(e.ejectedUntil)}</Badge> : 'in rotation'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <h2>Routes</h2>
          {d.routes.length === 0 ? (
            <Empty>No route sends traffic for this service: requests go to its endpoints.</Empty>
          ) : (
            d.routes.map((r) => (
              <article class="route" key={`${r.kind}/${r.namespace}/${r.name}`}>
                <h3>
                  {r.kind} {r.namespace}/{r.name}
                </h3>
                <Conditions conditions={r.conditions} />
                <table class="list">
                  <thead>
                    <tr>
                      <th>Matches</th>
                      <th>Backend</th>
                      <th>Weight</th>
                      <th>Live share</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.rules.flatMap((rule, i) =>
                      rule.backends.map((b, j) => {
                        const total = rule.backends.reduce((a, x) => a + x.weight, 0);
                        return (
                          <tr key={`${i}/${j}`}>
                            <td>{j === 0 ? rule.matches || 'every request' : ''}</td>
                            <td>{b.name}</td>
                            <td>
                              {b.weight} ({total > 0 ? pct(b.weight / total, 0) : '-'})
                            </td>
                            <td>
                              <span class="share" style={{ '--share': `${(b.liveShare ?? 0) * 100}%` }}>
                                {pct(b.liveShare)}
                              </span>
                            </td>
                          </tr>
                        );
                      }),
                    )}
                  </tbody>
                </table>
              </article>
            ))
          )}
          <h2>Traffic split</h2>
          {splittable ? (
            <WeightControl ns={ns} name={name} backends={splittable.backends} onApplied={s.reload} />
          ) : (
            <Empty>No HTTPRoute rule with backends to split between.</Empty>
          )}
          <h2>Rollouts</h2>
          <Rollouts rollouts={d.rollouts} onChanged={s.reload} />
        </>
      )}
    </Page>
  );
}
