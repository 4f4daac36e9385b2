// Shared by the benchmark's driver (hbone.ts, the load generator) and its child
// processes (roles.ts): the wire protocol of the bench server and the IPC messages.
//
// Bench server protocol (one TCP port, spoken through every path unchanged):
//   'S' + 8-byte big-endian length L, then L bytes  -> the sink counts them and answers an
//                                                      8-byte big-endian count once it has
//                                                      all L bytes (the transfer is over).
//   'E' then anything                               -> echo: every byte is sent back.
import type { HboneLimits } from '../../core/limits.js';

export const MODE_SINK = 0x53; // 'S'
export const MODE_ECHO = 0x45; // 'E'
export const SINK_HEADER_BYTES = 9;
export const SINK_ACK_BYTES = 8;

export const TRUST_DOMAIN = 'cluster.local';

/** Files the driver writes to its temp dir; children and stunnel read them. */
export interface PkiFiles {
  caPem: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

export type Role = 'sink' | 'hbone-in' | 'hbone-out';

export interface RoleConfig {
  role: Role;
  pki: PkiFiles;
  /** hbone-in: where to forward (the bench server). hbone-out: the CONNECT target. */
  targetPort?: number;
  /** hbone-out: the HboneServer's port. */
  peerPort?: number;
  limits?: Partial<HboneLimits>;
  /** hbone-in / hbone-out: threads serving the port, each with its own SO_REUSEPORT
   * listener (the node agent's data-path workers); default one, a plain listener. */
  workers?: number;
}

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'tls'; protocol: string | null; cipher: string }
  | { type: 'error'; message: string };

export type ParentMessage = { type: 'stop' };
