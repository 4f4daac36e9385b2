// The Workload a pod the CNI plugin just announced will be, before the controller's config
// speaks of it (the pod has no address in its status yet; the hand-off knows it). Derived
// by the controller's own rules (core/config/workload-of-pod.ts) from the pod, its
// namespace and the PeerAuthentications of its namespace and of the root namespace, so
// that the provisional Workload is the one the controller will push: same name, same
// identity, same mTLS mode. When the PeerAuthentications cannot be read the mode is STRICT
// (fail closed): a plaintext connection refused for a moment is retried; one accepted
// into a STRICT workload cannot be taken back.
//
// What the agent does not know here: the waypoint the pod is bound to (Gateways are the
// controller's), and whether a `gateway-name` label names a real waypoint (such a pod is
// taken as a waypoint's and not captured until the config says otherwise).
// The reads are plain REST (core/kube/rest.ts) with the light KubeAccess: the agent's
// process does not load @kubernetes/client-node (about 75 MiB of RSS) for three GETs.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { KubeAccess } from '../../core/kube/access.js';
import { kubeRequest } from '../../core/kube/rest.js';
import type { Workload } from '../../core/config/model.js';
import { indexPeerAuthentications, UNKNOWN_MTLS_MODE, type PeerAuthenticationObject } from '../../core/config/peer-authentication.js';
import { GATEWAY_NAME_LABEL, PodNotWorkload, workloadOfPod } from '../../core/config/workload-of-pod.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { CniPod } from '../cni/handoff.js';

/** The pod cannot be judged now; the CNI ADD fails and the kubelet retries. */
export class NewPodUndecided extends Error {}

/** The enrolled Workload a just-created pod will be; undefined when it is not enrolled;
 * throws when it cannot tell (the CNI ADD then fails closed: cni/decide.ts). */
export type NewPodJudge = (p: CniPod) => Promise<Workload | undefined>;

/** What the API server says about a just-announced pod. */
export interface NewPodFacts {
  pod: V1Pod;
  namespace: V1Namespace;
  /** The PeerAuthentications of the pod's namespace and the root namespace; undefined when
   * they could not be read. */
  peerAuthentications: readonly PeerAuthenticationObject[] | undefined;
}

export interface ProvisionalOptions {
  node: string;
  trustDomain: string;
  /** Where mesh-wide PeerAuthentications live (the controller's namespace). */
  rootNamespace: string;
}

/**
 * The Workload the controller will derive for this pod, with the addresses the CNI
 * plugin reported; undefined when the pod is not enrolled. Pure. Throws PodNotWorkload
 * for a pod that cannot be a Workload, and NewPodUndecided when the API server holds
 * another pod of that name (recreated: another uid), which cannot be decided on.
 */
export function provisionalWorkload(p: CniPod, facts: NewPodFacts, opts: ProvisionalOptions): Workload | undefined {
  if (facts.pod.metadata?.uid !== p.podUid) {
    throw new NewPodUndecided(`the API server has pod ${p.podNamespace}/${p.podName} with uid ${facts.pod.metadata?.uid ?? '(none)'}, not ${p.podUid}`);
  }
  const nsLabels = facts.namespace.metadata?.labels ?? {};
  const pas = facts.peerAuthentications;
  const mtls = pas === undefined ? undefined : indexPeerAuthentications(pas, opts.rootNamespace, () => {});
  const w = workloadOfPod(facts.pod, {
    trustDomain: opts.trustDomain,
    namespaceLabels: () => nsLabels,
    isWaypoint: (_ns, labels) => labels[GATEWAY_NAME_LABEL] !== undefined,
    mtlsMode: (ns, labels) => mtls?.modeFor(ns, labels) ?? UNKNOWN_MTLS_MODE,
    // Unknown policies: STRICT on every port (no port-level exception is known).
    mtlsPorts: (ns, labels) => mtls?.portModesFor(ns, labels),
    ips: p.ips,
    node: opts.node,
  });
  if (w.protocol !== 'HBONE' || w.hostNetwork === true) return undefined;
  return w;
}

/** Reads a just-announced pod's facts from the API server. */
export type NewPodReader = (p: CniPod) => Promise<NewPodFacts>;

export function kubeNewPodReader(kc: KubeAccess, opts: { rootNamespace: string; logger?: Logger }): NewPodReader {
  const log = opts.logger ?? silentLogger;
  const seg = encodeURIComponent;
  const listPas = async (namespace: string): Promise<PeerAuthenticationObject[]> => {
    const list = await kubeRequest<{ items?: unknown }>(kc, 'GET', `/apis/ambient.dev/v1/namespaces/${seg(namespace)}/peerauthentications`);
    if (!Array.isArray(list?.items)) throw new Error(`the PeerAuthentication list of namespace ${namespace} has no items`);
    return list.items as PeerAuthenticationObject[];
  };
  return async (p) => {
    const namespace = p.podNamespace!;
    const [pod, ns, pas] = await Promise.all([
      kubeRequest<V1Pod>(kc, 'GET', `/api/v1/namespaces/${seg(namespace)}/pods/${seg(p.podName!)}`),
      kubeRequest<V1Namespace>(kc, 'GET', `/api/v1/namespaces/${seg(namespace)}`),
      Promise.all([listPas(namespace), namespace === opts.rootNamespace ? [] : listPas(opts.rootNamespace)]).then(
        ([own, root]) => [...own, ...root],
        (err: Error) => {
          log.warn({ pod: `${namespace}/${p.podName}`, err: err.message }, 'agent: cannot read PeerAuthentications; the new pod is STRICT until the config arrives');
          return undefined;
        },
      ),
    ]);
    return { pod, namespace: ns, peerAuthentications: pas };
  };
}

export function newPodJudge(read: NewPodReader, opts: ProvisionalOptions & { logger?: Logger }): NewPodJudge {
  const log = opts.logger ?? silentLogger;
  return async (p) => {
    let facts: NewPodFacts;
    try {
      facts = await read(p);
    } catch (err) {
      // Fail closed: the ADD fails (AMB_CNI_UNDECIDED) and the kubelet retries.
      log.warn({ pod: `${p.podNamespace}/${p.podName}`, err: (err as Error).message }, 'agent: cannot read the new pod from the API server; its CNI ADD fails and is retried');
      throw err;
    }
    try {
      return provisionalWorkload(p, facts, opts);
    } catch (err) {
      if (!(err instanceof PodNotWorkload)) throw err;
      // The controller will not make it a Workload either: never enrolled.
      log.warn({ pod: `${p.podNamespace}/${p.podName}`, err: err.message }, 'agent: the new pod cannot be a workload; it is not enrolled');
      return undefined;
    }
  };
}
