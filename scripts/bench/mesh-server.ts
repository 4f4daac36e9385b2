// Bench server for the pod-to-pod benchmark (mesh.ts): the same sink/echo protocol as the
// HBONE bench (common.ts), listening on 0.0.0.0:<port> inside a pod's network namespace
// (started there with `ip netns exec`). Prints "ready <port>" once it listens. Exits when
// its stdin closes (the driver went away), on SIGTERM/SIGINT, or after --max-seconds.
import net from 'node:net';
import { MODE_ECHO, MODE_SINK, SINK_ACK_BYTES, SINK_HEADER_BYTES } from './common.js';

const port = Number(process.argv[2] ?? '9090');
const maxSeconds = Number(process.argv[3] ?? '3600');

function benchConnection(sock: net.Socket): void {
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

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, benchConnection);
server.listen({ port, host: '0.0.0.0', backlog: 1024 }, () => process.stdout.write(`ready ${port}\n`));
server.on('error', (err) => {
  process.stderr.write(`mesh-server: ${err.message}\n`);
  process.exit(1);
});
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxSeconds * 1000).unref();
