// POST /v1/telemetry: a node agent's or waypoint's traffic report (docs/protocol.md,
// docs/telemetry.md), authenticated exactly like the config stream (authenticate.ts), rate
// limited per caller, size bounded, checked field by field (core/observe/telemetry-wire.ts
// parseTelemetryReport), then screened: the caller may report only what it is the reporter
// of (controller/telemetry/screen.ts, against the config table's Workloads and Services).
// A refused report is dropped whole (403 AMB_CTRL_TELEMETRY_REFUSED); an accepted one is
// merged into the telemetry window. The certificates it lists are screened entry by entry
// (screenCertificates): one the caller may not list is dropped and logged, the rest kept.
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ErrorCodes } from '../../core/errors.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/log.js';
import { parseTelemetryReport, ReportShapeError, TELEMETRY_LIMITS, type TelemetryReport } from '../../core/observe/telemetry-wire.js';
import type { VersionedResource } from '../../core/config/wire.js';
import { MeshIndex, screenCertificates, screenReport } from '../telemetry/screen.js';
import type { ReportSource } from '../telemetry/window.js';
import type { Authenticator } from './authenticate.js';
import { callerKey } from './certificates.js';
import { Refused, readBody, respondError } from './http.js';
import type { KeyedRateLimiter } from './rate-limit.js';
import { waypointOf } from './scope.js';

const { constants: C } = http2;

/** Where accepted reports go (MeshTelemetry). */
export interface TelemetrySink {
  ingest(from: ReportSource, report: TelemetryReport): { edges: number; flows: number; certificates?: number };
}

export interface TelemetryEndpointOptions {
  auth: Authenticator;
  sink: TelemetrySink;
  /** The config table now (ConfigStreams.resourceSnapshot). */
  resources: () => { version: number; resources: readonly VersionedResource[] };
  limits: { requestTimeoutMs: number; maxTelemetryReportBytes: number };
  rateLimiter: KeyedRateLimiter;
  logger: Logger;
}

export class TelemetryEndpoint {
  readonly #o: TelemetryEndpointOptions;
  #index?: { version: number; index: MeshIndex };
  /** Reports accepted and refused, for status and tests. */
  readonly stats = { accepted: 0, refused: 0, refusedCertificates: 0 };

  constructor(o: TelemetryEndpointOptions) {
    this.#o = o;
  }

  #meshIndex(): MeshIndex {
    const snap = this.#o.resources();
    if (this.#index?.version !== snap.version) this.#index = { version: snap.version, index: MeshIndex.of(snap.resources) };
    return this.#index.index;
  }

  async serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const log = this.#o.logger;
    stream.setTimeout(this.#o.limits.requestTimeoutMs, () => stream.close(C.NGHTTP2_CANCEL));
    try {
      const { caller } = await this.#o.auth.authenticate(headers, stream.session?.socket?.remoteAddress ?? '');
      const who = formatSpiffeId(caller.identity);
      const taken = this.#o.rateLimiter.take(callerKey(caller));
      if (!taken.ok) {
        throw new Refused(429, ErrorCodes.CTRL_RATE_LIMITED, `too many telemetry reports from ${who} on node ${caller.node} (limits telemetryReportBurst, telemetryReportsPerSecond); retry in ${taken.retryAfterMs} ms`);
      }
      const body = await readBody(stream, this.#o.limits.maxTelemetryReportBytes);
      let report: TelemetryReport;
      try {
        report = parseTelemetryReport(body, TELEMETRY_LIMITS);
      } catch (err) {
        if (err instanceof ReportShapeError) throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, `telemetry report: ${err.message}`);
        throw err;
      }
      const wp = caller.role === 'waypoint' ? waypointOf(caller) : undefined;
      const reporting = { role: caller.role, node: caller.node, identity: who, ...(wp && { waypoint: wp }) };
      const index = this.#meshIndex();
      const screened = screenReport(reporting, report, index);
      if (!screened.ok) {
        this.stats.refused++;
        log.warn({ caller: who, role: caller.role, node: caller.node, reason: screened.reason }, 'controller: telemetry report refused');
        throw new Refused(403, ErrorCodes.CTRL_TELEMETRY_REFUSED, `telemetry report from ${who} on node ${caller.node} refused: ${screened.reason}`);
      }
      let refusedCertificates: string[] = [];
      if (report.certificates !== undefined) {
        const certs = screenCertificates(reporting, report.certificates, index);
        refusedCertificates = certs.refused;
        report = { ...report, certificates: certs.kept };
        if (certs.refused.length > 0) {
          this.stats.refusedCertificates += certs.refused.length;
          log.warn({ caller: who, role: caller.role, node: caller.node, refused: certs.refused.length, reason: certs.refused[0] }, 'controller: certificates in a telemetry report dropped');
        }
      }
      const kept = this.#o.sink.ingest({ role: caller.role, node: caller.node, ...(wp && { waypoint: `${wp.namespace}/${wp.gateway}` }) }, report);
      this.stats.accepted++;
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(refusedCertificates.length > 0 ? { ...kept, refusedCertificates } : kept));
    } catch (err) {
      if (!(err instanceof Refused)) log.error({ err: (err as Error)?.message }, 'controller: telemetry report failed');
      respondError(stream, err);
    }
  }
}
