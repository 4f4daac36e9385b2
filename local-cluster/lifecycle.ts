// `ambientctl cluster up|down`: brings the local cluster's pieces up in order (network,
// Redis, control plane, nodes) and down again, leaving nothing behind. `up` after a crash
// first removes whatever the crashed run left.
import net from 'node:net';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { buildTopology, type Topology } from './network/topology.js';
import { createClusterNetwork, destroyClusterNetwork, clusterNamespaces } from './network/nodes.js';
import { startDaemon, stopCluster } from './processes.js';
import { clusterDir, ensurePrivateDir, readAdminToken, readRecord, writeAdminToken, writeKubeconfig, writePrivateFile, writeRecord, type ClusterRecord } from './state.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { apiServerIps, ensureClusterPki, pkiDir } from './pki.js';
import { NODE_SERVICE_ACCOUNT } from './apiserver/authorize.js';
import { newAdminToken } from './apiserver/admin-token.js';
import { LocalClusterError, LocalClusterErrorCodes } from './errors.js';
import { LOCAL_CLUSTER_DEFAULTS } from './limits.js';

/** The in-cluster API server address, on the cluster network (like kubernetes.default). */
export const IN_CLUSTER_API_PORT = 6443;

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const dist = (p: string) => join(REPO_ROOT, 'dist', p);

export interface UpOptions {
  name: string;
  nodes: number;
  /** IPv6 beside IPv4 on every node and pod (ULA ranges, no route out of the cluster). */
  dualStack?: boolean;
  /** Progress lines for the user. */
  say?: (line: string) => void;
  timeoutMs?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, deadline: number, logs: string, probe: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, LOCAL_CLUSTER_DEFAULTS.clusterUpPollMs));
  }
  throw new LocalClusterError(LocalClusterErrorCodes.START_TIMEOUT, `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}; see the logs in ${logs}`);
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new LocalClusterError(LocalClusterErrorCodes.NEEDS_ROOT, 'the local cluster needs root (network namespaces, iptables): run ambientctl as root');
}


async function nodeToken(core: CoreV1Api): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: NODE_SERVICE_ACCOUNT.namespace, body: { metadata: { name: NODE_SERVICE_ACCOUNT.name } } }).catch((err: { code?: number }) => {
    if (err.code !== 409) throw err;
  });
  const tr = await core.createNamespacedServiceAccountToken({
    ...NODE_SERVICE_ACCOUNT,
    body: { spec: { audiences: [], expirationSeconds: LOCAL_CLUSTER_DEFAULTS.nodeTokenExpirationSeconds } },
  });
  if (!tr.status?.token) throw new LocalClusterError(LocalClusterErrorCodes.START_FAILED, 'the API server issued no token for the nodes');
  return tr.status.token;
}

/** Where the cluster's Redis keeps its append-only file: the whole API server's store. */
export function redisDir(stateDir: string): string {
  return join(stateDir, 'redis');
}

/**
 * Starts the cluster's Redis, persisting to redisDir(). Its append-only file holds every
 * object, the CA Secret and the token signing key among them: the directory is 0700 and
 * Redis runs under umask 077, so that what it writes (appendonlydir, the AOF, RDB
 * snapshots on rewrite) is 0600 in 0700 directories.
 */
export async function startClusterRedis(o: { cluster: string; stateDir: string; port: number }): Promise<number> {
  const dir = redisDir(o.stateDir);
  await ensurePrivateDir(dir);
  return startDaemon(['redis-server', '--bind', '127.0.0.1', '--port', String(o.port), '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'], {
    cluster: o.cluster,
    logFile: join(o.stateDir, 'logs', 'redis.log'),
    umask: 0o077,
  });
}

export async function clusterUp(o: UpOptions): Promise<ClusterRecord> {
  requireRoot();
  const say = o.say ?? (() => {});
  const topology = buildTopology({ cluster: o.name, nodes: o.nodes, dualStack: o.dualStack === true });
  const dir = clusterDir(o.name);
  if (readRecord(o.name) || existsSync(dir) || (await clusterNamespaces(o.name)).length > 0) {
    say(`cleaning up what an earlier run of cluster "${o.name}" left`);
    await clusterDown(o.name);
  }
  const deadline = Date.now() + (o.timeoutMs ?? LOCAL_CLUSTER_DEFAULTS.clusterUpTimeoutMs);
  const logs = join(dir, 'logs');
  await ensurePrivateDir(dir);
  await ensurePrivateDir(logs);
  try {
    say(`network: ${topology.nodes.length} node namespaces on ${topology.controlPlaneAddress}/24, pods in ${topology.podCidr}`);
    await createClusterNetwork({ stateDir: dir, topology });

    const redisPort = await freePort();
    await startClusterRedis({ cluster: o.name, stateDir: dir, port: redisPort });
    await until('Redis', deadline, logs, async () => {
      const r = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {}); // a refused probe is retried by until()
      try {
        await r.connect();
        return (await r.ping()) === 'PONG' ? true : undefined;
      } finally {
        r.disconnect();
      }
    });
    say(`redis: 127.0.0.1:${redisPort}`);

    // The API server's certificate for the cluster network and the loopback, before anything needs it.
    const pki = await ensureClusterPki(dir, apiServerIps(topology.controlPlaneAddress));
    // The admin's credential, as a real cluster's admin kubeconfig has one: the API server
    // trusts no caller for its address, loopback included.
    const adminToken = newAdminToken();
    const adminTokenFile = await writeAdminToken(o.name, adminToken);
    const apiPort = await freePort();
    startDaemon(
      [process.execPath, dist('local-cluster/control-plane.js'), '--cluster', o.name, '--nodes', String(o.nodes), '--state-dir', dir, '--redis-port', String(redisPort), '--port', String(apiPort), '--in-cluster-port', String(IN_CLUSTER_API_PORT), '--admin-token-file', adminTokenFile],
      { cluster: o.name, logFile: join(logs, 'control-plane.log') },
    );
    const kc = kubeConfigForServer(`https://127.0.0.1:${apiPort}`, adminToken, pki.caFile);
    const core = kc.makeApiClient(CoreV1Api);
    await until('the API server', deadline, logs, async () => ((await core.readNamespace({ name: 'default' })) ? true : undefined));
    say(`api server: https://127.0.0.1:${apiPort} (in the cluster: https://${topology.controlPlaneAddress}:${IN_CLUSTER_API_PORT})`);

    const record: ClusterRecord = {
      name: o.name,
      nodes: topology.nodes.map((n) => n.name),
      apiPort,
      redisPort,
      createdAt: new Date().toISOString(),
      repoRoot: REPO_ROOT,
    };
    await writeRecord(record);
    await writeKubeconfig(o.name, apiPort, adminToken, pki.ca);

    // Nodes reach the API server over the cluster network, where callers must
    // authenticate: they get a ServiceAccount token, as a kubelet gets its credentials.
    const tokenFile = await writePrivateFile(dir, 'node-token', await nodeToken(core));
    for (const n of topology.nodes) {
      startDaemon(
        // nsenter, not `ip netns exec`: the latter gives the process a private mount
        // namespace, and the pod namespaces it pins would be invisible to everyone else.
        ['nsenter', `--net=/var/run/netns/${n.netns}`, '--', process.execPath, dist('local-cluster/runtime/node-main.js'), '--cluster', o.name, '--nodes', String(o.nodes), '--index', String(n.index), '--state-dir', dir, '--api', `https://${topology.controlPlaneAddress}:${IN_CLUSTER_API_PORT}`, '--token-file', tokenFile, '--ca-file', join(pkiDir(dir), 'ca.crt'), '--repo-root', REPO_ROOT, ...(topology.dualStack ? ['--dual-stack'] : [])],
        { cluster: o.name, logFile: join(logs, `${n.name}.log`) },
      );
    }
    await until('the nodes to be Ready', deadline, logs, async () => {
      const nodes = (await core.listNode()).items;
      const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === topology.nodes.length ? true : undefined;
    });
    say(`nodes: ${topology.nodes.map((n) => `${n.name} (${n.address}, pods ${n.podCidr}${n.ipv6 ? ` and ${n.ipv6.podCidr}` : ''})`).join(', ')}`);
    return record;
  } catch (err) {
    say(`cluster up failed; logs are in ${logs}`);
    throw err;
  }
}

/** Removes every process, namespace, rule and file of the cluster. Safe to run twice. */
export async function clusterDown(name: string, nodesHint?: number): Promise<{ processes: number; namespaces: number }> {
  requireRoot();
  const rec = readRecord(name);
  const processes = await stopCluster(name, clusterDir(name));
  const namespaces = (await clusterNamespaces(name)).length;
  const topology: Topology = buildTopology({ cluster: name, nodes: Math.max(1, rec?.nodes.length ?? nodesHint ?? 1) });
  const dir = clusterDir(name);
  await destroyClusterNetwork({ stateDir: dir, topology });
  await rm(dir, { recursive: true, force: true });
  return { processes, namespaces };
}

/** The cluster's API server as its admin (the admin token `cluster up` wrote). */
export function localKubeConfig(name: string): KubeConfig | undefined {
  const rec = readRecord(name);
  return rec ? kubeConfigForServer(`https://127.0.0.1:${rec.apiPort}`, readAdminToken(name), join(pkiDir(clusterDir(name)), 'ca.crt')) : undefined;
}
