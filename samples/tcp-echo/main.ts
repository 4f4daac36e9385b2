// ambient-samples/tcp-echo: a TCP echo server. Every byte comes back; when the client
// half-closes (FIN), the rest is echoed and then the server half-closes too. With PREFIX
// set, each connection first receives one line "PREFIX POD_NAME\n" naming the pod that
// answered. See samples/README.md.
import net from 'node:net';
import { listenAll, log, normaliseAddress, onShutdown, podName, portFromEnv } from '../shared/runtime.js';

const POD = podName();
const PREFIX = process.env.PREFIX ?? '';
const sockets = new Set<net.Socket>();
let stopping = false;
let onEmpty: (() => void) | undefined;

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  const started = Date.now();
  const client = `${normaliseAddress(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
  sockets.add(socket);
  let failure = '';
  socket.on('error', (err) => {
    failure = ` (${(err as NodeJS.ErrnoException).code ?? err.message})`;
  });
  socket.on('close', () => {
    sockets.delete(socket);
    log(`conn ${client} in=${socket.bytesRead} out=${socket.bytesWritten} ${Date.now() - started}ms${failure}`);
    if (stopping && sockets.size === 0) onEmpty?.();
  });
  if (stopping) {
    socket.destroy();
    return;
  }
  socket.setNoDelay(true);
  if (PREFIX) socket.write(`${PREFIX} ${POD}\n`);
  // pipe() ends the writable side once the readable side has ended and everything read
  // has been written: the client's FIN is answered with ours after the last echoed byte.
  socket.pipe(socket);
});

onShutdown(
  () =>
    new Promise<void>((resolve) => {
      stopping = true;
      server.close();
      onEmpty = resolve;
      if (sockets.size === 0) resolve();
    }),
);

const port = portFromEnv(9000);
listenAll(server, port, PREFIX ? `tcp echo, prefix ${JSON.stringify(PREFIX)}` : 'tcp echo').catch((err: Error) => {
  log(`cannot listen on :${port}: ${err.message}`);
  process.exit(1);
});
