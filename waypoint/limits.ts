// The waypoint's limits and defaults, each documented in docs/configuration.md.

// ---- Telemetry (waypoint/observe/) ----
export const WAYPOINT_TELEMETRY_DEFAULTS = {
  /** Request keys (a source workload, destination Service, backend workload and outcome)
   * resolved to metric label sets kept per config snapshot; beyond, the map is emptied and
   * refills. The label sets themselves are bounded by the metrics' own cardinality. */
  metricKeysPerSnapshot: 4096,
  /** The `source_cluster` / `destination_cluster` label value: Istio's default cluster id. */
  clusterName: 'Kubernetes',
} as const;
