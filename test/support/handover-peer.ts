// An agent-like process for test/agent-handover.test.ts: it serves a TCP echo listener
// inside a network namespace and hands it over (role "old"), or takes it over (role "new"),
// through the agent's own handover code. Each reply is tagged with the role, so the test
// sees which process served a connection. Lines on stdout say what happened.
import type net from 'node:net';
import { listenInNetns, socketFd } from '../../core/syscalls.js';
import { startHandoverServer, takeOver } from '../../node-agent/handover/session.js';
import { createLogger } from '../../core/log.js';

const logger = createLogger(`handover-${process.argv[2]}`);

const [role, netnsPath, socket, portText] = process.argv.slice(2);
const host = '127.0.0.1';
const port = Number(portText);
const tag = role === 'old' ? 'A' : 'B';
const say = (line: string) => process.stdout.write(`${line}\n`);

function echo(socket: net.Socket): void {
  socket.on('data', (d) => socket.write(`${tag}:${d.toString()}`));
  socket.on('error', () => {});
}

if (role === 'old') {
  const server = await listenInNetns(netnsPath!, { host, port }, echo);
  await startHandoverServer({
    socket: socket!,
    node: 'node1',
    logger,
    held: async () => ({ pods: [{ uid: 'pod-1', netnsPath: netnsPath!, sockets: [{ proto: 'tcp', host, port, fd: socketFd(server) }] }], node: [] }),
    // Stop accepting: the new process holds the same socket; accepted ones keep being served.
    onTakenOver: async (adopted) => {
      server.close();
      say(`released ${adopted.join(',')}`);
    },
  });
  say('ready');
} else {
  const t = await takeOver({ socket: socket!, node: 'node1', logger });
  if (!t) {
    say('none');
    process.exit(3);
  }
  const [fd] = t.inherited.take(netnsPath!, 'tcp', host, port);
  await listenInNetns(netnsPath!, { host, port, fd: fd! }, echo);
  say('serving');
  await t.complete();
  say('taken-over');
}
