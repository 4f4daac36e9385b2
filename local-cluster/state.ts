// Where a local cluster keeps its state, and the record `cluster up` writes: enough for
// `down`, `status`, `exec` and kubeconfig selection to find everything again.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

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
  const dir = clusterDir(rec.name);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${STATE_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(rec, null, 2)}\n`);
  await rename(tmp, join(dir, STATE_FILE));
}

export function kubeconfigPath(name = DEFAULT_CLUSTER): string {
  return join(clusterDir(name), KUBECONFIG_FILE);
}

/** A kubeconfig for the cluster's API server on loopback (admin: loopback needs no credentials). */
export function kubeconfigYaml(name: string, apiPort: number): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ambient-${name}`,
    'clusters:',
    `- name: ambient-${name}`,
    '  cluster:',
    `    server: http://127.0.0.1:${apiPort}`,
    '    insecure-skip-tls-verify: true # plain http on loopback: nothing to verify; client-node needs this to allow http',
    'contexts:',
    `- name: ambient-${name}`,
    '  context:',
    `    cluster: ambient-${name}`,
    `    user: ambient-${name}-admin`,
    '    namespace: default',
    'users:',
    `- name: ambient-${name}-admin`,
    '  user: {}',
    '',
  ].join('\n');
}
