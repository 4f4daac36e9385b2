// The controller's bounds on the telemetry it keeps (docs/configuration.md, "Telemetry").
// Every one is an option of MeshTelemetry (`limits`).
export const TELEMETRY_WINDOW_DEFAULTS = {
  /** Width of one bucket of the rolling window (ms): the resolution of rates. */
  bucketMs: 10_000,
  /** How far back the window reaches (ms); a graph asked for a longer window gets this. */
  retentionMs: 15 * 60_000,
  /** Distinct edges one bucket holds; beyond, edges fold into `other` edges (counted in overflowEdges). */
  maxEdgesPerBucket: 5_000,
  /** Deciding policies kept per edge (the rest under `other`). */
  maxPoliciesPerEdge: 16,
  /** Recent flows kept (ring buffer, all reporters together). */
  maxFlows: 10_000,
  /** Most flows one flows() answer carries. */
  maxFlowsPerQuery: 1_000,
  /** Live flow subscribers at once (the console's streams). */
  maxSubscribers: 256,
} as const;

export type TelemetryWindowLimits = { -readonly [K in keyof typeof TELEMETRY_WINDOW_DEFAULTS]: number };
