// The autoscaling/v1 Scale view of a Deployment (`kubectl scale`), pure.
import type { KObject } from './kinds.js';
import { formatLabelSelector, requirementsFromLabelSelector } from './selectors.js';

export interface Scale extends KObject {
  spec: { replicas?: number };
  status: { replicas: number; selector: string };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export function scaleOf(d: KObject): Scale {
  const spec = (d['spec'] ?? {}) as Any;
  const status = (d['status'] ?? {}) as Any;
  const m = d.metadata ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: formatLabelSelector(requirementsFromLabelSelector(spec.selector ?? {})) },
  };
}

/** The Deployment with the replica count a (possibly edited) Scale asks for. */
export function withScale(d: KObject, scale: KObject): KObject {
  const out = structuredClone(d);
  out['spec'] = { ...((out['spec'] as object | undefined) ?? {}), replicas: (scale['spec'] as Any)?.replicas };
  return out;
}
