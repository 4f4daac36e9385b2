// The bench server's connection handler, behind every path of both benchmarks: roles.ts
// (role 'sink', HBONE bench) and mesh-server.ts (inside a server pod, pod-to-pod bench).
// Protocol: common.ts.
import type net from 'node:net';
import { MODE_ECHO, MODE_SINK, SINK_ACK_BYTES, SINK_HEADER_BYTES } from './common.js';

/** The bench server: sink ('S') or echo ('E'), chosen by the first byte. */
export function benchConnection(sock: net.Socket): void {
  sock.setNoDelay(true);
  sock.on('error', () => sock.destroy());
  let header: Buffer | undefined = Buffer.alloc(0);
  let expected = 0n;
  let received = 0n;
  let acked = false;
  const onSinkData = (chunk: Buffer) => {
    received += BigInt(chunk.length);
    if (!acked && received >= expected) {
      acked = true;
      const ack = Buffer.alloc(SINK_ACK_BYTES);
      ack.writeBigUInt64BE(received);
      sock.write(ack);
    }
  };
  const onFirst = (chunk: Buffer) => {
    header = Buffer.concat([header!, chunk]);
    const mode = header[0];
    if (mode === MODE_ECHO) {
      sock.off('data', onFirst);
      const rest = header.subarray(1);
      header = undefined;
      if (rest.length) sock.write(rest);
      sock.pipe(sock);
      return;
    }
    if (mode !== MODE_SINK) {
      sock.destroy();
      return;
    }
    if (header.length < SINK_HEADER_BYTES) return;
    sock.off('data', onFirst);
    expected = header.readBigUInt64BE(1);
    const rest = header.subarray(SINK_HEADER_BYTES);
    header = undefined;
    sock.on('data', onSinkData);
    onSinkData(rest);
  };
  sock.on('data', onFirst);
  sock.on('end', () => sock.end());
}
