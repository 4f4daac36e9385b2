// This replica as the API's merge layer sees it (mesh-wide.ts): its name, its own telemetry
// window, and a client for its peers (the controller Deployment's other pods, from the
// informers' cache, asked over TLS with the controller's own ServiceAccount token).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { SERVICEACCOUNT_DIR } from '../../core/kube/access.js';
import type { ApiLimits } from './limits.js';
import type { ReplicaContext } from './mesh-wide.js';
import { httpsPeerClient, NO_PEERS, peerTargets } from './peers.js';

export interface ReplicaOptions {
  /** This replica's pod name (default POD_NAME, else the hostname). */
  self?: string;
  /** false: ask no peer. */
  enabled?: boolean;
  /** The controller's own token (default: the kubeconfig's, else the pod's ServiceAccount token file). */
  token?: () => string | Promise<string>;
  kubeConfig: KubeConfig;
  telemetry: ReplicaContext['telemetry'];
  /** The controller's namespace (where its pods are). */
  namespace: string;
  pods: () => readonly V1Pod[];
  /** The peers' API port; undefined until this replica's own listener is up. */
  port: () => number | undefined;
  ca: () => string[];
  serverName: string;
  limits: Pick<ApiLimits, 'maxPeers' | 'peerTimeoutMs' | 'maxPeerAnswerBytes'>;
}

export function replicaContext(o: ReplicaOptions): ReplicaContext {
  const self = o.self ?? process.env['POD_NAME'] ?? hostname();
  const token = o.token ?? (() => controllerToken(o.kubeConfig));
  return {
    name: self,
    telemetry: o.telemetry,
    peers:
      o.enabled === false
        ? NO_PEERS
        : httpsPeerClient({
            peers: () => {
              const port = o.port();
              return port === undefined ? [] : peerTargets(o.pods(), { namespace: o.namespace, self, port, max: o.limits.maxPeers });
            },
            ca: o.ca,
            serverName: o.serverName,
            token: async () => token(),
            timeoutMs: o.limits.peerTimeoutMs,
            maxBytes: o.limits.maxPeerAnswerBytes,
          }),
  };
}

/** The controller's own ServiceAccount token: the kubeconfig's bearer token (in a pod, its
 * ServiceAccount's, re-read as it rotates), else the pod's token file. */
async function controllerToken(kc: KubeConfig): Promise<string> {
  const o: { headers: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(o as never);
  const auth = o.headers['Authorization'] ?? o.headers['authorization'];
  const m = auth === undefined ? null : /^Bearer\s+(\S+)$/i.exec(auth);
  if (m) return m[1]!;
  return (await readFile(join(SERVICEACCOUNT_DIR, 'token'), 'utf8')).trim();
}
