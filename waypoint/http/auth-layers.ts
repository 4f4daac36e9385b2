// The authentication and authorization layers (authn.ts, authz.ts) in the request chain:
// they read and change the request through AuthRequest, which is the chain's context
// seen under their names. Changes they make (a token removed from the path or the headers,
// claims written to headers) land on the context itself, so the layers after them see them.
import type { AuthLayer, AuthRequest } from './authz.js';
import type { Layer, RequestContext } from './chain.js';

/** The request under the auth layers' names: reads and writes land on the context. A class,
 * so that a request costs one small object, not an object literal of accessors and closures. */
class AuthView implements AuthRequest {
  readonly method: string;
  readonly authority: string;
  readonly sourceIdentity: string;
  /** The tunnel's TCP peer (the client pod: its node agent dials from the pod's netns),
   * never the CONNECT's `forwarded` header, which any mesh peer could write. */
  readonly sourceIp?: string;
  readonly destination: { ip: string; port: number };
  readonly service?: string;
  auth?: AuthRequest['auth'];
  #authz?: AuthRequest['authz'];
  readonly #ctx: RequestContext;

  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
    this.method = ctx.method;
    this.authority = ctx.authority;
    this.sourceIdentity = ctx.source.identity;
    if (ctx.source.tunnelPeer) this.sourceIp = ctx.source.tunnelPeer.host;
    this.destination = { ip: ctx.target.address.host, port: ctx.target.address.port };
    if (ctx.target.service !== undefined) this.service = ctx.target.service;
  }
  get authz(): AuthRequest['authz'] {
    return this.#authz;
  }
  /** The decision is also left on the request's record (the traffic summary counts it). */
  set authz(v: AuthRequest['authz']) {
    this.#authz = v;
    if (v === undefined) return;
    const rec: NonNullable<RequestContext['record']['authz']> = { decision: v.decision };
    if (v.policy !== undefined) rec.policy = v.policy;
    if (v.dryRun !== undefined) rec.dryRun = { decision: v.dryRun.decision, ...(v.dryRun.policy !== undefined && { policy: v.dryRun.policy }) };
    this.#ctx.record.authz = rec;
  }
  get path(): string {
    return this.#ctx.path;
  }
  set path(v: string) {
    this.#ctx.path = v;
  }
  get headers(): RequestContext['headers'] {
    return this.#ctx.headers;
  }
  set headers(v: RequestContext['headers']) {
    this.#ctx.headers = v;
  }
  respond(status: number, headers: Record<string, string>, body: string): void {
    this.#ctx.record.status = status;
    this.#ctx.downstream.respond(status, headers, body);
  }
}

/** One Layer running authentication then authorization on one shared view of the request. */
export function authLayers(authn: AuthLayer, authz: AuthLayer): Layer {
  return async (ctx, next) => {
    const view = new AuthView(ctx);
    await authn(view, () => authz(view, next));
  };
}
