// Errors of the local cluster's network layer: MeshErrors whose codes live with every
// other code in core/errors.ts (and docs/errors.md).
import { ErrorCodes, MeshError } from '../../core/errors.js';

export const NetworkErrorCodes = {
  /** Bad topology input: cluster name, node count, node index, pod uid or name. */
  INVALID: ErrorCodes.NETWORK_INVALID,
  /** A command (ip, sysctl, iptables-restore) failed or timed out. */
  COMMAND_FAILED: ErrorCodes.NETWORK_COMMAND_FAILED,
  /** A CNI plugin returned an error (its JSON {code,msg}) or no valid result. */
  CNI_FAILED: ErrorCodes.NETWORK_CNI_FAILED,
  /** The pod already has a network namespace: DEL it first. */
  POD_EXISTS: ErrorCodes.NETWORK_POD_EXISTS,
  /** This process's mount namespace is private (`ip netns exec`?): namespaces it pins would be invisible. */
  PRIVATE_MOUNTS: ErrorCodes.NETWORK_PRIVATE_MOUNTS,
  /** Bad Service input for the service rules (cluster IP, port, protocol, endpoint). */
  SERVICE_INVALID: ErrorCodes.NETWORK_SERVICE_INVALID,
} as const;

export type NetworkErrorCode = (typeof NetworkErrorCodes)[keyof typeof NetworkErrorCodes];

export class NetworkError extends MeshError {
  constructor(code: NetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NetworkError';
  }
}

export function isNetworkError(err: unknown, code?: NetworkErrorCode): err is NetworkError {
  return err instanceof NetworkError && (code === undefined || err.code === code);
}
