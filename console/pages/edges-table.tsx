// A table of graph edges (a workload's inbound or outbound traffic, the graph's text view).
import type { GraphEdge } from '../api-types.js';
import { Empty, Lock } from '../components.js';
import { bytes, edgeHealth, ms, nodeHref, nodeName, pct, rate } from '../format.js';

export function EdgesTable({ edges, caption, onSelect }: { edges: GraphEdge[]; caption: string; onSelect?: (e: GraphEdge) => void }) {
  if (edges.length === 0) return <Empty>No {caption.toLowerCase()} in the window.</Empty>;
  return (
    <table class="list edges">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th>From</th>
          <th>To</th>
          <th>Port</th>
          <th>Rate</th>
          <th>Success</th>
          <th>p99</th>
          <th>Bytes</th>
          <th>mTLS</th>
          <th>L7</th>
        </tr>
      </thead>
      <tbody>
        {edges.map((e) => (
          <tr key={e.id} class={`health-${edgeHealth(e.successRate)}`}>
            <td>
              <a href={nodeHref(e.source)}>{nodeName(e.source)}</a>
            </td>
            <td>
              <a href={nodeHref(e.target)}>{nodeName(e.target)}</a>
            </td>
            <td>
              {e.port}/{e.protocol}
            </td>
            <td>{e.requestsPerSecond !== null ? `${rate(e.requestsPerSecond)} req` : `${rate(e.connectionsPerSecond)} conn`}</td>
            <td>{pct(e.successRate)}</td>
            <td>{ms(e.p99LatencyMs)}</td>
            <td>{bytes(e.bytesSent + e.bytesReceived)}</td>
            <td>{e.mtls ? <span class="ok"><Lock /> mTLS</span> : <span class="bad" title="plaintext">plaintext</span>}</td>
            <td>
              {e.waypoint ? <span title="through a waypoint (L7)">◆ waypoint</span> : ''}
              {onSelect && (
                <button type="button" class="link" onClick={() => onSelect(e)}>
                  details
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
