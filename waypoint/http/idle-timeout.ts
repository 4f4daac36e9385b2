// The idle timeout layer (TrafficPolicy `timeouts.idle`, chain.ts: after the request
// timeout): a request to a target whose policy sets it, with no byte moving in either
// direction for that long, is ended: 504 (flag UT) when its answer has not started, a
// reset once it has (the answer cannot be completed). Envoy's route idle_timeout.
//
// Bytes moving are reported by the forward layer (`touch`, where it relays the request and
// response bodies and when the answer's head arrives); the layer keeps the time of the
// last one and one timer, re-armed for what is left when it fires early. The idle clock
// starts when the request reaches this layer, so a request waiting for a connection, or
// an upstream that never answers, is idle too. A WebSocket is out of its reach once
// switched (101). The decision is `idleExpired`, pure.
import { ErrorCodes } from '../../core/errors.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { Layer, RequestContext } from './chain.js';

const lastActivity = new WeakMap<RequestContext, { at: number; now: () => number }>();

/** Bytes moved for `ctx` (a no-op for a request the layer does not watch). */
export function touch(ctx: RequestContext): void {
  const a = lastActivity.get(ctx);
  if (a) a.at = a.now();
}

/** Milliseconds until the request is idle for `idleMs`; 0 or less: it is. */
export function idleRemainingMs(lastActivityAt: number, now: number, idleMs: number): number {
  return lastActivityAt + idleMs - now;
}

export interface IdleTimeoutLayerOptions {
  policyFor: (service: string, port: number) => TrafficPolicy | undefined;
  now?: () => number;
}

export function idleTimeoutLayer(o: IdleTimeoutLayerOptions): Layer {
  const now = o.now ?? (() => performance.now());
  return async (ctx, next) => {
    const a = ctx.action;
    const ms = a?.kind === 'forward' && a.service !== undefined ? o.policyFor(a.service, a.port)?.timeouts?.idleMs : undefined;
    if (ms === undefined || ms <= 0) return next();
    const activity = { at: now(), now };
    lastActivity.set(ctx, activity);
    let timer: NodeJS.Timeout | undefined;
    let fire: () => void = () => {};
    const expired = new Promise<'expired'>((resolve) => {
      fire = () => {
        const left = idleRemainingMs(activity.at, now(), ms);
        if (left > 0) timer = setTimeout(fire, left);
        else resolve('expired');
      };
      timer = setTimeout(fire, ms);
    });
    try {
      const result = await Promise.race([next().then(() => 'done' as const), expired]);
      if (result === 'done' || ctx.signal.aborted) return;
      ctx.record.flags.push('UT');
      ctx.record.error = `${ErrorCodes.WAYPOINT_TIMEOUT}: idle timeout ${ms} ms (no byte either way)`;
      ctx.abort('idle timeout');
      if (ctx.downstream.headersSent) ctx.downstream.abort();
      else {
        ctx.record.status = 504;
        ctx.downstream.respond(504, { 'content-type': 'text/plain' }, `upstream idle timeout (${ms} ms)\n`);
      }
    } finally {
      clearTimeout(timer);
      lastActivity.delete(ctx);
    }
  };
}
