// Istio's standard TCP metrics (istio_tcp_connections_opened_total, _closed_total,
// istio_tcp_sent_bytes_total, istio_tcp_received_bytes_total) for connection records, in
// one registry: the node agents' (reporter source and destination, metrics.ts) and the
// waypoint's for what it carries as TCP (reporter waypoint, waypoint/observe/tcp-telemetry.ts).
import { Counter, type Registry } from 'prom-client';
import type { ConnectionRecord } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';
import { responseFlags, TCP_LABELS, tcpMetricLabels, type TcpLabel } from './labels.js';
import { LabelCache } from './label-cache.js';

type TcpField = 'opened' | 'closed' | 'sent' | 'received';

/** What decides a record's TCP labels (labels.ts tcpMetricLabels) besides the snapshot. */
function tcpKey(r: ConnectionRecord, flags: string): string {
  // The Service is guessed from the original port only on the destination side without one.
  const port = r.service === undefined && r.reporter === 'destination' ? (r.originalDst?.port ?? '') : '';
  return `${r.reporter}\u0000${r.sourceWorkload ?? ''}\u0000${r.destinationWorkload ?? ''}\u0000${r.service ?? ''}\u0000${r.sourceIdentity ?? ''}\u0000${r.destinationIdentity ?? ''}\u0000${r.mtls ? 1 : 0}\u0000${flags}\u0000${port}`;
}

export class TcpMetrics {
  // Names and help texts are Istio's (https://istio.io/latest/docs/reference/config/metrics/).
  readonly opened: Counter<TcpLabel>;
  readonly closed: Counter<TcpLabel>;
  readonly sentBytes: Counter<TcpLabel>;
  readonly receivedBytes: Counter<TcpLabel>;
  /** The counters' label sets, resolved once per workload pair and snapshot. */
  readonly #tcp = new LabelCache<TcpLabel, TcpField>(TCP_LABELS);

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = [...TCP_LABELS];
    const tcp = this.#tcp;
    this.opened = new Counter({
      name: 'istio_tcp_connections_opened_total',
      help: 'This is a COUNTER incremented for every opened connection.',
      labelNames,
      registers,
      collect() {
        tcp.fill(this, 'opened');
      },
    });
    this.closed = new Counter({
      name: 'istio_tcp_connections_closed_total',
      help: 'This is a COUNTER incremented for every closed connection.',
      labelNames,
      registers,
      collect() {
        tcp.fill(this, 'closed');
      },
    });
    this.sentBytes = new Counter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'This is a COUNTER which measures the size of total bytes sent during response in case of a TCP connection.',
      labelNames,
      registers,
      collect() {
        tcp.fill(this, 'sent');
      },
    });
    this.receivedBytes = new Counter({
      name: 'istio_tcp_received_bytes_total',
      help: 'This is a COUNTER which measures the size of total bytes received during request in case of a TCP connection.',
      labelNames,
      registers,
      collect() {
        tcp.fill(this, 'received');
      },
    });
  }

  /** A proxied connection was accepted (before its record is written). */
  connectionOpened(r: ConnectionRecord, state: ProxyState): void {
    LabelCache.add(this.#entry(r, state), 'opened');
  }

  /** A connection's record was written: closed, and its bytes. Istio counts request bytes
   * (client -> server) as received and response bytes (server -> client) as sent, the
   * proxy's view of the request; the record's bytesSent is client -> upstream. */
  connectionClosed(r: ConnectionRecord, state: ProxyState): void {
    const e = this.#entry(r, state);
    LabelCache.add(e, 'closed');
    LabelCache.add(e, 'received', r.bytesSent);
    LabelCache.add(e, 'sent', r.bytesReceived);
  }

  #entry(r: ConnectionRecord, state: ProxyState) {
    return this.#tcp.entry(state, tcpKey(r, responseFlags(r)), () => tcpMetricLabels(r, state));
  }
}
