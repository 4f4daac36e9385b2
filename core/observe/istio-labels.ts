// The parts of Istio's standard metric labels that every reporter derives the same way:
// the workload labels of a peer and the Service labels of a destination. Shared by the node
// agent's TCP metrics (node-agent/observe/labels.ts) and the waypoint's request metrics
// (waypoint/observe/request-labels.ts), so that both report a workload identically. Pure.
//
// Meaning and fallbacks follow Istio (https://istio.io/latest/docs/reference/config/metrics/):
// what the reporter cannot know is "unknown"; app and version come from the pod's `app` and
// `version` labels (Istio: `source.labels["app"] | "unknown"`).
import type { Workload } from '../config/model.js';

/** Istio's value for a label the reporter cannot know. */
export const UNKNOWN = 'unknown';

/** The labels Istio derives from one side's workload (without the source_/destination_ prefix). */
export interface PeerLabelValues {
  workload: string;
  canonical_service: string;
  canonical_revision: string;
  workload_namespace: string;
  app: string;
  version: string;
}

/**
 * A workload's labels. *_workload is Workload.canonicalName, "the workload's owner, for
 * metrics" in the config model; *_canonical_service is the same value, since the controller
 * derives canonicalName from the canonical-name labels first, as Istio derives the
 * canonical service (controller/translate/workloads.ts).
 */
export function peerLabelValues(w: Workload | undefined): PeerLabelValues {
  return {
    workload: w?.canonicalName || UNKNOWN,
    canonical_service: w?.canonicalName || UNKNOWN,
    canonical_revision: w?.canonicalRevision || UNKNOWN,
    workload_namespace: w?.namespace || UNKNOWN,
    app: w?.labels['app'] || UNKNOWN,
    version: w?.labels['version'] || UNKNOWN,
  };
}

export interface ServiceLabelValues {
  service: string;
  service_name: string;
  service_namespace: string;
}

/** A destination Service's labels: its hostname, name and namespace. */
export function serviceLabelValues(svc: { hostname: string; name?: string; namespace: string } | undefined): ServiceLabelValues {
  return {
    service: svc?.hostname || UNKNOWN,
    service_name: svc?.name || UNKNOWN,
    service_namespace: svc?.namespace || UNKNOWN,
  };
}
