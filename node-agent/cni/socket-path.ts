// Where the CNI plugin finds the node agent: a Unix socket in a root-only directory on
// the node's filesystem (not an abstract name, which any process in the node's network
// namespace could bind first or connect to). The directory doubles as the mark that the
// mesh is installed on the node: the plugin passes a pod through only when it is absent
// (plugin.c, docs/operations.md "The CNI plugin when the agent is away").
//
// A real node: /var/lib/ambient/cni/cni.sock. Persistent on purpose: /var/run is emptied
// at boot, and a node that reboots with the plugin still chained would otherwise start
// pods uncaptured until its agent is back.
//
// The local cluster: its nodes share the machine's filesystem, so each node's agent has a
// directory of its own, /var/run/ambient/<cluster>/<node>/cni.sock (under /var/run: the
// cluster does not survive a reboot either, and `cluster down` removes it).
import { join } from 'node:path';
import { ErrorCodes, MeshError } from '../../core/errors.js';

export const DEFAULT_CNI_SOCKET = '/var/lib/ambient/cni/cni.sock';
export const LOCAL_CLUSTER_SOCKET_ROOT = '/var/run/ambient';
export const CNI_SOCKET_NAME = 'cni.sock';

/** sun_path holds 108 bytes with its NUL (unix(7)). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A cluster or node name as one path component: never "." or "..", never a "/". */
const NAME = /^(?!\.{1,2}$)[a-z0-9._-]{1,63}$/;

function name(what: string, v: string): string {
  if (!NAME.test(v)) throw new MeshError(ErrorCodes.CNI_SOCKET_UNSAFE, `${what} ${JSON.stringify(v)} cannot name a socket directory: use a-z, 0-9, ".", "_" and "-"`);
  return v;
}

/** The directory that holds the local cluster's sockets: removed with the cluster. */
export function localClusterSocketRoot(cluster: string): string {
  return join(LOCAL_CLUSTER_SOCKET_ROOT, name('cluster', cluster));
}

/** Node `node` of local cluster `cluster`: its own root-only directory. */
export function localClusterCniSocket(cluster: string, node: string): string {
  return join(localClusterSocketRoot(cluster), name('node', node), CNI_SOCKET_NAME);
}

/**
 * The agent's socket when no flag names one: the local cluster's per-node path when the
 * agent runs there (its kubelet sets AMBIENT_CLUSTER in every container), the real
 * node's path otherwise.
 */
export function defaultCniSocket(env: Readonly<Record<string, string | undefined>>, node: string): string {
  const cluster = env['AMBIENT_CLUSTER'];
  return cluster ? localClusterCniSocket(cluster, node) : DEFAULT_CNI_SOCKET;
}

/** Checks a socket path given in configuration: absolute, normalised, short enough. Returns a reason, or undefined. */
export function socketPathProblem(path: string): string | undefined {
  if (path.startsWith('@')) return `${JSON.stringify(path)} is an abstract socket name: any process in the node's network namespace could take it; use a path in a root-only directory`;
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  if (path !== join(path) || path.endsWith('/')) return `${JSON.stringify(path)} is not a normalised path`;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) return `${JSON.stringify(path)} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket path's limit)`;
  return undefined;
}
