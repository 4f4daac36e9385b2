// Errors of the local cluster's lifecycle (`ambientctl cluster up|down`): MeshErrors whose
// codes live with every other code in core/errors.ts (and docs/errors.md). The CLI
// prints them with their code; the network layer has its own (network/errors.ts).
import { ErrorCodes, MeshError } from '../core/errors.js';

export const LocalClusterErrorCodes = {
  /** The local cluster needs root (network namespaces, iptables). */
  NEEDS_ROOT: ErrorCodes.CLUSTER_NEEDS_ROOT,
  /** A piece (Redis, the API server, the nodes) did not come up in time. */
  START_TIMEOUT: ErrorCodes.CLUSTER_START_TIMEOUT,
  /** A step of `cluster up` failed outright. */
  START_FAILED: ErrorCodes.CLUSTER_START_FAILED,
} as const;

export type LocalClusterErrorCode = (typeof LocalClusterErrorCodes)[keyof typeof LocalClusterErrorCodes];

export class LocalClusterError extends MeshError {
  constructor(code: LocalClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'LocalClusterError';
  }
}

export function isLocalClusterError(err: unknown, code?: LocalClusterErrorCode): err is LocalClusterError {
  return err instanceof LocalClusterError && (code === undefined || err.code === code);
}
