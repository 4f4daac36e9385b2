// PUT /services/{namespace}/{name}/split: `ambientctl traffic split` through the API. The
// plan is core/kube/traffic-split.ts's (the same as the CLI's), made from the controller's
// cached HTTPRoutes and Services of the namespace; the write carries the route's
// resourceVersion, so a change made meanwhile is a 409, never overwritten (the patch is
// planned once more from the stored route then, since the cache may only lag). The route
// answered is the API server's (the object after the write).
import type { HttpRouteObject } from '../../../console/api-types.js';
import { PatchStrategy } from '@kubernetes/client-node';
import { planSplit, weightsTo, type HTTPRouteObject, type ServiceObject, type WeightedBackend } from '../../../core/kube/traffic-split.js';
import { ApiFailure, badRequest, invalid } from '../api-error.js';
import type { ApiContext } from '../context.js';
import type { ApiAnswer, ApiRequest } from '../types.js';
import { kube } from './kube.js';

const ROUTES = (ns: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/httproutes`;
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The body's weights: {weights: {"echo-v1": 90, ...}} or {to: "echo-v2"}, optional route; a fault names the field. */
export function readSplitBody(body: unknown): { weights: WeightedBackend[]; route?: string } {
  if (!isObj(body)) throw badRequest('the body must be a JSON object: {"weights": {"<service>": <weight>, ...}} or {"to": "<service>"}');
  const route = body['route'];
  if (route !== undefined && (typeof route !== 'string' || route === '')) throw badRequest(`route: ${JSON.stringify(route)} is not an HTTPRoute name`);
  const extra = Object.keys(body).filter((k) => !['weights', 'to', 'route'].includes(k));
  if (extra.length > 0) throw badRequest(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}: expected weights, to, route`);
  if ((body['weights'] === undefined) === (body['to'] === undefined)) throw badRequest('give exactly one of weights ({"echo-v1": 90, "echo-v2": 10}) or to ("echo-v2")');
  let weights: WeightedBackend[];
  if (body['to'] !== undefined) {
    if (typeof body['to'] !== 'string' || body['to'] === '') throw badRequest(`to: ${JSON.stringify(body['to'])} is not a Service name`);
    weights = weightsTo(body['to']);
  } else {
    const w = body['weights'];
    if (!isObj(w) || Object.keys(w).length === 0) throw badRequest('weights: expected an object of Service name to weight, e.g. {"echo-v1": 90, "echo-v2": 10}');
    weights = Object.entries(w).map(([name, weight]) => {
      if (typeof weight !== 'number' || !Number.isInteger(weight)) throw badRequest(`weights.${name}: ${JSON.stringify(weight)} is not an integer`);
      return { name, weight };
    });
  }
  return { weights, ...(typeof route === 'string' ? { route } : {}) };
}

/** The answer is the HTTPRoute as the API server holds it after the write (console/api-types.d.ts:
 * HttpRouteObject); 201 when it was created. Header ambient-split-outcome says which of
 * created, configured, unchanged it was (as `ambientctl traffic split` prints it). */
export const SPLIT_OUTCOME_HEADER = 'ambient-split-outcome';

export async function putSplit(req: ApiRequest, ctx: ApiContext): Promise<ApiAnswer> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const { weights, route } = readSplitBody(req.body);
  const s = ctx.state();
  const routes = (s.httpRoutes ?? []).filter((r) => r.metadata?.namespace === namespace) as unknown as HTTPRouteObject[];
  const services = s.services.filter((x) => x.metadata?.namespace === namespace) as unknown as ServiceObject[];
  const plan = (rs: HTTPRouteObject[]) => planSplit({ namespace, service: name, routes: rs, services, weights, ...(route !== undefined ? { route } : {}) });
  const write = plan(routes);
  const summary = weights.map((w) => `${w.name}=${w.weight}`).join(' ');
  switch (write.verb) {
    case 'refuse':
      throw invalid(write.message);
    case 'none': {
      const current = await kube<HTTPRouteObject>(ctx, 'GET', `${ROUTES(namespace)}/${encodeURIComponent(write.name)}`);
      return { body: current as unknown as HttpRouteObject, headers: { [SPLIT_OUTCOME_HEADER]: 'unchanged' } };
    }
    case 'create': {
      // The route does not exist yet: creating one needs its own verb.
      await req.authorize({ verb: 'create', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace });
      const created = await kube<HTTPRouteObject>(ctx, 'POST', ROUTES(namespace), write.body);
      req.audit({ verb: 'create', object: `httproutes.gateway.networking.k8s.io/${namespace}/${write.name}`, detail: { service: name, weights: summary } });
      return { status: 201, body: created as unknown as HttpRouteObject, headers: { [SPLIT_OUTCOME_HEADER]: 'created' } };
    }
    case 'patch': {
      await req.authorize({ verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes', namespace, name: write.name });
      const path = `${ROUTES(namespace)}/${encodeURIComponent(write.name)}`;
      let patched: HTTPRouteObject;
      try {
        patched = await kube<HTTPRouteObject>(ctx, 'PATCH', path, write.body, PatchStrategy.MergePatch);
      } catch (err) {
        // The cache can lag the API server, by the controller's own status write on the route
        // (route-status.ts) too: plan once more from the route as stored now, so that what
        // changed meanwhile is weighed in, still never overwritten blindly.
        if (!(err instanceof ApiFailure && err.status === 409)) throw err;
        const stored = await kube<HTTPRouteObject>(ctx, 'GET', path);
        const again = plan(routes.map((r) => (r.metadata?.name === write.name ? stored : r)));
        if (again.verb === 'none' && again.name === write.name) return { body: stored as unknown as HttpRouteObject, headers: { [SPLIT_OUTCOME_HEADER]: 'unchanged' } };
        if (again.verb !== 'patch' || again.name !== write.name) throw err;
        patched = await kube<HTTPRouteObject>(ctx, 'PATCH', path, again.body, PatchStrategy.MergePatch);
      }
      req.audit({ verb: 'patch', object: `httproutes.gateway.networking.k8s.io/${namespace}/${write.name}`, detail: { service: name, weights: summary } });
      return { body: patched as unknown as HttpRouteObject, headers: { [SPLIT_OUTCOME_HEADER]: 'configured' } };
    }
  }
}
