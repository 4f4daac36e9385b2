// The admin server's token (DESIGN.md section 9: admin 15000 is read-only without a
// token). 127.0.0.1:15000 is the node's loopback, which every host-network pod and every
// process on the node shares, and a browser on the node can be made to POST to it; so the
// endpoints that change the agent (the log level) require `Authorization: Bearer <token>`.
// The token is random, new at every start, and written where only root reads it: a file
// of mode 0600 in a directory of mode 0700: /var/run/ambient-node-agent/<node>/ on a real
// node, /var/run/ambient/<cluster>/<node>/ on the local cluster (whose agents share the
// machine's filesystem). ambientctl on the local cluster's machine reads it from there;
// on a real cluster: `kubectl exec` into the agent pod (docs/operations.md).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { localClusterCniSocket } from './cni/socket-path.js';

/** Where each node's agent keeps its admin token (under a root-only directory). */
export const ADMIN_TOKEN_DIR = '/var/run/ambient-node-agent';
export const ADMIN_TOKEN_FILE = 'admin-token';
const TOKEN_BYTES = 32;
/** Node names are DNS-1123 subdomains: nothing that could climb out of the directory. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The token file of the agent of `node`. */
export function adminTokenPath(node: string, dir: string = ADMIN_TOKEN_DIR): string {
  if (!NODE_NAME.test(node) || node.includes('..') || node.length > 253) {
    throw new MeshError(ErrorCodes.AGENT_ADMIN_TOKEN_FAILED, `node name ${JSON.stringify(node)} is not a DNS subdomain; cannot place the admin token`);
  }
  return join(dir, node, ADMIN_TOKEN_FILE);
}

/** On the local cluster: beside the node's CNI socket, in its root-only directory
 * (/var/run/ambient/<cluster>/<node>/), which `cluster down` removes. */
export function localClusterAdminTokenPath(cluster: string, node: string): string {
  return join(dirname(localClusterCniSocket(cluster, node)), ADMIN_TOKEN_FILE);
}

/** The agent's token file when no flag names one: the local cluster's per-node path when
 * the agent runs there (its kubelet sets AMBIENT_CLUSTER), the real node's otherwise. */
export function defaultAdminTokenPath(env: Readonly<Record<string, string | undefined>>, node: string): string {
  const cluster = env['AMBIENT_CLUSTER'];
  return cluster ? localClusterAdminTokenPath(cluster, node) : adminTokenPath(node);
}

export function newAdminToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Writes `token` to `path`: mode 0600, its directory created (and kept) 0700 and owned
 * by us, a file left by an earlier start replaced, a symlink in its place refused.
 */
export async function writeAdminToken(path: string, token: string): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    if (process.getuid && st.uid !== process.getuid()) throw new Error(`${dir} belongs to uid ${st.uid}, not to this process`);
    await chmod(dir, 0o700);
    await rm(path, { force: true });
    // 'wx': never follow or reuse what appeared in between.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new MeshError(ErrorCodes.AGENT_ADMIN_TOKEN_FAILED, `cannot write the admin token to ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Removes the token file when it still holds `token` (another agent of the same node
 * name, say of a second local cluster on the machine, may have replaced it). */
export async function removeAdminToken(path: string, token: string): Promise<void> {
  const now = await readFile(path, 'utf8').catch(() => undefined);
  if (now?.trim() === token) await rm(path, { force: true }).catch(() => {});
}

export type TokenCheck = 'ok' | 'missing' | 'wrong';

/** Checks an Authorization header against the token, in constant time. Pure. */
export function checkBearer(header: string | undefined, token: string | undefined): TokenCheck {
  if (header === undefined || header === '') return 'missing';
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (m === null || token === undefined || token === '') return 'wrong';
  const got = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want) ? 'ok' : 'wrong';
}
