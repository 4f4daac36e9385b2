// HTTP backend of the waypoint benchmark (waypoint.ts): started inside the server pod's
// network namespace with `ip netns exec`, it answers every request, whatever its method
// and path, with a fixed body of <size> bytes once it has read the request body: HTTP/1.1
// (keep-alive) on <h1Port> and HTTP/2 cleartext with prior knowledge on <h2Port>. Prints
// "ready <h1Port> <h2Port>" once both listen. Exits when its stdin closes (the driver went
// away), on SIGTERM/SIGINT, or after <maxSeconds>.
//   node http-server.js <h1Port> <h2Port> <size> <maxSeconds>
import http from 'node:http';
import http2 from 'node:http2';

const h1Port = Number(process.argv[2] ?? '8080');
const h2Port = Number(process.argv[3] ?? '8081');
const size = Number(process.argv[4] ?? '1024');
const maxSeconds = Number(process.argv[5] ?? '3600');
const body = Buffer.alloc(size, 0x62);
const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };

function answer(req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
  req.on('error', () => undefined);
}

const h1 = http.createServer({ keepAliveTimeout: 600_000, requestTimeout: 0, noDelay: true }, answer);
h1.maxRequestsPerSocket = 0;
const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, answer);
h2.on('sessionError', () => undefined);
// Node's HTTP/2 server leaves Nagle on: small frames would wait for the peer's delayed ACK.
h2.on('connection', (sock: import('node:net').Socket) => sock.setNoDelay(true));
let listening = 0;
const onListening = () => {
  if (++listening === 2) process.stdout.write(`ready ${h1Port} ${h2Port}\n`);
};
for (const [s, port] of [
  [h1, h1Port],
  [h2, h2Port],
] as const) {
  s.on('error', (err: Error) => {
    process.stderr.write(`http-server: ${err.message}\n`);
    process.exit(1);
  });
  s.listen({ port, host: '0.0.0.0', backlog: 1024 }, onListening);
}
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxSeconds * 1000).unref();
