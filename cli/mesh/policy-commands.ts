// `ambientctl policies`, `authz check` and `authz suggest`.
// - `policies` and `authz check` ask the controller's API (GET /policies and /workloads, POST
//   /authz/check; docs/api.md), so they work the same on the local cluster and on a real one:
//   the check runs on the controller with the same resolution and engine
//   (core/policy/explain) as the console's explain form; the CLI renders its answer.
// - `authz suggest` reads what each node agent observed (GET /authz/edges on their admin
//   port, cli/mesh/transport.ts): the API has no per-agent edge history, so it stays on the
//   local cluster.
import { Command, Option } from 'commander';
import type { List, Policy as ApiPolicy, Workload as ApiWorkload } from '../../console/api-types.js';
import type { Workload } from '../../core/config/model.js';
import { parseDuration } from '../../core/duration.js';
import { requireRoot } from '../../local-cluster/lifecycle.js';
import { apiFor, serviceAccountOption, type ApiClient } from '../api-client.js';
import type { ContextOptions } from '../context.js';
import { CliError } from '../errors.js';
import { OUTPUT_FORMATS, render, renderOne, type OutputFormat } from '../output.js';
import { localClusterFor, probeAgentEdges, probeAgents } from './transport.js';
import type { AgentEdges } from './types.js';
import { parseFrom, parseHeaders, parseSourceIp, parseTo } from './authz-resolve.js';
import { renderCheck, type CheckResult, type HttpAttributes } from './authz-check.js';
import { renderSuggestYaml, SINCE_DURATION, suggest, suggestList } from './authz-suggest.js';
import { findingLines, POLICY_COLUMNS, policyRows } from './policies-view.js';

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table');
const collect = (v: string, prev: string[]): string[] => [...prev, v];

export interface CheckOptions {
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

/** POST /authz/check's body for the options, after checking their syntax here (a typo fails
 * before the cluster is asked; the controller parses them again with the same functions). */
export function checkRequest(o: CheckOptions): Record<string, unknown> {
  parseFrom(o.from);
  parseTo(o.to);
  if (o.sourceIp !== undefined) parseSourceIp(o.sourceIp);
  const http = httpAttributes(o);
  return {
    from: o.from,
    to: o.to,
    ...(http?.method !== undefined && { method: http.method }),
    ...(http?.path !== undefined && { path: http.path }),
    ...(http?.headers !== undefined && { headers: http.headers }),
    ...(http?.requestPrincipal !== undefined && { requestPrincipal: http.requestPrincipal }),
    ...(o.sourceIp !== undefined && { sourceIp: o.sourceIp }),
  };
}

/** `authz check`: the controller's answer, rendered (the answer is CheckResult plus its headline). */
export async function authzCheck(api: ApiClient, o: CheckOptions): Promise<string> {
  const { headline: _headline, ...result } = await api.post<CheckResult & { headline: string }>('/authz/check', checkRequest(o));
  return renderCheck(result as CheckResult, o.output);
}

/** `policies`: what it prints on stdout, and the sentence for an empty table (stderr). */
export async function policiesListing(api: ApiClient, o: { namespace?: string; node?: string; output: OutputFormat }): Promise<{ stdout: string; stderr?: string }> {
  const [policies, workloads] = await Promise.all([
    api.get<List<ApiPolicy>>('/policies', { namespace: o.namespace }),
    // Only where selected workloads run (the NODES column, --node): a policy of the root
    // namespace selects workloads of every namespace.
    api.get<List<ApiWorkload>>('/workloads', { namespace: o.namespace }),
  ]);
  const rows = policyRows({ policies: policies.items, workloads: workloads.items, ...(o.node !== undefined && { node: o.node }) });
  if (o.output === 'table' && rows.length === 0) {
    return { stdout: '', stderr: `No AuthorizationPolicies found${o.namespace ? ` in namespace ${o.namespace}` : ''}${o.node ? ` selecting a workload on ${o.node}` : ''}\n` };
  }
  if (o.output !== 'table') return { stdout: render(rows, POLICY_COLUMNS, o.output) };
  const findings = findingLines(rows);
  return { stdout: `${render(rows, POLICY_COLUMNS, 'table')}${findings.length > 0 ? `\n${findings.join('\n')}\n` : ''}` };
}

export function policyCommands(program: Command): void {
  program
    .command('policies')
    .description("the AuthorizationPolicies as the controller's API lists them: status (Accepted, with the reason when refused), dry run and its findings, the workloads each selects and their nodes")
    .option('--node <node>', 'only the policies selecting a workload on this node')
    .addOption(outputOption())
    .addOption(serviceAccountOption())
    .action(async (o: { node?: string; output: OutputFormat }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { namespace?: string };
      const out = await policiesListing(await apiFor(cmd), { ...(g.namespace !== undefined && { namespace: g.namespace }), ...(o.node !== undefined && { node: o.node }), output: o.output });
      if (out.stderr) process.stderr.write(out.stderr);
      process.stdout.write(out.stdout);
    });

  const authz = program.command('authz').description('explain authorization decisions (check) and learn policies from observed traffic (suggest)');

  authz
    .command('check')
    .description("evaluate the policies as the controller compiled them for one connection (POST /api/v1/authz/check): the decision, the policy and rule that made it, every policy considered, where it is enforced")
    .requiredOption('--from <identity>', 'the source: spiffe://<trust domain>/ns/NS/sa/SA or NS/SA')
    .requiredOption('--to <target>', 'the destination: SERVICE.NS:PORT, POD.NS:PORT, a Service hostname or an address (IP:PORT)')
    .option('--method <method>', 'HTTP method (evaluated where a waypoint is)')
    .option('--path <path>', 'HTTP path (evaluated where a waypoint is)')
    .option('--header <name=value>', 'HTTP header; repeat for several', collect, [])
    .option('--request-principal <iss/sub>', 'the request principal of a validated JWT (RequestAuthentication), ISSUER/SUBJECT (evaluated where a waypoint is)')
    .option('--source-ip <ip>', 'the source address for IP-based fields (default: the address of the one workload with that identity)')
    .addOption(outputOption())
    .addOption(serviceAccountOption())
    .action(async (o: CheckOptions, cmd: Command) => {
      checkRequest(o);
      // Exit 0 whatever the decision: it is an answer, not an error.
      process.stdout.write(await authzCheck(await apiFor(cmd), o));
    });

  authz
    .command('suggest')
    .description('ALLOW policies (YAML, ready for apply -f) that admit exactly the traffic the node agents observed into a namespace (-n); local cluster only')
    .option('--since <duration>', 'only traffic seen within this long (30s, 10m, 2h)', '10m')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (o: { since: string; output: 'yaml' | 'json' }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as ContextOptions & { namespace?: string };
      if (!g.namespace) throw new CliError('`ambientctl authz suggest` needs -n NAMESPACE: the namespace whose observed inbound traffic the policies allow');
      const sinceMs = parseDuration('--since', o.since, SINCE_DURATION);
      const rec = localClusterFor('authz suggest', g);
      requireRoot();
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
