// Both ends of the listener handover (docs/protocol.md "Agent handover"):
//
//   new agent                                   old agent (listening on handover.sock)
//   connect; peer must be root  ---------------> peer must be root
//   hello {node}                ---------------> same node?
//                               <--------------- sockets {owner, sockets} + descriptors (per pod, node servers)
//                               <--------------- end {pods}
//   serve them (enrolment adopts each pod's; the node servers at start)
//   taken-over {adopted}        ---------------> stop accepting (close own handles: the
//                                                kernel sockets live on in the new agent),
//                                                stop enrolling and repairing
//                               <--------------- released
//   start own CNI and handover sockets           drain established connections until they
//                                                end or the drain deadline, then exit
//
// Anything malformed or late ends that connection with an error message; neither agent
// crashes, and the old one keeps serving as if nothing had happened until "taken-over".
import { chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { ErrorCodes, MeshError } from '../../core/errors.js';
import { HANDOVER_DEFAULTS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { peerCredentials, socketInfo, type PeerCredentials } from '../../core/syscalls.js';
import { prepareSocketDir } from '../cni/socket-dir.js';
import { closeFds, FdChannel } from './channel.js';
import { InheritedSockets, judgeHandoverPeer, planOffer, type HeldPod, type HeldSocket, type ReceivedSocket } from './plan.js';
import { protocolError, type SocketRef } from './protocol.js';

type Result = 'done' | 'none' | 'failed' | 'refused';

export interface HandoverCounter {
  inc(labels: { role: 'old' | 'new'; result: Result }): void;
}

// ---------------------------------------------------------------- the old agent's end

export interface HandoverServerOptions {
  socket: string;
  node: string;
  /** What this agent serves now (read when a new agent asks). */
  held: () => Promise<{ pods: HeldPod[]; node: HeldSocket[] }>;
  /** The new agent serves them: stop accepting on every listener (own handles only), stop
   * enrolling; resolves once done (then "released" is sent). */
  onTakenOver: (adopted: string[]) => Promise<void>;
  metrics?: HandoverCounter;
  logger?: Logger;
  timeouts?: Partial<Pick<typeof HANDOVER_DEFAULTS, 'receiveTimeoutMs' | 'takeOverTimeoutMs'>>;
}

export interface HandoverServer {
  readonly socket: string;
  /** A new agent took over (this one is draining). */
  readonly handedOver: boolean;
  close(): Promise<void>;
}

export async function startHandoverServer(opts: HandoverServerOptions): Promise<HandoverServer> {
  const log = opts.logger ?? silentLogger;
  const receiveMs = opts.timeouts?.receiveTimeoutMs ?? HANDOVER_DEFAULTS.receiveTimeoutMs;
  const takeOverMs = opts.timeouts?.takeOverTimeoutMs ?? HANDOVER_DEFAULTS.takeOverTimeoutMs;
  // The CNI socket's rules: root-only directory, no squatter, a stale socket removed only
  // when nothing answers on it.
  await prepareSocketDir(opts.socket);
  let busy = false;
  let handedOver = false;
  const open = new Set<FdChannel>();

  const session = async (channel: FdChannel) => {
    const hello = await channel.receive(receiveMs);
    if (hello.message.t !== 'hello') throw protocolError(`expected hello, got ${hello.message.t}`);
    if (hello.message.node !== opts.node) throw protocolError(`this agent serves node ${opts.node}, not ${hello.message.node}`);
    const held = await opts.held();
    for (const f of planOffer(held.pods, held.node)) await channel.send(f.message, f.fds);
    log.info({ pods: held.pods.length, sockets: held.pods.reduce((n, p) => n + p.sockets.length, held.node.length) }, 'agent handover: listeners sent; waiting for the new agent to take over');
    const reply = await channel.receive(takeOverMs);
    if (reply.message.t === 'error') throw protocolError(`the new agent gave up: ${reply.message.message}`);
    if (reply.message.t !== 'taken-over') throw protocolError(`expected taken-over, got ${reply.message.t}`);
    handedOver = true;
    await opts.onTakenOver(reply.message.adopted);
    await channel.send({ t: 'released' });
    log.info({ adopted: reply.message.adopted.length }, 'agent handover: the new agent took over; this one stopped accepting and drains its open connections');
    opts.metrics?.inc({ role: 'old', result: 'done' });
  };

  // pauseOnCreate: Node must never read this socket (it would swallow the descriptors).
  const server = net.createServer({ pauseOnCreate: true } as net.ServerOpts, (conn) => {
    conn.on('error', () => {});
    let creds: PeerCredentials | undefined;
    try {
      creds = peerCredentials(conn);
    } catch {
      creds = undefined;
    }
    const why = judgeHandoverPeer(creds);
    if (why) {
      log.warn({ err: { code: ErrorCodes.AGENT_HANDOVER_PEER_REFUSED, message: why } }, 'agent handover: connection refused');
      opts.metrics?.inc({ role: 'old', result: 'refused' });
      return void conn.destroy();
    }
    let channel: FdChannel;
    try {
      channel = new FdChannel(conn);
    } catch {
      return void conn.destroy();
    }
    if (busy || handedOver) {
      void channel
        .send({ t: 'error', message: handedOver ? 'this agent has already handed over' : 'another handover is in progress' }, [], 1_000)
        .catch(() => {})
        .finally(() => channel.close());
      return;
    }
    busy = true;
    open.add(channel);
    session(channel)
      .catch(async (err: Error) => {
        log.warn({ err: { code: (err as MeshError).code, message: err.message } }, handedOver ? 'agent handover: failed after the takeover' : 'agent handover: failed; this agent keeps serving');
        opts.metrics?.inc({ role: 'old', result: 'failed' });
        await channel.send({ t: 'error', message: err.message.slice(0, 1000) }, [], 1_000).catch(() => {});
      })
      .finally(() => {
        busy = false;
        open.delete(channel);
        channel.close();
      });
  });
  server.on('error', (err) => log.error({ err: err.message }, 'agent handover: socket error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(opts.socket, 0o600);
  log.info({ socket: opts.socket }, 'agent handover: listening for the next agent');
  let closing: Promise<void> | undefined;
  return {
    socket: opts.socket,
    get handedOver() {
      return handedOver;
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        for (const c of open) c.close();
        await closed;
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------- the new agent's end

export interface TakeOver {
  readonly inherited: InheritedSockets;
  /** Tells the old agent this one serves the adopted pods; resolves when it released
   * them. The descriptors nobody took are closed then. */
  complete(): Promise<void>;
  /** Gives up (a failed start): the old agent keeps serving; every descriptor is closed. */
  abandon(reason: string): void;
}

export interface TakeOverOptions {
  socket: string;
  node: string;
  metrics?: HandoverCounter;
  logger?: Logger;
  timeouts?: Partial<Pick<typeof HANDOVER_DEFAULTS, 'receiveTimeoutMs' | 'releaseTimeoutMs'>>;
}

/**
 * Connects to the agent this one replaces and receives its listeners. Undefined when no
 * agent answers (a first start, or the old one is gone). Throws AGENT_HANDOVER_FAILED when
 * one answered and the handover failed midway (every descriptor received is closed): the
 * caller creates its own listeners.
 */
export async function takeOver(opts: TakeOverOptions): Promise<TakeOver | undefined> {
  const log = opts.logger ?? silentLogger;
  const receiveMs = opts.timeouts?.receiveTimeoutMs ?? HANDOVER_DEFAULTS.receiveTimeoutMs;
  if (!existsSync(opts.socket)) {
    opts.metrics?.inc({ role: 'new', result: 'none' });
    return undefined;
  }
  let socket: net.Socket;
  try {
    socket = await connectPaused(opts.socket, receiveMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      opts.metrics?.inc({ role: 'new', result: 'none' });
      return undefined; // a stale socket: the old agent is gone
    }
    opts.metrics?.inc({ role: 'new', result: 'failed' });
    throw new MeshError(ErrorCodes.AGENT_HANDOVER_FAILED, `agent handover: connecting to ${opts.socket}: ${(err as Error).message}`, { cause: err });
  }
  const channel = new FdChannel(socket);
  const inherited = new InheritedSockets(HANDOVER_DEFAULTS.maxSockets);
  const fail = (err: unknown): never => {
    channel.close();
    closeFds(inherited.leftovers());
    opts.metrics?.inc({ role: 'new', result: 'failed' });
    throw new MeshError(ErrorCodes.AGENT_HANDOVER_FAILED, `agent handover: ${(err as Error).message.replace(/^agent handover: /, '')}`, { cause: err });
  };
  try {
    const why = judgeHandoverPeer(peerCredentials(socket));
    if (why) throw new MeshError(ErrorCodes.AGENT_HANDOVER_PEER_REFUSED, `the agent at ${opts.socket}: ${why}`);
    await channel.send({ t: 'hello', node: opts.node });
    for (;;) {
      const { message, fds } = await channel.receive(receiveMs);
      if (message.t === 'end') break;
      if (message.t === 'error') throw protocolError(`the old agent refused: ${message.message}`);
      if (message.t !== 'sockets') {
        closeFds(fds);
        throw protocolError(`expected sockets or end, got ${message.t}`);
      }
      let checked: ReceivedSocket[];
      try {
        checked = message.sockets.map((ref, i) => checkReceived(ref, fds[i]!));
        inherited.add(message.owner, checked);
      } catch (err) {
        closeFds(fds);
        throw err;
      }
    }
  } catch (err) {
    fail(err);
  }
  log.info({ sockets: inherited.size, pods: inherited.unclaimed().length }, 'agent handover: received the old agent\'s listeners');
  let done = false;
  return {
    inherited,
    async complete() {
      if (done) return;
      done = true;
      try {
        const adopted = inherited.claimed();
        await channel.send({ t: 'taken-over', adopted });
        const reply = await channel.receive(opts.timeouts?.releaseTimeoutMs ?? HANDOVER_DEFAULTS.releaseTimeoutMs);
        if (reply.message.t !== 'released') throw protocolError(`expected released, got ${reply.message.t}${reply.message.t === 'error' ? `: ${reply.message.message}` : ''}`);
        channel.close();
        // Sockets nobody adopted (pods gone or no longer enrolled): the old agent closed its
        // handles too, so closing these frees them.
        const left = inherited.leftovers();
        closeFds(left);
        opts.metrics?.inc({ role: 'new', result: 'done' });
        log.info({ adopted: adopted.length, closed: left.length }, 'agent handover: took over from the old agent');
      } catch (err) {
        fail(err);
      }
    },
    abandon(reason) {
      if (done) return;
      done = true;
      void channel.send({ t: 'error', message: reason.slice(0, 1000) }, [], 1_000).catch(() => {}).finally(() => channel.close());
      closeFds(inherited.leftovers());
      opts.metrics?.inc({ role: 'new', result: 'failed' });
    },
  };
}

/** A received descriptor must be the socket its message says: a listening TCP socket (or a
 * bound UDP one) on that address and port. */
function checkReceived(ref: SocketRef, fd: number): ReceivedSocket {
  const got = socketInfo(fd);
  const want = ref.proto === 'tcp' ? 'tcp-listener' : 'udp';
  if (got.type !== want || got.address !== ref.host || got.port !== ref.port) {
    throw protocolError(`a descriptor said to be ${ref.proto} ${ref.host}:${ref.port} is a ${got.type} on ${got.address}:${got.port}`);
  }
  return { ...ref, fd, reusePort: got.reusePort };
}

/** A connected Unix socket that Node does not read from (the descriptors must reach recvmsg). */
function connectPaused(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    socket.pause();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}
