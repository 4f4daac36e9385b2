// `ambientctl status`, `workloads`, `services`, `certificates`: what the controller and the
// node agents hold now, read from their debug endpoints (cli/mesh/transport.ts) and shown
// by the pure views of cli/mesh/view.ts. Local cluster only for now (docs/operations.md).
// `policies` and `authz` are in policy-commands.ts.
import { Command, Option } from 'commander';
import { requireRoot } from '../../local-cluster/lifecycle.js';
import type { ContextOptions } from '../context.js';
import { OUTPUT_FORMATS, render, type Column, type OutputFormat } from '../output.js';
import { CliError } from '../errors.js';
import type { ClusterRecord } from '../../local-cluster/state.js';
import { localClusterFor, probeAgents, probeControllers, probeWaypointEndpoints } from './transport.js';
import type { AgentDump } from './types.js';
import {
  CERTIFICATE_COLUMNS,
  ENDPOINT_COLUMNS,
  SERVICE_COLUMNS,
  WORKLOAD_COLUMNS,
  certificateRows,
  endpointRows,
  healthWarnings,
  meshStatus,
  renderStatus,
  serviceRows,
  splitProbes,
  waypointsOf,
  workloadRows,
} from './view.js';

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table');

function target(command: string, cmd: Command): ClusterRecord {
  const rec = localClusterFor(command, cmd.optsWithGlobals() as ContextOptions);
  requireRoot();
  return rec;
}

function nodesFor(rec: ClusterRecord, node: string | undefined): string[] {
  if (node === undefined) return rec.nodes;
  if (!rec.nodes.includes(node)) throw new CliError(`no node "${node}" in cluster "${rec.name}" (nodes: ${rec.nodes.join(', ')})`);
  return [node];
}

/** The dumps of the agents asked; the ones that did not answer are named on stderr. */
async function dumpsFrom(rec: ClusterRecord, node: string | undefined): Promise<AgentDump[]> {
  const { dumps, unreachable } = splitProbes(await probeAgents(rec, nodesFor(rec, node)));
  for (const line of unreachable) process.stderr.write(`warning: ${line}\n`);
  if (dumps.length === 0) throw new CliError(`no node agent answered on 127.0.0.1:15000 (${unreachable.length} asked); is the agent DaemonSet running? (ambientctl get pods -n ambient-system)`);
  return dumps;
}

function listing<T>(rows: T[], columns: Column<T>[], format: OutputFormat, empty: string): void {
  if (format === 'table' && rows.length === 0) {
    process.stderr.write(`${empty}\n`);
    return;
  }
  process.stdout.write(render(rows, columns, format));
}

export function meshCommands(program: Command): void {
  program
    .command('status')
    .description("the mesh's health: the controller, each node's agent, the config version each has acknowledged, NACKed resources")
    .addOption(outputOption())
    .action(async (o: { output: OutputFormat }, cmd: Command) => {
      const rec = target('status', cmd);
      const [controllers, agents] = await Promise.all([probeControllers(rec), probeAgents(rec)]);
      // Exit 0 even when something is unhealthy: the problems section says what.
      process.stdout.write(renderStatus(meshStatus(controllers, agents), o.output));
    });

  program
    .command('workloads')
    .description('the workloads the node agents hold (the whole mesh, each once), and whether each is enrolled')
    .option('--node <node>', 'ask only this node\'s agent')
    .addOption(outputOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => {
      const rec = target('workloads', cmd);
      listing(workloadRows(await dumpsFrom(rec, o.node)), WORKLOAD_COLUMNS, o.output, 'No workloads found');
    });

  program
    .command('services')
    .description("the services the node agents hold: VIPs, ports, endpoints, waypoint, and the health of their endpoints as their waypoint sees it (outlier ejection, slow start)")
    .option('--node <node>', 'ask only this node\'s agent')
    .option('--endpoints', 'one row per endpoint of each Service with a waypoint, per waypoint pod: health, ejection, slow-start share, active requests')
    .addOption(new Option('-o, --output <format>', 'output format (wide: the services, then one row per endpoint)').choices(['table', 'wide', 'json', 'yaml']).default('table'))
    .action(async (o: { node?: string; endpoints?: boolean; output: OutputFormat | 'wide' }, cmd: Command) => {
      const rec = target('services', cmd);
      const dumps = await dumpsFrom(rec, o.node);
      // L7 health is the waypoints' (GET /debug/endpoints on each waypoint pod's 15020);
      // a waypoint that does not answer leaves its Services' health unknown, with the reason.
      const rows = serviceRows(dumps, await probeWaypointEndpoints(rec, waypointsOf(dumps)));
      const format: OutputFormat = o.output === 'wide' ? 'table' : o.output;
      if (format === 'table') for (const w of healthWarnings(rows)) process.stderr.write(`warning: ${w}\n`);
      if (o.endpoints) {
        listing(endpointRows(rows), ENDPOINT_COLUMNS, format, 'No Service with a waypoint found (endpoint health is the waypoints\'; the node agents do no L7 health)');
        return;
      }
      listing(rows, SERVICE_COLUMNS, format, 'No services found');
      if (o.output === 'wide' && rows.length > 0) {
        const eps = endpointRows(rows);
        if (eps.length > 0) process.stdout.write(`\n${render(eps, ENDPOINT_COLUMNS, 'table')}`);
      }
    });

  program
    .command('certificates')
    .description('the workload certificates each node agent holds, and how long each has left')
    .option('--node <node>', 'ask only this node\'s agent')
    .addOption(outputOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => {
      const rec = target('certificates', cmd);
      const rows = certificateRows(await dumpsFrom(rec, o.node));
      listing(rows, CERTIFICATE_COLUMNS, o.output, 'No certificates found (an agent holds one per identity of its enrolled pods)');
    });
}
