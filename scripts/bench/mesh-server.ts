// Bench server for the pod-to-pod benchmark (mesh.ts): the HBONE bench's sink/echo server
// (bench-server.ts; protocol in common.ts), listening on 0.0.0.0:<port> inside a pod's
// network namespace (started there with `ip netns exec`). Prints "ready <port>" once it
// listens. Exits when its stdin closes (the driver went away), on SIGTERM/SIGINT, or after
// --max-seconds.
import net from 'node:net';
import { benchConnection } from './bench-server.js';

const port = Number(process.argv[2] ?? '9090');
const maxSeconds = Number(process.argv[3] ?? '3600');

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
