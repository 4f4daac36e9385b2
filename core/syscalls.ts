// The syscall seam (DESIGN.md §7, after ztunnel's socket factory): original destination,
// socket marks, IP_TRANSPARENT and sockets created inside another network namespace.
// This is the only module that loads the native addon (core/native/src/syscalls.c).

import dgram from 'node:dgram';
import { closeSync, existsSync, fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, MeshError } from './errors.js';
import { SOCKET_DEFAULTS } from './limits.js';
// socketFd needs no addon: its own module, so that programs without the addon (the
// waypoint's admin servers) can use it; the syscalls here take descriptors from it too.
import { socketFd } from './socket-fd.js';
export { socketFd };

type Family = 4 | 6;

interface Binding {
  originalDst(fd: number, family: Family): { address: string; port: number };
  socketInNetns(netnsPath: string, family: Family): number;
  listenInNetns(
    netnsPath: string,
    family: Family,
    address: string,
    port: number,
    backlog: number,
    opts: { transparent?: boolean; reuseAddr?: boolean; reusePort?: boolean; mark?: number; udp?: boolean },
  ): number;
  setMark(fd: number, mark: number): void;
  getMark(fd: number): number;
  setTransparent(fd: number, on: boolean): void;
  peerCredentials(fd: number): PeerCredentials;
  sendFds(fd: number, data: Buffer, fds: number[]): number;
  recvFds(fd: number, maxBytes: number): { data: Buffer; fds: number[] };
  socketInfo(fd: number): SocketInfo;
}

// What the addon throws: Node's ErrnoException shape, errno being the positive Linux value.
type NativeError = Error & { code?: string; errno?: number; syscall?: string; path?: string };

const { netnsConnectTimeoutMs: CONNECT_TIMEOUT_MS, listenBacklog: LISTEN_BACKLOG } = SOCKET_DEFAULTS;

let binding: Binding | undefined;

// Loaded on first use so that importing this module (e.g. from a pure planner's tests, or
// on a machine without a compiler) never throws.
function native(): Binding {
  if (binding) return binding;
  const file = join(repoRoot(), 'core/native/build/Release/syscalls.node');
  const howTo = 'build it with `npm run build:native` (needs python3, make and g++; scripts/setup.sh installs them)';
  if (!existsSync(file)) {
    throw new MeshError(ErrorCodes.NATIVE_MISSING, `native addon ${file} is missing: ${howTo}`);
  }
  try {
    binding = createRequire(import.meta.url)(file) as Binding;
  } catch (err) {
    throw new MeshError(
      ErrorCodes.NATIVE_MISSING,
      `native addon ${file} could not be loaded (${(err as Error).message}): re${howTo}`,
      { cause: err },
    );
  }
  return binding;
}

// The nearest ancestor holding package.json: the repository root whether this runs as
// dist/core/syscalls.js or straight from core/syscalls.ts.
function repoRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return join(start, '../..'); // dist/core -> root
  }
}

function syscallError(err: unknown, context: string, netnsPath?: string): Error {
  const e = err as NativeError;
  // Argument TypeErrors from the addon are programming errors: pass them through.
  if (typeof e?.errno !== 'number' || typeof e.syscall !== 'string') return e;
  if (netnsPath !== undefined && e.syscall === 'open' && e.code === 'ENOENT' && e.path === netnsPath) {
    return new MeshError(ErrorCodes.NETNS_NOT_FOUND, `network namespace ${netnsPath} not found`, { cause: e });
  }
  return new MeshError(ErrorCodes.SYSCALL_FAILED, `${context}: ${e.message}${hint(e, netnsPath)}`, { cause: e });
}

function hint(e: NativeError, netnsPath?: string): string {
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
      return '; needs root / CAP_NET_ADMIN (entering a netns also needs CAP_SYS_ADMIN)';
    case 'ENOENT':
    case 'ENOPROTOOPT':
      // ENOENT: conntrack has no entry; ENOPROTOOPT: nf_conntrack is not even loaded.
      return e.syscall?.includes('ORIGINAL_DST') ? '; connection was not redirected by iptables' : '';
    case 'EINVAL':
      return e.syscall === 'setns' ? `; ${netnsPath} is not a network namespace` : '';
    case 'EADDRNOTAVAIL':
      return e.syscall === 'bind' ? '; the address is not assigned in that namespace (or use transparent)' : '';
    default:
      return '';
  }
}

function call<T>(context: string, fn: (b: Binding) => T, netnsPath?: string): T {
  const b = native();
  try {
    return fn(b);
  } catch (err) {
    throw syscallError(err, context, netnsPath);
  }
}

function inodeOf(fd: number): number | undefined {
  try {
    return fstatSync(fd).ino;
  } catch {
    return undefined; // EBADF: already closed
  }
}

function familyOf(host: string, what: string): Family {
  const f = net.isIP(host);
  // No DNS here: a lookup would run in the host's netns, not the target's.
  if (f === 0) throw new TypeError(`${what} must be an IP literal, got ${JSON.stringify(host)}`);
  return f as Family;
}

/** `/var/run/netns/<name>`, where `ip netns add` pins named namespaces. */
export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

/**
 * The destination the client dialled before an iptables REDIRECT/DNAT sent it to us, read
 * from conntrack (SO_ORIGINAL_DST). Throws SYSCALL_FAILED when conntrack has no NAT entry.
 * When conntrack tracks a connection that was not NATed, the kernel returns the socket's
 * own local address: callers that must tell the two apart compare with localAddress.
 */
export function originalDst(socket: net.Socket): { address: string; port: number; family: Family } {
  const local = socket.localAddress ?? '';
  // A v4 client on a dual-stack socket is tracked by IPv4 conntrack.
  const family: Family = net.isIPv4(local) || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(local) ? 4 : 6;
  const fd = socketFd(socket);
  return { ...call('originalDst', (b) => b.originalDst(fd, family)), family };
}

export interface ListenInNetnsOptions {
  host: string; // an IP literal
  port: number;
  backlog?: number;
  transparent?: boolean;
  mark?: number;
  reuseAddr?: boolean; // default true
  /** SO_REUSEPORT: other sockets of this process may listen on the same address; the
   * kernel spreads new connections over them (the agent's data-path workers). */
  reusePort?: boolean;
  /** A listening socket to adopt instead of creating one (handed over by the agent this
   * one replaces, node-agent/handover/): checked to be a TCP listener on host:port. */
  fd?: number;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EBADF: not open
  }
}

/** Adopting a handed-over descriptor: it must be what the caller would have created. */
function checkAdopted(fd: number, want: SocketInfo['type'], host: string, port: number, context: string): void {
  let got: SocketInfo;
  try {
    got = call(context, (b) => b.socketInfo(fd));
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
  if (got.type !== want || got.address !== host || got.port !== port) {
    // Adopting means owning: a descriptor that is not what was expected is closed too.
    closeQuietly(fd);
    throw new MeshError(ErrorCodes.SYSCALL_FAILED, `${context}: descriptor ${fd} is a ${got.type} on ${got.address}:${got.port}, not a ${want} on ${host}:${port}`);
  }
}

/**
 * A listening server whose socket lives in the netns at `netnsPath`. Pass `onConnection`
 * (or add a 'connection' listener to the result) to handle accepted sockets.
 */
export async function listenInNetns(
  netnsPath: string,
  opts: ListenInNetnsOptions,
  onConnection?: (socket: net.Socket) => void,
): Promise<net.Server> {
  const { host, port, backlog = LISTEN_BACKLOG, transparent, mark, reuseAddr, reusePort } = opts;
  const context = `listenInNetns(${netnsPath}, ${host}:${port})`;
  if (opts.fd !== undefined) checkAdopted(opts.fd, 'tcp-listener', host, port, context);
  const fd =
    opts.fd ??
    call(context, (b) => b.listenInNetns(netnsPath, familyOf(host, 'host'), host, port, backlog, { transparent, mark, reuseAddr, reusePort }), netnsPath);
  // Node closes the fd when it fails after adopting it, but not when it fails before;
  // the socket's inode tells whether the number still names our socket.
  const ino = inodeOf(fd);
  const server = net.createServer();
  if (onConnection) server.on('connection', onConnection);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: a cluster worker would otherwise ask the primary, which cannot use our fd.
      server.listen({ fd, exclusive: true, backlog }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (inodeOf(fd) === ino) closeSync(fd);
    throw new MeshError(ErrorCodes.SYSCALL_FAILED, `${context}: ${(err as Error).message}`, { cause: err });
  }
  return server;
}

/**
 * A UDP socket bound to `host:port` inside the netns at `netnsPath` (the DNS proxy's
 * 15053 in a pod). dgram adopts the descriptor through `bind({ fd })`.
 */
export async function bindUdpInNetns(netnsPath: string, opts: { host: string; port: number; mark?: number; fd?: number }): Promise<dgram.Socket> {
  const family = familyOf(opts.host, 'host');
  const context = `bindUdpInNetns(${netnsPath}, ${opts.host}:${opts.port})`;
  // opts.fd: a bound UDP socket handed over by the agent this one replaces.
  if (opts.fd !== undefined) checkAdopted(opts.fd, 'udp', opts.host, opts.port, context);
  const fd = opts.fd ?? call(context, (b) => b.listenInNetns(netnsPath, family, opts.host, opts.port, 1, { udp: true, mark: opts.mark }), netnsPath);
  const ino = inodeOf(fd);
  const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ fd, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (inodeOf(fd) === ino) closeSync(fd);
    throw new MeshError(ErrorCodes.SYSCALL_FAILED, `${context}: ${(err as Error).message}`, { cause: err });
  }
  return socket;
}

export interface ConnectInNetnsOptions {
  host: string; // an IP literal
  port: number;
  localAddress?: string;
  mark?: number;
  timeoutMs?: number; // default 10 s
}

/** A TCP connection from inside the netns at `netnsPath`, resolved once connected. */
export async function connectInNetns(netnsPath: string, opts: ConnectInNetnsOptions): Promise<net.Socket> {
  const { host, port, localAddress, mark, timeoutMs = CONNECT_TIMEOUT_MS } = opts;
  const context = `connectInNetns(${netnsPath}, ${host}:${port})`;
  const fd = call(context, (b) => b.socketInNetns(netnsPath, familyOf(host, 'host')), netnsPath);
  let socket: net.Socket;
  try {
    if (mark !== undefined) call(context, (b) => b.setMark(fd, mark));
    // Given an fd, the constructor starts reading at once (lib/net.js: `this.read(0)`
    // unless `manualStart`, an undocumented option Node uses for stdin). If the loop turns
    // while the fd is unconnected, read() fails with ENOTCONN, the socket is destroyed
    // (closing our fd) and a later connect() silently opens a fresh socket in the *host*
    // netns. So: no read armed, and connect() in the same tick, before any caller's
    // 'data' listener could arm one; Socket defers reads while `connecting`.
    socket = new net.Socket({ fd, manualStart: true } as net.SocketConstructorOpts);
  } catch (err) {
    closeSync(fd); // the Socket never adopted it
    throw err;
  }
  try {
    socket.connect({ port, host, ...(localAddress !== undefined && { localAddress }) });
  } catch (err) {
    socket.destroy(); // e.g. an invalid localAddress, thrown synchronously
    throw err;
  }
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.destroy(); // closes the fd
      reject(new MeshError(ErrorCodes.SYSCALL_FAILED, `${context}: ${err.message}`, { cause: err }));
    };
    const onConnect = () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    };
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', fail);
    socket.once('connect', onConnect);
  });
}

/** SO_MARK, matched by iptables `-m mark` and `ip rule fwmark` (needs CAP_NET_ADMIN). */
export function setMark(socket: net.Socket | net.Server, mark: number): void {
  const fd = socketFd(socket);
  call('setMark', (b) => b.setMark(fd, mark));
}

export function getMark(socket: net.Socket | net.Server): number {
  const fd = socketFd(socket);
  return call('getMark', (b) => b.getMark(fd));
}

/** IP_TRANSPARENT / IPV6_TRANSPARENT: bind to and accept for non-local addresses (TPROXY). */
export function setTransparent(socket: net.Socket | net.Server, on: boolean): void {
  const fd = socketFd(socket);
  call('setTransparent', (b) => b.setTransparent(fd, on));
}

/** Who connected a Unix socket: the pid, uid and gid it had when it called connect() (unix(7) SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * SO_PEERCRED of a connected Unix stream socket (the accepted side of a net.Server on a
 * path). Node.js does not expose it; the CNI hand-off uses it to accept only root.
 */
export function peerCredentials(socket: net.Socket): PeerCredentials {
  const fd = socketFd(socket);
  return call('peerCredentials', (b) => b.peerCredentials(fd));
}

/** The most descriptors one message carries (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;


/**
 * One non-blocking sendmsg on a connected Unix socket: `data` with `fds` riding on its
 * first byte (SCM_RIGHTS; the receiver gets its own descriptors for the same sockets).
 * Returns the bytes sent (fewer than data.length when the buffer filled: the rest goes
 * without the descriptors). Throws SYSCALL_FAILED, with cause.code 'EAGAIN' when nothing
 * could be sent yet.
 */
export function sendFds(fd: number, data: Buffer, fds: readonly number[] = []): number {
  if (fds.length > MAX_FDS_PER_MESSAGE) throw new TypeError(`at most ${MAX_FDS_PER_MESSAGE} descriptors per message, not ${fds.length}`);
  return call('sendFds', (b) => b.sendFds(fd, data, [...fds]));
}

/**
 * One non-blocking recvmsg of at most `maxBytes`: the bytes and the descriptors that rode
 * on them (now this process's, close-on-exec; the caller owns them). Empty data: the peer
 * closed. Throws SYSCALL_FAILED with cause.code 'EAGAIN' when nothing is there yet.
 */
export function recvFds(fd: number, maxBytes: number): { data: Buffer; fds: number[] } {
  return call('recvFds', (b) => b.recvFds(fd, maxBytes));
}

/** What a descriptor is: a listening TCP socket or a UDP socket, and where it is bound. */
export interface SocketInfo {
  type: 'tcp-listener' | 'udp' | 'other';
  /** 0: not an IP socket. */
  family: 0 | 4 | 6;
  address: string;
  port: number;
  /** SO_REUSEPORT is set: more listeners may join it on the same port. */
  reusePort: boolean;
}

export function socketInfo(fd: number): SocketInfo {
  return call('socketInfo', (b) => b.socketInfo(fd));
}

/** Whether an error from this module is "try again" (EAGAIN / EWOULDBLOCK). */
export function isWouldBlock(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}
