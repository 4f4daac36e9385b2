// The controller program's pieces wired together, startable in-process (tests) or from
// controller/main.ts: the CA from its Secret, the controller's own serving certificate
// from that CA (renewed at half-life), the 15012 server, the cluster watch feeding it, and
// the 15020 metrics and readiness endpoint.
//
// Leader election (controller/leader.ts, a Lease named ambient-controller): every replica
// watches, translates and serves 15012 and 15020 on its own (translation is deterministic,
// so replicas agree); only the leader writes to the cluster: ConfigMap ambient-ca-root,
// published when leadership is gained, the status of every AuthorizationPolicy and
// TrafficPolicy (controller/policy-status.ts, the same writer), and the waypoints: what each Gateway of class
// ambient-waypoint needs, and its status (controller/waypoint-deployer.ts). CA creation is NOT leader-only:
// every replica needs the CA before it can sign anything, so it cannot wait for an
// election, and the Secret's create-or-read (409 AlreadyExists -> read the winner's) already
// makes exactly one root win without a lease.
import { MESH_PORTS } from '../core/ports.js';
import type { CertificateAuthority } from '../core/identity/ca.js';
import { formatSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { CONTROLLER_DEFAULTS, LEADER_DEFAULTS, type ControllerProtocolLimits, type LeaderLimits } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadOrCreateCa, publishRoots, ROOT_CONFIGMAP_KEY, ROOT_CONFIGMAP_NAME, type LoadedCa } from './ca-secret.js';
import { ClusterWatch } from './cluster-watch.js';
import { ControllerServer } from './distribution/server.js';
import { LeaderElector } from './leader.js';
import { MeshTelemetry } from './telemetry/mesh-telemetry.js';
import type { TelemetryWindowLimits } from './telemetry/limits.js';
import type { HeldCertificatesLimits, HeldCertificatesSnapshot } from './telemetry/certificates.js';
import { ServingCertificateRenewer, controllerServerName, issueServingCertificate } from './serving-cert.js';
import { ControllerMetrics, startMetricsServer, type HealthServer } from './metrics.js';
import { PolicyScopeIndex } from './distribution/scope.js';
import { PolicyStatusWriter, REQUEST_AUTHENTICATION_RESOURCE, TRAFFIC_POLICY_RESOURCE, type PolicyStatusLimits } from './policy-status.js';
import { RouteStatusWriter } from './route-status.js';
import { CONTROLLER_TOKEN_AUDIENCE } from './distribution/limits.js';
import { loadWaypointTemplate, WaypointDeployer } from './waypoint-deployer.js';
import { checkRedisAddress, type WaypointDeployLimits, type WaypointTemplate } from './waypoint-plan.js';
import { DEFAULT_CLUSTER_DOMAIN } from './translate/objects.js';
import { RolloutDriver, type MetricsSource, type RolloutDriverLimits } from './rollout-driver.js';
import { X509Certificate } from 'node:crypto';
import { ApiServer } from './api/server.js';
import { API_DEFAULTS, type ApiLimits } from './api/limits.js';
import { CachedAccessReviewer, kubeAccessReviewer } from './api/authz.js';
import { CachedTokenReviewer, kubeTokenReviewer } from './distribution/token-review.js';
import type { TelemetrySource } from './api/telemetry-source.js';
import { prometheusGraphSource } from './api/prometheus-source.js';
import { TELEMETRY_WINDOW_DEFAULTS } from './telemetry/limits.js';
import { fetchWaypointEndpoints } from './api/waypoint-endpoints.js';
import { meshWideTelemetrySource } from './api/mesh-wide.js';
import { replicaContext } from './api/replica.js';
import type { V1Pod } from '@kubernetes/client-node';
import type { CertificateInfo, DebugConfig, DebugStatus } from './api/context.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Default cluster.local. */
  trustDomain?: string;
  /** The controller's own namespace (its identity, its CA Secret); default ambient-system. */
  namespace?: string;
  /** Where mesh-wide policy lives (PeerAuthentication, AuthorizationPolicy); default: the controller's namespace. */
  rootNamespace?: string;
  /** The AuthorizationPolicy status writer's limits. */
  policyStatusLimits?: Partial<PolicyStatusLimits>;
  /** The controller's ServiceAccount (the SPIFFE ID its serving certificate also carries); default ambient-controller. */
  identityServiceAccount?: string;
  /** The DNS name on the serving certificate, which agents check; default ambient-controller.<namespace>.svc. */
  serverName?: string;
  /** Default 0.0.0.0:15012. */
  listen?: { host?: string; port?: number };
  /** Default 0.0.0.0:15020; port 0 picks a free one. */
  metrics?: { host?: string; port?: number };
  /** CA Secret name (default ambient-ca) and plug-in CA Secret name (default cacerts). */
  caSecretName?: string;
  pluginCaSecretName?: string;
  /** The audiences callers' tokens must carry (TokenReview); default ambient.dev/controller, never the API server's own. */
  audiences?: string[];
  /** `namespace/name` of the node agents' ServiceAccount; default ambient-node-agent in `namespace`. */
  nodeAgentServiceAccount?: string;
  /** `namespace/name` of ServiceAccounts served as waypoints besides those a waypoint Gateway names (ClusterWatch.isWaypointServiceAccount). */
  waypointServiceAccounts?: string[];
  clusterDomain?: string;
  debounceMs?: number;
  servingCertTtlMs?: number;
  limits?: Partial<ControllerProtocolLimits>;
  /** The waypoint deployer: its template (default manifests/waypoint.yaml, read at start: a bad one stops the start), the controller address waypoints are given (default <serverName>:15012), its limits; `enabled: false` leaves Gateways alone. */
  waypoints?: {
    enabled?: boolean;
    template?: WaypointTemplate | string;
    controllerAddress?: string;
    /** host:port of the Redis for TrafficPolicy global rate limits, given to every waypoint as REDIS_ADDRESS (absent: not set by the controller). */
    redisAddress?: string;
    limits?: Partial<WaypointDeployLimits>;
  };
  /** The rollout driver (Rollout.ambient.dev/v1): where it reads the waypoints' metrics (default: each waypoint pod's IP, port 15020), its limits; `enabled: false` leaves Rollouts alone. */
  rollouts?: { enabled?: boolean; metrics?: MetricsSource; limits?: Partial<RolloutDriverLimits> };
  /**
   * The HTTPS API and console (controller/api/, docs/api.md): default the 15012 listener's
   * host, port 15014 (a free port when the 15012 listener's port is 0);
   * `enabled: false` serves neither. `consoleDir`: the console's built files. `telemetry`:
   * the graph and flows; default: this replica's telemetry window (`telemetry` below).
   */
  api?: {
    enabled?: boolean;
    host?: string;
    port?: number;
    consoleDir?: string;
    telemetry?: TelemetrySource;
    /** This replica's part of the workload certificates GET /certificates and
     * /workloads/{ns}/{name} show (the peers' are merged in: mesh-wide.ts); default: what
     * this replica's clients listed (`telemetry.heldCertificates()`). */
    heldCertificates?: () => HeldCertificatesSnapshot;
    /** --prometheus-url: GET /graph reads windows longer than the telemetry window from this Prometheus (absent: refused). */
    prometheusUrl?: string;
    limits?: Partial<ApiLimits>;
    /** GET /debug/endpoints of a waypoint pod (default: its IP, port 15020). */
    waypointEndpoints?: (ip: string) => Promise<unknown>;
  };
  /**
   * The other replicas the API merges with (controller/api/peers.ts, docs/telemetry.md):
   * `self` is this replica's pod name (default POD_NAME, else the hostname); `port` their API
   * port (default this replica's); `token` the controller's own ServiceAccount token (default
   * the kubeconfig's, else the pod's ServiceAccount token file); `enabled: false` asks none.
   */
  peers?: { enabled?: boolean; self?: string; port?: number; token?: () => string | Promise<string> };
  /** Leader election: the Lease's name (default ambient-controller), our holder identity (default: POD_NAME or hostname, plus a random suffix), timings. */
  leaderElection?: { leaseName?: string; identity?: string; limits?: Partial<LeaderLimits> };
  /** The traffic telemetry window fed by the agents' and waypoints' reports (controller/telemetry/limits.ts). */
  telemetry?: { limits?: Partial<TelemetryWindowLimits>; certificateLimits?: Partial<HeldCertificatesLimits> };
  logger?: Logger;
}

export interface Controller {
  ca: CertificateAuthority;
  caSource: LoadedCa;
  server: ControllerServer;
  watch: ClusterWatch;
  metrics: ControllerMetrics;
  /** The bound 15012 address. */
  address: { host: string; port: number };
  metricsPort: number;
  /** The bound API address (undefined: the API is disabled). */
  apiAddress?: { host: string; port: number };
  elector: LeaderElector;
  /** Writes AuthorizationPolicy statuses while this replica leads. */
  policyStatus: PolicyStatusWriter;
  /** Writes HTTPRoute/GRPCRoute status.parents while leading. */
  routeStatus: RouteStatusWriter;
  /** Writes TrafficPolicy statuses (Accepted, Conflicted) while leading. */
  trafficPolicyStatus: PolicyStatusWriter;
  /** Deploys waypoints and writes their Gateways' status while this replica leads (undefined: disabled). */
  waypointDeployer?: WaypointDeployer;
  /** Moves the HTTPRoute weights of every Rollout while this replica leads (undefined: disabled). */
  rolloutDriver?: RolloutDriver;
  /** The mesh's root namespace. */
  rootNamespace: string;
  /** What the agents and waypoints connected to this replica reported: graph(), flows(), subscribe() (docs/telemetry.md). */
  telemetry: MeshTelemetry;
  /** This replica holds the Lease and does the leader-only work. */
  isLeader(): boolean;
  /** Informers synced and the first config computed. */
  ready(): boolean;
  /** Graceful: stop the leader-only work and release the Lease (when leading), stop watching, drain the config streams, close the listeners. */
  close(): Promise<void>;
}

/**
 * Starts the controller. Fails (nothing left running) when the CA cannot be loaded or
 * created, or a port cannot be bound. Resolves once listening; readiness (ready(),
 * /healthz/ready) follows when the informers have synced.
 */
export async function startController(opts: ControllerOptions): Promise<Controller> {
  const log = opts.logger ?? silentLogger;
  const trustDomain = opts.trustDomain ?? 'cluster.local';
  const namespace = opts.namespace ?? 'ambient-system';
  const rootNamespace = opts.rootNamespace ?? namespace;
  // A bad waypoint template stops the start, before anything else is done.
  const waypointsEnabled = opts.waypoints?.enabled !== false;
  const template = !waypointsEnabled ? undefined : typeof opts.waypoints?.template === 'object' ? opts.waypoints.template : loadWaypointTemplate(opts.waypoints?.template);
  const redisAddress = opts.waypoints?.redisAddress === undefined ? undefined : checkRedisAddress(opts.waypoints.redisAddress);
  const caSource = await loadOrCreateCa({
    kubeConfig: opts.kubeConfig,
    namespace,
    ...(opts.caSecretName ? { name: opts.caSecretName } : {}),
    ...(opts.pluginCaSecretName !== undefined ? { pluginName: opts.pluginCaSecretName } : {}),
    ca: { trustDomain },
    logger: log,
  });
  const ca = caSource.ca;

  const identity = spiffeId(namespace, opts.identityServiceAccount ?? 'ambient-controller', trustDomain);
  const serverName = opts.serverName ?? controllerServerName(namespace);
  const certs = new ServingCertificateRenewer(() =>
    issueServingCertificate(ca, { dnsName: serverName, identity, ttlMs: opts.servingCertTtlMs ?? CONTROLLER_DEFAULTS.servingCertTtlMs }),
  );
  const cleanups: Array<() => Promise<void> | void> = [() => certs.stop()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    let serving = await certs.start();
    log.info({ name: serverName, identity: formatSpiffeId(identity), notAfter: serving.notAfter.toISOString() }, 'controller: serving certificate issued');

    let watch: ClusterWatch | undefined;
    const configuredWaypoints = new Set(opts.waypointServiceAccounts ?? []);
    let metrics: ControllerMetrics | undefined;
    const telemetry = new MeshTelemetry({ ...(opts.telemetry?.limits && { limits: opts.telemetry.limits }), ...(opts.telemetry?.certificateLimits && { certificateLimits: opts.telemetry.certificateLimits }) });
    const server = new ControllerServer({
      credentials: { key: serving.key, cert: serving.cert },
      telemetry,
      trustDomain,
      ca,
      kubeConfig: opts.kubeConfig,
      ...(opts.audiences?.length ? { audiences: opts.audiences } : {}),
      ...(opts.nodeAgentServiceAccount ? { nodeAgentServiceAccount: opts.nodeAgentServiceAccount } : {}),
      isWaypoint: (sa) => configuredWaypoints.has(`${sa.namespace}/${sa.name}`) || watch!.isWaypointServiceAccount(sa),
      controlPlaneNamespace: namespace,
      podLister: (node) => watch!.podsOnNode(node),
      // Node agents get only the policies selecting a workload on their node or a pod
      // scheduled there (before its Workload exists: it is served from its CNI ADD).
      policyScope: new PolicyScopeIndex((node) => watch?.scheduledPods(node) ?? []),
      onCertificateRequest: (o) => metrics?.onCertificateRequest(o),
      logger: log,
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    let api: ApiServer | undefined;
    certs.on('rotated', (c) => {
      serving = c;
      server.setCredentials({ key: c.key, cert: c.cert });
      api?.setCredentials({ key: c.key, cert: c.cert });
      log.info({ notAfter: c.notAfter.toISOString() }, 'controller: serving certificate renewed');
    });
    certs.on('error', (err) => log.warn({ err: err.message }, 'controller: serving certificate renewal failed; retrying'));

    let policyStatus: PolicyStatusWriter | undefined;
    let requestAuthnStatus: PolicyStatusWriter | undefined;
    let routeStatus: RouteStatusWriter | undefined;
    let trafficPolicyStatus: PolicyStatusWriter | undefined;
    watch = new ClusterWatch({
      kubeConfig: opts.kubeConfig,
      sink: server,
      trustDomain,
      rootNamespace,
      ...(opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {}),
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
      logger: log,
      onTranslated: (r) => {
        if (r.changed) metrics?.configPushes.inc();
        policyStatus?.update(r.policyStatuses);
        requestAuthnStatus?.update(r.requestAuthnStatuses);
        routeStatus?.update(r.routeStatuses);
        trafficPolicyStatus?.update(r.trafficPolicyStatuses);
      },
    });
    const w = watch;
    policyStatus = new PolicyStatusWriter({
      kubeConfig: opts.kubeConfig,
      list: () => w.authorizationPolicies(),
      logger: log,
      ...(opts.policyStatusLimits ? { limits: opts.policyStatusLimits } : {}),
    });
    const statusWriter = policyStatus;
    // The same writer for RequestAuthentications' statuses (Accepted, Enforced).
    requestAuthnStatus = new PolicyStatusWriter({
      kubeConfig: opts.kubeConfig,
      resource: REQUEST_AUTHENTICATION_RESOURCE,
      list: () => w.requestAuthentications(),
      logger: log,
      ...(opts.policyStatusLimits ? { limits: opts.policyStatusLimits } : {}),
    });
    const requestAuthnStatusWriter = requestAuthnStatus;
    routeStatus = new RouteStatusWriter({
      kubeConfig: opts.kubeConfig,
      list: (kind) => w.routes(kind),
      logger: log,
      ...(opts.policyStatusLimits ? { limits: opts.policyStatusLimits } : {}),
    });
    const routeStatusWriter = routeStatus;
    trafficPolicyStatus = new PolicyStatusWriter({
      kubeConfig: opts.kubeConfig,
      resource: TRAFFIC_POLICY_RESOURCE,
      list: () => w.trafficPolicies(),
      logger: log,
      ...(opts.policyStatusLimits ? { limits: opts.policyStatusLimits } : {}),
    });
    const trafficPolicyStatusWriter = trafficPolicyStatus;
    const deployer = template
      ? new WaypointDeployer({
          kubeConfig: opts.kubeConfig,
          template,
          settings: {
            trustDomain,
            clusterDomain: opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
            controllerAddress: opts.waypoints?.controllerAddress ?? `${serverName}:${MESH_PORTS.controller}`,
            controllerNamespace: namespace,
            tokenAudience: opts.audiences?.[0] ?? CONTROLLER_TOKEN_AUDIENCE,
            ...(redisAddress !== undefined && { redisAddress }),
          },
          logger: log,
          ...(opts.waypoints?.limits ? { limits: opts.waypoints.limits } : {}),
        })
      : undefined;
    const rollouts =
      opts.rollouts?.enabled === false
        ? undefined
        : new RolloutDriver({
            kubeConfig: opts.kubeConfig,
            view: () => w.state(),
            logger: log,
            ...(opts.rollouts?.metrics ? { metrics: opts.rollouts.metrics } : {}),
            ...(opts.rollouts?.limits ? { limits: opts.rollouts.limits } : {}),
          });

    // Leader-only work: publish the roots when leadership is gained, then keep them there
    // (checked every rootsResyncMs; put back when deleted or changed), failures retried with
    // backoff; losing leadership aborts it. Followers never write.
    const leaderLimits = { ...LEADER_DEFAULTS, ...opts.leaderElection?.limits };
    const rootsPem = ca.trustBundle.toPem();
    const coreApi = opts.kubeConfig.makeApiClient(CoreV1Api);
    const rootsIntact = async (): Promise<boolean> => {
      try {
        const cm = await coreApi.readNamespacedConfigMap({ namespace, name: ROOT_CONFIGMAP_NAME });
        return cm.data?.[ROOT_CONFIGMAP_KEY] === rootsPem;
      } catch {
        return false;
      }
    };
    let firstPublish: Promise<void> | undefined;
    let published!: () => void;
    const publishWhileLeading = async (signal: AbortSignal): Promise<void> => {
      let delay = leaderLimits.retryPeriodMs;
      while (!signal.aborted) {
        let wait = leaderLimits.rootsResyncMs;
        try {
          if (!(await rootsIntact()) && !signal.aborted) {
            await publishRoots(opts.kubeConfig, namespace, rootsPem);
            log.info({ configMap: `${namespace}/${ROOT_CONFIGMAP_NAME}` }, 'controller: published the roots (leader)');
          }
          delay = leaderLimits.retryPeriodMs;
        } catch (err) {
          log.warn({ err: (err as Error).message, retryMs: delay }, 'controller: publishing the roots failed; retrying while leader');
          wait = delay;
          delay = Math.min(delay * 2, leaderLimits.publishRetryMaxMs);
        }
        published();
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, wait);
          function done() {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
          }
          signal.addEventListener('abort', done);
        });
      }
    };
    const elector = new LeaderElector({
      kubeConfig: opts.kubeConfig,
      namespace,
      ...(opts.leaderElection?.leaseName ? { name: opts.leaderElection.leaseName } : {}),
      ...(opts.leaderElection?.identity ? { identity: opts.leaderElection.identity } : {}),
      limits: leaderLimits,
      logger: log,
      onStartedLeading: (signal) => {
        firstPublish ??= new Promise<void>((r) => (published = r));
        void publishWhileLeading(signal);
        statusWriter.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the AuthorizationPolicy status writer stopped'));
        requestAuthnStatusWriter.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the RequestAuthentication status writer stopped'));
        routeStatusWriter.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the route status writer stopped'));
        trafficPolicyStatusWriter.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the TrafficPolicy status writer stopped'));
        deployer?.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the waypoint deployer stopped'));
        rollouts?.run(signal).catch((err: Error) => log.error({ err: err.message }, 'controller: the rollout driver stopped'));
      },
    });

    metrics = new ControllerMetrics({ status: () => server.status(), problems: () => w.problems.length, leader: () => elector.isLeader() });

    const address = await server.listen({ host: opts.listen?.host ?? '0.0.0.0', port: opts.listen?.port ?? MESH_PORTS.controller });
    cleanups.push(() => server.close());
    // The bodies of 15020 /debug/status and /debug/config, built here once: the API reads the same.
    const debugStatus = (): DebugStatus => ({
        ...server.status(),
        synced: w.ready,
        ca: caSource.secret,
        leader: elector.isLeader(),
        leaderElection: { lease: elector.lease, identity: elector.identity, holder: elector.holder() ?? null },
        problems: w.problems,
        policyStatusWrites: { written: statusWriter.writes, failed: statusWriter.failures },
        requestAuthnStatusWrites: { written: requestAuthnStatusWriter.writes, failed: requestAuthnStatusWriter.failures },
        routeStatusWrites: { written: routeStatusWriter.writes, failed: routeStatusWriter.failures },
        trafficPolicyStatusWrites: { written: trafficPolicyStatusWriter.writes, failed: trafficPolicyStatusWriter.failures },
        ...(deployer ? { waypointDeployer: { passes: deployer.passes, written: deployer.writes, failed: deployer.failures } } : {}),
        ...(rollouts ? { rolloutDriver: { passes: rollouts.passes, written: rollouts.writes, failed: rollouts.failures } } : {}),
      });
    const debugConfig = (): DebugConfig => {
        const latest = w.latest;
        return {
          version: String(w.version),
          trustDomain,
          rootNamespace,
          resources: latest?.resources ?? [],
          policyStatuses: latest?.policyStatuses ?? [],
          requestAuthnStatuses: latest?.requestAuthnStatuses ?? [],
          routeStatuses: latest?.routeStatuses ?? [],
          trafficPolicyStatuses: latest?.trafficPolicyStatuses ?? [],
          problems: latest?.problems ?? [],
        };
      };
    const health: HealthServer = await startMetricsServer({
      metrics,
      ready: () => w.ready,
      debugStatus,
      debugConfig,
      host: opts.metrics?.host ?? '0.0.0.0', port: opts.metrics?.port ?? MESH_PORTS.metrics });
    cleanups.push(() => health.close());

    let apiAddress: { host: string; port: number } | undefined;
    if (opts.api?.enabled !== false) {
      const limits: ApiLimits = { ...API_DEFAULTS, ...opts.api?.limits };
      const certInfo = (pem: string): CertificateInfo => {
        const x = new X509Certificate(pem);
        return { subject: x.subject, issuer: x.issuer, notBefore: new Date(x.validFrom).toISOString(), notAfter: new Date(x.validTo).toISOString(), fingerprintSha256: x.fingerprint256 };
      };
      // The other replicas: the controller Deployment's pods (the informers' cache), asked with this replica's own token.
      let peerPort: number | undefined = opts.peers?.port;
      const replica = replicaContext({
        ...(opts.peers?.self !== undefined && { self: opts.peers.self }),
        ...(opts.peers?.enabled !== undefined && { enabled: opts.peers.enabled }),
        ...(opts.peers?.token !== undefined && { token: opts.peers.token }),
        kubeConfig: opts.kubeConfig,
        telemetry,
        namespace,
        pods: () => w.state().pods as readonly V1Pod[],
        port: () => peerPort,
        ca: () => ca.trustBundle.pems(),
        serverName,
        limits,
      });
      api = new ApiServer({
        credentials: { key: serving.key, cert: serving.cert },
        // The callers' kubeconfig tokens: reviewed for the API server's own audience (no spec.audiences).
        tokens: new CachedTokenReviewer(kubeTokenReviewer(opts.kubeConfig, { timeoutMs: limits.reviewTimeoutMs }), {
          ttlMs: limits.tokenCacheTtlMs,
          negativeTtlMs: limits.tokenCacheNegativeTtlMs,
          maxEntries: limits.tokenCacheMaxEntries,
        }),
        access: new CachedAccessReviewer(kubeAccessReviewer(opts.kubeConfig, limits.reviewTimeoutMs), {
          ttlMs: limits.accessCacheTtlMs,
          negativeTtlMs: limits.accessCacheNegativeTtlMs,
          maxEntries: limits.accessCacheMaxEntries,
        }),
        ...(opts.api?.consoleDir ? { consoleDir: opts.api.consoleDir } : {}),
        leaderName: () => elector.holder() ?? undefined,
        logger: log,
        context: {
          trustDomain,
          rootNamespace,
          controllerNamespace: namespace,
          controllerServiceAccount: opts.identityServiceAccount ?? 'ambient-controller',
          replica,
          debugStatus,
          debugConfig,
          state: () => w.state(),
          isLeader: () => elector.isLeader(),
          certificates: () => ({
            roots: ca.trustBundle.pems().map(certInfo),
            signing: certInfo(ca.signingCertificate),
            serving: certInfo(serving.cert.split(/(?<=-----END CERTIFICATE-----)/)[0]!),
            source: caSource.secret,
          }),
          kube: opts.kubeConfig,
          waypointEndpoints: opts.api?.waypointEndpoints ?? ((ip) => fetchWaypointEndpoints(ip, { timeoutMs: limits.endpointsFetchTimeoutMs, maxBytes: limits.maxEndpointsBytes })),
          telemetry: opts.api?.telemetry ?? meshWideTelemetrySource(replica, limits),
          heldCertificates: opts.api?.heldCertificates ?? (() => telemetry.heldCertificates()),
          telemetryRetentionMs: opts.telemetry?.limits?.retentionMs ?? TELEMETRY_WINDOW_DEFAULTS.retentionMs,
          ...(opts.api?.prometheusUrl ? { prometheus: prometheusGraphSource({ url: opts.api.prometheusUrl }) } : {}),
          limits,
        },
      });
      const a = api;
      // Unless told, the API listens where the 15012 listener does; a free port when that one's is (tests).
      apiAddress = await a.listen({ host: opts.api?.host ?? opts.listen?.host ?? '0.0.0.0', port: opts.api?.port ?? (opts.listen?.port === 0 ? 0 : MESH_PORTS.api) });
      peerPort ??= apiAddress.port;
      cleanups.push(() => a.close());
      log.info({ address: `${apiAddress.host}:${apiAddress.port}`, console: opts.api?.consoleDir ?? null }, 'controller: API listening');
    }
    cleanups.push(() => w.stop());
    w.start().catch((err: Error) => log.error({ err: err.message }, 'controller: cluster watch failed to start'));
    // Last in, first out on close: leadership (and the Lease) is handed over before the
    // servers drain, so the other replica resumes the leader-only work at once.
    cleanups.push(() => elector.stop());
    // The first attempt is bounded by the renew deadline; a single replica is leader (and has
    // tried publishing the roots once) by the time start resolves, as before leader election.
    await elector.start();
    await firstPublish;

    let closing: Promise<void> | undefined;
    return {
      ca,
      caSource,
      server,
      watch: w,
      metrics,
      address,
      metricsPort: health.port,
      ...(apiAddress ? { apiAddress } : {}),
      elector,
      policyStatus: statusWriter,
      routeStatus: routeStatusWriter,
      trafficPolicyStatus: trafficPolicyStatusWriter,
      ...(deployer ? { waypointDeployer: deployer } : {}),
      ...(rollouts ? { rolloutDriver: rollouts } : {}),
      rootNamespace,
      telemetry,
      isLeader: () => elector.isLeader(),
      ready: () => w.ready,
      close: () =>
        (closing ??= (async () => {
          log.info('controller: shutting down');
          await cleanup();
        })()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
