// What a tunnel carried as TCP (waypoint/upstream/passthrough.ts) leaves behind: Istio's
// TCP metrics with reporter="waypoint" and one access-log line per connection, written
// by the node agent's own code (node-agent/observe/tcp-metrics.ts, labels.ts
// accessLogFields, proxy/record.ts ConnectionTracker) from a ConnectionRecord, so both
// proxies label and log a connection alike. The record's fields are pure functions of the
// tunnel, the endpoint and the config snapshot (tcpRecordStart, endpointFields, recordError).
import { canonicalIp } from '../../core/ip.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/log.js';
import { accessLogFields } from '../../node-agent/observe/labels.js';
import type { TcpMetrics } from '../../node-agent/observe/tcp-metrics.js';
import type { TrafficTelemetry } from '../../node-agent/observe/telemetry.js';
import { ConnectionTracker, type ConnectionRecord } from '../../node-agent/proxy/record.js';
import type { ProxyState } from '../../node-agent/state/snapshot.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import type { TunnelInfo } from '../listen/http-front.js';
import type { RelayBytes } from '../upstream/relay.js';

/** Why a TCP tunnel was not carried (the node agent's reject reasons, labels.ts REJECT_FLAGS). */
export type TcpRefusal = 'authz-denied' | 'no-healthy-endpoints';

/** One TCP connection's record, as the passthrough learns it. */
export interface TcpConnection {
  /** Counted by the relay: forward is client -> endpoint, backward endpoint -> client. */
  readonly bytes: RelayBytes;
  /** The endpoint chosen (before connecting). */
  endpoint(ep: UpstreamEndpoint): void;
  /** The endpoint is connected: counted as opened. */
  opened(): void;
  /** Not carried at all (refused, or nowhere to go): closed with its reason. */
  refused(reason: TcpRefusal, message: string): void;
  /** The connection ended (`error`: the passthrough's why, when it broke). */
  finish(error?: string): void;
}

export interface TcpTelemetry {
  start(info: TunnelInfo): TcpConnection;
}

type Start = Omit<ConnectionRecord, 'startedAt' | 'durationMs' | 'bytesSent' | 'bytesReceived' | 'error'>;

const address = (a: { host: string; port: number }) => ({ ip: canonicalIp(a.host), port: a.port });

/** The record of a tunnel about to be carried as TCP: who sent it (the tunnel's verified
 * peer; its workload when the original client's address belongs to one with that
 * identity), where it was going, and the trace of its CONNECT (the access log's trace_id). */
export function tcpRecordStart(info: TunnelInfo, state: Pick<ProxyState, 'workloadByIp'>): Start {
  const req = info.request;
  const sourceIdentity = formatSpiffeId(req.peer);
  const from = req.forwardedFor ?? req.remote;
  const w = state.workloadByIp(from.host);
  return {
    direction: 'inbound-hbone',
    reporter: 'waypoint',
    plan: 'accept',
    sourceIdentity,
    ...(w !== undefined && w.identity === sourceIdentity && { sourceWorkload: w.uid }),
    ...(info.target.service !== undefined && { service: info.target.service }),
    client: address(from),
    originalDst: address(info.target.address),
    mtls: true,
    ...(req.traceparent !== undefined && { traceparent: req.traceparent }),
  };
}

/** What the chosen endpoint adds: where the bytes go, and the destination's workload and identity. */
export function endpointFields(ep: UpstreamEndpoint, state: Pick<ProxyState, 'workloadByIp'>): Partial<Start> {
  const w = state.workloadByIp(ep.ip);
  const identity = ep.mesh ? ep.identity : w?.identity;
  return {
    upstream: { ip: canonicalIp(ep.ip), port: ep.port },
    ...(w !== undefined && { destinationWorkload: w.uid }),
    ...(identity && { destinationIdentity: identity }),
  };
}

/**
 * The passthrough's error in the words the node agent's response_flags read
 * (labels.ts): a failed connect is `upstream <addr> unreachable: ...` (UF), a broken relay
 * side is `client: ...` (DC) or `upstream: ...` (UC).
 */
export function recordError(error: string, upstream: string | undefined): string {
  if (/^AMB_WAYPOINT_UPSTREAM_CONNECT: /.test(error)) return `upstream ${upstream ?? 'endpoint'} unreachable: ${error}`;
  if (error.startsWith('downstream')) return `client: ${error}`;
  if (error.startsWith('upstream')) return `upstream: ${error}`;
  return error;
}

export interface TcpTelemetryOptions {
  getState: () => ProxyState;
  /** The access log; none: no lines. */
  accessLog?: Logger;
  metrics?: TcpMetrics;
  /** The traffic summary reported to the controller; none: not kept. */
  telemetry?: TrafficTelemetry;
  onSinkError?: (err: unknown) => void;
}

export function tcpTelemetry(o: TcpTelemetryOptions): TcpTelemetry {
  const sink = (r: ConnectionRecord) => {
    const state = o.getState();
    o.accessLog?.info(accessLogFields(r, state), 'connection');
    o.metrics?.connectionClosed(r, state);
    o.telemetry?.connectionEnded(r, state);
  };
  const onOpen =
    o.metrics === undefined && o.telemetry === undefined
      ? undefined
      : (r: ConnectionRecord) => {
          const state = o.getState();
          o.metrics?.connectionOpened(r, state);
          o.telemetry?.connectionOpened(r, state);
        };
  return {
    start(info) {
      const t = new ConnectionTracker(tcpRecordStart(info, o.getState()), sink, o.onSinkError, onOpen);
      const bytes: RelayBytes = { forward: 0, backward: 0 };
      let upstream: string | undefined;
      return {
        bytes,
        endpoint(ep) {
          upstream = ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
          t.set(endpointFields(ep, o.getState()));
        },
        opened: () => t.opened(),
        refused(reason, message) {
          t.set({ plan: 'reject', reason });
          t.finish(message);
        },
        finish(error) {
          t.bytesSent = bytes.forward;
          t.bytesReceived = bytes.backward;
          t.finish(error === undefined ? undefined : recordError(error, upstream));
        },
      };
    },
  };
}
