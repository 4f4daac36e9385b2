// The route layer: asks the injected route function (the real one merges the Service's
// HTTPRoutes and GRPCRoutes and applies request filters, waypoint/http/route-match.ts and
// filters.ts) what to do with the request, records its answer on the context, and either
// answers (a redirect, a 500 for an unresolved backend, a 404) or goes on to forwarding.
// Without a route function every request goes to the tunnel's own target.
import type { Layer, RequestContext, RouteAction } from './chain.js';

export type RouteFunction = (ctx: RequestContext) => RouteAction;

/** What happens without routes: the request goes where the client sent it (Service port or pod). */
export function defaultRoute(ctx: RequestContext): RouteAction {
  const t = ctx.target;
  return { kind: 'forward', port: t.port, ...(t.service !== undefined && { service: t.service }), ...(t.endpoint && { endpoint: t.endpoint }) };
}

export function routeLayer(route: RouteFunction = defaultRoute): Layer {
  return async (ctx, next) => {
    let action: RouteAction;
    try {
      action = route(ctx);
    } catch (err) {
      // A routing bug must not take the request (or the process) with it: 500, recorded.
      ctx.record.error = `route failed: ${(err as Error).message}`;
      ctx.record.status = 500;
      ctx.downstream.respond(500, { 'content-type': 'text/plain' }, 'routing failed\n');
      return;
    }
    ctx.action = action;
    if (action.route !== undefined) ctx.record.route = action.route;
    if (action.rule !== undefined) ctx.record.rule = action.rule;
    if (action.kind === 'respond') {
      ctx.record.status = action.status;
      ctx.downstream.respond(action.status, action.headers ?? {}, action.body ?? '');
      return;
    }
    return next();
  };
}
