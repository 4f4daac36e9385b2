// The node agent program's pieces wired together (DESIGN.md sections 1-3), startable
// in-process (tests) or from node-agent/main.ts. Wiring only; each part is its own module:
//
//   controller client (15012) --update--> state/store.ts (held resources, the single
//                                         writer, the read-only snapshot)
//   snapshot + CNI announcements + netns lookup --> enrolment/reconciler.ts --> enrol /
//          un-enrol: certificate (CertificateManager, signed over 15012) -> listeners in
//          the pod's netns -> capture rules (enrolment/pod-proxy.ts)
//   every connection -> one record -> metrics + one access-log line (observe/)
//   every connection -> the traffic summary and recent flows (observe/telemetry.ts),
//          reported to the controller every few seconds (observe/telemetry-reporter.ts)
//   every inbound connection -> authorization (proxy/enforcer.ts, core/policy) -> decision
//          metric + observed edges (observe/edges.ts, GET /authz/edges); a config change
//          closes the open connections the new policies deny
//   admin 15000 / metrics 15020 / readiness 15021 (admin.ts), CNI hand-off (cni/)
//   the plugin installed and kept chained on the node (cni/installer.ts; readiness waits
//   for it); uninstall() takes it and every pod's rules off (main.ts decides, uninstall/)
//
// When the controller is away the agent keeps its last config and its certificates (the
// manager serves them until they expire) and the client reconnects with backoff.
import { PeerGuard } from '../core/hbone/guard.js';
import { HboneServerMetrics } from '../core/hbone/metrics.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeAccess } from '../core/kube/access.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { formatSpiffeId } from '../core/identity/spiffe.js';
import { TrustBundle } from '../core/identity/trust-bundle.js';
import { AGENT_DEFAULTS, HANDOVER_DEFAULTS } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { AGENT_SOCKET_MARK, MESH_PORTS } from '../core/ports.js';
import { adminTokenPath, newAdminToken, removeAdminToken, writeAdminToken } from './admin-token.js';
import { startAgentServers, type AgentServers } from './admin.js';
import { startHandoffServer, type HandoffServer } from './cni/handoff.js';
import { AgentHandover } from './handover/agent-handover.js';
import { HANDOVER_SOCKET_NAME } from './handover/plan.js';
import type { NodeRole } from './handover/protocol.js';
import { CniHandlers } from './cni/handlers.js';
import { CniInstaller, type CniInstallStatus } from './cni/installer.js';
import { removeSocketDir } from './cni/socket-dir.js';
import { DEFAULT_CNI_SOCKET } from './cni/socket-path.js';
import { ControllerClient } from './controller-client/client.js';
import { controllerSigner } from './controller-client/signer.js';
import { parseResolvConf } from './dns/server.js';
import type { AgentDump, AuthzEdgesDump, EnrolledPodStatus } from './dump.js';
import { kubeNewPodReader, newPodJudge } from './enrolment/new-pod.js';
import { EnrolmentReconciler } from './enrolment/reconciler.js';
import { accessLogSink } from './observe/access-log.js';
import type { Tracer } from '../core/trace/tracer.js';
import { ObservedEdges } from './observe/edges.js';
import { AgentMetrics } from './observe/metrics.js';
import { TrafficTelemetry } from './observe/telemetry.js';
import { TelemetryReporter } from './observe/telemetry-reporter.js';
import { CertificateLister, withCertificates } from './observe/certificate-list.js';
import { InboundEnforcer, reevaluateOnChange } from './proxy/enforcer.js';
import { authzDecisionSink } from './observe/authz-sink.js';
import { policyEngine } from './proxy/engine.js';
import { createCounters } from './proxy/balancer.js';
import { inlineDataPlane, type DataPlane } from './workers/data-plane.js';
import { workerEventsSink } from './workers/events-sink.js';
import { WorkerPool } from './workers/pool.js';
import { AgentState } from './state/store.js';
import type { ProxyState } from './state/snapshot.js';

export type { EnrolledPodStatus } from './dump.js';

/** SO_MARK on the agent's sockets in pods: the capture lets them through (Istio's 0x539). */
export const AGENT_MARK = AGENT_SOCKET_MARK;

export interface NodeAgentOptions {
  /** The node this agent serves (spec.nodeName through the downward API). */
  node: string;
  trustDomain?: string;
  controller: {
    address: { host: string; port: number };
    /** How the controller's certificate must name it: its DNS name (ambient-controller.<ns>.svc, never issued to workloads) or a spiffe:// ID (controller-client/controller-name.ts). */
    identity: string;
    /** The mesh roots the controller's certificate must chain to. */
    roots: string[];
    /** The agent's ServiceAccount token, read anew for every request. */
    token: () => string | Promise<string>;
  };
  /** For pods the CNI plugin announces before they are Workloads: the pod, its namespace
   * and the PeerAuthentications are read, and the controller's rules applied. */
  kubeConfig?: KubeAccess;
  /** The mesh's root namespace (mesh-wide PeerAuthentications); default ambient-system. */
  rootNamespace?: string;
  /** The CNI hand-off socket's path (cni/socket-path.ts); false: none. Default /var/lib/ambient/cni/cni.sock. */
  cniSocket?: string | false;
  /** Where this agent hands its listeners to the next one and takes them from the previous
   * (handover/); false: neither. Default handover.sock beside the CNI socket. */
  handoverSocket?: string | false;
  /** After handing over: how long the open connections are served before the rest is
   * reset (HANDOVER_DEFAULTS.drainDeadlineMs). */
  drainDeadlineMs?: number;
  /** Install the CNI plugin on the node and keep it chained (cni/installer.ts); the agent is
   * not ready until it is. Default: not installed (tests; the program always installs). */
  cniInstall?: { binDir: string; confDir: string; binary: string; checkIntervalMs?: number };
  /** Admin (default 127.0.0.1:15000), metrics (0.0.0.0:15020), readiness (0.0.0.0:15021); false: not served. */
  servers?: { admin?: { host?: string; port: number } | false; metrics?: { host?: string; port: number } | false; readiness?: { host?: string; port: number } | false };
  /** Where the admin token is written (mode 0600, directory 0700); default
   * /var/run/ambient-node-agent/<node>/admin-token; false: not written (the token is then
   * known to the caller only, through NodeAgent.adminToken). */
  adminTokenFile?: string | false;
  mark?: number;
  /** Redirect pods' DNS to the proxy on 15053; default true. */
  captureDns?: boolean;
  /** Where a pod's DNS proxy forwards other names when the pod's own resolv.conf cannot be
   * found (dns/pod-resolvers.ts); default the nameservers of the agent's /etc/resolv.conf. */
  dnsUpstreams?: string[];
  clusterDomain?: string;
  repairIntervalMs?: number;
  drainTimeoutMs?: number;
  /** Also look for pods' network namespaces here (tests); default /var/run/netns. */
  netnsDir?: string;
  logger?: Logger;
  /** Where access-log lines go; default `logger`. */
  accessLogger?: Logger;
  /** One span per connection goes here (observe/connection-span.ts); default none. The
   * agent shuts it down (flushing queued spans) when it closes. */
  tracer?: Tracer;
  /** Data-path workers carrying the pods' connections. More than one: that many worker
   * threads with SO_REUSEPORT listeners in each pod. One (the default here; the program's
   * default is one per core): the main thread is the one worker, with no thread to pay
   * for in memory or in messages. */
  workers?: number;
}

export interface NodeAgent {
  readonly node: string;
  readonly metrics: AgentMetrics;
  readonly client: ControllerClient;
  readonly certificates: CertificateManager;
  readonly servers: AgentServers;
  readonly cni: HandoffServer | undefined;
  /** A newer agent took this one's listeners over: it only drains its open connections. */
  readonly handedOver: boolean;
  /** The bearer token admin endpoints that change state require (new at every start). */
  readonly adminToken: string;
  /** First config applied. */
  ready(): boolean;
  state(): ProxyState;
  pods(): EnrolledPodStatus[];
  /** What /config_dump on 15000 answers. */
  configDump(): AgentDump;
  /** What /authz/edges on 15000 answers. */
  authzEdges(): AuthzEdgesDump;
  /** Decides inbound connections and closes those a config change denies (on the main
   * thread; each data-path worker has its own). */
  readonly authz: InboundEnforcer;
  /** Who carries the pods' connections: the main thread (workers 0) or the workers. */
  readonly dataPlane: DataPlane;
  /** The traffic summary since the last report and the recent flows, and their reporter. */
  readonly telemetry: TrafficTelemetry;
  readonly telemetryReporter: TelemetryReporter;
  /** Runs the enrolment reconciler now (and waits for it). */
  reconcile(): Promise<void>;
  /** Checks (and repairs) every enrolled pod's capture now. */
  repair(): Promise<void>;
  /** The node's CNI installation (undefined without `cniInstall`). */
  cniStatus(): CniInstallStatus | undefined;
  close(): Promise<void>;
  /** Stops, taking the mesh off the node first: the CNI chain and binary, the hand-off
   * socket's directory, every pod's capture rules and listeners (node-agent/uninstall/). */
  uninstall(): Promise<void>;
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const log = opts.logger ?? silentLogger;
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const rootNamespace = opts.rootNamespace ?? 'ambient-system';
  const drainMs = opts.drainTimeoutMs ?? AGENT_DEFAULTS.drainTimeoutMs;
  const trustBundle = new TrustBundle(opts.controller.roots);
  const store = new AgentState(opts.node);
  const state = () => store.snapshot();

  const client = new ControllerClient({
    address: opts.controller.address,
    trustBundle,
    controllerIdentity: opts.controller.identity,
    token: opts.controller.token,
    node: opts.node,
    logger: log,
    onUpdate: (u) => {
      const applied = store.apply(u);
      for (const warning of applied.newWarnings) log.warn({ warning }, 'agent: config oddity');
      if (applied.first) log.info({ version: u.version, resources: store.size() }, 'agent: first config applied');
    },
  });
  const certificates = new CertificateManager({ signer: controllerSigner(client), trustBundle });
  // The reconciler is created below; the metrics read it lazily.
  let reconciler: EnrolmentReconciler | undefined;
  const metrics = new AgentMetrics({
    enrolledPods: () => reconciler?.size ?? 0,
    controllerConnected: () => client.status.connected,
    certificates: () => certificates.list().map((c) => ({ identity: formatSpiffeId(c.identity), notAfter: c.notAfter })),
    activeConnections: () => reconciler?.activeConnections() ?? 0,
  });
  // A previous agent on this node hands its listening sockets over before anything here
  // opens its own (handover/agent-handover.ts).
  const handover = new AgentHandover({ socket: handoverSocketOf(opts), node: opts.node, metrics: metrics.handovers, logger: log });
  await handover.receive();
  const workers = handover.workers(opts.workers ?? 1);
  const telemetry = new TrafficTelemetry({ node: opts.node });
  const logConnection = accessLogSink(opts.accessLogger ?? log, state, metrics, opts.tracer);
  const onConnectionEnd: typeof logConnection = (r) => {
    logConnection(r);
    telemetry.connectionEnded(r, state());
  };
  const onConnectionOpen = (r: Parameters<typeof onConnectionEnd>[0]) => {
    metrics.connectionOpened(r, state());
    telemetry.connectionOpened(r, state());
  };
  const edges = new ObservedEdges(AGENT_DEFAULTS.maxObservedEdges);
  const authz = new InboundEnforcer({
    engine: policyEngine,
    getState: state,
    logger: log,
    onDecision: authzDecisionSink(metrics, edges),
  });
  const mark = opts.mark ?? AGENT_MARK;
  const hboneMetrics = new HboneServerMetrics(metrics.registry);
  const dataPlane: DataPlane =
    workers > 1
      ? new WorkerPool({
          count: workers,
          node: opts.node,
          trustDomain,
          mark,
          config: () => ({ resources: store.held(), version: store.version() }),
          roots: () => trustBundle.pems(),
          onEvents: workerEventsSink({ metrics, state, onConnectionEnd, onConnectionOpen, edges, hbone: hboneMetrics }),
          onRestart: () => metrics.workerRestarts.inc(),
          logger: log,
        })
      : inlineDataPlane({
          getState: state,
          credentials: (source) => certificates.get(source),
          trustBundle,
          trustDomain,
          mark,
          counters: createCounters(),
          onConnectionEnd,
          onConnectionOpen,
          // One penalty box for every pod's 15008: a peer refused at one pod is refused at all.
          hboneGuard: new PeerGuard({ logger: log, metrics: hboneMetrics }),
          authz,
          logger: log,
        });
  const enrolment = new EnrolmentReconciler({
    state,
    certificates,
    dataPlane,
    mark,
    captureDns: opts.captureDns ?? true,
    dnsUpstreams: opts.dnsUpstreams ?? systemNameservers(),
    ...(opts.clusterDomain !== undefined && { clusterDomain: opts.clusterDomain }),
    drainMs,
    ...(opts.netnsDir !== undefined && { netnsDir: opts.netnsDir }),
    ...(handover.inherited && { inherited: handover.inherited }),
    ...(opts.kubeConfig && {
      judgeNewPod: newPodJudge(kubeNewPodReader(opts.kubeConfig, { rootNamespace, logger: log }), { node: opts.node, trustDomain, rootNamespace, logger: log }),
    }),
    metrics,
    logger: log,
  });
  reconciler = enrolment;
  // Workers serve what the main thread holds: every applied change and root, in order.
  store.onChange((applied) => dataPlane.configChanged(applied.change));
  trustBundle.onChange(() => dataPlane.rootsChanged(trustBundle.pems()));
  // A failed round must not end the agent that serves every pod of the node: log it; the
  // next change or repair tick runs another.
  const roundFailed = (err: unknown) => log.error({ err: (err as Error)?.message ?? String(err) }, 'agent: enrolment round failed');
  store.onChange((applied) => void enrolment.configChanged(applied.state).catch(roundFailed));
  // New policies, or a workload changed: open connections are decided again with the new
  // snapshot; those now denied are closed (a log line each).
  reevaluateOnChange(store, authz, log);

  client.on('update', (r) => {
    metrics.configUpdate(r.rejected.length);
    if (r.rejected.length > 0) {
      log.warn({ version: r.version, rejected: r.rejected }, 'agent: resources refused (NACKed); the previous version of each is kept');
    }
  });
  client.on('connected', () => log.info({ controller: opts.controller.address }, 'agent: config stream open'));
  client.on('disconnected', (err) => log.warn({ err: err?.message }, 'agent: config stream lost; serving the last config while reconnecting'));
  client.on('error', (err) => log.debug({ err: err.message }, 'agent: controller unreachable; retrying'));
  certificates.on('rotated', (c) => {
    enrolment.certificateRotated(c);
    log.info({ identity: formatSpiffeId(c.identity), notAfter: c.notAfter.toISOString() }, 'agent: certificate renewed');
  });
  certificates.on('error', (err, id) => log.warn({ identity: formatSpiffeId(id), err: err.message }, 'agent: certificate renewal failed; the current one is served until it expires'));

  // ---- start ----
  // The workers (if any) are already running: a failed start must end them too.
  const cleanups: Array<() => Promise<void> | void> = [() => opts.tracer?.shutdown(), () => dataPlane.close(), () => handover.close()];
  let servers: AgentServers;
  let cni: HandoffServer | undefined;
  const adopted = (role: NodeRole) => {
    const fd = handover.inherited?.takeNode(role);
    return fd === undefined ? {} : { fd };
  };
  async function startCni(): Promise<void> {
    if (opts.cniSocket === false || cni) return;
    const handlers = new CniHandlers({ agent: enrolment.cniPort(), logger: log });
    cni = await startHandoffServer({ socket: opts.cniSocket ?? DEFAULT_CNI_SOCKET, onAdd: (p) => handlers.add(p), onDel: (p) => handlers.del(p), logger: log });
  }
  let cniInstaller: CniInstaller | undefined;
  const adminToken = newAdminToken();
  try {
    if (opts.servers?.admin !== false && opts.adminTokenFile !== false) {
      const tokenFile = opts.adminTokenFile ?? adminTokenPath(opts.node);
      await writeAdminToken(tokenFile, adminToken);
      cleanups.push(() => removeAdminToken(tokenFile, adminToken));
    }
    servers = await startAgentServers({
      adminToken,
      admin: opts.servers?.admin === false ? undefined : { host: '127.0.0.1', port: MESH_PORTS.admin, ...opts.servers?.admin, ...adopted('admin') },
      metrics: opts.servers?.metrics === false ? undefined : { host: '0.0.0.0', port: MESH_PORTS.metrics, ...opts.servers?.metrics, ...adopted('metrics') },
      readiness: opts.servers?.readiness === false ? undefined : { host: '0.0.0.0', port: MESH_PORTS.readiness, ...opts.servers?.readiness, ...adopted('readiness') },
      registry: metrics.registry,
      logger: log,
      configDump: () => dump(),
      authzEdges: () => edgesDump(),
      ready: () => (handover.pending ? { ready: false, reason: "taking over the previous agent's listeners" } : readiness()),
    });
    cleanups.push(() => servers.close());
    cleanups.push(() => cni?.close());
    // Taking over: the old agent holds the CNI socket until it has released the node.
    if (!handover.inherited) await startCni();
    // After the hand-off socket listens (or, taking over, while the old agent's does): a
    // pod the chained plugin hands over finds an agent.
    if (opts.cniInstall) {
      cniInstaller = new CniInstaller({
        ...opts.cniInstall,
        agentSocket: typeof opts.cniSocket === 'string' ? opts.cniSocket : DEFAULT_CNI_SOCKET,
        onRepair: () => metrics.cniChainRepairs.inc(),
        logger: log,
      });
      const i = cniInstaller;
      cleanups.push(() => i.stop());
      await i.start();
    }
  } catch (err) {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    throw err;
  }
  client.start();
  // The certificates of this node's workloads ride on the traffic reports (the controller
  // accepts no other identity's from this node).
  const certificateLister = new CertificateLister({
    held: () => certificates.list(),
    roots: () => trustBundle.pems(),
    wanted: () => new Set(state().workloads().flatMap((w) => (w.node === opts.node ? [w.identity] : []))),
  });
  const telemetryReporter = new TelemetryReporter({
    take: () => withCertificates(telemetry.takeReport(), certificateLister.take()),
    send: (body) => client.sendTelemetry(body),
    onDropped: (r) => r.certificates !== undefined && certificateLister.unsent(),
    logger: log,
  });
  telemetryReporter.start();
  const repairTimer = setInterval(() => void enrolment.repair().catch(roundFailed), opts.repairIntervalMs ?? AGENT_DEFAULTS.repairIntervalMs);
  repairTimer.unref();
  // Handed over: stop accepting and enrolling; open connections drain until the deadline.
  let draining: Promise<void> | undefined;
  void handover.finish(async () => {
    await startCni();
    // Pods whose ports the old agent held until now.
    void enrolment.schedule().catch(roundFailed);
    await handover.listen({
      held: async () => ({ pods: await enrolment.heldPods(), node: servers.sockets() }),
      onTakenOver: async () => {
        clearInterval(repairTimer);
        servers.stopAccepting();
        await cni?.close();
        cni = undefined;
        draining = enrolment.close(opts.drainDeadlineMs ?? HANDOVER_DEFAULTS.drainDeadlineMs, { handedOver: true });
      },
    });
  });

  function readiness(): { ready: true } | { ready: false; reason: string } {
    if (!store.synced()) return { ready: false, reason: `no config from the controller at ${opts.controller.address.host}:${opts.controller.address.port} yet` };
    const c = cniInstaller?.status();
    if (c && !c.chained) return { ready: false, reason: `the CNI plugin is not chained: ${c.error}` };
    return { ready: true };
  }

  function edgesDump(): AuthzEdgesDump {
    return { node: opts.node, now: new Date().toISOString(), edges: edges.list() };
  }

  function dump(): AgentDump {
    const s = state();
    return {
      node: opts.node,
      ready: store.synced(),
      controller: { address: `${opts.controller.address.host}:${opts.controller.address.port}`, ...client.status },
      enrolled: enrolment.statuses(),
      failures: enrolment.failures(),
      workloads: [...s.workloads()],
      services: [...s.services()],
      policies: [...s.policies()],
      certificates: certificates.list().map((c) => ({
        identity: formatSpiffeId(c.identity),
        serial: c.serial,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
      })),
      warnings: [...s.warnings],
      ...(cniInstaller && { cni: cniInstaller.status() }),
    };
  }

  let closed = false;
  return {
    node: opts.node,
    metrics,
    client,
    certificates,
    servers,
    get cni() {
      return cni;
    },
    get handedOver() {
      return handover.handedOver;
    },
    adminToken,
    ready: () => readiness().ready,
    state,
    pods: () => enrolment.statuses(),
    configDump: dump,
    authzEdges: edgesDump,
    authz,
    dataPlane,
    telemetry,
    telemetryReporter,
    reconcile: () => enrolment.schedule(),
    repair: () => enrolment.repair(),
    cniStatus: () => cniInstaller?.status(),
    async uninstall() {
      if (closed) return;
      closed = true;
      clearInterval(repairTimer);
      telemetryReporter.stop();
      // In this order: no new pod gets the plugin, the plugin then passes pods through (no
      // socket directory: the mesh is not on the node), then the pods' rules go.
      await cniInstaller?.uninstall().catch((err: Error) => log.error({ err: err.message }, 'agent: removing the CNI plugin failed'));
      if (cni) {
        await cni.close().catch(() => {});
        await removeSocketDir(cni.address).catch((err: Error) => log.error({ err: err.message }, 'agent: removing the CNI socket directory failed'));
      }
      const r = await enrolment.uninstall(drainMs);
      log.info({ unenrolled: r.unenrolled }, 'agent: the mesh is off this node');
      await client.close();
      certificates.close();
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(repairTimer);
      await handover.close();
      telemetryReporter.stop();
      // Handed over: the drain runs until its deadline (SIGTERM waits for it); otherwise
      // today's stop: the listeners keep serving drainMs, then the rest is reset.
      await (draining ?? enrolment.close(drainMs));
      await client.close();
      certificates.close();
      for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    },
  };
}

/** The handover socket: the option, else beside the CNI socket (the same root-only,
 * per-node directory); none when there is no CNI socket either. */
function handoverSocketOf(opts: NodeAgentOptions): string | false {
  if (opts.handoverSocket !== undefined) return opts.handoverSocket;
  if (opts.cniSocket === false) return false;
  return join(dirname(opts.cniSocket ?? DEFAULT_CNI_SOCKET), HANDOVER_SOCKET_NAME);
}

function systemNameservers(): string[] {
  try {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8')).nameservers;
  } catch {
    return [];
  }
}
