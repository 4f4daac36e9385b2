// The proxy's ConnectionSink: one access-log line and the TCP metrics per finished
// connection (DESIGN.md section 2 step 6: "record the connection once: metrics and one
// access-log line"). The state is read when the record arrives, so names resolve against
// the newest snapshot.
import type { Logger } from '../../core/log.js';
import type { Tracer } from '../../core/trace/tracer.js';
import type { ConnectionSink } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';
import { accessLogFields } from './labels.js';
import { exportConnectionSpan } from './connection-span.js';
import type { AgentMetrics } from './metrics.js';

/** With `tracer` enabled, also one span per connection (connection-span.ts); without one,
 * or with the no-op tracer, the sink is what it was. */
export function accessLogSink(logger: Logger, getState: () => ProxyState, metrics?: AgentMetrics, tracer?: Tracer): ConnectionSink {
  if (tracer?.enabled) {
    return (record) => {
      const state = getState();
      logger.info(accessLogFields(record, state), 'connection');
      metrics?.connectionClosed(record, state);
      exportConnectionSpan(tracer, record);
    };
  }
  return (record) => {
    const state = getState();
    logger.info(accessLogFields(record, state), 'connection');
    metrics?.connectionClosed(record, state);
  };
}
