// Where the data-path workers' reports go on the main thread: the sinks the main thread
// would have fed had it carried the connections itself (the opened counter, the record
// sink with the access log and the closed/bytes counters, the decision counter and the
// observed edges, the HBONE refusal counters), in the order the worker reported them.
import type { HboneServerMetrics } from '../../core/hbone/metrics.js';
import { applyDecision } from '../observe/authz-sink.js';
import type { ObservedEdges } from '../observe/edges.js';
import type { AgentMetrics } from '../observe/metrics.js';
import type { ConnectionSink } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';
import type { WorkerEvents } from './protocol.js';

export interface WorkerEventsSinks {
  metrics: AgentMetrics;
  state: () => ProxyState;
  onConnectionEnd: ConnectionSink;
  /** Told of every opened connection besides the opened counter (the traffic summary); default: the counter only. */
  onConnectionOpen?: ConnectionSink;
  edges?: ObservedEdges;
  hbone: HboneServerMetrics;
}

export function workerEventsSink(s: WorkerEventsSinks): (e: WorkerEvents) => void {
  return (e) => {
    if (s.onConnectionOpen) for (const r of e.opened) s.onConnectionOpen(r);
    else for (const r of e.opened) s.metrics.connectionOpened(r, s.state());
    for (const r of e.ended) s.onConnectionEnd(r);
    for (const d of e.decisions) applyDecision(d, s.metrics, s.edges);
    for (const c of e.hbone) s.hbone[c.metric].inc({ reason: c.reason });
  };
}
