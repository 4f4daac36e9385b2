// `ambientctl traffic split|show`: a Service's traffic between backend Services (canary,
// blue/green) through its HTTPRoute's backendRef weights, through the controller's API
// (docs/api.md) so that they work the same on the local cluster and on a real one. `split`
// is PUT /services/{ns}/{name}/split: the controller plans the write with
// core/kube/traffic-split.ts (the rollout driver's decision too), checks that the caller may
// patch (or create) HTTPRoutes in the namespace, and writes through the Kubernetes API; the
// route it answers is printed. `show` is GET /services/{ns}/{name}: the compiled routes, each
// backend's weight and the live share each got in the controller's telemetry window.
import { Command, Option } from 'commander';
import type { HttpRouteObject, ServiceDetail } from '../console/api-types.js';
import { parseDuration } from '../core/duration.js';
import { parseWeightArg, weightsTo, type WeightedBackend } from '../core/kube/traffic-split.js';
import { apiFor, serviceAccountOption, type ApiClient } from './api-client.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { renderSplit, renderTraffic, trafficView, type SplitOutcome } from './traffic-view.js';

/** `traffic show`: the part of the controller's telemetry window live shares are counted over. */
export const TRAFFIC_SHOW_DEFAULT_WINDOW = '1m';

interface Globals extends ContextOptions {
  namespace?: string;
}

const servicePath = (ns: string, name: string) => `/services/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;

export interface SplitOptions {
  to?: string;
  route?: string;
  output?: OutputFormat;
}

/** The weights of BACKEND=WEIGHT... or --to; a fault names the argument, before anything is asked. */
export function splitWeights(args: readonly string[], o: Pick<SplitOptions, 'to'>): WeightedBackend[] {
  if (o.to !== undefined && args.length > 0) throw new CliError('traffic split takes BACKEND=WEIGHT... or --to BACKEND, not both');
  if (o.to === undefined && args.length === 0) throw new CliError('traffic split needs BACKEND=WEIGHT... or --to BACKEND');
  try {
    return o.to !== undefined ? weightsTo(o.to) : args.map(parseWeightArg);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** `traffic split`: the text it prints. */
export async function trafficSplit(api: ApiClient, ns: string, service: string, args: readonly string[], o: SplitOptions): Promise<string> {
  const weights = splitWeights(args, o);
  const body = {
    ...(o.to !== undefined ? { to: o.to } : { weights: Object.fromEntries(weights.map((w) => [w.name, w.weight])) }),
    ...(o.route !== undefined ? { route: o.route } : {}),
  };
  const answer = await api.write<HttpRouteObject>('PUT', `${servicePath(ns, service)}/split`, body);
  const header = answer.headers['ambient-split-outcome'];
  const outcome: SplitOutcome = answer.status === 201 ? 'created' : header === 'unchanged' ? 'unchanged' : 'configured';
  return renderSplit(outcome, answer.body, ns, weights.map((w) => `${w.name}=${w.weight}`).join(' '), o.output ?? 'table');
}

export interface ShowOptions {
  route?: string;
  window: string;
  output: OutputFormat;
}

/** `--window`: a duration of 1ms to 1h, else a message naming it and what it is for. */
export function checkWindow(window: string): void {
  const why = "the part of the controller's telemetry window the live shares are counted over";
  parseDuration('--window', window, { fractions: true, min: 1, max: 3_600_000, error: (flag, bad) => new CliError(`${flag}: ${bad}; it is ${why}`) });
}

/** `traffic show`: the text it prints. */
export async function trafficShow(api: ApiClient, ns: string, service: string, o: ShowOptions): Promise<string> {
  checkWindow(o.window);
  const detail = await api.get<ServiceDetail>(servicePath(ns, service), { window: o.window });
  let routes = detail.routes.filter((r) => r.kind === 'HTTPRoute' || r.kind === 'GRPCRoute').sort((a, b) => a.name.localeCompare(b.name));
  if (o.route !== undefined) {
    routes = routes.filter((r) => r.name === o.route);
    if (routes.length === 0) throw new CliError(`HTTPRoute ${ns}/${o.route} does not attach to Service ${service} (as the controller compiled it)`);
  }
  return renderTraffic(trafficView(ns, service, routes, o.window), o.output);
}

function namespaceFor(cmd: Command): string {
  const g = cmd.optsWithGlobals() as Globals;
  return namespaceOf(loadKubeConfig(g), g.namespace);
}

export function trafficCommands(program: Command): void {
  const traffic = program.command('traffic').description("split a Service's traffic between backend Services (canary, blue/green) and show the split, through the controller's API");

  traffic
    .command('split')
    .description("set the weights of a Service's HTTPRoute backends (-n NS), creating the route when there is none: SVC echo-v1=90 echo-v2=10, or SVC --to echo-v2; prints the route's weights after the write")
    .argument('<service>', 'the Service whose traffic is split (the route\'s parent)')
    .argument('[weights...]', 'BACKEND=WEIGHT: backend Services and their integer weights')
    .option('--to <backend>', 'blue/green: this backend takes all traffic, every other backend of the route gets weight 0')
    .option('--route <name>', 'the HTTPRoute to write when several attach to the Service (or the name of the one to create)')
    .addOption(new Option('-o, --output <format>', 'output format (json, yaml: the HTTPRoute as written)').choices(OUTPUT_FORMATS as string[]).default('table'))
    .addOption(serviceAccountOption())
    .action(async (service: string, args: string[], o: SplitOptions, cmd: Command) => {
      splitWeights(args, o);
      const ns = namespaceFor(cmd);
      process.stdout.write(await trafficSplit(await apiFor(cmd), ns, service, args, o));
    });

  traffic
    .command('show')
    .description("a Service's routes (-n NS) as the controller compiled them, each backend's configured weight and the live share each got in the controller's telemetry window")
    .argument('<service>', 'the Service')
    .option('--route <name>', 'only this HTTPRoute')
    .option('--window <duration>', 'live shares: the requests counted over this long, up to the telemetry window the controller keeps (15m)', TRAFFIC_SHOW_DEFAULT_WINDOW)
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .addOption(serviceAccountOption())
    .action(async (service: string, o: ShowOptions, cmd: Command) => {
      checkWindow(o.window);
      const ns = namespaceFor(cmd);
      process.stdout.write(await trafficShow(await apiFor(cmd), ns, service, o));
    });
}
