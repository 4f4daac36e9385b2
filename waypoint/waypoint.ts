// The waypoint program's pieces wired together (DESIGN.md sections 1-3), startable
// in-process (tests) or from waypoint/main.ts. Wiring only; each part is its own module:
//
//   controller client (15012, as a waypoint: its own identity, its Services' config)
//        --update--> state/store.ts (held resources, the single writer, the snapshot)
//   certificate for its own identity (CertificateManager, signed over 15012)
//   HBONE 15008 -> what it serves (state/served.ts) -> the request chain (proxy.ts)
//        -> HBONE (or TCP) to the chosen endpoint under its own identity
//   admin 15000 (/config_dump, with `endpoints`) / metrics 15020 (/metrics, /debug/endpoints)
//   / readiness 15021
//
// Readiness waits for the first config and the first certificate: a waypoint that answered
// before holding its routes would send requests where no route says.
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import { waypointServiceKey } from '../core/config/waypoint.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { formatSpiffeId, type SpiffeId } from '../core/identity/spiffe.js';
import { TrustBundle } from '../core/identity/trust-bundle.js';
import { silentLogger, type Logger } from '../core/log.js';
import { MESH_PORTS } from '../core/ports.js';
import { startAgentServers, type AgentServers } from '../node-agent/admin.js';
import { ControllerClient } from '../node-agent/controller-client/client.js';
import { controllerSigner } from '../node-agent/controller-client/signer.js';
import { WaypointState } from './state/store.js';
import { TrafficTelemetry } from '../node-agent/observe/telemetry.js';
import { TelemetryReporter } from '../node-agent/observe/telemetry-reporter.js';
import { CertificateLister, withCertificates } from '../node-agent/observe/certificate-list.js';

export interface WaypointOptions {
  /** The waypoint's own identity: its pod's namespace and ServiceAccount. */
  namespace: string;
  serviceAccount: string;
  /** Its Gateway's name; its Service (the one node agents send to) is named after it. */
  gateway: string;
  /** The node its pod runs on (the controller checks its token against it). */
  node: string;
  trustDomain?: string;
  clusterDomain?: string;
  controller: {
    address: { host: string; port: number };
    /** How the controller's certificate names it (its DNS name or a spiffe:// ID). */
    identity: string;
    roots: string[];
    token: () => string | Promise<string>;
  };
  /** HBONE (default 0.0.0.0:15008), admin (127.0.0.1:15000), metrics (0.0.0.0:15020), readiness (0.0.0.0:15021); port 0 picks one (tests). */
  servers?: {
    hbone?: { host?: string; port: number };
    admin?: { host?: string; port: number } | false;
    metrics?: { host?: string; port: number } | false;
    readiness?: { host?: string; port: number } | false;
  };
  drainTimeoutMs?: number;
  logger?: Logger;
  accessLogger?: Logger;
}

export interface Waypoint {
  readonly identity: SpiffeId;
  /** The key of its own Service: what bound Services and Workloads name. */
  readonly self: string;
  readonly state: WaypointState;
  readonly client: ControllerClient;
  readonly certificates: CertificateManager;
  readonly servers: AgentServers;
  readonly registry: Registry;
  readonly telemetry: TrafficTelemetry;
  readonly telemetryReporter: TelemetryReporter;
  ready(): boolean;
  close(): Promise<void>;
}

export interface WaypointParts {
  identity: SpiffeId;
  self: string;
  state: WaypointState;
  certificates: CertificateManager;
  trustBundle: TrustBundle;
  trustDomain: string;
  registry: Registry;
  logger: Logger;
  /** The traffic summary and recent flows, reported to the controller every few seconds (docs/telemetry.md); absent: not kept. */
  telemetry?: TrafficTelemetry;
}

/** Starts the data path once the parts exist; returns how to stop it (drain). */
export type DataPathStarter = (parts: WaypointParts) => Promise<{
  close(drainMs: number): Promise<void>;
  dump?: () => unknown;
  /** The endpoints' state (observe/endpoint-state.ts): GET /debug/endpoints on 15020, and
   * `endpoints` in /config_dump. */
  endpoints?: () => unknown;
}>;

export async function startWaypointProgram(opts: WaypointOptions, startDataPath: DataPathStarter): Promise<Waypoint> {
  const log = opts.logger ?? silentLogger;
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const clusterDomain = opts.clusterDomain ?? 'cluster.local';
  const identity: SpiffeId = { trustDomain, namespace: opts.namespace, serviceAccount: opts.serviceAccount };
  const self = waypointServiceKey(opts.namespace, opts.gateway, clusterDomain);
  const trustBundle = new TrustBundle(opts.controller.roots);
  const state = new WaypointState();
  const client = new ControllerClient({
    address: opts.controller.address,
    trustBundle,
    controllerIdentity: opts.controller.identity,
    token: opts.controller.token,
    node: opts.node,
    logger: log,
    onUpdate: (u) => {
      const first = !state.synced();
      state.apply(u);
      if (first) log.info({ version: u.version, resources: state.size() }, 'waypoint: first config applied');
    },
  });
  const certificates = new CertificateManager({ signer: controllerSigner(client), trustBundle });
  const telemetry = new TrafficTelemetry();
  // Its own certificate rides on the traffic reports (the only one the controller accepts from it).
  const certificateLister = new CertificateLister({ held: () => certificates.list(), roots: () => trustBundle.pems(), wanted: () => new Set([formatSpiffeId(identity)]) });
  const telemetryReporter = new TelemetryReporter({
    take: () => withCertificates(telemetry.takeReport(), certificateLister.take()),
    send: (body) => client.sendTelemetry(body),
    onDropped: (r) => r.certificates !== undefined && certificateLister.unsent(),
    logger: log,
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'ambient_waypoint_config_resources', help: 'Resources the waypoint holds from the controller.', registers: [registry], collect() { this.set(state.size()); } });
  new Gauge({ name: 'ambient_waypoint_controller_connected', help: '1 while the config stream to the controller is up.', registers: [registry], collect() { this.set(client.status.connected ? 1 : 0); } });

  client.on('connected', () => log.info({ controller: opts.controller.address }, 'waypoint: config stream open'));
  client.on('disconnected', (err) => log.warn({ err: err?.message }, 'waypoint: config stream lost; serving the last config while reconnecting'));
  client.on('error', (err) => log.debug({ err: err.message }, 'waypoint: controller unreachable; retrying'));
  client.on('update', (r) => {
    if (r.rejected.length > 0) log.warn({ version: r.version, rejected: r.rejected }, 'waypoint: resources refused (NACKed); the previous version of each is kept');
  });
  certificates.on('rotated', (c) => log.info({ identity: formatSpiffeId(c.identity), notAfter: c.notAfter.toISOString() }, 'waypoint: certificate renewed'));
  certificates.on('error', (err) => log.warn({ err: err.message }, 'waypoint: certificate renewal failed; the current one is served until it expires'));

  const cleanups: Array<() => Promise<void> | void> = [];
  let servers: AgentServers;
  let dataPath: Awaited<ReturnType<DataPathStarter>>;
  let certified = false;
  const drainMs = opts.drainTimeoutMs ?? 5_000;
  try {
    client.start();
    cleanups.push(() => client.close());
    cleanups.push(() => certificates.close());
    // The first certificate before anything listens: HBONE cannot be served without it.
    await certificates.get(identity);
    certified = true;
    dataPath = await startDataPath({ identity, self, state, certificates, trustBundle, trustDomain, registry, logger: log, telemetry });
    cleanups.push(() => dataPath.close(drainMs));
    telemetryReporter.start();
    cleanups.push(() => telemetryReporter.stop());
    const s = opts.servers ?? {};
    servers = await startAgentServers({
      admin: s.admin === false ? undefined : { host: '127.0.0.1', port: MESH_PORTS.admin, ...s.admin },
      metrics: s.metrics === false ? undefined : { host: '0.0.0.0', port: MESH_PORTS.metrics, ...s.metrics },
      readiness: s.readiness === false ? undefined : { host: '0.0.0.0', port: MESH_PORTS.readiness, ...s.readiness },
      registry,
      logger: log,
      ...(dataPath.endpoints && { metricsJson: { '/debug/endpoints': dataPath.endpoints } }),
      configDump: () => ({
        waypoint: self,
        identity: formatSpiffeId(identity),
        version: state.version(),
        controller: { address: `${opts.controller.address.host}:${opts.controller.address.port}`, ...client.status },
        services: state.snapshot().mesh.services().filter((sv) => sv.waypoint?.service === self),
        routes: state.snapshot().routes(),
        trafficPolicies: state.snapshot().trafficPolicies(),
        policies: state.snapshot().mesh.policies(),
        certificates: certificates.list().map((c) => ({ identity: formatSpiffeId(c.identity), serial: c.serial, notAfter: c.notAfter.toISOString() })),
        ...(dataPath.dump ? { dataPath: dataPath.dump() } : {}),
        ...(dataPath.endpoints ? { endpoints: dataPath.endpoints() } : {}),
      }),
      ready: () =>
        !state.synced()
          ? { ready: false, reason: `no config from the controller at ${opts.controller.address.host}:${opts.controller.address.port} yet` }
          : !certified
            ? { ready: false, reason: 'no certificate yet' }
            : { ready: true },
    });
    cleanups.push(() => servers.close());
  } catch (err) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    throw err;
  }

  let closed = false;
  return {
    identity,
    self,
    state,
    client,
    certificates,
    servers,
    registry,
    telemetry,
    telemetryReporter,
    ready: () => state.synced() && certified,
    async close() {
      if (closed) return;
      closed = true;
      // Drain first (stop accepting, finish in flight), then the control connections.
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    },
  };
}
