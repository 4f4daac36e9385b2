// `ambientctl status`, `workloads`, `services`, `certificates`: what the controller's API
// (/api/v1, docs/api.md) says, through the link cli/api-client.ts opens (port-forward on a
// real cluster, the pod's network namespace on the local one), shown by the pure views
// status-view.ts, workloads-view.ts, services-view.ts and certificates-view.ts. The same
// on the local cluster and on a real one.
import { Command, Option } from 'commander';
import type { Certificates, List, MeshStatus, Service, Workload } from '../../console/api-types.js';
import { ApiError, apiFor, serviceAccountOption, type ApiClient } from '../api-client.js';
import { CliError } from '../errors.js';
import { OUTPUT_FORMATS, render, type Column, type OutputFormat } from '../output.js';
import { renderStatus, statusView } from './status-view.js';
import { WORKLOAD_COLUMNS, workloadRows } from './workloads-view.js';
import { ENDPOINT_COLUMNS, SERVICE_COLUMNS, endpointRows, healthWarnings, serviceRows } from './services-view.js';
import { CERTIFICATE_COLUMNS, certificateRows } from './certificates-view.js';

/** Where a command writes: stdout and stderr (tests give their own). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const STD_IO: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

/** GET `path`; a refusal says what to do about it. */
async function read<T>(api: ApiClient, path: string, query: Record<string, string | undefined> = {}): Promise<T> {
  try {
    return await api.get<T>(path, query);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new CliError(`${err.message} (use a kubeconfig context whose user has a token, or --service-account NAMESPACE/NAME to act as a ServiceAccount)`);
    }
    if (err instanceof ApiError && err.status === 403) {
      throw new CliError(`${err.message} (ask for that permission, e.g. a RoleBinding to the view ClusterRole, or act as a ServiceAccount that has it: --service-account NAMESPACE/NAME)`);
    }
    throw err;
  }
}

function listing<T>(io: Io, rows: T[], columns: Column<T>[], format: OutputFormat, empty: string): void {
  if (format === 'table' && rows.length === 0) {
    io.err(`${empty}\n`);
    return;
  }
  io.out(render(rows, columns, format));
}

const onNode = (node: string | undefined) => (node === undefined ? '' : ` on node ${node}`);

export async function runStatus(api: ApiClient, o: { output: OutputFormat }, io: Io = STD_IO): Promise<void> {
  // Exit 0 even when something is unhealthy: the problems section says what.
  io.out(renderStatus(statusView(await read<MeshStatus>(api, '/status')), o.output));
}

export async function runWorkloads(api: ApiClient, o: { node?: string; output: OutputFormat; namespace?: string }, io: Io = STD_IO): Promise<void> {
  const answer = await read<List<Workload>>(api, '/workloads', { node: o.node, namespace: o.namespace });
  listing(io, workloadRows(answer), WORKLOAD_COLUMNS, o.output, `No workloads found${onNode(o.node)}`);
}

export async function runServices(api: ApiClient, o: { node?: string; endpoints?: boolean; output: OutputFormat | 'wide'; namespace?: string }, io: Io = STD_IO): Promise<void> {
  // L7 health is the waypoints': the controller asks each waypoint's pods (health=true).
  const rows = serviceRows(await read<List<Service>>(api, '/services', { node: o.node, namespace: o.namespace, health: 'true' }));
  const format: OutputFormat = o.output === 'wide' ? 'table' : o.output;
  if (format === 'table') for (const w of healthWarnings(rows)) io.err(`warning: ${w}\n`);
  if (o.endpoints) {
    listing(io, endpointRows(rows), ENDPOINT_COLUMNS, format, "No Service with a waypoint found (endpoint health is the waypoints'; the node agents do no L7 health)");
    return;
  }
  listing(io, rows, SERVICE_COLUMNS, format, `No services found${o.node === undefined ? '' : ` with an endpoint on node ${o.node}`}`);
  if (o.output === 'wide' && rows.length > 0) {
    const eps = endpointRows(rows);
    if (eps.length > 0) io.out(`\n${render(eps, ENDPOINT_COLUMNS, 'table')}`);
  }
}

export async function runCertificates(api: ApiClient, o: { node?: string; output: OutputFormat }, io: Io = STD_IO, now: Date = new Date()): Promise<void> {
  const rows = certificateRows(await read<Certificates>(api, '/certificates', { node: o.node }), now);
  listing(io, rows, CERTIFICATE_COLUMNS, o.output, `No workload certificates found${onNode(o.node)} (the controller lists those the node agents and waypoints hold, as they last reported them)`);
}

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table');
const namespaceOf = (cmd: Command): string | undefined => (cmd.optsWithGlobals() as { namespace?: string }).namespace;

export function readCommands(program: Command): void {
  program
    .command('status')
    .description("the mesh's health: the controller's replicas and leader, each node's agent, the config version each has acknowledged, NACKed resources")
    .addOption(outputOption())
    .addOption(serviceAccountOption())
    .action(async (o: { output: OutputFormat }, cmd: Command) => runStatus(await apiFor(cmd), o));

  program
    .command('workloads')
    .description('the workloads in the mesh\'s config (-n: one namespace), and whether each is enrolled')
    .option('--node <node>', 'only the workloads on this node')
    .addOption(outputOption())
    .addOption(serviceAccountOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => runWorkloads(await apiFor(cmd), { ...o, ...(namespaceOf(cmd) !== undefined && { namespace: namespaceOf(cmd)! }) }));

  program
    .command('services')
    .description('the services in the mesh\'s config (-n: one namespace): VIPs, ports, endpoints, waypoint, and the health of their endpoints as their waypoint sees it (outlier ejection, slow start)')
    .option('--node <node>', 'only the Services with an endpoint on this node')
    .option('--endpoints', 'one row per endpoint of each Service with a waypoint, per waypoint pod: health, ejection, slow-start share, active requests')
    .addOption(new Option('-o, --output <format>', 'output format (wide: the services, then one row per endpoint)').choices(['table', 'wide', 'json', 'yaml']).default('table'))
    .addOption(serviceAccountOption())
    .action(async (o: { node?: string; endpoints?: boolean; output: OutputFormat | 'wide' }, cmd: Command) => runServices(await apiFor(cmd), { ...o, ...(namespaceOf(cmd) !== undefined && { namespace: namespaceOf(cmd)! }) }));

  program
    .command('certificates')
    .description('the workload certificates the node agents and waypoints hold (as they last reported them), and how long each has left')
    .option('--node <node>', 'only the certificates held on this node')
    .addOption(outputOption())
    .addOption(serviceAccountOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => runCertificates(await apiFor(cmd), o));
}
