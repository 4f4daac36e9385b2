// The Workload a pod the CNI plugin just announced will be, read from the API server
// before the controller's config speaks of it (the pod has no address in its status yet).
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { podEnrolment } from '../../core/config/enrolment.js';
import type { Workload } from '../../core/config/model.js';
import { formatSpiffeId, spiffeId } from '../../core/identity/spiffe.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { CniPod } from '../cni/handoff.js';

/** The enrolled Workload a just-created pod will be; undefined when it is not enrolled. */
export type NewPodJudge = (p: CniPod) => Promise<Workload | undefined>;

export function kubeNewPodJudge(kc: KubeConfig, opts: { node: string; trustDomain: string; logger?: Logger }): NewPodJudge {
  const kubeApi = kc.makeApiClient(CoreV1Api);
  const log = opts.logger ?? silentLogger;
  return async (p) => {
    try {
      const [pod, ns] = await Promise.all([
        kubeApi.readNamespacedPod({ namespace: p.podNamespace!, name: p.podName! }),
        kubeApi.readNamespace({ name: p.podNamespace! }),
      ]);
      if (pod.metadata?.uid !== p.podUid) return undefined;
      const labels = pod.metadata?.labels ?? {};
      const e = podEnrolment(
        { labels, hostNetwork: pod.spec?.hostNetwork === true, isWaypoint: labels['gateway.networking.k8s.io/gateway-name'] !== undefined },
        ns.metadata?.labels ?? {},
      );
      if (e.protocol !== 'HBONE') return undefined;
      const sa = pod.spec?.serviceAccountName || 'default';
      return {
        uid: p.podUid!,
        name: p.podName!,
        namespace: p.podNamespace!,
        serviceAccount: sa,
        identity: formatSpiffeId(spiffeId(p.podNamespace!, sa, opts.trustDomain)),
        node: opts.node,
        ips: p.ips,
        protocol: 'HBONE',
        labels,
        canonicalName: labels['app'] ?? p.podName!,
        canonicalRevision: labels['version'] ?? 'latest',
        mtlsMode: 'PERMISSIVE',
        healthy: false,
      };
    } catch (err) {
      // Fail open: the pod starts uncaptured and is enrolled as soon as the config says so.
      log.warn({ pod: `${p.podNamespace}/${p.podName}`, err: (err as Error).message }, 'agent: cannot read the new pod from the API server; it is enrolled once the controller reports it');
      return undefined;
    }
  };
}
