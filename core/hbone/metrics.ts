// The HBONE server's refusals as Prometheus counters: what an attacker made us refuse is
// visible as a rate, not as one log line per stream. Registered on the program's own
// Registry (the node agent's serves it on 15020).
import { Counter, type Registry } from 'prom-client';

export type StreamRejectReason = 'reset_before_answer' | 'peer_stream_limit' | 'header_list_too_large' | 'peer_penalised';
export type ConnectionRefuseReason = 'peer_penalised' | 'peer_connection_limit' | 'rapid_reset';

export class HboneServerMetrics {
  readonly rejectedStreams: Counter<'reason'>;
  readonly refusedConnections: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rejectedStreams = new Counter({
      name: 'ambient_hbone_rejected_streams_total',
      help: 'HBONE streams not served, by reason: reset_before_answer (the peer reset the stream before its answer: rapid reset, or a client that gave up), peer_stream_limit, header_list_too_large, peer_penalised.',
      labelNames: ['reason'],
      registers,
    });
    this.refusedConnections = new Counter({
      name: 'ambient_hbone_refused_connections_total',
      help: 'HBONE connections refused or closed for abuse, by reason: peer_penalised (the source address or identity is in the penalty box), peer_connection_limit, rapid_reset (too many streams reset before their answer on one connection).',
      labelNames: ['reason'],
      registers,
    });
    // Zeros visible before the first event, so rate() and alerts work from the start.
    for (const reason of ['reset_before_answer', 'peer_stream_limit', 'header_list_too_large', 'peer_penalised']) this.rejectedStreams.inc({ reason }, 0);
    for (const reason of ['peer_penalised', 'peer_connection_limit', 'rapid_reset']) this.refusedConnections.inc({ reason }, 0);
  }
}
