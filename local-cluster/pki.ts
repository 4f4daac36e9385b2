// The local cluster's own PKI for its API server (not the mesh's CA): a cluster CA and a
// serving certificate for the in-cluster address and the loopback, so that pods, nodes,
// ambientctl and kubectl talk HTTPS to it and verify it with the ca.crt they are given
// (the admin kubeconfig embeds it), as on a real cluster (and because Kubernetes clients
// send bearer tokens only over TLS).
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { caTemplate, generateKeyPem, issueCertificate, serverTemplate } from '../core/identity/x509.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, writePrivateFile } from './state.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;
/** The names a pod may use for the API server (the `kubernetes` Service's, as on a real cluster). */
const API_DNS_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

/** The addresses the API server's certificate names: the cluster network's and the loopback's. */
export function apiServerIps(controlPlaneAddress: string): string[] {
  return [controlPlaneAddress, '127.0.0.1'];
}

export interface ClusterPki {
  caFile: string;
  ca: string;
  cert: string;
  key: string;
}

export function pkiDir(stateDir: string): string {
  return join(stateDir, 'pki');
}

/**
 * Creates the cluster CA and the API server's certificate for `ips` once; loads them after.
 * The directory is 0700 and the keys 0600 (put right on every call, should they have been
 * loosened); the certificates are public (0644).
 */
export async function ensureClusterPki(stateDir: string, ips: string[]): Promise<ClusterPki> {
  const dir = pkiDir(stateDir);
  const files = { ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'apiserver.crt'), key: join(dir, 'apiserver.key') };
  await ensurePrivateDir(dir);
  if (!existsSync(files.key)) {
    const caKey = await generateKeyPem();
    const ca = issueCertificate(caTemplate(caKey, 'ambient local cluster CA', 'ambient-local', 10 * YEAR_MS), caKey);
    const key = await generateKeyPem();
    const now = Date.now();
    const cert = issueCertificate(serverTemplate(key, { dns: API_DNS_NAMES, ips }, new Date(now - 60_000), new Date(now + YEAR_MS)), caKey, ca);
    await writePrivateFile(dir, 'ca.key', caKey);
    await writeFile(files.ca, ca);
    await writeFile(files.cert, cert);
    // The key last: its presence says the set is complete.
    await writePrivateFile(dir, 'apiserver.key', key);
  }
  for (const f of [files.caKey, files.key]) if (existsSync(f)) await chmod(f, PRIVATE_FILE_MODE);
  const [ca, cert, key] = await Promise.all([readFile(files.ca, 'utf8'), readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
  return { caFile: files.ca, ca, cert, key };
}
