// How `ambientctl policies`, `authz check` and `authz suggest` (and `traffic show`'s live
// shares) reach the mesh on the LOCAL cluster: a TCP connection opened inside a node's
// network namespace (core/syscalls.ts connectInNetns), HTTP/1.1 over it. The agent's admin
// server listens on 127.0.0.1:15000 of its node's namespace; the controller's /debug/config
// (loopback only) at 127.0.0.1:15020 inside the controller pod's own namespace, as kubectl
// port-forward reaches it. (`status`, `workloads`, `services` and `certificates` read the
// controller's API instead: cli/mesh/read-commands.ts.)
// Every request is bounded; a component that does not answer becomes a probe with an
// error, never an exception. A real cluster is refused for now (docs/operations.md).
// The agent's admin token (node-agent/admin-token.ts, root-only, per node) is presented
// when it can be read: the reads used here do not need it (DESIGN.md section 9), but an
// agent's admin server never takes a change without it.
import http from 'node:http';
import { resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { MESH_PORTS } from '../../core/ports.js';
import { connectInNetns, netnsPath } from '../../core/syscalls.js';
import { localClusterAdminTokenPath } from '../../node-agent/admin-token.js';
import { readFileSync } from 'node:fs';
import { loadKubeConfig, type ContextOptions } from '../context.js';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord, type ClusterRecord } from '../../local-cluster/state.js';
import { nodeNetnsName, podNetnsName } from '../../local-cluster/network/topology.js';
import { CliError } from '../errors.js';
import { kubeRequest } from '../../core/kube/rest.js';
import { CONTROLLER_NAMESPACE, CONTROLLER_SELECTOR } from '../controller-link.js';
import type { AgentDump, AgentEdges, AgentEdgesProbe, AgentProbe, AuthorizationPolicyObject, ControllerDebugConfig } from './types.js';

export const AGENT_ADMIN = { host: '127.0.0.1', port: MESH_PORTS.admin } as const;
export const CONTROLLER_DEBUG_PORT = MESH_PORTS.metrics;
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
export async function getJsonInNetns<T>(netns: string, host: string, port: number, path: string, timeoutMs = REQUEST_TIMEOUT_MS, token?: string): Promise<T> {
  const body = await getTextInNetns(netns, host, port, path, timeoutMs, token, 'application/json');
  try {
    return JSON.parse(body) as T;
  } catch (err) {
    throw new Error(`${host}:${port}${path} answered something that is not JSON: ${(err as Error).message}`);
  }
}

/** GET `path` on host:port from inside network namespace `netns`; the body as text (a 200 answer only). */
export async function getTextInNetns(netns: string, host: string, port: number, path: string, timeoutMs = REQUEST_TIMEOUT_MS, token?: string, accept = 'text/plain'): Promise<string> {
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
export function agentAdminToken(cluster: string, node: string): string | undefined {
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

type Answer<T> = { pod: string; address?: string; ok: true; body: T } | { pod: string; address?: string; ok: false; error: string };

/** GET `path` on every controller pod's own loopback 15020, in parallel. */
async function askControllers<T>(rec: ClusterRecord, path: string): Promise<Answer<T>[]> {
  const kc = loadKubeConfig({ cluster: rec.name });
  const core = kc.makeApiClient(CoreV1Api);
  let pods;
  try {
    pods = await withTimeout(core.listNamespacedPod({ namespace: CONTROLLER_NAMESPACE, labelSelector: CONTROLLER_SELECTOR }), REQUEST_TIMEOUT_MS, 'listing the controller pods');
  } catch (err) {
    return [{ pod: `${CONTROLLER_NAMESPACE}/(${CONTROLLER_SELECTOR})`, ok: false, error: `cannot list the controller pods: ${(err as Error).message}` }];
  }
  const items = [...pods.items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return Promise.all(
    items.map(async (p): Promise<Answer<T>> => {
      const pod = p.metadata?.name ?? '?';
      const ip = p.status?.podIP;
      if (!ip) return { pod, ok: false, error: `pod has no IP yet (phase ${p.status?.phase ?? 'unknown'})` };
      const address = `${ip}:${CONTROLLER_DEBUG_PORT}`;
      try {
        const uid = p.metadata?.uid;
        if (!uid) throw new Error('pod has no uid');
        const body = await getJsonInNetns<T>(podNetnsName(rec.name, uid), '127.0.0.1', CONTROLLER_DEBUG_PORT, path);
        return { pod, address, ok: true, body };
      } catch (err) {
        return { pod, address, ok: false, error: (err as Error).message };
      }
    }),
  );
}

/**
 * The config the controller computed (GET /debug/config): from the first replica that
 * answers (every replica computes the same config from the same objects); a CliError
 * naming each replica's failure when none does.
 */
export async function fetchControllerConfig(rec: ClusterRecord): Promise<{ pod: string; config: ControllerDebugConfig }> {
  const answers = await askControllers<ControllerDebugConfig>(rec, '/debug/config');
  const ok = answers.find((a): a is Extract<Answer<ControllerDebugConfig>, { ok: true }> => a.ok);
  if (ok) return { pod: ok.pod, config: ok.body };
  const why = answers.map((a) => `${a.pod}: ${a.ok ? '' : a.error}`).join('; ');
  throw new CliError(`no controller answered GET /debug/config on 127.0.0.1:${CONTROLLER_DEBUG_PORT}${answers.length ? ` (${why})` : ' (no controller pod found in ambient-system, app=ambient-controller)'}`);
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

/** The AuthorizationPolicy.ambient.dev/v1 objects (of one namespace, or all), with their status. */
export async function listAuthorizationPolicies(rec: ClusterRecord, namespace?: string): Promise<AuthorizationPolicyObject[]> {
  const kc = loadKubeConfig({ cluster: rec.name });
  const path = namespace === undefined ? '/apis/ambient.dev/v1/authorizationpolicies' : `/apis/ambient.dev/v1/namespaces/${encodeURIComponent(namespace)}/authorizationpolicies`;
  const list = await withTimeout(kubeRequest<{ items?: AuthorizationPolicyObject[] }>(kc, 'GET', path), REQUEST_TIMEOUT_MS, 'listing the AuthorizationPolicies');
  return list.items ?? [];
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
