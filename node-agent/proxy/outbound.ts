// The outbound executor (DESIGN.md section 2, steps 2-4; section 7, "Decide, then act"):
// accepts what the pod's iptables redirected to 15001, asks planOutbound what to do with
// it, and does exactly that: an HBONE tunnel, a plain TCP passthrough (marked, so the
// pod's capture lets it out), or a reset. Every connection is recorded once.
import type net from 'node:net';
import type { Workload } from '../../core/config/model.js';
import { TunnelDeniedError, type HboneClient } from '../../core/hbone/client.js';
import { pipeTunnel, type TunnelBytes } from '../../core/hbone/tunnel.js';
import { newTraceparent } from '../../core/hbone/wire.js';
import { formatSpiffeId, parseSpiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { connectInNetns, listenInNetns, originalDst } from '../../core/syscalls.js';
import { watchAccepted } from './accepted.js';
import type { RoundRobinCounters } from './balancer.js';
import { canonicalIp } from '../../core/ip.js';
import { planOutbound, type Address, type OutboundPlan } from './outbound-plan.js';
import { AGENT_PORTS } from './ports.js';
import { ConnectionTracker, type ConnectionSink } from './record.js';
import type { ProxyState } from '../state/snapshot.js';

export interface StartOutboundOptions {
  /** The pod's network namespace (e.g. /var/run/netns/<name>). */
  netnsPath: string;
  /** The newest state snapshot; read once per connection. */
  getState: () => ProxyState;
  /** The pod this listener serves. */
  source: () => Workload;
  /** Opens tunnels; give it a connectTransport that dials from the pod's netns with `mark`. */
  hbone: HboneClient;
  /** SO_MARK on the agent's own sockets, so the pod's capture lets them through (0x539). */
  mark: number;
  /** Round-robin state shared by the node's outbound listeners. */
  counters: RoundRobinCounters;
  onConnectionEnd: ConnectionSink;
  /** Sees each connection once its upstream is connected (for the opened counter). */
  onConnectionOpen?: ConnectionSink;
  logger?: Logger;
  /** Default 127.0.0.1:15001. */
  host?: string;
  port?: number;
  /** Passthrough connect timeout; default SOCKET_DEFAULTS.netnsConnectTimeoutMs. */
  connectTimeoutMs?: number;
  /** SO_REUSEPORT on the listener: other data-path workers serve the same port. */
  reusePort?: boolean;
  /** The listening socket handed over by the agent this one replaces (node-agent/handover/). */
  fd?: number;
}

export interface ProxyListener {
  readonly server: net.Server;
  /** Connections accepted and not yet recorded. */
  readonly active: number;
  /** Stops accepting and resets every open connection. */
  close(): Promise<void>;
}

export async function startOutbound(opts: StartOutboundOptions): Promise<ProxyListener> {
  const log = opts.logger ?? silentLogger;
  const open = new Set<net.Socket>();
  const server = await listenInNetns(opts.netnsPath, { host: opts.host ?? '127.0.0.1', port: opts.port ?? AGENT_PORTS.outbound, reusePort: opts.reusePort === true, ...(opts.fd !== undefined && { fd: opts.fd }) }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    handleOutbound(opts, log, socket).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'outbound: unexpected failure');
      if (!socket.destroyed) socket.resetAndDestroy();
    });
  });
  return listener(server, open);
}

export function listener(server: net.Server, open: Set<net.Socket>, extra?: () => Promise<void>): ProxyListener {
  return {
    server,
    get active() {
      return open.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of open) if (!s.destroyed) s.resetAndDestroy();
      await Promise.all([closed, extra?.()]);
    },
  };
}

/** Identities the plans name, parsed once: a node's pods and their peers are few, and a
 * plan's identity strings come from the config (already valid). Bounded: emptied when full. */
const PARSED_IDENTITIES_MAX = 4096;
const parsedIdentities = new Map<string, SpiffeId>();
function parsedIdentity(id: string): SpiffeId {
  let parsed = parsedIdentities.get(id);
  if (parsed === undefined) {
    parsed = Object.freeze(parseSpiffeId(id));
    if (parsedIdentities.size >= PARSED_IDENTITIES_MAX) parsedIdentities.clear();
    parsedIdentities.set(id, parsed);
  }
  return parsed;
}

async function handleOutbound(opts: StartOutboundOptions, log: Logger, socket: net.Socket): Promise<void> {
  socket.allowHalfOpen = true;
  const client: Address = { ip: canonicalIp(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
  const tracker = new ConnectionTracker({ direction: 'outbound', reporter: 'source', plan: 'none', client }, opts.onConnectionEnd, (err) =>
    log.error({ err: (err as Error).message }, 'outbound: connection record sink threw'),
    opts.onConnectionOpen,
  );
  // An app that leaves while its tunnel is being opened cancels the pending connect.
  const abort = new AbortController();
  const app = watchAccepted(socket, tracker, () => abort.abort());
  const { fail, pipeTo, handOver } = app;

  let plan: OutboundPlan;
  try {
    const dst = originalDst(socket);
    plan = planOutbound(opts.getState(), opts.source(), { ip: dst.address, port: dst.port }, { counters: opts.counters });
  } catch (err) {
    return fail(`planning failed: ${(err as Error).message}`);
  }
  tracker.set({
    plan: plan.kind,
    sourceWorkload: plan.sourceWorkload,
    sourceIdentity: plan.sourceIdentity,
    destinationWorkload: plan.destinationWorkload,
    service: plan.service,
    originalDst: plan.originalDst,
  });

  switch (plan.kind) {
    case 'reject':
      tracker.set({ reason: plan.reason });
      log.debug({ reason: plan.reason, dst: plan.originalDst }, plan.message);
      return fail(plan.message);

    case 'passthrough': {
      tracker.set({ reason: plan.reason, upstream: plan.target });
      let upstream: net.Socket;
      try {
        upstream = await connectInNetns(opts.netnsPath, {
          host: plan.target.ip,
          port: plan.target.port,
          mark: opts.mark,
          ...(opts.connectTimeoutMs !== undefined && { timeoutMs: opts.connectTimeoutMs }),
        });
      } catch (err) {
        return fail(`passthrough to ${plan.target.ip}:${plan.target.port} failed: ${(err as Error).message}`);
      }
      if (!app.gone) tracker.opened();
      pipeTo(upstream);
      return;
    }

    case 'hbone': {
      // The CONNECT's trace context, known before the connect so a failed one is recorded with it.
      const traceparent = newTraceparent();
      tracker.set({ via: plan.via, upstream: plan.peer, destinationIdentity: plan.expectedIdentity, mtls: true, traceparent });
      let tunnel;
      try {
        tunnel = await opts.hbone.connect({
          source: parsedIdentity(plan.sourceIdentity),
          peer: { host: plan.peer.ip, port: plan.peer.port },
          expectedIdentities: [parsedIdentity(plan.expectedIdentity)],
          target: { host: plan.target.ip, port: plan.target.port },
          forwardedFor: { host: client.ip, port: client.port },
          traceparent,
          signal: abort.signal,
        });
      } catch (err) {
        // The destination's policy said no: its reason (policy and rule) goes into this
        // side's record, so the source's access log says why.
        if (err instanceof TunnelDeniedError && err.reason !== undefined) tracker.set({ reason: `destination denied: ${err.reason}` });
        return fail(`hbone to ${plan.peer.ip}:${plan.peer.port}: ${(err as Error).message}`);
      }
      if (app.gone) {
        if (!tunnel.stream.destroyed) tunnel.stream.close(0x8 /* CANCEL */);
        return;
      }
      handOver();
      tracker.set({ destinationIdentity: formatSpiffeId(tunnel.peer) });
      tracker.opened();
      const bytes: TunnelBytes = { fromPeer: 0, toPeer: 0 };
      pipeTunnel(tunnel.stream, socket, bytes, (error) => {
        tracker.bytesSent = bytes.toPeer;
        tracker.bytesReceived = bytes.fromPeer;
        tracker.finish(error);
      });
      return;
    }
  }
}
