// The controller's side of the controller protocol on port 15012 (docs/protocol.md):
// HTTP/2 over TLS 1.3 with the controller's serving certificate from the mesh CA. Every
// request carries a ServiceAccount token (checked by TokenReview) and the caller's node.
//
//   POST /v1/certificates   a CSR in, a signed chain out, for identities the caller may have
//   POST /v1/config         a long-lived stream of newline-delimited JSON: hello, then
//                           versioned incremental updates, each ACKed or NACKed
//   POST /v1/telemetry      a traffic report (JSON): edges and flows since the last one
//                           (telemetry-report.ts; docs/telemetry.md)
//
// This module is the wiring: the listener, routing, and shutdown. The parts live beside it:
// sessions.ts (connections), authenticate.ts (who is calling), certificates.ts (signing),
// config-stream.ts (the config streams and the one writer of config).
import { MESH_PORTS } from '../../core/ports.js';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import type { Resource } from '../../core/config/model.js';
import type { CertificateAuthority } from '../../core/identity/ca.js';
import { CONTROLLER_PROTOCOL_DEFAULTS, type ControllerProtocolLimits } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { PATHS } from '../../core/config/wire.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE, type ServiceAccountRef, type WaypointCheck } from './authorize.js';
import { Authenticator, parseServiceAccount, type PodLister } from './authenticate.js';
import { CertificateEndpoint, type CertificateRequestOutcome } from './certificates.js';
import { ConfigStreams, type ConfigStatus, type ScopeFunction } from './config-stream.js';
import type { PolicyScopeIndex } from './scope.js';
import { Refused, headerValue, respondError } from './http.js';
import { Sessions } from './sessions.js';
import { CONTROLLER_SERVER_DEFAULTS, CONTROLLER_TOKEN_AUDIENCE, type ControllerServerLimits } from './limits.js';
import { KeyedRateLimiter } from './rate-limit.js';
import { TelemetryEndpoint, type TelemetrySink } from './telemetry-report.js';
import { CachedTokenReviewer, kubeTokenReviewer, type TokenReviewer } from './token-review.js';

export type { PodLister } from './authenticate.js';
export type { CertificateRequestOutcome } from './certificates.js';
export type { ConfigClientStatus, RejectedResource, ScopeFunction } from './config-stream.js';

export interface ServerCredentials {
  key: string;
  /** Leaf then intermediates, PEM: a workload certificate carrying the controller's SPIFFE ID. */
  cert: string;
}

export type ControllerStatus = ConfigStatus;

export interface ControllerServerOptions {
  credentials: ServerCredentials;
  trustDomain: string;
  ca: CertificateAuthority;
  /** Where TokenReviews go (the controller's own credentials for the API server). */
  kubeConfig?: KubeConfig;
  /** Instead of kubeConfig: any TokenReview implementation (it is cached all the same). */
  tokenReviewer?: TokenReviewer;
  /**
   * The audiences callers' tokens must carry (TokenReview spec.audiences, and checked in
   * status.audiences); default [CONTROLLER_TOKEN_AUDIENCE] (ambient.dev/controller). An
   * empty list is the default too: the API server's own audience is never accepted.
   */
  audiences?: string[];
  podLister: PodLister;
  /** `namespace/name` or a ref; default ambient-node-agent in controlPlaneNamespace. */
  nodeAgentServiceAccount?: ServiceAccountRef | string;
  /**
   * Which other ServiceAccounts are waypoints' (served config and their own identity's
   * certificates). Default: none. Any other ServiceAccount is refused (403).
   */
  isWaypoint?: WaypointCheck;
  /** The control plane's namespace: no certificate is ever signed for its identities. Default ambient-system. */
  controlPlaneNamespace?: string;
  scope?: ScopeFunction;
  /** Node agents get the policies this index gives their node, kept incrementally (the controller's choice; instead of `scope`). */
  policyScope?: PolicyScopeIndex;
  logger?: Logger;
  limits?: Partial<ControllerProtocolLimits & ControllerServerLimits>;
  /** Told the outcome and duration of every certificate request (for metrics). */
  onCertificateRequest?: (outcome: CertificateRequestOutcome) => void;
  /** Where traffic reports (POST /v1/telemetry) go; absent: the endpoint answers 404. */
  telemetry?: TelemetrySink;
}

export class ControllerServer {
  readonly server: http2.Http2SecureServer;
  readonly limits: ControllerProtocolLimits & ControllerServerLimits;
  readonly #log: Logger;
  readonly #sessions: Sessions;
  readonly #certificates: CertificateEndpoint;
  readonly #config: ConfigStreams;
  readonly #telemetry: TelemetryEndpoint | undefined;
  #draining = false;
  #closing?: Promise<void>;

  constructor(opts: ControllerServerOptions) {
    this.#log = opts.logger ?? silentLogger;
    this.limits = { ...CONTROLLER_PROTOCOL_DEFAULTS, ...CONTROLLER_SERVER_DEFAULTS, ...opts.limits };
    const l = this.limits;
    const audiences = opts.audiences?.length ? opts.audiences : [CONTROLLER_TOKEN_AUDIENCE];
    let inner = opts.tokenReviewer;
    if (!inner) {
      if (!opts.kubeConfig) throw new MeshError(ErrorCodes.CTRL_BAD_REQUEST, 'ControllerServer needs kubeConfig (for TokenReview) or a tokenReviewer');
      inner = kubeTokenReviewer(opts.kubeConfig, { timeoutMs: l.tokenReviewTimeoutMs, audiences });
    }
    const reviewer = new CachedTokenReviewer(inner, { ttlMs: l.tokenCacheTtlMs, negativeTtlMs: l.tokenCacheNegativeTtlMs, maxEntries: l.tokenCacheMaxEntries });
    const auth = new Authenticator({
      reviewer,
      podLister: opts.podLister,
      trustDomain: opts.trustDomain,
      nodeAgentServiceAccount: parseServiceAccount(opts.nodeAgentServiceAccount, opts.controlPlaneNamespace),
      ...(opts.isWaypoint ? { isWaypoint: opts.isWaypoint } : {}),
      audiences,
      maxTokenBytes: l.maxTokenBytes,
      reviewLimiter: new KeyedRateLimiter({ burst: l.reviewBurst, perSecond: l.reviewsPerSecond, maxKeys: l.maxRateLimitKeys }),
      logger: this.#log,
    });
    this.#sessions = new Sessions(l, this.#log);
    this.#certificates = new CertificateEndpoint({
      ca: opts.ca,
      auth,
      controlPlaneNamespace: opts.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
      limits: l,
      rateLimiter: new KeyedRateLimiter({ burst: l.csrBurst, perSecond: l.csrPerSecond, maxKeys: l.maxRateLimitKeys }),
      logger: this.#log,
      ...(opts.onCertificateRequest ? { onCertificateRequest: opts.onCertificateRequest } : {}),
    });
    this.#config = new ConfigStreams({ auth, limits: l, logger: this.#log, ...(opts.scope ? { scope: opts.scope } : {}), ...(opts.policyScope ? { policyScope: opts.policyScope } : {}), draining: () => this.#draining });
    const config = this.#config;
    this.#telemetry = opts.telemetry
      ? new TelemetryEndpoint({
          auth,
          sink: opts.telemetry,
          resources: () => config.resourceSnapshot(),
          limits: l,
          rateLimiter: new KeyedRateLimiter({ burst: l.telemetryReportBurst, perSecond: l.telemetryReportsPerSecond, maxKeys: l.maxRateLimitKeys }),
          logger: this.#log,
        })
      : undefined;
    this.server = http2.createSecureServer({
      ...servingContext(opts.credentials),
      // Clients have no certificate yet (they come here to get one): they prove who they
      // are with a ServiceAccount token instead.
      requestCert: false,
      ALPNProtocols: ['h2'],
      allowHTTP1: false,
      handshakeTimeout: l.handshakeTimeoutMs,
      unknownProtocolTimeout: 1,
      maxHeaderListPairs: 64,
      settings: { maxConcurrentStreams: l.maxConcurrentStreams, maxHeaderListSize: l.maxHeaderListBytes, enablePush: false },
    });
    this.server.on('unknownProtocol', (sock: TLSSocket) => sock.destroy());
    this.server.on('tlsClientError', (err: Error) => this.#log.debug({ err: err.message }, 'controller: TLS handshake failed'));
    this.server.on('session', (s: Http2Session) => this.#sessions.add(s, this.#draining));
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#onStream(stream, headers));
  }

  listen(options: { host?: string; port?: number }): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: options.host ?? '0.0.0.0', port: options.port ?? MESH_PORTS.controller }, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        this.#log.info({ address: a.address, port: a.port }, 'controller protocol listening');
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** The serving certificate was renewed: new handshakes use it. */
  setCredentials(creds: ServerCredentials): void {
    this.server.setSecureContext(servingContext(creds));
  }

  get version(): number {
    return this.#config.version;
  }

  /**
   * Replaces the whole set of resources. Throws (AMB_XDS_INVALID_RESOURCE, nothing
   * applied) on a duplicate or malformed resource. Returns the global version.
   */
  setResources(resources: readonly Resource[]): number {
    return this.#config.setResources(resources);
  }

  /**
   * Applies a change: `upserts` (new or changed resources) and `removes`, and `placed`, the
   * nodes whose scheduled pods changed (their policy scope is recomputed). Validated first
   * (AMB_XDS_INVALID_RESOURCE, nothing applied); each client is sent what changed for it,
   * computed over the changed resources only. Returns the global version.
   */
  applyChanges(upserts: readonly Resource[], removes: ReadonlyArray<{ kind: Resource['kind']; key: string }>, placed?: Iterable<string>): number {
    return this.#config.applyChanges(upserts, removes, placed);
  }

  /**
   * Call when the scope would now answer differently for the same resources (e.g. pods
   * moved): bumps the version and pushes. `nodes`: only those nodes' scope changed (with a
   * policyScope index; default all).
   */
  rescope(nodes?: Iterable<string>): number {
    return this.#config.rescope(nodes);
  }

  /** The work done for config clients so far (resources compared; whole-table comparisons). */
  get configWork(): { readonly compared: number; readonly fullComparisons: number } {
    return this.#config.work;
  }

  status(): ControllerStatus {
    return this.#config.status();
  }

  /**
   * Graceful shutdown: stop accepting, end every config stream (clients reconnect, to
   * another replica or to our successor), GOAWAY every connection, and tear down what is
   * left after drainTimeoutMs.
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#draining = true;
      const listening = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : undefined;
      this.#config.endAll();
      const gone = this.#sessions.goawayAll();
      let deadline: NodeJS.Timeout | undefined;
      // At the deadline what is left is torn down; a destroyed connection's 'close' can
      // come late (a dead peer), so the deadline also ends the wait.
      const torn = new Promise<void>((resolve) => {
        deadline = setTimeout(() => {
          this.#sessions.destroyAll();
          setTimeout(resolve, 100);
        }, this.limits.drainTimeoutMs);
      });
      await Promise.race([Promise.all([listening, gone]), torn]);
      clearTimeout(deadline);
      this.#log.info('controller protocol stopped');
    })());
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.#sessions.track(stream);
    stream.on('error', (err) => this.#log.debug({ err: err.message }, 'controller: stream error'));
    const method = headerValue(headers, ':method');
    const path = (headerValue(headers, ':path') ?? '').split('?')[0];
    const route = path === PATHS.certificates ? 'certificates' : path === PATHS.config ? 'config' : path === PATHS.telemetry && this.#telemetry ? 'telemetry' : undefined;
    if (!route) return respondError(stream, new Refused(404, ErrorCodes.CTRL_BAD_REQUEST, `no such endpoint ${JSON.stringify(path)}: use POST ${PATHS.config} or POST ${PATHS.certificates}`));
    if (method !== 'POST') return respondError(stream, new Refused(405, ErrorCodes.CTRL_BAD_REQUEST, `${path} takes POST, not ${method}`));
    if (this.#draining) return respondError(stream, new Refused(503, ErrorCodes.CTRL_UNAVAILABLE, 'the controller is shutting down; retry'));
    if (route === 'certificates') void this.#certificates.serve(stream, headers);
    else if (route === 'telemetry') void this.#telemetry!.serve(stream, headers);
    else void this.#config.serve(stream, headers);
  }
}

/** The serving context, whole: setSecureContext resets a minVersion its options leave out,
 * so TLS 1.3 goes with every certificate, not only the first. */
function servingContext(creds: ServerCredentials) {
  return { key: creds.key, cert: creds.cert, minVersion: 'TLSv1.3' as const };
}
