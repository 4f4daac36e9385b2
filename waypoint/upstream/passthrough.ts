// A tunnel that does not carry HTTP: its bytes go to one endpoint of its target (the
// Service port's balancer, balance/picker.ts, or the workload called directly), over HBONE
// under the waypoint's identity or plain TCP, relayed both ways with half-close and reset.
import type { Duplex } from 'node:stream';
import { ErrorCodes } from '../../core/errors.js';
import type { SocketAddress } from '../../core/hbone/wire.js';
import type { TunnelTarget, UpstreamEndpoint } from '../http/chain.js';
import type { TcpConnection } from '../observe/tcp-telemetry.js';
import type { Connector } from './connect.js';
import { relay } from './relay.js';
import type { EndpointPicker } from '../balance/picker.js';

export interface PassthroughOptions {
  /** Picks the endpoint (balance/picker.ts; a consistent hash on the source IP applies). */
  picker: EndpointPicker;
  connect: Connector;
}

/** `client`: the original client, sent on as HBONE's `forwarded: for=` to a mesh endpoint.
 * `conn`: the connection's record (Istio's TCP metrics, the access log), when kept. */
export function passthrough(o: PassthroughOptions, stream: Duplex, target: TunnelTarget, head: Buffer, client: SocketAddress, done: (error?: string) => void, conn?: TcpConnection): void {
  let endpoint: UpstreamEndpoint | undefined = target.endpoint;
  let release = () => {};
  if (!endpoint && target.service !== undefined) {
    const p = o.picker.pick(target.service, target.port, { sourceIp: client.host });
    if (p.endpoint) {
      endpoint = p.endpoint;
      release = p.release;
    }
  }
  if (!endpoint) {
    const error = `${ErrorCodes.WAYPOINT_NO_ENDPOINT}: no healthy endpoint for ${target.service ?? target.address.host}:${target.port}`;
    conn?.refused('no-healthy-endpoints', error);
    return done(error);
  }
  conn?.endpoint(endpoint);
  const bytes = conn?.bytes ?? { forward: 0, backward: 0 };
  const end = conn === undefined ? (error?: string) => (release(), done(error)) : (error?: string) => (release(), conn.finish(error), done(error));
  // Paused until the upstream is there: the client's bytes wait in the tunnel's flow control.
  stream.pause();
  o.connect(endpoint, { forwardedFor: client }).then(
    (upstream) => {
      if (stream.destroyed) {
        upstream.destroy();
        release();
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
