// The route function the route layer calls (route.ts): the Routes of the tunnel's Service
// from the held config, the pure plan (route-plan.ts), and the plan turned into what the
// data path does: the filtered request written back on the context, then a forward to the
// chosen backend Service port, or an answer (a redirect, 404 when no rule matches, 500 when
// the rule cannot send anywhere; gRPC clients get gRPC's form of those).
//
// A request to a workload (pod IP:port) has no routes: Routes attach to Services.
// RequestMirror targets the plan keeps (percent drawn) go on the action; the forward layer
// sends the copies (mirror.ts).
import type { MeshService } from '../../core/config/model.js';
import { localReply, isGrpcRequest } from './authz-decide.js';
import type { Headers, RequestContext, RouteAction } from './chain.js';
import { applyHeaderModifier, hostWithoutPort } from './filters.js';
import { defaultRoute, type RouteFunction } from './route.js';
import { planRoute } from './route-plan.js';
import type { HeaderModifier, Route } from '../../core/config/routes.js';

/** What the route function reads from the held config. */
export interface RouteSource {
  serviceByKey(key: string): MeshService | undefined;
  routesFor(serviceKey: string): readonly Route[];
}

function modifyResponse(mods: readonly HeaderModifier[]): ((h: Headers) => Headers) | undefined {
  if (mods.length === 0) return undefined;
  return (h) => mods.reduce<Headers>((acc, m) => applyHeaderModifier(acc, m), h);
}

export function routeFunction(source: () => RouteSource, random: () => number = Math.random): RouteFunction {
  return (ctx: RequestContext): RouteAction => {
    const serviceKey = ctx.target.service;
    if (serviceKey === undefined) return defaultRoute(ctx);
    const state = source();
    const namespace = state.serviceByKey(serviceKey)?.namespace ?? serviceKey.slice(0, serviceKey.indexOf('/'));
    const plan = planRoute(
      state.routesFor(serviceKey),
      { service: serviceKey, namespace, port: ctx.target.port },
      { method: ctx.method, path: ctx.path, host: hostWithoutPort(ctx.authority).toLowerCase(), headers: ctx.headers, sourceNamespace: ctx.source.namespace, scheme: ctx.scheme === 'https' ? 'https' : 'http' },
      random,
    );
    switch (plan.kind) {
      case 'default':
        return defaultRoute(ctx);
      case 'reject': {
        const reply = localReply(plan.status, plan.grpcStatus, `${plan.reason}\n`, {}, isGrpcRequest(ctx.headers));
        return { kind: 'respond', ...reply, ...named(plan.selection) };
      }
      case 'redirect': {
        const headers = modifyResponse(plan.responseModifiers)?.({ location: plan.location }) ?? { location: plan.location };
        return { kind: 'respond', status: plan.status, headers: flatten(headers), ...named(plan.selection) };
      }
      case 'forward': {
        ctx.path = plan.request.path;
        ctx.authority = plan.request.authority;
        ctx.headers = plan.request.headers;
        const responseHeaders = modifyResponse(plan.responseModifiers);
        return {
          kind: 'forward',
          service: plan.backend.service!,
          port: plan.backend.port,
          ...named(plan.selection),
          ...(plan.timeouts?.requestMs !== undefined && { requestTimeoutMs: plan.timeouts.requestMs }),
          ...(plan.timeouts?.backendRequestMs !== undefined && { backendRequestTimeoutMs: plan.timeouts.backendRequestMs }),
          ...(responseHeaders && { responseHeaders }),
          ...(plan.selection.rule.retry && { retry: plan.selection.rule.retry }),
          ...(plan.mirrors.length > 0 && { mirrors: plan.mirrors.flatMap((m) => (m.service !== undefined ? [{ service: m.service, port: m.port }] : [])) }),
        };
      }
    }
  };
}

function named(selection: { route: Route; rule: { name?: string } } | undefined): { route?: string; rule?: string } {
  if (!selection) return {};
  return { route: selection.route.key, ...(selection.rule.name !== undefined && { rule: selection.rule.name }) };
}

function flatten(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
