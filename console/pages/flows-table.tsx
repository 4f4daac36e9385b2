// A table of flows (the flows page, a workload's recent flows).
import type { Flow } from '../api-types.js';
import { Empty } from '../components.js';
import { bytes, clock, ms } from '../format.js';

const VERDICT: Record<Flow['verdict'], string> = { allowed: 'allowed', denied: 'denied', 'dry-run-deny': 'dry-run would deny' };

function endpoint(p: { namespace: string | null; workload: string | null }, service?: string | null): string {
  const name = p.workload ?? service ?? '?';
  return p.namespace ? `${p.namespace}/${name}` : name;
}

export function FlowsTable({ flows }: { flows: Flow[] }) {
  if (flows.length === 0) return <Empty>No flows yet.</Empty>;
  return (
    <table class="list flows">
      <thead>
        <tr>
          <th>Time</th>
          <th>Verdict</th>
          <th>Policy</th>
          <th>Source</th>
          <th>Destination</th>
          <th>Request</th>
          <th>Status</th>
          <th>Duration</th>
          <th>Bytes</th>
        </tr>
      </thead>
      <tbody>
        {flows.map((f) => (
          <tr key={f.id} class={`verdict-${f.verdict}`} data-flow-id={f.id}>
            <td class="mono">{clock(f.time)}</td>
            <td>
              <span class={`badge badge-${f.verdict === 'allowed' ? 'ok' : f.verdict === 'denied' ? 'bad' : 'warn'}`}>{VERDICT[f.verdict]}</span>
            </td>
            <td>{f.policy ?? <span class="muted">-</span>}</td>
            <td>
              {endpoint(f.source)}
              {f.source.identity && <div class="mono small">{f.source.identity}</div>}
            </td>
            <td>
              {endpoint(f.destination, f.destination.service)}:{f.destination.port}
              {f.destination.identity && <div class="mono small">{f.destination.identity}</div>}
            </td>
            <td class="mono">{f.kind === 'request' ? `${f.method ?? ''} ${f.path ?? ''}` : f.protocol}</td>
            <td>{f.status ?? '-'}</td>
            <td>{ms(f.durationMs)}</td>
            <td>
              {bytes(f.bytesSent)} / {bytes(f.bytesReceived)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
