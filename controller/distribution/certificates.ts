// POST /v1/certificates: a CSR in, a signed chain out, for identities the caller may have
// (authorize.ts's authorizeCsr over the pods on its node).
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ErrorCodes, isMeshError } from '../../core/errors.js';
import type { CertificateAuthority } from '../../core/identity/ca.js';
import { formatSpiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { parseCsr } from '../../core/identity/x509.js';
import type { Logger } from '../../core/log.js';
import { authorizeCsr, type Caller } from './authorize.js';
import { screenCsr } from './csr-screen.js';
import type { KeyedRateLimiter } from './rate-limit.js';
import type { Authenticator } from './authenticate.js';
import { Refused, readBody, respondError } from './http.js';

const { constants: C } = http2;

/** One POST /v1/certificates, as onCertificateRequest reports it. */
export interface CertificateRequestOutcome {
  /** issued; refused (4xx: unauthenticated, forbidden, malformed); error (5xx). */
  result: 'issued' | 'refused' | 'error';
  durationSeconds: number;
  /** What was issued, to whom (result `issued`): the API lists it (issued-certificates.ts). */
  issued?: { identity: string; node: string; serial: string; notBefore: string; notAfter: string };
}

export interface CertificateLimits {
  requestTimeoutMs: number;
  maxRequestBodyBytes: number;
}

export interface CertificateEndpointOptions {
  ca: CertificateAuthority;
  auth: Authenticator;
  /** Its identities are never signed (authorizeCsr). */
  controlPlaneNamespace: string;
  limits: CertificateLimits;
  /** Certificate requests per caller (ServiceAccount on a node): csrBurst, csrPerSecond. */
  rateLimiter: KeyedRateLimiter;
  logger: Logger;
  onCertificateRequest?: (outcome: CertificateRequestOutcome) => void;
}

/** The key rate limits and stream caps count under: a ServiceAccount on a node. */
export function callerKey(c: Caller): string {
  return `${formatSpiffeId(c.identity)}@${c.node}`;
}

const BODY_SHAPE = 'the body must be JSON {"csr": "<PEM>", "ttlSeconds": <optional integer>}';

export class CertificateEndpoint {
  readonly #o: CertificateEndpointOptions;

  constructor(o: CertificateEndpointOptions) {
    this.#o = o;
  }

  async serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const log = this.#o.logger;
    let caller: Caller | undefined;
    let requested: SpiffeId | undefined;
    // A request that never finishes sending its body does not hold the stream forever.
    stream.setTimeout(this.#o.limits.requestTimeoutMs, () => stream.close(C.NGHTTP2_CANCEL));
    const started = process.hrtime.bigint();
    const report = (result: CertificateRequestOutcome['result'], issued?: CertificateRequestOutcome['issued']) => {
      try {
        this.#o.onCertificateRequest?.({ result, durationSeconds: Number(process.hrtime.bigint() - started) / 1e9, ...(issued && { issued }) });
      } catch {
        // a metrics hook never fails a request
      }
    };
    try {
      const auth = await this.#o.auth.authenticate(headers, stream.session?.socket?.remoteAddress ?? '');
      caller = auth.caller;
      // Per caller, before the body is read or any signature checked: a flood of CSRs
      // from one node costs one bucket lookup each.
      const taken = this.#o.rateLimiter.take(callerKey(caller));
      if (!taken.ok) {
        log.warn({ caller: formatSpiffeId(caller.identity), node: caller.node }, 'controller: certificate requests over the rate limit');
        throw new Refused(429, ErrorCodes.CTRL_RATE_LIMITED, `too many certificate requests from ${formatSpiffeId(caller.identity)} on node ${caller.node} (limits csrBurst, csrPerSecond); retry in ${taken.retryAfterMs} ms`);
      }
      const body = await readBody(stream, this.#o.limits.maxRequestBodyBytes);
      let req: { csr?: unknown; ttlSeconds?: unknown };
      try {
        req = JSON.parse(body) as typeof req;
      } catch {
        throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, BODY_SHAPE);
      }
      if (typeof req !== 'object' || req === null || typeof req.csr !== 'string') throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, BODY_SHAPE);
      const ttl = req.ttlSeconds;
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl <= 0)) throw new Refused(400, ErrorCodes.CTRL_BAD_REQUEST, 'ttlSeconds must be a positive integer');
      // The key is checked (size, exponent) before the signature, and the signature is
      // verified natively: a crafted key cannot make this cost more than microseconds.
      const screened = screenCsr(req.csr);
      if (!screened.ok) {
        const code = screened.reason === 'key' ? ErrorCodes.CSR_KEY_UNSUPPORTED : ErrorCodes.CSR_INVALID;
        throw new Refused(400, code, `certificate signing request rejected: ${screened.message}`);
      }
      try {
        requested = parseCsr(req.csr).identity;
      } catch (err) {
        throw new Refused(400, isMeshError(err) ? err.code : ErrorCodes.CSR_INVALID, (err as Error).message);
      }
      const decision = authorizeCsr(caller, requested, auth.pods, this.#o.controlPlaneNamespace);
      if (!decision.ok) {
        log.warn(
          { caller: formatSpiffeId(caller.identity), role: caller.role, node: caller.node, identity: formatSpiffeId(requested), reason: decision.reason },
          'controller: certificate request refused',
        );
        throw new Refused(403, ErrorCodes.CTRL_CSR_DENIED, `certificate for ${formatSpiffeId(requested)} refused: ${decision.reason}`);
      }
      let issued;
      try {
        issued = this.#o.ca.sign(req.csr, { identity: requested, ...(typeof ttl === 'number' ? { ttlMs: ttl * 1000 } : {}) });
      } catch (err) {
        if (isMeshError(err, ErrorCodes.CSR_IDENTITY_MISMATCH)) throw new Refused(403, err.code, err.message);
        if (isMeshError(err)) throw new Refused(400, err.code, err.message);
        throw err;
      }
      log.info({ caller: formatSpiffeId(caller.identity), node: caller.node, identity: formatSpiffeId(requested), serial: issued.serial }, 'controller: certificate issued');
      report('issued', { identity: formatSpiffeId(requested), node: caller.node, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString() });
      if (stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(
        JSON.stringify({
          chain: issued.chain,
          roots: issued.roots,
          serial: issued.serial,
          notBefore: issued.notBefore.toISOString(),
          notAfter: issued.notAfter.toISOString(),
        }),
      );
    } catch (err) {
      if (!(err instanceof Refused)) log.error({ err, caller: caller && formatSpiffeId(caller.identity) }, 'controller: certificate request failed');
      report(err instanceof Refused && err.status < 500 ? 'refused' : 'error');
      respondError(stream, err);
    }
  }
}
