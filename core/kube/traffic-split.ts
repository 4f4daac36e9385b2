// Which write sets the weights of a Service's traffic between backend Services: the one
// decision behind `ambientctl traffic split` and the rollout driver (controller/
// rollout-driver.ts), pure. In, the HTTPRoutes and Services of the namespace, the Service
// whose traffic is split and the weights per backend Service; out, the HTTPRoute to create,
// the patch of the one route that attaches to the Service, nothing (already so), or a
// refusal that says why.
//
// The route is the Service's GAMMA route: an HTTPRoute of the Service's namespace with a
// parentRef {group: "", kind: Service, name: SVC}.
//  - No route attaches: one is created, named after the Service (or --route NAME), with one
//    rule whose backendRefs name each backend with its port and weight.
//  - One attaches (or --route names one of several): every rule that has backendRefs gets
//    the named backends with their weights; a backendRef already there keeps its other
//    fields (port, filters); every other backendRef of the rule stays with weight 0, so the
//    route still lists it (`traffic show`) and nothing written by hand is lost. Rules
//    without backendRefs (redirects) are left alone.
//  - Several attach: refused, naming them (`--route NAME` picks one).
// A new backendRef needs a port (the Gateway API requires one for a Service): the backend
// Service's only port, else its port whose number is the parent's (the parentRef's port,
// else one of the parent Service's ports); a backend Service that does not exist, or has
// several ports and none (or more than one) matches, is refused.
// Weights are non-negative integers up to the Gateway API's 1,000,000 and must not all be 0.

export const SERVICE_BACKEND_MAX_WEIGHT = 1_000_000;
const GW_GROUP = 'gateway.networking.k8s.io';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface BackendRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: unknown[];
  [k: string]: unknown;
}

export interface RouteRule {
  backendRefs?: BackendRef[];
  [k: string]: unknown;
}

export interface ParentRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  sectionName?: string;
}

export interface HTTPRouteObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: { parentRefs?: ParentRef[]; rules?: RouteRule[]; [k: string]: unknown };
  [k: string]: unknown;
}

export interface ServiceObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { ports?: Array<{ name?: string; port?: number }> };
}

export interface WeightedBackend {
  name: string;
  weight: number;
}

export interface SplitRequest {
  namespace: string;
  /** The Service whose traffic is split (the route's parent). */
  service: string;
  /** The HTTPRoutes of the namespace. */
  routes: readonly HTTPRouteObject[];
  /** The Services of the namespace (the parent and the backends). */
  services: readonly ServiceObject[];
  weights: readonly WeightedBackend[];
  /** `--route NAME`: which route when several attach, or the name of the one to create. */
  route?: string;
}

export type SplitWrite =
  | { verb: 'create'; name: string; body: HTTPRouteObject }
  /** A JSON merge patch of the whole spec.rules, carrying the route's resourceVersion. */
  | { verb: 'patch'; name: string; body: { metadata: { resourceVersion?: string }; spec: { rules: RouteRule[] } }; rules: RouteRule[] }
  | { verb: 'none'; name: string }
  | { verb: 'refuse'; message: string };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether a parentRef names the Service `service` of `namespace` (the route being in `namespace`). */
export function attachesTo(ref: unknown, namespace: string, service: string): boolean {
  if (!isObj(ref)) return false;
  return (ref['group'] ?? GW_GROUP) === '' && ref['kind'] === 'Service' && ref['name'] === service && (ref['namespace'] === undefined || ref['namespace'] === namespace);
}

/** The routes of `routes` with a parentRef to the Service. */
export function routesOfService(routes: readonly HTTPRouteObject[], namespace: string, service: string): HTTPRouteObject[] {
  return routes.filter((r) => (r.metadata?.namespace ?? namespace) === namespace && Array.isArray(r.spec?.parentRefs) && r.spec.parentRefs.some((p) => attachesTo(p, namespace, service)));
}

/** Whether a backendRef names the Service `name` of `namespace`. */
export function isServiceBackend(ref: unknown, namespace: string, name?: string): ref is BackendRef {
  if (!isObj(ref)) return false;
  return (ref['group'] ?? '') === '' && (ref['kind'] ?? 'Service') === 'Service' && (ref['namespace'] === undefined || ref['namespace'] === namespace) && (name === undefined || ref['name'] === name);
}

/** `echo-v1=90` -> {name, weight}; an Error naming the argument when it is not one. */
export function parseWeightArg(arg: string): WeightedBackend {
  const m = /^([^=]+)=(.*)$/.exec(arg);
  if (!m) throw new Error(`"${arg}" is not BACKEND=WEIGHT (e.g. echo-v1=90)`);
  const name = m[1]!;
  const w = m[2]!;
  if (!DNS_LABEL.test(name)) throw new Error(`"${arg}": "${name}" is not a Service name (a DNS label)`);
  if (!/^\d+$/.test(w) || Number(w) > SERVICE_BACKEND_MAX_WEIGHT) throw new Error(`"${arg}": the weight "${w}" is not an integer from 0 to ${SERVICE_BACKEND_MAX_WEIGHT}`);
  return { name, weight: Number(w) };
}

/** Checks a set of weights: names are Service names, each once, weights integers 0..1e6, not all 0. */
export function checkWeights(weights: readonly WeightedBackend[]): string | undefined {
  if (weights.length === 0) return 'no backend given: name at least one as BACKEND=WEIGHT, or --to BACKEND';
  const seen = new Set<string>();
  for (const w of weights) {
    if (!DNS_LABEL.test(w.name)) return `"${w.name}" is not a Service name (a DNS label)`;
    if (seen.has(w.name)) return `backend ${w.name} is named twice`;
    seen.add(w.name);
    if (!Number.isInteger(w.weight) || w.weight < 0 || w.weight > SERVICE_BACKEND_MAX_WEIGHT) return `the weight of ${w.name}, ${w.weight}, is not an integer from 0 to ${SERVICE_BACKEND_MAX_WEIGHT}`;
  }
  if (weights.every((w) => w.weight === 0)) return 'every weight is 0: no backend would get traffic';
  return undefined;
}

/** `--to NAME`: NAME takes everything (every other backend of the rule gets 0). */
export function weightsTo(name: string): WeightedBackend[] {
  return [{ name, weight: 100 }];
}

function portsOf(svc: ServiceObject | undefined): number[] {
  return (svc?.spec?.ports ?? []).map((p) => p.port).filter((p): p is number => typeof p === 'number');
}

/** The port a new backendRef to `backend` gets, or why there is none. */
export function backendPort(backend: ServiceObject, parentPorts: readonly number[]): number | { error: string } {
  const name = backend.metadata?.name ?? '?';
  const ports = portsOf(backend);
  if (ports.length === 0) return { error: `backend Service ${name} has no ports` };
  if (ports.length === 1) return ports[0]!;
  const matching = ports.filter((p) => parentPorts.includes(p));
  if (matching.length === 1) return matching[0]!;
  return {
    error:
      matching.length === 0
        ? `backend Service ${name} has several ports (${ports.join(', ')}) and none is the parent's (${parentPorts.join(', ') || 'none'}); add its backendRef with a port to the route by hand`
        : `backend Service ${name} has several ports matching the parent's (${matching.join(', ')}); add its backendRef with a port to the route by hand`,
  };
}

/** The rules with the weights applied (see the header); pure. */
export function applyWeights(rules: readonly RouteRule[], namespace: string, weights: readonly WeightedBackend[], newPort: (name: string) => number | { error: string }): RouteRule[] | { error: string } {
  const out: RouteRule[] = [];
  for (const rule of rules) {
    if (!isObj(rule) || !Array.isArray(rule.backendRefs) || rule.backendRefs.length === 0) {
      out.push(rule);
      continue;
    }
    const refs: BackendRef[] = [];
    const given = new Set<string>();
    for (const ref of rule.backendRefs) {
      if (!isObj(ref)) continue;
      const w = isServiceBackend(ref, namespace) ? weights.find((x) => x.name === ref.name) : undefined;
      // The first backendRef of a named backend takes its weight; any other gets 0.
      if (w && !given.has(w.name)) {
        given.add(w.name);
        refs.push({ ...ref, weight: w.weight });
      } else refs.push({ ...ref, weight: 0 });
    }
    for (const w of weights) {
      if (refs.some((r) => isServiceBackend(r, namespace, w.name))) continue;
      const port = newPort(w.name);
      if (typeof port !== 'number') return port;
      refs.push({ name: w.name, port, weight: w.weight });
    }
    out.push({ ...rule, backendRefs: refs });
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The write that gives the Service's traffic the requested weights (see the header). */
export function planSplit(req: SplitRequest): SplitWrite {
  const { namespace, service } = req;
  const bad = checkWeights(req.weights);
  if (bad) return { verb: 'refuse', message: bad };
  const services = new Map(req.services.filter((s) => (s.metadata?.namespace ?? namespace) === namespace).map((s) => [s.metadata?.name ?? '', s]));
  const parent = services.get(service);
  if (!parent) return { verb: 'refuse', message: `Service ${namespace}/${service} does not exist` };
  const missing = req.weights.filter((w) => !services.has(w.name)).map((w) => w.name);
  if (missing.length > 0) return { verb: 'refuse', message: `backend Service${missing.length > 1 ? 's' : ''} ${missing.map((m) => `${namespace}/${m}`).join(', ')} do${missing.length > 1 ? '' : 'es'} not exist` };

  const attached = routesOfService(req.routes, namespace, service);
  let route: HTTPRouteObject | undefined;
  if (req.route !== undefined) {
    route = attached.find((r) => r.metadata?.name === req.route);
    if (!route && attached.length > 0) {
      return { verb: 'refuse', message: `HTTPRoute ${namespace}/${req.route} does not attach to Service ${service}; the routes that do: ${attached.map((r) => r.metadata?.name).join(', ')}` };
    }
  } else if (attached.length > 1) {
    const names = attached.map((r) => r.metadata?.name ?? '?').sort();
    return { verb: 'refuse', message: `${names.length} HTTPRoutes attach to Service ${namespace}/${service} (${names.join(', ')}); pick one with --route NAME` };
  } else route = attached[0];

  if (!route) {
    const name = req.route ?? service;
    if (req.routes.some((r) => r.metadata?.name === name && (r.metadata?.namespace ?? namespace) === namespace)) {
      return { verb: 'refuse', message: `HTTPRoute ${namespace}/${name} exists and does not attach to Service ${service}; name another with --route NAME` };
    }
    const parentPorts = portsOf(parent);
    const refs: BackendRef[] = [];
    for (const w of req.weights) {
      const port = backendPort(services.get(w.name)!, parentPorts);
      if (typeof port !== 'number') return { verb: 'refuse', message: port.error };
      refs.push({ name: w.name, port, weight: w.weight });
    }
    return {
      verb: 'create',
      name,
      body: {
        apiVersion: `${GW_GROUP}/v1`,
        kind: 'HTTPRoute',
        metadata: { name, namespace },
        spec: { parentRefs: [{ group: '', kind: 'Service', name: service }], rules: [{ backendRefs: refs }] },
      },
    };
  }

  const name = route.metadata?.name ?? '';
  const ref = route.spec!.parentRefs!.find((p) => attachesTo(p, namespace, service))!;
  const parentPorts = typeof ref.port === 'number' ? [ref.port] : portsOf(parent);
  const rules = Array.isArray(route.spec?.rules) ? route.spec.rules : [];
  if (!rules.some((r) => isObj(r) && Array.isArray(r.backendRefs) && r.backendRefs.length > 0)) {
    // A route without any backendRef (every rule a redirect, or none): weights go to a new rule.
    const refs: BackendRef[] = [];
    for (const w of req.weights) {
      const port = backendPort(services.get(w.name)!, parentPorts);
      if (typeof port !== 'number') return { verb: 'refuse', message: port.error };
      refs.push({ name: w.name, port, weight: w.weight });
    }
    if (rules.length > 0) return { verb: 'refuse', message: `HTTPRoute ${namespace}/${name} has no rule with backendRefs (its rules redirect): no weights to set` };
    const next = [{ backendRefs: refs }];
    return { verb: 'patch', name, rules: next, body: { metadata: { resourceVersion: route.metadata?.resourceVersion }, spec: { rules: next } } };
  }
  const next = applyWeights(rules, namespace, req.weights, (b) => backendPort(services.get(b)!, parentPorts));
  if (!Array.isArray(next)) return { verb: 'refuse', message: next.error };
  if (same(next, rules)) return { verb: 'none', name };
  return { verb: 'patch', name, rules: next, body: { metadata: { resourceVersion: route.metadata?.resourceVersion }, spec: { rules: next } } };
}

/** A backend's configured weight in a rule, as the data plane reads it (absent: 1). */
export function weightOf(ref: BackendRef): number {
  return typeof ref.weight === 'number' ? ref.weight : 1;
}
