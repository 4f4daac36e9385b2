// `ambientctl policies`, `authz check`, `authz suggest`: what the controller and the node
// agents hold now, read from their debug endpoints (cli/mesh/transport.ts). Local cluster
// only for now (docs/operations.md). `status`, `workloads`, `services` and `certificates`
// read the controller's API: cli/mesh/read-commands.ts.
import { Command, Option } from 'commander';
import { requireRoot } from '../../local-cluster/lifecycle.js';
import type { ContextOptions } from '../context.js';
import { OUTPUT_FORMATS, render, type Column, type OutputFormat } from '../output.js';
import { CliError } from '../errors.js';
import type { ClusterRecord } from '../../local-cluster/state.js';
import { fetchControllerConfig, listAuthorizationPolicies, localClusterFor, probeAgentEdges, probeAgents } from './transport.js';
import type { AgentDump, AgentEdges, AuthorizationPolicyObject } from './types.js';
import { configView, parseFrom, parseHeaders, parseSourceIp, parseTo, resolveFrom, resolveTo } from './authz-resolve.js';
import { checkAccess, renderCheck, type HttpAttributes } from './authz-check.js';
import { parseDuration, renderSuggestYaml, suggest, suggestList } from './authz-suggest.js';
import { POLICY_COLUMNS, policyRows } from './policies-view.js';
import { ENGINE } from './engine.js';
import { renderOne } from '../output.js';
import type { Workload } from '../../core/config/model.js';

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
  const dumps: AgentDump[] = [];
  const probes = await probeAgents(rec, nodesFor(rec, node));
  for (const a of probes) {
    if (a.ok) dumps.push(a.dump);
    else process.stderr.write(`warning: node ${a.node}: agent unreachable: ${a.error}\n`);
  }
  const unreachable = probes.filter((a) => !a.ok);
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

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface CheckOptions {
  from: string;
  to: string;
  method?: string;
  path?: string;
  header: string[];
  sourceIp?: string;
  requestPrincipal?: string;
  output: OutputFormat;
}

/** The HTTP attributes of --method/--path/--header; undefined when none was given. Syntax
 * only, so that a typo fails before anything is asked of the cluster. */
export function httpAttributes(o: Pick<CheckOptions, 'method' | 'path' | 'header' | 'requestPrincipal'>): HttpAttributes | undefined {
  const headers = parseHeaders(o.header);
  if (o.method !== undefined && !/^[A-Za-z]+$/.test(o.method)) throw new CliError(`--method: "${o.method}" is not an HTTP method (GET, POST, ...)`);
  if (o.path !== undefined && !o.path.startsWith('/')) throw new CliError(`--path: "${o.path}" does not start with /`);
  if (o.requestPrincipal !== undefined && !/^[^/\s]+.*\/[^\s]*$/.test(o.requestPrincipal)) throw new CliError(`--request-principal: "${o.requestPrincipal}" is not ISSUER/SUBJECT (the iss and sub of a validated JWT, e.g. https://idp.example/alice)`);
  if (o.method === undefined && o.path === undefined && o.requestPrincipal === undefined && Object.keys(headers).length === 0) return undefined;
  return {
    ...(o.requestPrincipal !== undefined && { requestPrincipal: o.requestPrincipal }),
    ...(o.method !== undefined && { method: o.method.toUpperCase() }),
    ...(o.path !== undefined && { path: o.path }),
    ...(Object.keys(headers).length > 0 && { headers }),
  };
}

export function authzCommands(program: Command): void {
  program
    .command('policies')
    .description('the AuthorizationPolicies: status (Accepted, with the reason when refused), which node agents hold each, the workloads each selects')
    .option('--node <node>', 'only what this node\'s agent holds')
    .addOption(outputOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { namespace?: string };
      const rec = target('policies', cmd);
      const [dumps, objects] = await Promise.all([
        dumpsFrom(rec, o.node),
        listAuthorizationPolicies(rec, g.namespace).catch((err: Error): AuthorizationPolicyObject[] | undefined => {
          process.stderr.write(`warning: cannot read the AuthorizationPolicy objects (${err.message}): showing what the agents hold, without status\n`);
          return undefined;
        }),
      ]);
      const rows = policyRows({ ...(objects && { objects }), dumps, ...(g.namespace !== undefined && { namespace: g.namespace }), ...(o.node !== undefined && { node: o.node }) }, ENGINE.policiesFor);
      listing(rows, POLICY_COLUMNS, o.output, `No AuthorizationPolicies found${g.namespace ? ` in namespace ${g.namespace}` : ''}${o.node ? ` held by the agent on ${o.node}` : ''}`);
    });

  const authz = program.command('authz').description('explain authorization decisions (check) and learn policies from observed traffic (suggest)');

  authz
    .command('check')
    .description('evaluate the policies as the controller compiled them for one connection: the decision, the policy and rule that made it, every policy considered, where it is enforced')
    .requiredOption('--from <identity>', 'the source: spiffe://<trust domain>/ns/NS/sa/SA or NS/SA')
    .requiredOption('--to <target>', 'the destination: SERVICE.NS:PORT, POD.NS:PORT, a Service hostname or an address (IP:PORT)')
    .option('--method <method>', 'HTTP method (evaluated where a waypoint is)')
    .option('--path <path>', 'HTTP path (evaluated where a waypoint is)')
    .option('--header <name=value>', 'HTTP header; repeat for several', collect, [])
    .option('--request-principal <iss/sub>', 'the request principal of a validated JWT (RequestAuthentication), ISSUER/SUBJECT (evaluated where a waypoint is)')
    .option('--source-ip <ip>', 'the source address for IP-based fields (default: the address of the one workload with that identity)')
    .addOption(outputOption())
    .action(async (o: CheckOptions, cmd: Command) => {
      const from = parseFrom(o.from);
      const to = parseTo(o.to);
      const sourceIp = o.sourceIp === undefined ? undefined : parseSourceIp(o.sourceIp);
      const http = httpAttributes(o);
      const rec = target('authz check', cmd);
      const { pod, config } = await fetchControllerConfig(rec);
      if (config.resources.length === 0) throw new CliError(`the controller (${pod}) has no config yet (its cluster watch has not synced, or nothing is in the mesh): nothing to evaluate; see ambientctl status`);
      const view = configView(config);
      const result = checkAccess(view, resolveFrom(from, sourceIp, view), resolveTo(to, view), http, ENGINE);
      // Exit 0 whatever the decision: it is an answer, not an error.
      process.stdout.write(renderCheck(result, o.output));
    });

  authz
    .command('suggest')
    .description('ALLOW policies (YAML, ready for apply -f) that admit exactly the traffic the node agents observed into a namespace (-n)')
    .option('--since <duration>', 'only traffic seen within this long (30s, 10m, 2h)', '10m')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (o: { since: string; output: 'yaml' | 'json' }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { namespace?: string };
      if (!g.namespace) throw new CliError('`ambientctl authz suggest` needs -n NAMESPACE: the namespace whose observed inbound traffic the policies allow');
      const sinceMs = parseDuration('--since', o.since);
      const rec = target('authz suggest', cmd);
      const [edgeProbes, agentProbes] = await Promise.all([probeAgentEdges(rec), probeAgents(rec)]);
      const edges: AgentEdges[] = [];
      for (const p of edgeProbes) {
        if (p.ok) edges.push(p.edges);
        else process.stderr.write(`warning: node ${p.node}: agent unreachable: ${p.error} (the traffic it saw is not included)\n`);
      }
      if (edges.length === 0) throw new CliError(`no node agent answered GET /authz/edges on 127.0.0.1:15000 (${edgeProbes.length} asked)`);
      const workloads = new Map<string, Workload>();
      for (const a of agentProbes) if (a.ok) for (const w of a.dump.workloads) if (!workloads.has(w.uid)) workloads.set(w.uid, w);
      const suggestions = suggest({ namespace: g.namespace, edges, workloads: [...workloads.values()], sinceMs });
      if (suggestions.length === 0) {
        process.stderr.write(`No traffic into namespace ${g.namespace} observed in the last ${o.since} (${edges.length} node agent${edges.length === 1 ? '' : 's'} asked)\n`);
        return;
      }
      if (o.output === 'json') {
        for (const s of suggestions) for (const c of s.comments) process.stderr.write(`note: ${c}\n`);
        process.stdout.write(renderOne(suggestList(suggestions), 'json'));
        return;
      }
      const header = `ambientctl authz suggest -n ${g.namespace} --since ${o.since}: traffic observed by ${edges.length} node agent${edges.length === 1 ? '' : 's'}. Review before applying: once applied, anything not listed is denied.`;
      process.stdout.write(renderSuggestYaml(suggestions, header));
    });
}
