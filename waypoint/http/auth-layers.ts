// The authentication and authorization layers (authn.ts, authz.ts) in the request chain:
// they read and change the request through AuthRequest, which is the chain's context
// seen under their names. Changes they make (a token removed from the path or the headers,
// claims written to headers) land on the context itself, so the layers after them see them.
import type { AuthLayer, AuthRequest } from './authz.js';
import type { Layer, RequestContext } from './chain.js';

function authView(ctx: RequestContext, holder: { auth?: AuthRequest['auth']; authz?: AuthRequest['authz'] }): AuthRequest {
  return {
    method: ctx.method,
    get path() {
      return ctx.path;
    },
    set path(v: string) {
      ctx.path = v;
    },
    authority: ctx.authority,
    get headers() {
      return ctx.headers;
    },
    set headers(v) {
      ctx.headers = v;
    },
    sourceIdentity: ctx.source.identity,
    // The tunnel's TCP peer (the client pod: its node agent dials from the pod's netns),
    // never the CONNECT's `forwarded` header, which any mesh peer could write.
    ...(ctx.source.tunnelPeer && { sourceIp: ctx.source.tunnelPeer.host }),
    destination: { ip: ctx.target.address.host, port: ctx.target.address.port },
    ...(ctx.target.service !== undefined && { service: ctx.target.service }),
    get auth() {
      return holder.auth;
    },
    set auth(v) {
      holder.auth = v;
    },
    get authz() {
      return holder.authz;
    },
    set authz(v) {
      holder.authz = v;
    },
    respond(status, headers, body) {
      ctx.record.status = status;
      ctx.downstream.respond(status, headers, body);
    },
  };
}

/** One Layer running authentication then authorization on one shared view of the request. */
export function authLayers(authn: AuthLayer, authz: AuthLayer): Layer {
  return async (ctx, next) => {
    const view = authView(ctx, {});
    await authn(view, () => authz(view, next));
  };
}
