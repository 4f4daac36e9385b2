// RequestMirror executed (HTTPRequestMirrorFilter): a copy of the request as it is
// forwarded (after every request filter) is sent to a healthy endpoint of each mirror
// target's Service port, fire and forget. The mirror's answer is read and discarded; its
// failure, slowness or absence never touches the client's exchange, which goes on as if
// there were no mirror.
//
// Bounded (waypoint/limits.ts, docs/configuration.md):
//   - the body is teed while the forward layer pipes it (a listener on the same chunks, no
//     extra reads) and held up to `mirrorMaxBodyBytes`; a body larger than that is not
//     mirrored (stats.tooLarge) and what was held is dropped at once. The copy is sent once
//     the client's body has ended, with a content-length;
//   - at most `maxConcurrentMirrors` copies in flight per waypoint; beyond, a copy is not
//     sent (stats.busy);
//   - each copy is abandoned after `mirrorTimeoutMs` (stats.timedOut).
// WebSocket upgrades are never mirrored.
import type http from 'node:http';
import type http2 from 'node:http2';
import type { H2Pool } from '../upstream/h2-pool.js';
import type { Http1Pool } from '../upstream/http1-pool.js';
import type { EndpointPicker } from '../balance/picker.js';
import type { Headers, RequestContext, UpstreamEndpoint } from './chain.js';
import { h2RequestHeaders, http1RequestHeaders } from './headers.js';

/** One mirror target of a forward: a Service port. */
export interface MirrorRef {
  service: string;
  port: number;
}

export interface MirrorOptions {
  /** Picks the mirror's endpoint (balance/picker.ts). */
  picker: EndpointPicker;
  http1: Http1Pool;
  h2: H2Pool;
  timeoutMs: number;
  maxConcurrent: number;
  maxBodyBytes: number;
}

export interface MirrorStats {
  /** Copies sent. */
  sent: number;
  /** Copies the mirror answered (any status). */
  answered: number;
  /** Copies that failed (connect, reset) or timed out. */
  failed: number;
  timedOut: number;
  /** Copies not sent: `maxConcurrentMirrors` in flight. */
  busy: number;
  /** Requests not mirrored: the body exceeded `mirrorMaxBodyBytes`. */
  tooLarge: number;
  /** Copies not sent: the mirror Service port had no healthy endpoint. */
  noEndpoint: number;
  /** Requests not mirrored: the client's body did not end (aborted). */
  aborted: number;
}

/** The request as it goes upstream, frozen at forward time. */
interface Copy {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: Headers;
  h2: boolean;
}

export class Mirrors {
  readonly stats: MirrorStats = { sent: 0, answered: 0, failed: 0, timedOut: 0, busy: 0, tooLarge: 0, noEndpoint: 0, aborted: 0 };
  #active = 0;
  readonly #o: MirrorOptions;

  constructor(o: MirrorOptions) {
    this.#o = o;
  }

  /** Copies in flight now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Prepares copies of `ctx`'s request for `targets`; returns the function to call once the
   * forward layer has piped `ctx.body` upstream (so the tee never makes the body flow by
   * itself), or undefined when there is nothing to mirror.
   */
  begin(ctx: RequestContext, targets: readonly MirrorRef[] | undefined): (() => void) | undefined {
    if (!targets || targets.length === 0 || ctx.upgrade) return undefined;
    const headers: Headers = { ...ctx.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    delete headers['expect'];
    const copy: Copy = { method: ctx.method, path: ctx.path, authority: ctx.authority, scheme: ctx.scheme, headers, h2: ctx.protocol === 'h2' };
    return () => this.#tee(ctx, copy, targets);
  }

  #tee(ctx: RequestContext, copy: Copy, targets: readonly MirrorRef[]): void {
    const body = ctx.body;
    let chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      size += b.length;
      if (size > this.#o.maxBodyBytes) {
        this.stats.tooLarge++;
        stop();
        return;
      }
      chunks.push(b);
    };
    const onEnd = () => {
      const payload = Buffer.concat(chunks);
      stop();
      for (const t of targets) this.#send(copy, t, payload);
    };
    const onClose = () => {
      if (done) return;
      this.stats.aborted++;
      stop();
    };
    const stop = () => {
      done = true;
      chunks = [];
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('close', onClose);
  }

  #send(copy: Copy, target: MirrorRef, payload: Buffer): void {
    if (this.#active >= this.#o.maxConcurrent) {
      this.stats.busy++;
      return;
    }
    let endpoint: UpstreamEndpoint | undefined;
    let release = () => {};
    try {
      const p = this.#o.picker.pick(target.service, target.port);
      if (p.endpoint) {
        endpoint = p.endpoint;
        release = p.release;
      }
    } catch {
      endpoint = undefined;
    }
    if (!endpoint) {
      this.stats.noEndpoint++;
      return;
    }
    this.#active++;
    this.stats.sent++;
    let settled = false;
    let cancel: () => void = () => {};
    const settle = (outcome: 'answered' | 'failed' | 'timedOut') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      this.#active--;
      if (outcome === 'timedOut') {
        this.stats.timedOut++;
        this.stats.failed++;
        cancel();
      } else this.stats[outcome]++;
    };
    const timer = setTimeout(() => settle('timedOut'), this.#o.timeoutMs);
    timer.unref?.();
    try {
      // A copy whose stream arrives after its timeout is cancelled at once.
      const onCancel = (c: () => void) => {
        cancel = c;
        if (settled) c();
      };
      if (copy.h2) this.#sendH2(copy, endpoint, payload, settle, onCancel);
      else this.#sendHttp1(copy, endpoint, payload, settle, onCancel);
    } catch {
      settle('failed');
    }
  }

  #sendHttp1(copy: Copy, endpoint: UpstreamEndpoint, payload: Buffer, settle: (o: 'answered' | 'failed') => void, onCancel: (c: () => void) => void): void {
    const headers = { ...http1RequestHeaders(copy.headers, copy.authority), ...(payload.length > 0 && { 'content-length': String(payload.length) }) } as http.OutgoingHttpHeaders;
    const req = this.#o.http1.request(endpoint, copy.method, copy.path, headers);
    onCancel(() => req.destroy());
    req.on('error', () => settle('failed'));
    req.on('response', (res: http.IncomingMessage) => {
      res.on('error', () => settle('failed'));
      res.once('end', () => settle('answered'));
      res.resume(); // the answer is discarded
    });
    if (payload.length > 0) req.end(payload);
    else req.end();
  }

  #sendH2(copy: Copy, endpoint: UpstreamEndpoint, payload: Buffer, settle: (o: 'answered' | 'failed') => void, onCancel: (c: () => void) => void): void {
    const headers = { ...h2RequestHeaders(copy.headers, copy.method, copy.path, copy.authority, copy.scheme), ...(payload.length > 0 && { 'content-length': String(payload.length) }) } as http2.OutgoingHttpHeaders;
    this.#o.h2.request(endpoint, headers).then(
      (s) => {
        onCancel(() => s.close());
        s.on('error', () => settle('failed'));
        s.once('close', () => settle(s.rstCode === 0 ? 'answered' : 'failed'));
        s.resume(); // the answer is discarded
        s.end(payload);
      },
      () => settle('failed'),
    );
  }
}
