// `ambientctl waypoint apply|list|status|delete`: waypoints as Gateways of class
// ambient-waypoint, on the local cluster or a real one (kubeconfig), written through the
// same path as `apply -f` (cli/object-writes.ts) and read with plain REST calls. The
// controller does the deploying (controller/waypoint-deployer.ts); these commands write
// and read the Gateway, its status, and the labels that send traffic to it.
import { Command, Option } from 'commander';
import { PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { discover } from '../core/kube/discovery.js';
import { kubeRequest } from '../core/kube/rest.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { CliError, serverStatusOf } from './errors.js';
import { applyManifests } from './object-writes.js';
import { waitTimeoutMs } from './wait-timeout.js';
import { OUTPUT_FORMATS, render, type OutputFormat } from './output.js';
import {
  DEFAULT_WAYPOINT_NAME,
  enrolledWith,
  isWaypoint,
  parseReplicas,
  STATUS_COLUMNS,
  statusRows,
  USE_WAYPOINT,
  USE_WAYPOINT_NAMESPACE,
  waitOutcome,
  WAYPOINT_FOR_VALUES,
  waypointColumns,
  waypointGateway,
  waypointRows,
  type DeploymentObject,
  type GatewayObject,
  type LabelledObject,
} from './waypoint-view.js';

const GATEWAYS = '/apis/gateway.networking.k8s.io/v1';
const gatewaysPath = (ns?: string) => (ns ? `${GATEWAYS}/namespaces/${encodeURIComponent(ns)}/gateways` : `${GATEWAYS}/gateways`);
/** `--wait`: how long by default, and how often the Gateway is read. */
const WAIT_DEFAULT_SECONDS = 120;
const WAIT_POLL_MS = 500;

interface Globals extends ContextOptions {
  namespace?: string;
}

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table');

async function list<T>(kc: KubeConfig, path: string): Promise<T[]> {
  return (await kubeRequest<{ items?: T[] }>(kc, 'GET', path)).items ?? [];
}

async function getOrUndefined<T>(kc: KubeConfig, path: string): Promise<T | undefined> {
  try {
    return await kubeRequest<T>(kc, 'GET', path);
  } catch (err) {
    if (serverStatusOf(err)?.code === 404) return undefined;
    throw err;
  }
}

function emptyList(format: OutputFormat, message: string): boolean {
  if (format !== 'table') return false;
  process.stderr.write(`${message}\n`);
  return true;
}

export function waypointCommands(program: Command): void {
  const waypoint = program.command('waypoint').description('deploy and inspect waypoints (Gateways of class ambient-waypoint)');

  waypoint
    .command('apply')
    .description('create or update a waypoint in a namespace (-n); the controller deploys it')
    .option('--name <name>', 'the waypoint\'s name (its Gateway, Deployment, Service and ServiceAccount)', DEFAULT_WAYPOINT_NAME)
    .addOption(new Option('--for <type>', 'the traffic it takes (label ambient.dev/waypoint-for)').choices(WAYPOINT_FOR_VALUES as unknown as string[]).default('service'))
    .option('--enroll-namespace', `label the namespace ${USE_WAYPOINT}=<name>: its Services (and pods, with --for workload|all) use this waypoint`)
    .option('--replicas <n>', 'waypoint pods (annotation ambient.dev/waypoint-replicas; default 1)', parseReplicas)
    .option('--wait', 'wait until the waypoint is programmed (or refused)')
    .option('--timeout <duration>', 'with --wait: how long (e.g. 90s, 5m, or a number of seconds)', String(WAIT_DEFAULT_SECONDS))
    .action(async (o: { name: string; for: string; enrollNamespace?: boolean; replicas?: number; wait?: boolean; timeout: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      const kc = loadKubeConfig(g);
      const ns = namespaceOf(kc, g.namespace);
      const gw = waypointGateway({ name: o.name, namespace: ns, for: o.for, ...(o.replicas !== undefined ? { replicas: o.replicas } : {}) });
      const timeoutMs = o.wait ? waitTimeoutMs(o.timeout, 1) : 0;
      const resources = await discover(kc);
      const results = await applyManifests(kc, resources, [{ obj: gw as never, origin: { file: 'waypoint apply', document: 1 } }], ns, ns);
      if (results.failed > 0) {
        process.exitCode = 1;
        return;
      }
      if (o.enrollNamespace) {
        await kubeRequest(kc, 'PATCH', `/api/v1/namespaces/${encodeURIComponent(ns)}`, { metadata: { labels: { [USE_WAYPOINT]: o.name, [USE_WAYPOINT_NAMESPACE]: null } } }, PatchStrategy.MergePatch);
        process.stdout.write(`namespace/${ns} labeled ${USE_WAYPOINT}=${o.name}\n`);
      }
      if (!o.wait) return;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const cur = await getOrUndefined<GatewayObject>(kc, `${gatewaysPath(ns)}/${encodeURIComponent(o.name)}`);
        const out = waitOutcome(cur);
        if (out.done) {
          if (!out.ok) throw new CliError(`waypoint ${ns}/${o.name} ${out.message}`);
          process.stdout.write(`waypoint ${ns}/${o.name} ${out.message}\n`);
          return;
        }
        if (Date.now() > deadline) throw new CliError(`waypoint ${ns}/${o.name} not programmed within ${timeoutMs / 1000} s; see ambientctl waypoint status -n ${ns} --name ${o.name}`);
        await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
      }
    });

  waypoint
    .command('list')
    .description('the waypoints: traffic type, replicas ready/desired, programmed, address, and what uses each')
    .option('-A, --all-namespaces', 'across all namespaces')
    .addOption(outputOption())
    .action(async (o: { allNamespaces?: boolean; output: OutputFormat }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      const kc = loadKubeConfig(g);
      const ns = o.allNamespaces ? undefined : namespaceOf(kc, g.namespace);
      const selector = `?labelSelector=${encodeURIComponent(USE_WAYPOINT)}`;
      const [gateways, deployments, namespaces, services, pods] = (await Promise.all([
        list<GatewayObject>(kc, gatewaysPath(ns)),
        list<DeploymentObject>(kc, ns ? `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments` : '/apis/apps/v1/deployments'),
        // What uses a waypoint may be in any namespace (use-waypoint-namespace); a user who
        // may not list them cluster-wide still gets the waypoints.
        ...(['namespaces', 'services', 'pods'] as const).map((kind) =>
          list<LabelledObject>(kc, `/api/v1/${kind}${selector}`).catch((err: Error) => {
            process.stderr.write(`warning: cannot list ${kind} across namespaces (${serverStatusOf(err)?.message ?? err.message}): USED BY leaves them out\n`);
            return [] as LabelledObject[];
          }),
        ),
      ])) as [GatewayObject[], DeploymentObject[], LabelledObject[], LabelledObject[], LabelledObject[]];
      const rows = waypointRows(gateways, deployments, { namespaces, services, pods });
      if (rows.length === 0 && emptyList(o.output, ns ? `No waypoints found in ${ns} namespace.` : 'No waypoints found')) return;
      process.stdout.write(render(rows, waypointColumns(!ns), o.output));
    });

  waypoint
    .command('status')
    .description("the conditions of a namespace's waypoints (or of one, --name), with their messages")
    .option('--name <name>', 'one waypoint')
    .addOption(outputOption())
    .action(async (o: { name?: string; output: OutputFormat }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      const kc = loadKubeConfig(g);
      const ns = namespaceOf(kc, g.namespace);
      let gateways: GatewayObject[];
      if (o.name) {
        const one = await getOrUndefined<GatewayObject>(kc, `${gatewaysPath(ns)}/${encodeURIComponent(o.name)}`);
        if (!one || !isWaypoint(one)) throw new CliError(`no waypoint "${o.name}" in namespace ${ns}`);
        gateways = [one];
      } else gateways = (await list<GatewayObject>(kc, gatewaysPath(ns))).filter(isWaypoint);
      if (gateways.length === 0 && emptyList(o.output, `No waypoints found in ${ns} namespace.`)) return;
      if (o.output === 'table') process.stdout.write(render(statusRows(gateways), STATUS_COLUMNS, 'table'));
      else process.stdout.write(render(gateways, [], o.output, (gw) => ({ namespace: gw.metadata?.namespace, name: gw.metadata?.name, status: gw.status ?? {} })));
    });

  waypoint
    .command('delete')
    .description(`delete waypoints of a namespace (-n) by name, or --all; a namespace label ${USE_WAYPOINT} naming one of them is removed`)
    .argument('[names...]', 'waypoint names')
    .option('--all', 'every waypoint of the namespace')
    .action(async (names: string[], o: { all?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as Globals;
      if (o.all && names.length > 0) throw new CliError('waypoint delete takes NAME... or --all, not both');
      if (!o.all && names.length === 0) throw new CliError('waypoint delete needs NAME... or --all');
      const kc = loadKubeConfig(g);
      const ns = namespaceOf(kc, g.namespace);
      const targets = o.all ? (await list<GatewayObject>(kc, gatewaysPath(ns))).filter(isWaypoint).map((gw) => gw.metadata?.name ?? '') : names;
      if (targets.length === 0) {
        process.stderr.write(`No waypoints found in ${ns} namespace.\n`);
        return;
      }
      const deleted = new Set<string>();
      let failed = 0;
      for (const name of targets) {
        const path = `${gatewaysPath(ns)}/${encodeURIComponent(name)}`;
        const cur = await getOrUndefined<GatewayObject>(kc, path);
        if (!cur || !isWaypoint(cur)) {
          process.stderr.write(`error: no waypoint "${name}" in namespace ${ns}\n`);
          failed++;
          continue;
        }
        await kubeRequest(kc, 'DELETE', path);
        deleted.add(`${ns}/${name}`);
        process.stdout.write(`waypoint ${ns}/${name} deleted\n`);
      }
      const nsObj = await getOrUndefined<LabelledObject>(kc, `/api/v1/namespaces/${encodeURIComponent(ns)}`);
      if (nsObj && enrolledWith(nsObj, deleted)) {
        await kubeRequest(kc, 'PATCH', `/api/v1/namespaces/${encodeURIComponent(ns)}`, { metadata: { labels: { [USE_WAYPOINT]: null, [USE_WAYPOINT_NAMESPACE]: null } } }, PatchStrategy.MergePatch);
        process.stdout.write(`namespace/${ns} unlabeled ${USE_WAYPOINT}\n`);
      }
      if (failed > 0) process.exitCode = 1;
    });
}
