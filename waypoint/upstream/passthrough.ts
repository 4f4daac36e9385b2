// A tunnel that does not carry HTTP: its bytes go to one endpoint of its target (round
// robin over the Service port's endpoints, or the workload called directly), over HBONE
// under the waypoint's identity or plain TCP, relayed both ways with half-close and reset.
import type { Duplex } from 'node:stream';
import { ErrorCodes } from '../../core/errors.js';
import type { SocketAddress } from '../../core/hbone/wire.js';
import type { TunnelTarget, UpstreamEndpoint } from '../http/chain.js';
import type { Connector } from './connect.js';
import { relay } from './relay.js';
import type { RoundRobin } from './round-robin.js';

export interface PassthroughOptions {
  endpoints: (service: string, port: number) => UpstreamEndpoint[];
  balancer: RoundRobin;
  connect: Connector;
}

/** `client`: the original client, sent on as HBONE's `forwarded: for=` to a mesh endpoint. */
export function passthrough(o: PassthroughOptions, stream: Duplex, target: TunnelTarget, head: Buffer, client: SocketAddress, done: (error?: string) => void): void {
  const endpoint = target.endpoint ?? (target.service !== undefined ? o.balancer.pick(`${target.service}:${target.port}`, o.endpoints(target.service, target.port)) : undefined);
  if (!endpoint) return done(`${ErrorCodes.WAYPOINT_NO_ENDPOINT}: no healthy endpoint for ${target.service ?? target.address.host}:${target.port}`);
  // Paused until the upstream is there: the client's bytes wait in the tunnel's flow control.
  stream.pause();
  o.connect(endpoint, { forwardedFor: client }).then(
    (upstream) => {
      if (stream.destroyed) return void upstream.destroy();
      if (head.length) upstream.write(head);
      // (A client that sent its bytes and ended before the decision: its end goes on too.)
      if (stream.readableEnded) upstream.end();
      relay(stream, upstream, { forward: 0, backward: 0 }, done);
    },
    (err: Error) => done(`${ErrorCodes.WAYPOINT_UPSTREAM_CONNECT}: ${err.message}`),
  );
}
