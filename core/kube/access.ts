// Where the API server is and how to authenticate to it, without @kubernetes/client-node:
// for processes that only make a few REST calls (the node agent reads a ConfigMap, a
// Service and, per new pod, the pod, its namespace and PeerAuthentications). Loading
// client-node costs a process about 75 MiB of RSS (its generated models and their
// dependencies: docs/performance.md, memory section); this module and rest.ts cost
// next to nothing.
//
// The order is client-node's loadFromDefault (without its Windows and exec-plugin parts):
// the first file of $KUBECONFIG, else ~/.kube/config, else the in-cluster ServiceAccount
// (KUBERNETES_SERVICE_HOST/PORT, /var/run/secrets/kubernetes.io/serviceaccount). A
// kubeconfig user may carry a token, a token file (re-read for every request, as a
// projected token rotates), or a client certificate and key; exec plugins and
// auth-provider entries are refused with an error naming them.
import { readFileSync, existsSync } from 'node:fs';
import type https from 'node:https';
import { isIPv6 } from 'node:net';
import { dirname, join, resolve } from 'node:path';

/** What kubeRequest (rest.ts) needs; a client-node KubeConfig has the same two methods. */
export interface KubeAccess {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How to reach and authenticate to one API server: the decision, before any file is read. */
export interface AccessPlan {
  server: string;
  /** Where the plan came from, for errors. */
  source: string;
  ca?: { file: string } | { data: string };
  insecure: boolean;
  serverName?: string;
  token?: { value: string } | { file: string };
  cert?: { file: string } | { data: string };
  key?: { file: string } | { data: string };
}

export class KubeAccessError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Obj, k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);

function named(list: unknown, name: string, what: string, source: string): Obj {
  if (!Array.isArray(list)) throw new KubeAccessError(`${source}: ${what}s is not a list`);
  const entry = list.find((e) => isObj(e) && e['name'] === name) as Obj | undefined;
  const body = entry?.[what];
  if (!isObj(body)) throw new KubeAccessError(`${source}: no ${what} named ${JSON.stringify(name)}`);
  return body;
}

/**
 * The plan for a parsed kubeconfig (its current context). Pure. Relative file paths are
 * taken from `baseDir` (the kubeconfig's directory), as kubectl does.
 */
export function planFromKubeconfig(doc: unknown, baseDir: string, source: string): AccessPlan {
  if (!isObj(doc)) throw new KubeAccessError(`${source}: not a kubeconfig (not a mapping)`);
  const ctxName = str(doc, 'current-context');
  if (!ctxName) throw new KubeAccessError(`${source}: current-context is not set`);
  const ctx = named(doc['contexts'], ctxName, 'context', source);
  const clusterName = str(ctx, 'cluster');
  if (!clusterName) throw new KubeAccessError(`${source}: context ${JSON.stringify(ctxName)} names no cluster`);
  const cluster = named(doc['clusters'], clusterName, 'cluster', source);
  const userName = str(ctx, 'user');
  const user = userName ? named(doc['users'], userName, 'user', source) : {};
  const server = str(cluster, 'server');
  if (!server) throw new KubeAccessError(`${source}: cluster ${JSON.stringify(clusterName)} has no server`);
  for (const k of ['exec', 'auth-provider']) {
    if (user[k] !== undefined) throw new KubeAccessError(`${source}: user ${JSON.stringify(userName)} uses ${k}, which this process does not support (give a token, tokenFile or client certificate)`);
  }
  const file = (p: string) => resolve(baseDir, p);
  const pick = (o: Obj, dataKey: string, fileKey: string): { data: string } | { file: string } | undefined => {
    const d = str(o, dataKey);
    if (d) return { data: Buffer.from(d, 'base64').toString('utf8') };
    const f = str(o, fileKey);
    return f ? { file: file(f) } : undefined;
  };
  const tokenFile = str(user, 'tokenFile') ?? str(user, 'token-file');
  const token = str(user, 'token');
  const plan: AccessPlan = {
    server,
    source,
    insecure: cluster['insecure-skip-tls-verify'] === true,
    ...(str(cluster, 'tls-server-name') ? { serverName: str(cluster, 'tls-server-name')! } : {}),
  };
  const ca = pick(cluster, 'certificate-authority-data', 'certificate-authority');
  if (ca) plan.ca = ca;
  if (token) plan.token = { value: token };
  else if (tokenFile) plan.token = { file: file(tokenFile) };
  const cert = pick(user, 'client-certificate-data', 'client-certificate');
  const key = pick(user, 'client-key-data', 'client-key');
  if (cert && key) {
    plan.cert = cert;
    plan.key = key;
  } else if (cert || key) throw new KubeAccessError(`${source}: user ${JSON.stringify(userName)} has a client ${cert ? 'certificate without a key' : 'key without a certificate'}`);
  return plan;
}

/** The in-cluster plan (the pod's ServiceAccount), as client-node's loadFromCluster. Pure. */
export function inClusterPlan(env: NodeJS.ProcessEnv, dir = SERVICEACCOUNT_DIR): AccessPlan {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new KubeAccessError('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set');
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    source: 'in-cluster',
    ca: { file: join(dir, 'ca.crt') },
    insecure: false,
    token: { file: join(dir, 'token') },
  };
}

const read = (s: { file: string } | { data: string }): string => ('data' in s ? s.data : readFileSync(s.file, 'utf8'));

/** A KubeAccess for a plan: the CA and client certificate read once, a token file at every request. */
export function accessFromPlan(plan: AccessPlan): KubeAccess {
  const ca = plan.ca && read(plan.ca);
  const cert = plan.cert && read(plan.cert);
  const key = plan.key && read(plan.key);
  return {
    getCurrentCluster: () => ({ server: plan.server }),
    applyToHTTPSOptions: async (opts) => {
      if (ca) opts.ca = ca;
      if (cert && key) Object.assign(opts, { cert, key });
      if (plan.serverName) opts.servername = plan.serverName;
      opts.rejectUnauthorized = !plan.insecure;
      const token = plan.token && ('value' in plan.token ? plan.token.value : readFileSync(plan.token.file, 'utf8').trim());
      if (token) opts.headers = { ...(opts.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` };
    },
  };
}

/** Parses kubeconfig text: JSON as is; YAML through the yaml package, loaded only then. */
async function parseKubeconfig(text: string): Promise<unknown> {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const { parse } = await import('yaml');
    return parse(text) as unknown;
  }
}

/** The access client-node's loadFromDefault would give (see the head of this file). */
export async function loadKubeAccess(env: NodeJS.ProcessEnv = process.env, home = env['HOME']): Promise<KubeAccess> {
  const fromEnv = (env['KUBECONFIG'] ?? '').split(':').find((f) => f !== '');
  const file = fromEnv ?? (home && existsSync(join(home, '.kube', 'config')) ? join(home, '.kube', 'config') : undefined);
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new KubeAccessError(`kubeconfig ${file}: ${(err as Error).message}`);
    }
    return accessFromPlan(planFromKubeconfig(await parseKubeconfig(text), dirname(resolve(file)), `kubeconfig ${file}`));
  }
  return accessFromPlan(inClusterPlan(env));
}
