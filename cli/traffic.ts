// `ambientctl traffic split|show`: a Service's traffic between backend Services (canary,
// blue/green) through its HTTPRoute's backendRef weights. `split` decides the write with
// core/kube/traffic-split.ts (the rollout driver's decision too) and makes it through the
// API server; `show` prints the route's rules, each backend's configured weight and the
// live share each got, from the waypoint pods' own request metrics (:15020/metrics), read
// on the local cluster inside each pod's network namespace as `ambientctl status` reaches
// components (cli/mesh/transport.ts). Elsewhere, or when the metrics cannot be read, the
// configured weights are printed and the reason the live shares are missing.
import { Command, Option } from 'commander';
import { PatchStrategy, type KubeConfig, type V1EndpointSlice, type V1Namespace, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { kubeRequest } from '../core/kube/rest.js';
import { parseDurationMs } from '../core/config/request-authn.js';
import { parsePrometheusText, type Sample } from '../core/observe/prom-text.js';
import { MESH_PORTS } from '../core/ports.js';
import { isServiceBackend, parseWeightArg, planSplit, routesOfService, weightsTo, type HTTPRouteObject, type WeightedBackend } from '../core/kube/traffic-split.js';
import { serviceWaypoint, serviceWorkloads, waypointPods, type ClusterView } from '../controller/rollout-targets.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { getTextInNetns, localClusterFor, REQUEST_TIMEOUT_MS } from './mesh/transport.js';
import { podNetnsName } from '../local-cluster/network/topology.js';
import { liveRequests, renderTraffic, trafficView, type Live } from './traffic-view.js';

const ROUTES = (ns: string) => `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/httproutes`;
const CORE = (ns: string, plural: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/${plural}`;
/** `traffic show`: the default window live shares are measured over, and the waypoint pods read at most. */
export const TRAFFIC_SHOW_DEFAULT_WINDOW = '5s';
export const TRAFFIC_SHOW_MAX_WAYPOINT_PODS = 32;

interface Globals extends ContextOptions {
  namespace?: string;
}

async function list<T>(kc: KubeConfig, path: string): Promise<T[]> {
  return (await kubeRequest<{ items?: T[] }>(kc, 'GET', path)).items ?? [];
}

/** The namespace's objects the decisions read. */
async function namespaceView(kc: KubeConfig, ns: string): Promise<ClusterView & { routes: HTTPRouteObject[] }> {
  const [routes, services, pods, endpointSlices, namespace] = await Promise.all([
    list<HTTPRouteObject>(kc, ROUTES(ns)),
    list<V1Service>(kc, CORE(ns, 'services')),
    list<V1Pod>(kc, CORE(ns, 'pods')),
    list<V1EndpointSlice>(kc, `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`).catch(() => [] as V1EndpointSlice[]),
    kubeRequest<V1Namespace>(kc, 'GET', `/api/v1/namespaces/${encodeURIComponent(ns)}`).catch(() => undefined),
  ]);
  return { routes, services, pods, endpointSlices, namespaces: namespace ? [namespace] : [] };
}

/** The waypoint pods' live request counts per backend, or why there are none. */
async function liveShares(kc: KubeConfig, g: Globals, view: ClusterView, ns: string, service: string, backends: string[], windowMs: number): Promise<Live> {
  let rec;
  try {
    rec = localClusterFor('traffic show', g);
  } catch {
    return { available: false, reason: 'the waypoints\' metrics are read on the local cluster only for now (inside each waypoint pod\'s network namespace); elsewhere read :15020/metrics with kubectl port-forward' };
  }
  if (process.getuid?.() !== 0) return { available: false, reason: 'reading the waypoint pods\' metrics needs root (it connects inside their network namespaces)' };
  const w = serviceWaypoint(view, ns, service);
  if (!w) return { available: false, reason: `Service ${ns}/${service} has no waypoint (label ambient.dev/use-waypoint), so no waypoint measures its requests` };
  const wpPods = w.namespace === ns ? view.pods : await list<V1Pod>(kc, CORE(w.namespace, 'pods'));
  const pods = waypointPods({ ...view, pods: wpPods }, w, TRAFFIC_SHOW_MAX_WAYPOINT_PODS);
  if (pods.length === 0) return { available: false, reason: `waypoint ${w.namespace}/${w.name} has no running pod` };
  const uids = new Map(wpPods.map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? '']));
  const unreachable: string[] = [];
  const scrape = async (): Promise<Map<string, Sample[]>> => {
    const out = new Map<string, Sample[]>();
    await Promise.all(
      pods.map(async (p) => {
        try {
          const text = await getTextInNetns(podNetnsName(rec.name, uids.get(p.name) ?? ''), '127.0.0.1', MESH_PORTS.metrics, '/metrics', REQUEST_TIMEOUT_MS);
          out.set(p.name, parsePrometheusText(text).samples);
        } catch (err) {
          if (!unreachable.some((u) => u.startsWith(`${p.namespace}/${p.name} `))) unreachable.push(`${p.namespace}/${p.name} (${(err as Error).message})`);
        }
      }),
    );
    return out;
  };
  const before = windowMs > 0 ? await scrape() : new Map<string, Sample[]>();
  if (windowMs > 0) await new Promise((r) => setTimeout(r, windowMs));
  const now = await scrape();
  if (now.size === 0) return { available: false, reason: `no waypoint pod answered on :${MESH_PORTS.metrics}/metrics (${unreachable.join('; ')})` };
  // A pod that did not answer the first time would count its whole past: left out.
  if (windowMs > 0) for (const pod of [...now.keys()]) if (!before.has(pod)) now.delete(pod);
  const workloads = new Map(backends.map((b) => [b, serviceWorkloads(view, ns, b)]));
  const { requests, notes } = liveRequests(service, ns, workloads, before, now);
  return { available: true, windowMs, pods: now.size, unreachable, requests, notes };
}

export function trafficCommands(program: Command): void {
  const traffic = program.command('traffic').description("split a Service's traffic between backend Services (canary, blue/green) and show the split");

  traffic
    .command('split')
    .description("set the weights of a Service's HTTPRoute backends (-n NS), creating the route when there is none: SVC echo-v1=90 echo-v2=10, or SVC --to echo-v2")
    .argument('<service>', 'the Service whose traffic is split (the route\'s parent)')
    .argument('[weights...]', 'BACKEND=WEIGHT: backend Services and their integer weights')
    .option('--to <backend>', 'blue/green: this backend takes all traffic, every other backend of the route gets weight 0')
    .option('--route <name>', 'the HTTPRoute to write when several attach to the Service (or the name of the one to create)')
    .action(async (service: string, args: string[], o: { to?: string; route?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (o.to !== undefined && args.length > 0) throw new CliError('traffic split takes BACKEND=WEIGHT... or --to BACKEND, not both');
      let weights: WeightedBackend[];
      try {
        weights = o.to !== undefined ? weightsTo(o.to) : args.map(parseWeightArg);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const kc = loadKubeConfig(g);
      const ns = namespaceOf(kc, g.namespace);
      const view = await namespaceView(kc, ns);
      const write = planSplit({ namespace: ns, service, routes: view.routes, services: view.services, weights, ...(o.route !== undefined ? { route: o.route } : {}) });
      const summary = weights.map((w) => `${w.name}=${w.weight}`).join(' ');
      switch (write.verb) {
        case 'refuse':
          throw new CliError(write.message);
        case 'none':
          process.stdout.write(`httproute.gateway.networking.k8s.io/${write.name} unchanged (${summary})\n`);
          return;
        case 'create':
          await kubeRequest(kc, 'POST', ROUTES(ns), write.body);
          process.stdout.write(`httproute.gateway.networking.k8s.io/${write.name} created (${summary})\n`);
          return;
        case 'patch':
          await kubeRequest(kc, 'PATCH', `${ROUTES(ns)}/${encodeURIComponent(write.name)}`, write.body, PatchStrategy.MergePatch);
          process.stdout.write(`httproute.gateway.networking.k8s.io/${write.name} configured (${summary})\n`);
      }
    });

  traffic
    .command('show')
    .description("a Service's HTTPRoute rules (-n NS), each backend's configured weight and the live share each gets, from the waypoints' metrics")
    .argument('<service>', 'the Service')
    .option('--route <name>', 'only this HTTPRoute')
    .option('--window <duration>', 'live shares: the requests counted over this long (0: since the waypoints started)', TRAFFIC_SHOW_DEFAULT_WINDOW)
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .action(async (service: string, o: { route?: string; window: string; output: OutputFormat }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      let windowMs = 0;
      if (o.window !== '0') {
        try {
          windowMs = parseDurationMs('--window', o.window);
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      }
      const kc = loadKubeConfig(g);
      const ns = namespaceOf(kc, g.namespace);
      const view = await namespaceView(kc, ns);
      if (!view.services.some((s) => s.metadata?.name === service)) throw new CliError(`Service ${ns}/${service} does not exist`);
      let routes = routesOfService(view.routes, ns, service).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      if (o.route !== undefined) {
        routes = routes.filter((r) => r.metadata?.name === o.route);
        if (routes.length === 0) throw new CliError(`HTTPRoute ${ns}/${o.route} does not attach to Service ${service}`);
      }
      const backends = [...new Set(routes.flatMap((r) => (r.spec?.rules ?? []).flatMap((rule) => (rule.backendRefs ?? []).filter((b) => isServiceBackend(b, ns)).map((b) => String(b.name)))))];
      const live: Live = backends.length === 0 ? { available: false, reason: 'the route names no backend Service' } : await liveShares(kc, g, view, ns, service, backends, windowMs);
      process.stdout.write(renderTraffic(trafficView(ns, service, routes, live), o.output));
    });
}
