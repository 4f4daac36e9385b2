// The inbound executors (DESIGN.md section 2, step 5; section 7, "Decide, then act"):
// the pod's HBONE listener on 15008, whose L4 decision is planInbound and whose upstream
// is the app, dialled inside the pod's netns with the agent's mark so the pod's capture
// lets it through; and the plaintext listener on 15006 for what iptables redirected
// there (PERMISSIVE pods accept it, STRICT ones reset it). Every connection is recorded once.
//
// Authorization (authorize.ts, enforcer.ts) runs once planInbound accepted: a denied HBONE
// stream is answered 401 with the reason (policy and rule) in the `ambient-authz-reason`
// header; a denied plaintext connection is reset. An allowed connection is registered with
// the enforcer, which closes it (stream reset and upstream reset, or both sockets reset)
// when a config change denies it.
import type net from 'node:net';
import type { Workload } from '../../core/config/model.js';
import type { PeerGuard } from '../../core/hbone/guard.js';
import { AUTHZ_REASON_HEADER } from '../../core/hbone/client.js';
import { HboneServer, type HboneRequest, type ServerCredentials, type TunnelRecord } from '../../core/hbone/server.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import type { TrustBundle } from '../../core/identity/trust-bundle.js';
import type { HboneLimits } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { connectInNetns, listenInNetns, originalDst } from '../../core/syscalls.js';
import { watchAccepted } from './accepted.js';
import { planInbound, type InboundPlan } from './inbound-plan.js';
import { canonicalIp } from '../../core/ip.js';
import { listener, type ProxyListener } from './outbound.js';
import type { Address } from './outbound-plan.js';
import { AGENT_PORTS } from './ports.js';
import { ConnectionTracker, type ConnectionRecord, type ConnectionSink } from './record.js';
import type { ProxyState } from '../state/snapshot.js';
import { inboundAuthzRequest, type InboundVerdict } from './authorize.js';
import { authzRecordOf, type InboundEnforcer } from './enforcer.js';
import type { AuthzRequest } from '../../core/policy/types.js';

export interface StartInboundOptions {
  /** The pod's network namespace (e.g. /var/run/netns/<name>). */
  netnsPath: string;
  getState: () => ProxyState;
  /** The pod this listener serves. */
  local: () => Workload;
  /** The pod's provisional Workload while the config does not have it (InboundRequest.provisional). */
  provisional?: () => Workload | undefined;
  /** Server certificate for the pod's identity. */
  credentials: ServerCredentials;
  trustBundle: TrustBundle;
  trustDomain: string;
  /** SO_MARK on the agent's connections to the app, so the pod's capture skips them (0x539). */
  mark: number;
  onConnectionEnd: ConnectionSink;
  /** Sees each connection once the app accepted it (for the opened counter). */
  onConnectionOpen?: ConnectionSink;
  logger?: Logger;
  /** Default 0.0.0.0 (both listeners). */
  host?: string;
  hbonePort?: number;
  plaintextPort?: number;
  /** Connect timeout toward the app; default SOCKET_DEFAULTS.netnsConnectTimeoutMs. */
  connectTimeoutMs?: number;
  limits?: Partial<HboneLimits>;
  /** The agent's penalty box and refusal counters, shared by every pod's 15008. */
  guard?: PeerGuard;
  /** L4 authorization, shared by every pod's listeners; without it every connection
   * planInbound accepts is allowed (tests of the planner alone). */
  authz?: InboundEnforcer;
  /** SO_REUSEPORT on both listeners: other data-path workers serve the same ports. */
  reusePort?: boolean;
  /** Listening sockets handed over by the agent this one replaces (node-agent/handover/). */
  hboneFd?: number;
  plaintextFd?: number;
}

/** What an HBONE stream's authorization decided. */
interface StreamAuthz {
  state: ProxyState;
  destination: Workload;
  request: AuthzRequest;
  /** The decision at CONNECT. */
  initial: InboundVerdict;
  /** The newest decision (the one that closed it, after a config change). */
  latest: InboundVerdict;
  untrack?: () => void;
}

export interface InboundListeners {
  readonly hbone: HboneServer;
  /** The 15008 socket in the pod's netns; accepted connections are handed to `hbone`. */
  readonly hboneListener: net.Server;
  readonly plaintext: ProxyListener;
  close(): Promise<void>;
}

export async function startInbound(opts: StartInboundOptions): Promise<InboundListeners> {
  const log = opts.logger ?? silentLogger;
  const host = opts.host ?? '0.0.0.0';
  const plans = new WeakMap<HboneRequest, InboundPlan>();
  const decisions = new WeakMap<HboneRequest, StreamAuthz>();
  const timeout = opts.connectTimeoutMs !== undefined ? { timeoutMs: opts.connectTimeoutMs } : {};

  const hbone = new HboneServer({
    credentials: opts.credentials,
    trustBundle: opts.trustBundle,
    trustDomain: opts.trustDomain,
    logger: log,
    ...(opts.limits && { limits: opts.limits }),
    ...(opts.guard && { guard: opts.guard }),
    authorize(req) {
      const state = opts.getState();
      const peerIdentity = formatSpiffeId(req.peer);
      const target = { ip: req.target.host, port: req.target.port };
      const plan = planInbound(state, {
        localWorkload: opts.local(),
        ...provisionalOf(opts),
        peerIdentity,
        peerIp: req.remote.host,
        target,
      });
      plans.set(req, plan);
      if (plan.kind !== 'accept') return { allow: false, reason: `${plan.reason}: ${plan.message}` };
      if (opts.authz === undefined) return { allow: true };
      // Decide, then act: the source is the certificate's identity and the TCP peer's
      // address (never the forwarded header, which is the source agent's word only).
      const destination = destinationOf(state, plan.localWorkload, opts);
      const request = inboundAuthzRequest({ peerIdentity, peerIp: req.remote.host, target });
      const verdict = opts.authz.decide(state, destination, request, hboneSource(state, req, peerIdentity));
      decisions.set(req, { state, destination, request, initial: verdict, latest: verdict });
      if (verdict.allow) return { allow: true };
      log.debug({ peer: peerIdentity, target, reason: verdict.reason }, 'inbound: denied by authorization policy');
      return { allow: false, reason: verdict.reason, headers: { [AUTHZ_REASON_HEADER]: verdict.reason } };
    },
    async connectUpstream(_target, req) {
      const plan = plans.get(req);
      if (plan?.kind !== 'accept') throw new Error('no accepted plan for this tunnel');
      return connectInNetns(opts.netnsPath, { host: plan.upstream.ip, port: plan.upstream.port, mark: opts.mark, ...timeout });
    },
    onTunnelOpen(request, startedAt, control) {
      const authz = decisions.get(request);
      if (authz !== undefined && opts.authz !== undefined) {
        authz.untrack = opts.authz.track({
          destinationUid: authz.destination.uid,
          destination: authz.destination,
          request: authz.request,
          decidedWith: authz.state,
          close(message, verdict) {
            authz.latest = verdict;
            control.close(message);
          },
          describe: () => ({ direction: 'inbound-hbone', client: `${request.remote.host}:${request.remote.port}` }),
        });
      }
      if (!opts.onConnectionOpen) return;
      try {
        opts.onConnectionOpen(hboneRecord({ request, status: 200, bytes: { fromPeer: 0, toPeer: 0 }, startedAt, durationMs: 0 }, plans.get(request), authz, opts));
      } catch (err) {
        log.error({ err: (err as Error).message }, 'inbound: connection record sink threw');
      }
    },
    onTunnelEnd(t) {
      const authz = t.request && decisions.get(t.request);
      authz?.untrack?.();
      const record = hboneRecord(t, t.request && plans.get(t.request), authz, opts);
      try {
        opts.onConnectionEnd(record);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'inbound: connection record sink threw');
      }
    },
  });

  const hboneOpen = new Set<net.Socket>();
  const hboneListener = await listenInNetns(opts.netnsPath, { host, port: opts.hbonePort ?? AGENT_PORTS.hbone, reusePort: opts.reusePort === true, ...(opts.hboneFd !== undefined && { fd: opts.hboneFd }) }, (socket) => {
    // The TLS server takes over an accepted TCP socket (as with `server.emit('connection')`
    // in Node's tls docs); its socket lives in the pod's netns.
    hboneOpen.add(socket);
    socket.once('close', () => hboneOpen.delete(socket));
    hbone.server.emit('connection', socket);
  });

  const plainOpen = new Set<net.Socket>();
  let plainServer: net.Server;
  try {
    plainServer = await listenInNetns(opts.netnsPath, { host, port: opts.plaintextPort ?? AGENT_PORTS.inboundPlaintext, reusePort: opts.reusePort === true, ...(opts.plaintextFd !== undefined && { fd: opts.plaintextFd }) }, (socket) => {
      plainOpen.add(socket);
      socket.once('close', () => plainOpen.delete(socket));
      handlePlaintext(opts, log, socket, timeout).catch((err: unknown) => {
        log.error({ err: (err as Error).message }, 'inbound: unexpected failure');
        if (!socket.destroyed) socket.resetAndDestroy();
      });
    });
  } catch (err) {
    hboneListener.close();
    throw err;
  }
  const plaintext = listener(plainServer, plainOpen);

  return {
    hbone,
    hboneListener,
    plaintext,
    async close() {
      const stopped = new Promise<void>((resolve) => hboneListener.close(() => resolve()));
      await Promise.all([stopped, hbone.close(), plaintext.close()]);
      for (const s of hboneOpen) s.destroy();
    },
  };
}

function hboneRecord(t: TunnelRecord, plan: InboundPlan | undefined, authz: StreamAuthz | undefined, opts: StartInboundOptions): ConnectionRecord {
  const local = opts.local();
  const req = t.request;
  const record: ConnectionRecord = {
    direction: 'inbound-hbone',
    reporter: 'destination',
    plan: plan?.kind ?? 'reject',
    destinationWorkload: local.uid,
    destinationIdentity: local.identity,
    mtls: true,
    bytesSent: t.bytes.fromPeer,
    bytesReceived: t.bytes.toPeer,
    startedAt: t.startedAt,
    durationMs: t.durationMs,
  };
  if (plan?.kind === 'reject') record.reason = plan.reason;
  if (plan?.kind === 'accept') {
    record.upstream = plan.upstream;
    if (plan.fromWaypoint) record.via = 'waypoint';
  }
  if (authz !== undefined) {
    record.authz = authzRecordOf(authz.latest);
    if (!authz.initial.allow) {
      record.plan = 'reject';
      record.reason = AUTHZ_DENIED;
      delete record.upstream;
    }
  }
  if (req) {
    record.sourceIdentity = formatSpiffeId(req.peer);
    record.client = { ip: canonicalIp(req.remote.host), port: req.remote.port };
    record.originalDst = { ip: canonicalIp(req.target.host), port: req.target.port };
    if (req.traceparent !== undefined) record.traceparent = req.traceparent;
    if (req.tracestate !== undefined) record.tracestate = req.tracestate;
    // The source workload: the original client's address, when it belongs to a workload
    // that carries the identity the certificate proved.
    const from = req.forwardedFor ?? req.remote;
    const w = opts.getState().workloadByIp(from.host);
    if (w !== undefined && w.identity === record.sourceIdentity) record.sourceWorkload = w.uid;
  }
  if (t.error !== undefined) record.error = t.error;
  return record;
}

async function handlePlaintext(opts: StartInboundOptions, log: Logger, socket: net.Socket, timeout: { timeoutMs?: number }): Promise<void> {
  socket.allowHalfOpen = true;
  const client: Address = { ip: canonicalIp(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
  const local = opts.local();
  const tracker = new ConnectionTracker(
    { direction: 'inbound-plaintext', reporter: 'destination', plan: 'none', client, destinationWorkload: local.uid, destinationIdentity: local.identity },
    opts.onConnectionEnd,
    (err) => log.error({ err: (err as Error).message }, 'inbound: connection record sink threw'),
    opts.onConnectionOpen,
  );
  const { fail, pipeTo } = watchAccepted(socket, tracker);

  let plan: InboundPlan;
  let target: Address;
  try {
    const dst = originalDst(socket);
    target = { ip: canonicalIp(dst.address), port: dst.port };
    tracker.set({ originalDst: target });
    const state = opts.getState();
    const source = state.workloadByIp(client.ip);
    if (source !== undefined) tracker.set({ sourceWorkload: source.uid });
    plan = planInbound(state, { localWorkload: local, ...provisionalOf(opts), peerIp: client.ip, target });
  } catch (err) {
    return fail(`planning failed: ${(err as Error).message}`);
  }
  tracker.set({ plan: plan.kind });
  if (plan.kind === 'reject') {
    tracker.set({ reason: plan.reason });
    log.debug({ reason: plan.reason, client, target }, plan.message);
    return fail(plan.message);
  }
  let authz: { state: ProxyState; destination: Workload; request: AuthzRequest } | undefined;
  if (opts.authz !== undefined) {
    // No identity on plaintext: only IP-based fields can match. The source address is the
    // client's own (the capture keeps it).
    let verdict: InboundVerdict;
    let state: ProxyState;
    let destination: Workload;
    let request: AuthzRequest;
    try {
      state = opts.getState();
      destination = destinationOf(state, plan.localWorkload, opts);
      request = inboundAuthzRequest({ peerIp: client.ip, target });
      verdict = opts.authz.decide(state, destination, request, state.workloadByIp(client.ip));
    } catch (err) {
      // Undecided: denied (fail closed), and recorded like any denial.
      tracker.set({ plan: 'reject', reason: AUTHZ_DENIED, authz: { decision: 'DENY' } });
      return fail(`denied: authorization failed: ${(err as Error)?.message ?? String(err)}`);
    }
    tracker.set({ authz: authzRecordOf(verdict) });
    if (!verdict.allow) {
      tracker.set({ plan: 'reject', reason: AUTHZ_DENIED });
      log.debug({ client, target, reason: verdict.reason }, 'inbound: plaintext connection denied by authorization policy');
      return fail(`denied: ${verdict.reason}`);
    }
    authz = { state, destination, request };
  }
  tracker.set({ upstream: plan.upstream });
  let upstream: net.Socket;
  try {
    upstream = await connectInNetns(opts.netnsPath, { host: plan.upstream.ip, port: plan.upstream.port, mark: opts.mark, ...timeout });
  } catch (err) {
    return fail(`app ${plan.upstream.ip}:${plan.upstream.port} unreachable: ${(err as Error).message}`);
  }
  tracker.opened();
  pipeTo(upstream);
  if (authz !== undefined && opts.authz !== undefined && !socket.destroyed && !upstream.destroyed) {
    const untrack = opts.authz.track({
      destinationUid: authz.destination.uid,
      destination: authz.destination,
      request: authz.request,
      decidedWith: authz.state,
      close(message, verdict) {
        tracker.set({ authz: authzRecordOf(verdict) });
        tracker.closing(message);
        if (!socket.destroyed) socket.resetAndDestroy();
        if (!upstream.destroyed) upstream.writableEnded ? upstream.destroy() : upstream.resetAndDestroy();
      },
      describe: () => ({ direction: 'inbound-plaintext', client: `${client.ip}:${client.port}` }),
    });
    socket.once('close', untrack);
    upstream.once('close', untrack);
  }
}

/** The record's reason for a connection the destination's policy denied. */
export const AUTHZ_DENIED = 'authz-denied';

/** The Workload whose policies decide: the snapshot's, else the provisional one. */
function destinationOf(state: ProxyState, uid: string, opts: StartInboundOptions): Workload {
  const w = state.workloadByUid(uid);
  if (w !== undefined) return w;
  const p = opts.provisional?.();
  return p?.uid === uid ? p : opts.local();
}

/** The source pod of an HBONE stream: the original client's address, when it belongs to a
 * workload that carries the identity the certificate proved. */
function hboneSource(state: ProxyState, req: HboneRequest, identity: string): Workload | undefined {
  const w = state.workloadByIp((req.forwardedFor ?? req.remote).host);
  return w !== undefined && w.identity === identity ? w : undefined;
}

function provisionalOf(opts: StartInboundOptions): { provisional?: Workload } {
  const w = opts.provisional?.();
  return w === undefined ? {} : { provisional: w };
}
