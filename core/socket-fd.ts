// The file descriptor under a socket Node holds, read from Node's own handle: no native
// addon, so the waypoint (which shares the agent's admin servers, node-agent/admin.ts)
// can list its listeners without loading it.
import dgram from 'node:dgram';
import type net from 'node:net';
import { ErrorCodes, MeshError } from './errors.js';

/** The descriptor under a server or socket Node holds (TCP, Unix or UDP): what the
 * agent hands over. A connected Unix socket used with sendFds/recvFds must not be
 * reading (pauseOnConnect, or paused before it connects): Node's reads would swallow the
 * descriptors that ride on the bytes. */
export function socketFd(s: net.Socket | net.Server | dgram.Socket): number {
  // dgram keeps its handle under a symbol (lib/internal/dgram.js kStateSymbol).
  const state = s instanceof dgram.Socket ? (s as unknown as Record<symbol, { handle?: { fd?: number } | null }>)[Object.getOwnPropertySymbols(s).find((k) => k.description === 'state symbol')!] : undefined;
  const fd = state ? state.handle?.fd : (s as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new MeshError(ErrorCodes.SYSCALL_FAILED, 'socket has no file descriptor (closed?)');
  return fd;
}
