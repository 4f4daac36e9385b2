// The controller server's own limits on what one caller may cost it (the limits both ends
// of the protocol share are CONTROLLER_PROTOCOL_DEFAULTS in core/limits.ts). Every one is
// an option of ControllerServer (`limits`) and documented in docs/configuration.md.

/** The audience node agents' and waypoints' projected ServiceAccount tokens carry for the controller (and nothing else accepts). */
export const CONTROLLER_TOKEN_AUDIENCE = 'ambient.dev/controller';

export const CONTROLLER_SERVER_DEFAULTS = {
  /** Certificate requests one caller (ServiceAccount on a node) may make at once (token bucket size)... */
  csrBurst: 100,
  /** ...and per second after that. A node agent asks once per identity on its node, then at renewal. */
  csrPerSecond: 10,
  /** Config streams one caller (ServiceAccount on a node) may hold open; a node agent holds one. */
  maxStreamsPerCaller: 4,
  /** A config stream whose unread data goes over this is ended (a full update holds every resource). */
  maxBufferedBytesPerClient: 64 * 1024 * 1024,
  /** A config stream that reads nothing for this long while an update waits is ended. */
  slowClientTimeoutMs: 5 * 60_000,
  /** Hello ids the table does not have that are answered with removals; a hello naming more gets none for them. */
  maxUnknownHeldIds: 4_096,
  /** Longest bearer token considered; longer ones are refused without a TokenReview (Kubernetes' are 1-2 KiB). */
  maxTokenBytes: 8 * 1024,
  /** TokenReviews one source address may cause at once (token bucket size; cache hits are free)... */
  reviewBurst: 20,
  /** ...and per second after that. */
  reviewsPerSecond: 2,
  /** Telemetry reports (POST /v1/telemetry) one caller may send at once (token bucket size)... */
  telemetryReportBurst: 5,
  /** ...and per second after that. A node agent or waypoint reports every 5 s (TELEMETRY_LIMITS.reportIntervalMs). */
  telemetryReportsPerSecond: 1,
  /** Largest telemetry report body accepted (413 beyond): 2,000 edges and 1,000 flows with long names fit. */
  maxTelemetryReportBytes: 8 * 1024 * 1024,
  /** Callers and source addresses remembered by the rate limiters; the least recently seen are forgotten first. */
  maxRateLimitKeys: 10_000,
} as const;

export type ControllerServerLimits = { -readonly [K in keyof typeof CONTROLLER_SERVER_DEFAULTS]: number };
