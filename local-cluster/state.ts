// Where a local cluster keeps its state, and the record `cluster up` writes: enough for
// `down`, `status`, `exec` and kubeconfig selection to find everything again.
//
// The state directory holds key material (Redis's append-only file with the CA Secret
// and the token signing key, the cluster PKI, the nodes' token, the admin's token and the
// admin kubeconfig that carries it), so everything in it is
// private to root: directories 0700, files 0600, whatever the umask, also when they
// existed before with looser modes.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) 0700, and makes it 0700 if it existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Writes `file` 0600 atomically (a temporary file renamed over it), in a 0700 directory. */
export async function writePrivateFile(dir: string, name: string, data: string): Promise<string> {
  await ensurePrivateDir(dir);
  const file = join(dir, name);
  const tmp = join(dir, `.${name}.tmp`);
  await writeFile(tmp, data, { mode: PRIVATE_FILE_MODE });
  await chmod(tmp, PRIVATE_FILE_MODE); // an earlier leftover keeps its mode through writeFile
  await rename(tmp, file);
  return file;
}

export const DEFAULT_CLUSTER = 'local';

/** AMBIENT_HOME (default /var/lib/ambient-mesh) holds one directory per local cluster. */
export function ambientHome(): string {
  return process.env['AMBIENT_HOME'] ?? '/var/lib/ambient-mesh';
}

export function clusterDir(name = DEFAULT_CLUSTER): string {
  return join(ambientHome(), 'clusters', name);
}

export interface ClusterRecord {
  name: string;
  nodes: string[];
  apiPort: number;
  redisPort: number;
  createdAt: string;
  repoRoot: string;
}

export const STATE_FILE = 'cluster.json';
export const KUBECONFIG_FILE = 'kubeconfig';
/** The cluster admin's bearer token (apiserver/admin-token.ts), read by the control plane. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export function readRecord(name = DEFAULT_CLUSTER): ClusterRecord | undefined {
  const file = join(clusterDir(name), STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

export async function writeRecord(rec: ClusterRecord): Promise<void> {
  await writePrivateFile(clusterDir(rec.name), STATE_FILE, `${JSON.stringify(rec, null, 2)}\n`);
}

/** The admin kubeconfig, 0600: it carries the admin's bearer token. */
export async function writeKubeconfig(name: string, apiPort: number, adminToken: string, caPem: string): Promise<string> {
  return writePrivateFile(clusterDir(name), KUBECONFIG_FILE, kubeconfigYaml(name, apiPort, adminToken, caPem));
}

/** Writes the admin token (0600) where the control plane reads it; the file's path. */
export async function writeAdminToken(name: string, adminToken: string): Promise<string> {
  return writePrivateFile(clusterDir(name), ADMIN_TOKEN_FILE, `${adminToken}\n`);
}

/** The admin token `cluster up` wrote for the cluster, or undefined when there is none. */
export function readAdminToken(name = DEFAULT_CLUSTER): string | undefined {
  const file = join(clusterDir(name), ADMIN_TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').trim() || undefined;
}

export function kubeconfigPath(name = DEFAULT_CLUSTER): string {
  return join(clusterDir(name), KUBECONFIG_FILE);
}

/**
 * A kubeconfig for the cluster's API server on loopback (HTTPS, verified with the cluster
 * CA it embeds), its user the cluster admin (a bearer token).
 */
export function kubeconfigYaml(name: string, apiPort: number, adminToken: string, caPem: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ambient-${name}`,
    'clusters:',
    `- name: ambient-${name}`,
    '  cluster:',
    `    server: https://127.0.0.1:${apiPort}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'contexts:',
    `- name: ambient-${name}`,
    '  context:',
    `    cluster: ambient-${name}`,
    `    user: ambient-${name}-admin`,
    '    namespace: default',
    'users:',
    `- name: ambient-${name}-admin`,
    '  user:',
    `    token: ${JSON.stringify(adminToken)}`,
    '',
  ].join('\n');
}
