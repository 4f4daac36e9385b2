// How ambientctl reaches the controller's API (HTTPS, 15014): the one path the mesh
// commands (`status`, `workloads`, `services`, ...) and `ambientctl dashboard` share.
//
// - Which replica: the leader (Lease ambient-controller's holder) when it runs, else the
//   first running one; reads work on every replica, writes only on the leader.
// - The stream to it: a port-forward to the pod through the API server (pods/portforward,
//   a WebSocket; @kubernetes/client-node PortForward), on a real cluster and on the local
//   one alike: no root needed, one code path everywhere.
// - TLS verified with the mesh's roots (ConfigMap ambient-system/ambient-ca-root) and the
//   controller's name ambient-controller.ambient-system.svc, presenting the kubeconfig's
//   client certificate when it has one: the credentials go to the controller only.
// - Credentials: the kubeconfig's (a bearer token, the local cluster's admin kubeconfig
//   included, or a client certificate), or a token minted for a ServiceAccount
//   (--service-account).
import tls from 'node:tls';
import { resolve } from 'node:path';
import { Duplex, PassThrough, Writable } from 'node:stream';
import { CoreV1Api, PortForward, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MESH_PORTS } from '../core/ports.js';
import { readRoots } from '../core/kube/controller-discovery.js';
import type { WebSocket } from 'ws';
import { kubeRequest } from '../core/kube/rest.js';
import { LEASE_NAME } from '../controller/leader.js';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord, type ClusterRecord } from '../local-cluster/state.js';
import { loadKubeConfig, type ContextOptions } from './context.js';
import { CliError } from './errors.js';
import { pickControllerPod } from './dashboard-proxy.js';
import { DEFAULT_MESH_NAMESPACE, meshNamespace } from './mesh-namespace.js';

/** The default mesh namespace; the one of this run is controllerNamespace() (--mesh-namespace). */
export const CONTROLLER_NAMESPACE = DEFAULT_MESH_NAMESPACE;
export const CONTROLLER_SELECTOR = 'app=ambient-controller';
/** The controller's name in its serving certificate (and the Host sent to it), in the default namespace. */
export const CONTROLLER_HOST = `ambient-controller.${CONTROLLER_NAMESPACE}.svc`;
/** The controller's namespace for this run (ambientctl --mesh-namespace). */
export const controllerNamespace = (): string => meshNamespace();
/** The controller's name in its serving certificate for this run. */
export const controllerHost = (): string => `ambient-controller.${controllerNamespace()}.svc`;

export const LINK_LIMITS = {
  /** Listing pods, reading the Lease and the roots, opening a stream, the TLS handshake: each. */
  connectTimeoutMs: 5_000,
  /** Which pod to connect to is asked again after this long (a page loads many files at once). */
  podChoiceCacheMs: 5_000,
  /** A minted ServiceAccount token (--service-account) lives this long and is renewed at half. */
  tokenLifetimeSeconds: 3_600,
  /** A kubeconfig token is read again after this long (exec plugins renew theirs). */
  kubeconfigTokenCacheMs: 60_000,
} as const;

/** What proves who the user is to the controller: a bearer token, a client certificate, or both. */
export interface Credentials {
  token?: string;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface ControllerLink {
  /** A fresh TLS stream to the controller's API, verified, with the client certificate if any. */
  connect(): Promise<Duplex>;
  /** The credentials to present (the token goes in Authorization). */
  credentials(): Promise<Credentials>;
  /** Forget the chosen pod (after a follower refused a write, or a stream failed). */
  repick(): void;
  /** How the controller is reached, for messages. */
  via: string;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

/** The local cluster the options select, if they select one (else a real cluster). */
export function selectedLocalCluster(g: ContextOptions): ClusterRecord | undefined {
  const name = g.cluster ?? DEFAULT_CLUSTER;
  const rec = readRecord(name);
  if (!rec) return undefined;
  if (g.kubeconfig && resolve(g.kubeconfig) !== resolve(kubeconfigPath(name))) return undefined;
  if (g.context && g.context !== `ambient-${name}`) return undefined;
  return rec;
}

/** The controller pod to connect to: the leader when running, else the first running one. */
async function controllerPod(kc: KubeConfig): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  let pods;
  try {
    pods = await withTimeout(core.listNamespacedPod({ namespace: controllerNamespace(), labelSelector: CONTROLLER_SELECTOR }), LINK_LIMITS.connectTimeoutMs, 'listing the controller pods');
  } catch (err) {
    throw new CliError(`cannot list the controller pods (${controllerNamespace()}, ${CONTROLLER_SELECTOR}) through the API server: ${(err as Error).message}`);
  }
  let holder: string | undefined;
  try {
    const lease = await withTimeout(kubeRequest<{ spec?: { holderIdentity?: string } }>(kc, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${controllerNamespace()}/leases/${LEASE_NAME}`), LINK_LIMITS.connectTimeoutMs, 'reading the leader Lease');
    holder = lease.spec?.holderIdentity;
  } catch {
    // No Lease readable: any replica serves reads; a write to a follower says who leads.
  }
  const rows = pods.items.map((p) => ({ pod: p, name: p.metadata?.name ?? '', ...(p.status?.phase !== undefined && { phase: p.status.phase }), ...(p.status?.podIP && { podIP: p.status.podIP }), deleting: !!p.metadata?.deletionTimestamp }));
  const chosen = pickControllerPod(rows, holder);
  if (!chosen) throw new CliError(`no running controller pod in ${controllerNamespace()} (${CONTROLLER_SELECTOR}); is the mesh installed? (ambientctl get pods -n ${controllerNamespace()})`);
  return chosen.pod;
}

/** controllerPod, asked again at most every podChoiceCacheMs, or after repick(). */
function podChooser(kc: KubeConfig): { pick: () => Promise<V1Pod>; repick: () => void } {
  let cached: { pod: Promise<V1Pod>; at: number } | undefined;
  return {
    pick: () => {
      if (!cached || Date.now() - cached.at > LINK_LIMITS.podChoiceCacheMs) {
        const pod = controllerPod(kc);
        cached = { pod, at: Date.now() };
        pod.catch(() => (cached = undefined));
      }
      return cached.pod;
    },
    repick: () => (cached = undefined),
  };
}

/** TLS over `raw` to the controller, verified with the mesh's roots and the controller's name. */
export function tlsTo(raw: Duplex, roots: string, creds: Credentials = {}): Promise<Duplex> {
  return new Promise((ok, fail) => {
    const s = tls.connect({ socket: raw, ca: roots, servername: controllerHost(), ALPNProtocols: ['http/1.1'], ...(creds.cert && creds.key ? { cert: creds.cert, key: creds.key } : {}) });
    const timer = setTimeout(() => s.destroy(new Error(`TLS handshake with the controller took longer than ${LINK_LIMITS.connectTimeoutMs} ms`)), LINK_LIMITS.connectTimeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      ok(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      raw.destroy();
      fail(new Error(`TLS to the controller failed (verified with ConfigMap ${controllerNamespace()}/ambient-ca-root): ${err.message}`));
    });
  });
}

type Raw = (pod: V1Pod) => Promise<Duplex>;

/**
 * A raw stream to the controller pod's 15014 through the API server's pods/portforward (a
 * WebSocket, v4.channel.k8s.io): on a real cluster through the kubelet, on the local one
 * inside the pod's network namespace. It ends when the WebSocket closes; with an error when
 * the API server reported one on the port's error channel (e.g. nothing listens on 15014).
 */
function portForwardConnector(kc: KubeConfig): Raw {
  const pf = new PortForward(kc, true);
  return async (pod) => {
    const target = `${controllerNamespace()}/${pod.metadata!.name}:${MESH_PORTS.api}`;
    const toPod = new PassThrough();
    const fromPod = new PassThrough();
    const errors = new PassThrough();
    let message = '';
    errors.on('data', (c: Buffer) => (message += c.toString('utf8')));
    const opening = pf.portForward(controllerNamespace(), pod.metadata!.name!, [MESH_PORTS.api], fromPod, errors, toPod) as Promise<unknown> as Promise<WebSocket>;
    let ws: WebSocket;
    try {
      ws = await withTimeout(opening, LINK_LIMITS.connectTimeoutMs, 'the port-forward to the controller');
    } catch (err) {
      opening.then((late) => late.close(), () => {}); // one that opens after the timeout is not left open
      const e = err as Error & { message?: string };
      throw new CliError(`cannot port-forward to ${target} through the API server (does it serve pods/portforward, and may you create it?): ${e.message ?? String(err)}`);
    }
    // v4.channel.k8s.io has no half-close (client-node closes the WebSocket when its input
    // ends): ending the writing side ends nothing, the stream lasts until either side closes.
    const writable = new Writable({ write: (chunk: Buffer, _enc, cb) => void toPod.write(chunk, cb), final: (cb) => cb() });
    const duplex = Duplex.from({ readable: fromPod, writable });
    // client-node ends neither stream when the WebSocket closes: end them here.
    ws.on('close', () => {
      if (message) duplex.destroy(new Error(`port-forward to ${target}: ${message.trim()}`));
      else fromPod.end();
    });
    duplex.on('close', () => ws.close());
    return duplex;
  };
}

/** The kubeconfig user's credentials: its bearer token (exec plugins and token files too), its client certificate. */
export async function kubeconfigCredentials(kc: KubeConfig): Promise<Credentials> {
  const opts: { headers?: Record<string, unknown>; cert?: string | Buffer; key?: string | Buffer } = {};
  await kc.applyToHTTPSOptions(opts as never);
  const auth = opts.headers?.['Authorization'] ?? opts.headers?.['authorization'];
  const m = typeof auth === 'string' ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return { ...(m && { token: m[1]! }), ...(opts.cert && opts.key ? { cert: opts.cert, key: opts.key } : {}) };
}

/** The credentials to present: the kubeconfig user's, or a ServiceAccount token minted for `serviceAccount`. */
export function credentialSource(kc: KubeConfig, serviceAccount?: { namespace: string; name: string }): () => Promise<Credentials> {
  let cached: { creds: Credentials; renewAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.renewAt) return cached.creds;
    if (serviceAccount) {
      const core = kc.makeApiClient(CoreV1Api);
      const tr = await core.createNamespacedServiceAccountToken({ namespace: serviceAccount.namespace, name: serviceAccount.name, body: { spec: { audiences: [], expirationSeconds: LINK_LIMITS.tokenLifetimeSeconds } } });
      const token = tr.status?.token;
      if (!token) throw new CliError(`the API server issued no token for ServiceAccount ${serviceAccount.namespace}/${serviceAccount.name}`);
      cached = { creds: { token }, renewAt: Date.now() + (LINK_LIMITS.tokenLifetimeSeconds * 1000) / 2 };
      return cached.creds;
    }
    const creds = await kubeconfigCredentials(kc);
    if (!creds.token && !creds.cert) {
      throw new CliError(
        `the kubeconfig's user "${kc.getCurrentUser()?.name ?? '?'}" has neither a bearer token nor a client certificate for the controller's API; ` +
          'use a context with credentials, or --service-account NAMESPACE/NAME to act as that ServiceAccount (a token is requested for it)',
      );
    }
    cached = { creds, renewAt: Date.now() + LINK_LIMITS.kubeconfigTokenCacheMs };
    return creds;
  };
}

export interface LinkOptions {
  serviceAccount?: { namespace: string; name: string };
}

/** Opens the link: reads the mesh's roots and the credentials now, so that a problem shows before anything else. */
export async function openControllerLink(g: ContextOptions, o: LinkOptions = {}): Promise<ControllerLink> {
  const kc = loadKubeConfig(g);
  const rec = selectedLocalCluster(g);
  const credentials = credentialSource(kc, o.serviceAccount);
  await credentials();
  let roots: string;
  try {
    roots = await withTimeout(readRoots(kc, controllerNamespace()), LINK_LIMITS.connectTimeoutMs, 'reading the mesh roots');
  } catch (err) {
    throw new CliError(`cannot read the mesh's roots (ConfigMap ${controllerNamespace()}/ambient-ca-root) to verify the controller: ${(err as Error).message}; is the mesh installed?`);
  }
  const chooser = podChooser(kc);
  const raw = portForwardConnector(kc);
  return {
    connect: async () => {
      const pod = await chooser.pick();
      try {
        return await tlsTo(await raw(pod), roots, await credentials());
      } catch (err) {
        chooser.repick();
        throw err;
      }
    },
    credentials,
    repick: chooser.repick,
    via: `port-forward through the API server${rec ? ` of local cluster "${rec.name}"` : ''}`,
  };
}
