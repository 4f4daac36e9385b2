// The request timeout layer (Gateway API HTTPRoute `timeouts.request`; our default
// WAYPOINT_DEFAULTS.requestTimeoutMs, none): when the whole exchange has not finished in
// time, the upstream work is abandoned and the client gets 504, or, when the response had
// already begun, a reset (the answer cannot be completed). A WebSocket is out of its reach
// once switched (101): the layers below resolve then.
import { MAX_TIMER_MS } from '../../core/duration.js';
import { ErrorCodes } from '../../core/errors.js';
import type { Layer } from './chain.js';

export function timeoutLayer(defaultMs: number): Layer {
  return async (ctx, next) => {
    const action = ctx.action;
    const ms = action?.kind === 'forward' && action.requestTimeoutMs !== undefined ? action.requestTimeoutMs : defaultMs;
    if (!ms || ms <= 0) return next();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      // A Gateway API timeout may be up to 99999h; a longer delay than a timer holds would fire at once.
      timer = setTimeout(() => resolve('expired'), Math.min(ms, MAX_TIMER_MS));
    });
    try {
      const result = await Promise.race([next().then(() => 'done' as const), expired]);
      if (result === 'done') return;
      ctx.record.flags.push('UT');
      ctx.record.error = `${ErrorCodes.WAYPOINT_TIMEOUT}: request timeout ${ms} ms`;
      ctx.abort('request timeout');
      if (ctx.downstream.headersSent) ctx.downstream.abort();
      else {
        ctx.record.status = 504;
        ctx.downstream.respond(504, { 'content-type': 'text/plain' }, `upstream request timeout (${ms} ms)\n`);
      }
    } finally {
      clearTimeout(timer);
    }
  };
}
