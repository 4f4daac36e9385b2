// The CNI side of the local cluster as data (CNI spec 1.0.0,
// https://github.com/containernetworking/cni/blob/spec-v1.0.0/SPEC.md): the per-node
// conflist, what each plugin gets on stdin and in its environment, and how to read what
// it printed. Pure; cni.ts runs the plugins.

import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localClusterSocketRoot } from '../../node-agent/cni/socket-path.js';
import { NetworkError, NetworkErrorCodes } from './errors.js';
import { POD_BRIDGE, POD_INTERFACE, nodeOf, type Topology } from './topology.js';

export const CNI_VERSION = '1.0.0';

/**
 * Where the mesh's own plugin is built (`npm run build:cni`). This module compiles to
 * dist/local-cluster/network/, three levels below the repository root.
 */
export const AMBIENT_CNI_BUILD_DIR = join(fileURLToPath(new URL('../../..', import.meta.url)), 'node-agent', 'cni', 'build');

/** Debian's containernetworking-plugins (bridge, host-local, loopback). */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

/**
 * Each node's own stand-ins for a host's directories: the nodes share the machine's
 * filesystem, so `/opt/cni/bin` of node1 is `<cluster dir>/nodes/node1/opt/cni/bin`. The
 * kubelet gives a hostPath volume the node's directory (service-account.ts), so the node
 * agent installs the plugin into its node's bin directory and chains it into its node's
 * conflist as on a real node; until then the node's pods get no ambient-cni.
 */
export function nodeHostDir(stateDir: string, nodeName: string): string {
  return join(resolve(stateDir), 'nodes', nodeName);
}

export function nodeCniBinDir(stateDir: string, nodeName: string): string {
  return join(nodeHostDir(stateDir, nodeName), 'opt', 'cni', 'bin');
}

export function nodeCniConfDir(stateDir: string, nodeName: string): string {
  return join(nodeHostDir(stateDir, nodeName), 'etc', 'cni', 'net.d');
}

/** The name of the node's primary conflist, as a network plugin would name it. */
export const PRIMARY_CONFLIST = '10-bridge.conflist';

/** CNI_PATH of a node: a list of directories searched in order (SPEC.md section 2): Debian's plugins, then the node's bin directory. */
export function nodeCniPath(stateDir: string, nodeName: string): string {
  return [DEBIAN_CNI_DIR, nodeCniBinDir(stateDir, nodeName)].join(':');
}

/**
 * The cluster's agent socket directories (one per node, node-agent/cni/socket-path.ts):
 * removed with the cluster, so a new cluster of the same name starts without the mesh.
 */
export function agentSocketRoot(cluster: string): string {
  return localClusterSocketRoot(cluster);
}

export interface CniPluginConf {
  type: string;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: unknown;
  [key: string]: unknown;
}

/** The network name: also host-local's sub-directory under its dataDir. */
export function networkName(topology: Topology): string {
  return `amb-${topology.cluster}`;
}

export function cniDir(stateDir: string): string {
  return join(resolve(stateDir), 'cni');
}

/** Node i's primary conflist, as `cluster up` writes it (the node agent chains ambient-cni into it). */
export function conflistPath(stateDir: string, node: number): string {
  return join(nodeCniConfDir(stateDir, `node${node}`), PRIMARY_CONFLIST);
}

export function ipamDir(stateDir: string, node: number): string {
  return join(resolve(stateDir), 'ipam', `node${node}`);
}

/** Where an ADD's result is kept for DEL and CHECK (libcni keeps it in /var/lib/cni/results). */
export function resultCachePath(stateDir: string, network: string, containerId: string, ifName = POD_INTERFACE): string {
  return join(cniDir(stateDir), 'results', `${network}-${containerId}-${ifName}.json`);
}

/**
 * Node i's conflist as `cluster up` writes it: loopback, then bridge on cni0 with
 * host-local addresses from the node's pod CIDR. The mesh's ambient-cni is chained after
 * them by the node agent, as on a real node.
 * The pod's default route points at cni0 (the node), which itself has no default route,
 * so the outside world is unreachable from pods too. No masquerade: pods see each
 * other's real addresses.
 */
export function nodeConflist(args: { stateDir: string; topology: Topology; node: number }): CniConflist {
  const node = nodeOf(args.topology, args.node);
  return {
    cniVersion: CNI_VERSION,
    name: networkName(args.topology),
    plugins: [
      { type: 'loopback' },
      {
        type: 'bridge',
        bridge: POD_BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          // Dual-stack: a second range, the node's IPv6 /64; host-local gives one address
          // from each range (IPv4 first: the pod's primary address).
          ranges: [
            [{ subnet: node.podCidr, gateway: node.podGateway }],
            ...(node.ipv6 ? [[{ subnet: node.ipv6.podCidr, gateway: node.ipv6.podGateway }]] : []),
          ],
          routes: [{ dst: '0.0.0.0/0' }, ...(node.ipv6 ? [{ dst: '::/0' }] : [])],
          dataDir: ipamDir(args.stateDir, args.node),
        },
      },
    ],
  };
}

/**
 * What plugin `plugin` of `conflist` reads on stdin: its own object plus the list's name
 * and cniVersion and, when there is one, prevResult (SPEC.md "Deriving execution
 * configuration from plugin configuration").
 */
export function pluginStdin(conflist: CniConflist, plugin: CniPluginConf, prevResult?: CniResult): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: conflist.name, cniVersion: conflist.cniVersion };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  else delete conf.prevResult;
  return conf;
}

/** The order plugins run in: as listed for ADD and CHECK, reversed for DEL. */
export function pluginOrder(conflist: CniConflist, command: CniCommand): CniPluginConf[] {
  return command === 'DEL' ? [...conflist.plugins].reverse() : [...conflist.plugins];
}

export interface PodIdentity {
  podUid: string;
  podName?: string;
  podNamespace?: string;
}

/** CNI_CONTAINERID: the pod uid, lowercased (letters, digits and "-", as the spec allows). */
export function containerId(podUid: string): string {
  const id = podUid.toLowerCase();
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(id)) {
    throw new NetworkError(NetworkErrorCodes.INVALID, `pod uid ${JSON.stringify(podUid)} cannot be a CNI container ID`);
  }
  return id;
}

/**
 * CNI_ARGS as kubelet sets them. IgnoreUnknown=1 first: plugins that parse CNI_ARGS into
 * a struct (host-local does) reject keys they do not know otherwise.
 */
export function cniArgs(pod: PodIdentity): string {
  const pairs: [string, string][] = [['IgnoreUnknown', '1']];
  if (pod.podNamespace !== undefined) pairs.push(['K8S_POD_NAMESPACE', argValue('pod namespace', pod.podNamespace)]);
  if (pod.podName !== undefined) pairs.push(['K8S_POD_NAME', argValue('pod name', pod.podName)]);
  pairs.push(['K8S_POD_UID', argValue('pod uid', pod.podUid)]);
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

function argValue(what: string, v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(v)) {
    throw new NetworkError(NetworkErrorCodes.INVALID, `${what} ${JSON.stringify(v)} is invalid: use letters, digits, ".", "_" and "-"`);
  }
  return v;
}

/** The plugin's environment: the CNI_* variables and a PATH, nothing else of ours. */
export function pluginEnv(args: {
  command: CniCommand;
  containerId: string;
  netnsPath: string;
  ifName?: string;
  cniArgs?: string;
  cniPath?: string;
  path?: string;
}): Record<string, string> {
  return {
    CNI_COMMAND: args.command,
    CNI_CONTAINERID: args.containerId,
    CNI_NETNS: args.netnsPath,
    CNI_IFNAME: args.ifName ?? POD_INTERFACE,
    CNI_PATH: args.cniPath ?? DEBIAN_CNI_DIR,
    ...(args.cniArgs !== undefined && { CNI_ARGS: args.cniArgs }),
    PATH: args.path ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
}

export type PluginOutcome =
  | { ok: true; result: CniResult | undefined }
  | { ok: false; code: number | undefined; msg: string; details?: string };

/**
 * Reads a plugin's exit status and output. Success: exit 0 and, for ADD, a result JSON
 * on stdout (DEL prints nothing; CHECK prints nothing). Failure: non-zero exit and an
 * error JSON {code, msg, details} on stdout; a plugin that dies without one still fails,
 * with its stderr as the message.
 */
export function parsePluginOutput(
  command: CniCommand,
  exit: { code: number | null; signal?: string | null },
  stdout: string,
  stderr: string,
): PluginOutcome {
  const json = parseJsonObject(stdout);
  if (exit.code !== 0) {
    if (json && typeof json.msg === 'string') {
      return {
        ok: false,
        code: typeof json.code === 'number' ? json.code : undefined,
        msg: json.msg,
        ...(typeof json.details === 'string' && json.details !== '' && { details: json.details }),
      };
    }
    const why = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
    return { ok: false, code: undefined, msg: `${why}: ${(stderr.trim() || stdout.trim()).slice(0, 500) || 'no output'}` };
  }
  if (command !== 'ADD') return { ok: true, result: json && typeof json.cniVersion === 'string' ? (json as CniResult) : undefined };
  if (!json || typeof json.cniVersion !== 'string') {
    return { ok: false, code: undefined, msg: `exit 0 but no result JSON on stdout: ${stdout.trim().slice(0, 200) || 'empty'}` };
  }
  return { ok: true, result: json as CniResult };
}

export interface PodAddress {
  ip: string;
  prefixLength: number;
  gateway: string | undefined;
}

/** The IPv4 address the result gives the pod's `ifName` (by the ips[].interface index). */
export function podAddressFromResult(result: CniResult, ifName = POD_INTERFACE): PodAddress {
  const ifaces = result.interfaces ?? [];
  const ip = (result.ips ?? []).find((a) => {
    const iface = a.interface === undefined ? undefined : ifaces[a.interface];
    return /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(a.address) && (iface === undefined || (iface.name === ifName && iface.sandbox !== undefined));
  });
  if (!ip) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `the CNI result has no IPv4 address for ${ifName}: ${JSON.stringify(result.ips ?? [])}`);
  }
  const [addr, prefix] = ip.address.split('/') as [string, string];
  return { ip: addr, prefixLength: Number(prefix), gateway: ip.gateway };
}

/**
 * Every address the result gives the pod's `ifName`, IPv4 first (the primary, as
 * status.podIPs lists it), without prefix lengths.
 */
export function podIpsFromResult(result: CniResult, ifName = POD_INTERFACE): string[] {
  const ifaces = result.interfaces ?? [];
  const mine = (result.ips ?? []).filter((a) => {
    const iface = a.interface === undefined ? undefined : ifaces[a.interface];
    return typeof a.address === 'string' && (iface === undefined || (iface.name === ifName && iface.sandbox !== undefined));
  });
  const addrs = mine.map((a) => a.address.split('/')[0]!).filter((ip) => isIP(ip) !== 0);
  return [...addrs.filter((ip) => isIP(ip) === 4), ...addrs.filter((ip) => isIP(ip) === 6)];
}

/** The message for a failed plugin: names the plugin, command and the plugin's own words. */
export function pluginErrorMessage(plugin: string, command: CniCommand, e: { code: number | undefined; msg: string; details?: string }): string {
  const code = e.code === undefined ? '' : ` (code ${e.code})`;
  return `CNI plugin "${plugin}" ${command} failed${code}: ${e.msg}${e.details ? `: ${e.details}` : ''}`;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A conflist read from a node's configuration directory: checked to be one the runtime
 * can run (a name, a cniVersion, plugins each with a type). Pure.
 */
export function parseConflist(path: string, text: string): CniConflist {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `${path} is not JSON: ${(err as Error).message}`);
  }
  const o = v as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof o['name'] !== 'string' || typeof o['cniVersion'] !== 'string' || !Array.isArray(o['plugins'])) {
    throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `${path} is not a CNI conflist (it needs "name", "cniVersion" and a "plugins" array)`);
  }
  (o['plugins'] as unknown[]).forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as Record<string, unknown>)['type'] !== 'string') {
      throw new NetworkError(NetworkErrorCodes.CNI_FAILED, `${path}: plugins[${i}] has no "type"`);
    }
  });
  return v as CniConflist;
}
