// Runs the standard CNI plugins for a pod, as a container runtime does (CNI spec 1.0.0):
// ADD through the node's conflist in order, each plugin getting the previous one's
// result; DEL in reverse; CHECK in order. The plugins run inside the NODE's namespace
// (`ip netns exec <node> <plugin>`): the bridge plugin makes cni0 and the host end of
// the pod's veth in its own current namespace, and enters CNI_NETNS for the pod end.

import { constants as fsc } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { primaryConfigName } from '../../node-agent/cni/chain.js';
import {
  cniArgs,
  conflistPath,
  containerId,
  networkName,
  nodeCniBinDir,
  nodeCniConfDir,
  nodeCniPath,
  nodeConflist,
  parseConflist,
  parsePluginOutput,
  pluginEnv,
  pluginErrorMessage,
  pluginOrder,
  pluginStdin,
  podAddressFromResult,
  podIpsFromResult,
  resultCachePath,
  type CniCommand,
  type CniConflist,
  type CniInterface,
  type CniResult,
} from './cni-config.js';
import { NetworkError, NetworkErrorCodes } from './errors.js';
import { NETWORK_DEFAULTS, runChecked, runCommand } from './exec.js';
import { assertNetnsMountsVisible } from './mounts.js';
import { POD_INTERFACE, nodeOf, podNetnsName, type Topology } from './topology.js';

export interface PodNetworkRequest {
  stateDir: string;
  topology: Topology;
  /** 1-based node index. */
  node: number;
  podUid: string;
  podName?: string;
  podNamespace?: string;
  /** Where the plugin binaries are: a colon-separated list searched in order; default Debian's then the node's bin directory (nodeCniPath). */
  cniPath?: string;
  /** Per plugin invocation. */
  timeoutMs?: number;
}

export interface PodNetwork {
  netns: string;
  netnsPath: string;
  node: number;
  ip: string;
  /** Every address, primary (IPv4) first: two in a dual-stack cluster. */
  ips: string[];
  prefixLength: number;
  gateway: string | undefined;
  interfaces: CniInterface[];
  /** The final result of the ADD chain, as cached for DEL and CHECK. */
  result: CniResult;
}

const netnsFile = (name: string) => `/var/run/netns/${name}`;

/**
 * Creates the pod's namespace and runs ADD. On failure it undoes what it did (DEL, then
 * the namespace) and throws an error naming the failing plugin and its message.
 */
export async function podNetworkAdd(req: PodNetworkRequest): Promise<PodNetwork> {
  const ctx = context(req);
  if (!(await exists(netnsFile(ctx.nodeNetns)))) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `node namespace ${ctx.nodeNetns} does not exist: is the cluster network up?`);
  }
  if (await exists(netnsFile(ctx.netns))) {
    throw new NetworkError(
      NetworkErrorCodes.POD_EXISTS,
      `${ctx.what} already has network namespace ${ctx.netns}: delete its network (podNetworkDel) first`,
    );
  }
  await assertNetnsMountsVisible();
  const conflist = await readNodeConflist(ctx.confDir);
  await runChecked('ip', ['netns', 'add', ctx.netns]);
  try {
    const result = await runChain(ctx, conflist, 'ADD');
    if (!result) throw new NetworkError(NetworkErrorCodes.CNI_FAILED, 'the conflist produced no result');
    const addr = podAddressFromResult(result);
    await writeAtomic(ctx.cachePath, JSON.stringify(cacheEntry(ctx, conflist, result), null, 2));
    return {
      netns: ctx.netns,
      netnsPath: netnsFile(ctx.netns),
      node: req.node,
      ...addr,
      ips: podIpsFromResult(result),
      interfaces: result.interfaces ?? [],
      result,
    };
  } catch (err) {
    // Undo: DEL in reverse (releases the address), then the namespace; their own errors
    // must not hide the one that matters.
    await runChain(ctx, conflist, 'DEL').catch(() => undefined);
    await deleteNetns(ctx.netns).catch(() => undefined);
    await rm(ctx.cachePath, { force: true });
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `pod network ADD for ${ctx.what} on ${ctx.nodeNetns} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * DEL in reverse order, then deletes the pod's namespace. Idempotent (SPEC.md: DEL must
 * succeed for resources already gone): a missing pod namespace, cache or address is fine.
 * When the node's namespace is gone, so is everything the plugins made; only the
 * namespace and cache are removed then.
 */
export async function podNetworkDel(req: PodNetworkRequest): Promise<void> {
  const ctx = context(req);
  let failure: unknown;
  if (await exists(netnsFile(ctx.nodeNetns))) {
    try {
      // The node's conflist as it is now, as the runtime reads it (libcni): after the mesh
      // left the node, DEL no longer reaches ambient-cni.
      await runChain(ctx, await readNodeConflist(ctx.confDir), 'DEL', await readCachedResult(ctx.cachePath));
    } catch (err) {
      failure = err;
    }
  }
  await deleteNetns(ctx.netns);
  if (failure) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `pod network DEL for ${ctx.what} on ${ctx.nodeNetns} failed: ${(failure as Error).message}`, {
      cause: failure,
    });
  }
  await rm(ctx.cachePath, { force: true });
}

/** CHECK in order with the cached ADD result: throws when the pod's network is not as ADD left it. */
export async function podNetworkCheck(req: PodNetworkRequest): Promise<void> {
  const ctx = context(req);
  const cached = await readCachedResult(ctx.cachePath);
  if (!cached) throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `${ctx.what} has no cached CNI result: was it ADDed?`);
  try {
    await runChain(ctx, await readNodeConflist(ctx.confDir), 'CHECK', cached);
  } catch (err) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `pod network CHECK for ${ctx.what} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Gives every node its CNI directories, as a node's network plugin leaves them: the
 * primary conflist (loopback, bridge, host-local) in `<stateDir>/nodes/<node>/etc/cni/net.d`
 * and an empty `.../opt/cni/bin` for the node agent to install ambient-cni into.
 */
export async function writeNodeConflists(stateDir: string, topology: Topology): Promise<string[]> {
  const paths: string[] = [];
  for (const node of topology.nodes) {
    await mkdir(nodeCniBinDir(stateDir, node.name), { recursive: true, mode: 0o755 });
    const path = conflistPath(stateDir, node.index);
    await writeAtomic(path, `${JSON.stringify(nodeConflist({ stateDir, topology, node: node.index }), null, 2)}\n`);
    paths.push(path);
  }
  return paths;
}

interface Context {
  confDir: string;
  netns: string;
  nodeNetns: string;
  containerId: string;
  cniArgs: string;
  cniPath: string;
  timeoutMs: number;
  cachePath: string;
  what: string;
}

function context(req: PodNetworkRequest): Context {
  const node = nodeOf(req.topology, req.node);
  const id = containerId(req.podUid);
  const name = req.podName === undefined ? '' : `${req.podNamespace ?? 'default'}/${req.podName} `;
  return {
    confDir: nodeCniConfDir(req.stateDir, node.name),
    netns: podNetnsName(req.topology.cluster, req.podUid),
    nodeNetns: node.netns,
    containerId: id,
    cniArgs: cniArgs(req),
    cniPath: req.cniPath ?? nodeCniPath(req.stateDir, node.name),
    timeoutMs: req.timeoutMs ?? NETWORK_DEFAULTS.cniPluginTimeoutMs,
    cachePath: resultCachePath(req.stateDir, networkName(req.topology), id),
    what: `pod ${name}(uid ${req.podUid})`,
  };
}

/**
 * Runs every plugin of the conflist for `command`. ADD stops at the first failure and
 * feeds each result to the next plugin; DEL runs every plugin even when one fails (so
 * the rest still release what they hold) and then reports the failures; CHECK stops at
 * the first failure. DEL and CHECK get the cached ADD result as prevResult (SPEC.md).
 */
async function runChain(ctx: Context, conflist: CniConflist, command: CniCommand, cached?: CniResult): Promise<CniResult | undefined> {
  let prev = command === 'ADD' ? undefined : cached;
  const failures: string[] = [];
  for (const plugin of pluginOrder(conflist, command)) {
    const outcome = await runPlugin(ctx, command, plugin.type, pluginStdin(conflist, plugin, prev));
    if (!outcome.ok) {
      const msg = pluginErrorMessage(plugin.type, command, outcome);
      if (command !== 'DEL') throw new NetworkError(NetworkErrorCodes.CNI_FAILED, msg);
      failures.push(msg);
      continue;
    }
    if (command === 'ADD') prev = outcome.result;
  }
  if (failures.length > 0) throw new NetworkError(NetworkErrorCodes.CNI_FAILED, failures.join('; '));
  return command === 'ADD' ? prev : undefined;
}

async function runPlugin(ctx: Context, command: CniCommand, type: string, stdin: Record<string, unknown>) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(type)) {
    return { ok: false as const, code: undefined, msg: `invalid plugin type ${JSON.stringify(type)}` };
  }
  const binary = await findPlugin(ctx.cniPath, type);
  if (binary === undefined) {
    return { ok: false as const, code: undefined, msg: `plugin binary ${type} not found or not executable in CNI_PATH ${ctx.cniPath}` };
  }
  const env = pluginEnv({ command, containerId: ctx.containerId, netnsPath: netnsFile(ctx.netns), cniArgs: ctx.cniArgs, cniPath: ctx.cniPath, ifName: POD_INTERFACE });
  const r = await runCommand('ip', ['netns', 'exec', ctx.nodeNetns, binary], { input: JSON.stringify(stdin), env, timeoutMs: ctx.timeoutMs });
  return parsePluginOutput(command, r, r.stdout, r.stderr);
}

/** The first executable `type` in the CNI_PATH list, as libcni's FindInPath does (SPEC.md: CNI_PATH is a list of paths). */
async function findPlugin(cniPath: string, type: string): Promise<string | undefined> {
  for (const dir of cniPath.split(':')) {
    if (dir === '') continue;
    const binary = join(dir, type);
    try {
      await access(binary, fsc.X_OK);
      return binary;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * The conflist the runtime uses now: the first configuration file of the node's directory
 * (libcni's order, the same rule the node agent chains by), read at every ADD, DEL and CHECK.
 */
async function readNodeConflist(confDir: string): Promise<CniConflist> {
  const names = await readdir(confDir).catch((err: Error) => {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `cannot read the node's CNI configuration directory ${confDir}: ${err.message}`);
  });
  const name = primaryConfigName(names);
  if (name === undefined) throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `no CNI configuration in ${confDir}: is the cluster network up?`);
  const path = join(confDir, name);
  if (!name.endsWith('.conflist')) throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `${path} is not a .conflist: the local runtime runs conflists only`);
  return parseConflist(path, await readFile(path, 'utf8'));
}

function cacheEntry(ctx: Context, conflist: CniConflist, result: CniResult) {
  return {
    kind: 'cniCacheV1',
    containerId: ctx.containerId,
    ifName: POD_INTERFACE,
    networkName: conflist.name,
    netns: ctx.netns,
    cniArgs: ctx.cniArgs,
    config: conflist,
    result,
  };
}

async function readCachedResult(path: string): Promise<CniResult | undefined> {
  try {
    const entry = JSON.parse(await readFile(path, 'utf8')) as { result?: CniResult };
    return entry.result && typeof entry.result.cniVersion === 'string' ? entry.result : undefined;
  } catch {
    return undefined; // no cache (never ADDed, or already DELeted) or unreadable: DEL without prevResult
  }
}

async function deleteNetns(name: string): Promise<void> {
  if (!(await exists(netnsFile(name)))) return;
  const r = await runCommand('ip', ['netns', 'del', name]);
  if (r.code !== 0 && (await exists(netnsFile(name)))) {
    throw new NetworkError(NetworkErrorCodes.COMMAND_FAILED, `\`ip netns del ${name}\` failed: ${r.stderr.trim()}`);
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
