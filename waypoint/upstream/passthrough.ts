// A tunnel that does not carry HTTP: its bytes go to one endpoint of its target (round
// robin over the Service port's endpoints, or the workload called directly), over HBONE
// under the waypoint's identity or plain TCP, relayed both ways with half-close and reset.
import type { Duplex } from 'node:stream';
import { ErrorCodes } from '../../core/errors.js';
import type { SocketAddress } from '../../core/hbone/wire.js';
import type { TunnelTarget, UpstreamEndpoint } from '../http/chain.js';
import type { TcpConnection } from '../observe/tcp-telemetry.js';
import type { Connector } from './connect.js';
import { relay } from './relay.js';
import type { RoundRobin } from './round-robin.js';

export interface PassthroughOptions {
  endpoints: (service: string, port: number) => UpstreamEndpoint[];
  balancer: RoundRobin;
  connect: Connector;
}

/** `client`: the original client, sent on as HBONE's `forwarded: for=` to a mesh endpoint.
 * `conn`: the connection's record (Istio's TCP metrics, the access log), when kept. */
export function passthrough(o: PassthroughOptions, stream: Duplex, target: TunnelTarget, head: Buffer, client: SocketAddress, done: (error?: string) => void, conn?: TcpConnection): void {
  const endpoint = target.endpoint ?? (target.service !== undefined ? o.balancer.pick(`${target.service}:${target.port}`, o.endpoints(target.service, target.port)) : undefined);
  if (!endpoint) {
    const error = `${ErrorCodes.WAYPOINT_NO_ENDPOINT}: no healthy endpoint for ${target.service ?? target.address.host}:${target.port}`;
    conn?.refused('no-healthy-endpoints', error);
    return done(error);
  }
  conn?.endpoint(endpoint);
  const bytes = conn?.bytes ?? { forward: 0, backward: 0 };
  const end = conn === undefined ? done : (error?: string) => (conn.finish(error), done(error));
  // Paused until the upstream is there: the client's bytes wait in the tunnel's flow control.
  stream.pause();
  o.connect(endpoint, { forwardedFor: client }).then(
    (upstream) => {
      if (stream.destroyed) {
        upstream.destroy();
        return void conn?.finish('downstream: closed before the endpoint connected');
      }
      conn?.opened();
      if (head.length) {
        bytes.forward += head.length;
        upstream.write(head);
      }
      // (A client that sent its bytes and ended before the decision: its end goes on too.)
      if (stream.readableEnded) upstream.end();
      relay(stream, upstream, bytes, end);
    },
    (err: Error) => end(`${ErrorCodes.WAYPOINT_UPSTREAM_CONNECT}: ${err.message}`),
  );
}
