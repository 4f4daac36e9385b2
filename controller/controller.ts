// The controller program's pieces wired together, startable in-process (tests) or from
// controller/main.ts: the CA from its Secret, the controller's own serving certificate
// from that CA (renewed at half-life), the 15012 server, the cluster watch feeding it, and
// the 15020 metrics and readiness endpoint.
//
// Not built: leader election. Every replica watches, translates and serves on its own
// (translation is deterministic, so replicas agree); only CA creation is coordinated, by
// the Secret's create-or-read.
import type { KubeConfig } from '@kubernetes/client-node';
import type { CertificateAuthority } from '../core/identity/ca.js';
import { inProcessSigner } from '../core/identity/ca.js';
import { CertificateManager } from '../core/identity/cert-manager.js';
import { formatSpiffeId, spiffeId } from '../core/identity/spiffe.js';
import { CONTROLLER_DEFAULTS, type ControllerProtocolLimits } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { loadOrCreateCa, publishRoots, type LoadedCa } from './ca-secret.js';
import { ClusterWatch } from './cluster-watch.js';
import { ControllerServer } from './distribution/server.js';
import { ControllerMetrics, startMetricsServer, type HealthServer } from './metrics.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** Default cluster.local. */
  trustDomain?: string;
  /** The controller's own namespace (its identity, its CA Secret, mesh-wide policy); default ambient-system. */
  namespace?: string;
  /** The controller's ServiceAccount (its serving identity); default ambient-controller. */
  identityServiceAccount?: string;
  /** Default 0.0.0.0:15012. */
  listen?: { host?: string; port?: number };
  /** Default 0.0.0.0:15020; port 0 picks a free one. */
  metrics?: { host?: string; port?: number };
  /** CA Secret name (default ambient-ca) and plug-in CA Secret name (default cacerts). */
  caSecretName?: string;
  pluginCaSecretName?: string;
  /** TokenReview audiences callers' tokens must carry; default none (the API server's own). */
  audiences?: string[];
  /** `namespace/name` of the node agents' ServiceAccount; default ambient-system/ambient-node-agent. */
  nodeAgentServiceAccount?: string;
  clusterDomain?: string;
  debounceMs?: number;
  servingCertTtlMs?: number;
  limits?: Partial<ControllerProtocolLimits>;
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
  /** Informers synced and the first config computed. */
  ready(): boolean;
  /** Graceful: stop watching, drain the config streams, close the listeners. */
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
  const caSource = await loadOrCreateCa({
    kubeConfig: opts.kubeConfig,
    namespace,
    ...(opts.caSecretName ? { name: opts.caSecretName } : {}),
    ...(opts.pluginCaSecretName !== undefined ? { pluginName: opts.pluginCaSecretName } : {}),
    ca: { trustDomain },
    logger: log,
  });
  const ca = caSource.ca;
  await publishRoots(opts.kubeConfig, namespace, ca.trustBundle.toPem());

  const identity = spiffeId(namespace, opts.identityServiceAccount ?? 'ambient-controller', trustDomain);
  const certs = new CertificateManager({ signer: inProcessSigner(ca, { ttlMs: opts.servingCertTtlMs ?? CONTROLLER_DEFAULTS.servingCertTtlMs }) });
  const cleanups: Array<() => Promise<void> | void> = [() => certs.close()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const serving = await certs.get(identity);
    log.info({ identity: formatSpiffeId(identity), notAfter: serving.notAfter.toISOString() }, 'controller: serving certificate issued');

    let watch: ClusterWatch | undefined;
    let metrics: ControllerMetrics | undefined;
    const server = new ControllerServer({
      credentials: { key: serving.key, cert: serving.cert },
      trustDomain,
      ca,
      kubeConfig: opts.kubeConfig,
      ...(opts.audiences?.length ? { audiences: opts.audiences } : {}),
      ...(opts.nodeAgentServiceAccount ? { nodeAgentServiceAccount: opts.nodeAgentServiceAccount } : {}),
      podLister: (node) => watch!.podsOnNode(node),
      onCertificateRequest: (o) => metrics?.onCertificateRequest(o),
      logger: log,
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    certs.on('rotated', (c) => {
      if (c.identity && formatSpiffeId(c.identity) === formatSpiffeId(identity)) {
        server.setCredentials({ key: c.key, cert: c.cert });
        log.info({ notAfter: c.notAfter.toISOString() }, 'controller: serving certificate renewed');
      }
    });
    certs.on('error', (err) => log.warn({ err: err.message }, 'controller: serving certificate renewal failed; retrying'));

    watch = new ClusterWatch({
      kubeConfig: opts.kubeConfig,
      sink: server,
      trustDomain,
      rootNamespace: namespace,
      ...(opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {}),
      ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
      logger: log,
      onTranslated: (r) => {
        if (r.changed) metrics?.configPushes.inc();
      },
    });
    const w = watch;
    metrics = new ControllerMetrics({ status: () => server.status(), problems: () => w.problems.length });

    const address = await server.listen({ host: opts.listen?.host ?? '0.0.0.0', port: opts.listen?.port ?? 15012 });
    cleanups.push(() => server.close());
    const health: HealthServer = await startMetricsServer({
      metrics,
      ready: () => w.ready,
      debugStatus: () => ({ ...server.status(), synced: w.ready, ca: caSource.secret, problems: w.problems }),
      host: opts.metrics?.host ?? '0.0.0.0', port: opts.metrics?.port ?? 15020 });
    cleanups.push(() => health.close());
    cleanups.push(() => w.stop());
    w.start().catch((err: Error) => log.error({ err: err.message }, 'controller: cluster watch failed to start'));

    let closing: Promise<void> | undefined;
    return {
      ca,
      caSource,
      server,
      watch: w,
      metrics,
      address,
      metricsPort: health.port,
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
