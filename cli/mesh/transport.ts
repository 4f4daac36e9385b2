// How `ambientctl authz suggest` reaches the node agents on the LOCAL cluster: a TCP
// connection opened inside a node's network namespace (core/syscalls.ts connectInNetns),
// HTTP/1.1 over it, to the agent's admin server on 127.0.0.1:15000 of its node's namespace
// (its observed edges and workloads; the controller's API does not serve them). Every other
// mesh command reads the controller's API (cli/api-client.ts).
// Every request is bounded; a component that does not answer becomes a probe with an
// error, never an exception. A real cluster is refused for now (docs/operations.md).
// The agent's admin token (node-agent/admin-token.ts, root-only, per node) is presented
// when it can be read: the reads used here do not need it (DESIGN.md section 9), but an
// agent's admin server never takes a change without it.
import http from 'node:http';
import { resolve } from 'node:path';
import { MESH_PORTS } from '../../core/ports.js';
import { connectInNetns, netnsPath } from '../../core/syscalls.js';
import { localClusterAdminTokenPath } from '../../node-agent/admin-token.js';
import { readFileSync } from 'node:fs';
import type { ContextOptions } from '../context.js';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord, type ClusterRecord } from '../../local-cluster/state.js';
import { nodeNetnsName } from '../../local-cluster/network/topology.js';
import { CliError } from '../errors.js';
import type { AgentDump, AgentEdges, AgentEdgesProbe, AgentProbe } from './types.js';

export const AGENT_ADMIN = { host: '127.0.0.1', port: MESH_PORTS.admin } as const;
export const REQUEST_TIMEOUT_MS = 3000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * The local cluster these commands inspect, or a CliError saying that they need one: no
 * local cluster of that name is up here, or --kubeconfig/--context point somewhere else.
 */
export function localClusterFor(command: string, g: ContextOptions): ClusterRecord {
  const name = g.cluster ?? DEFAULT_CLUSTER;
  const rec = readRecord(name);
  const why = (reason: string) =>
    new CliError(
      `\`ambientctl ${command}\` needs the local cluster for now: ${reason}. ` +
        'It reads the node agents\' admin endpoints (/config_dump, /authz/edges on 127.0.0.1:15000 in each node\'s network namespace) and the controller\'s debug endpoints (/debug/status, /debug/config on 15020); ' +
        'on a real cluster read them with kubectl port-forward (docs/operations.md)',
    );
  if (!rec) return fail(why(`no local cluster "${name}" is up on this machine (ambientctl cluster up${name === DEFAULT_CLUSTER ? '' : ` --cluster ${name}`})`));
  if (g.kubeconfig && resolve(g.kubeconfig) !== resolve(kubeconfigPath(name))) {
    return fail(why(`--kubeconfig ${g.kubeconfig} is not the local cluster "${name}"'s kubeconfig`));
  }
  if (g.context && g.context !== `ambient-${name}`) return fail(why(`--context ${g.context} is not the local cluster "${name}"`));
  return rec;
}

function fail(err: Error): never {
  throw err;
}

/** GET `path` on host:port, connecting from inside network namespace `netns`; the parsed JSON body. */
async function getJsonInNetns<T>(netns: string, host: string, port: number, path: string, timeoutMs = REQUEST_TIMEOUT_MS, token?: string): Promise<T> {
  const body = await getTextInNetns(netns, host, port, path, timeoutMs, token, 'application/json');
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    throw new Error(`${host}:${port}${path} answered something that is not JSON: ${(err as Error).message}`);
  }
}

/** GET `path` on host:port from inside network namespace `netns`; the body as text (a 200 answer only). */
async function getTextInNetns(netns: string, host: string, port: number, path: string, timeoutMs = REQUEST_TIMEOUT_MS, token?: string, accept = 'text/plain'): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const socket = await connectInNetns(netnsPath(netns), { host, port, timeoutMs });
  const left = Math.max(1, deadline - Date.now());
  return new Promise<string>((resolvePromise, reject) => {
    let settled = false;
    const done = (err: Error | undefined, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolvePromise(value as string);
    };
    const timer = setTimeout(() => done(new Error(`no answer from ${host}:${port}${path} within ${timeoutMs} ms`)), left);
    const req = http.request(
      {
        host,
        port,
        path,
        method: 'GET',
        headers: { accept, connection: 'close', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) done(new Error(`answer from ${host}:${port}${path} is larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', (err) => done(err));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            done(new Error(`${host}:${port}${path} answered ${res.statusCode}: ${body.trim().split('\n')[0]?.slice(0, 200) ?? ''}`));
            return;
          }
          done(undefined, body);
        });
      },
    );
    req.on('error', (err) => done(err));
    req.end();
  });
}

/** The admin token of the local cluster's agent on `node` when this process can read it (root). */
function agentAdminToken(cluster: string, node: string): string | undefined {
  try {
    const t = readFileSync(localClusterAdminTokenPath(cluster, node), 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}

/** Every node's agent (or the named ones), asked in parallel. */
export async function probeAgents(rec: ClusterRecord, nodes: string[] = rec.nodes): Promise<AgentProbe[]> {
  return Promise.all(
    nodes.map(async (node): Promise<AgentProbe> => {
      const index = rec.nodes.indexOf(node);
      try {
        const dump = await getJsonInNetns<AgentDump>(nodeNetnsName(rec.name, index + 1), AGENT_ADMIN.host, AGENT_ADMIN.port, '/config_dump', REQUEST_TIMEOUT_MS, agentAdminToken(rec.name, node));
        return { node, ok: true, dump };
      } catch (err) {
        return { node, ok: false, error: (err as Error).message };
      }
    }),
  );
}

/** Every node's agent (or the named ones) asked for its observed edges (GET /authz/edges). */
export async function probeAgentEdges(rec: ClusterRecord, nodes: string[] = rec.nodes): Promise<AgentEdgesProbe[]> {
  return Promise.all(
    nodes.map(async (node): Promise<AgentEdgesProbe> => {
      const index = rec.nodes.indexOf(node);
      try {
        const edges = await getJsonInNetns<AgentEdges>(nodeNetnsName(rec.name, index + 1), AGENT_ADMIN.host, AGENT_ADMIN.port, '/authz/edges', REQUEST_TIMEOUT_MS, agentAdminToken(rec.name, node));
        return { node, ok: true, edges };
      } catch (err) {
        return { node, ok: false, error: (err as Error).message };
      }
    }),
  );
}
