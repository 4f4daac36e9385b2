// Which pods are in the mesh (DESIGN.md section 3: `ambient.dev/dataplane-mode`).
// Istio's rules for `istio.io/dataplane-mode`: the pod's own label overrides its
// namespace's, so `ambient` on a pod enrols it in a namespace that is not enrolled, and
// `none` opts it out of one that is. A host-network pod is never enrolled: it has no
// network namespace of its own to capture in.
// Shared by the controller's translation and the node agent, which decides alone for a
// pod its CNI plugin announces before the pod has an address (and so a Workload).
import type { TunnelProtocol } from './model.js';

/** The enrolment label, on a Namespace or a Pod. */
export const DATAPLANE_MODE_LABEL = 'ambient.dev/dataplane-mode';

type Labels = Readonly<Record<string, string>>;

const MODES = ['ambient', 'none'] as const;

export interface PodEnrolment {
  protocol: TunnelProtocol;
  /** Said about the pod when its label was not understood (it is still translated). */
  problem?: string;
}

function unknownMode(value: string, whose: string, fallback: string): string {
  return `label ${DATAPLANE_MODE_LABEL}=${JSON.stringify(value)} is neither "ambient" nor "none"; ${whose} ${fallback}`;
}

/** A problem with a Namespace's mode label, reported once per namespace. */
export function namespaceModeProblem(labels: Labels): string | undefined {
  const v = labels[DATAPLANE_MODE_LABEL];
  if (v === undefined || (MODES as readonly string[]).includes(v)) return undefined;
  return unknownMode(v, 'its pods are', 'not enrolled unless they say "ambient" themselves');
}

export function podEnrolment(pod: { labels: Labels; hostNetwork: boolean; isWaypoint: boolean }, namespaceLabels: Labels): PodEnrolment {
  const own = pod.labels[DATAPLANE_MODE_LABEL];
  let problem: string | undefined;
  let enrolled: boolean;
  if (own === 'ambient') enrolled = true;
  else if (own === 'none') enrolled = false;
  else {
    if (own !== undefined) problem = unknownMode(own, "the namespace's", 'setting applies');
    enrolled = namespaceLabels[DATAPLANE_MODE_LABEL] === 'ambient';
  }
  // Never capture a host-network pod (it would capture the node), nor a waypoint's own
  // pods: a waypoint terminates and originates HBONE itself, and capturing its outbound
  // tunnels would nest them (Istio's waypoint template labels them dataplane-mode=none).
  if (enrolled && (pod.hostNetwork || pod.isWaypoint)) {
    enrolled = false;
    if (own === 'ambient') {
      problem = `label ${DATAPLANE_MODE_LABEL}=ambient is ignored: ${pod.hostNetwork ? 'a host-network pod' : "a waypoint's own pod"} is never enrolled`;
    }
  }
  return problem === undefined ? { protocol: enrolled ? 'HBONE' : 'TCP' } : { protocol: enrolled ? 'HBONE' : 'TCP', problem };
}
