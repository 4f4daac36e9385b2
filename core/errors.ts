// Typed errors with stable codes shared by every program. A code is never reused: when a
// condition goes away its code is retired, not recycled. Every code here is documented
// in docs/errors.md (a test fails when one is missing).

export const ErrorCodes = {
  // identity and certificates
  SPIFFE_INVALID: 'AMB_SPIFFE_INVALID',
  CSR_INVALID: 'AMB_CSR_INVALID',
  CSR_IDENTITY_MISMATCH: 'AMB_CSR_IDENTITY_MISMATCH',
  CA_LOAD_FAILED: 'AMB_CA_LOAD_FAILED',
  CA_INVALID: 'AMB_CA_INVALID',
  CERT_INVALID: 'AMB_CERT_INVALID',
  CERT_UNAVAILABLE: 'AMB_CERT_UNAVAILABLE',
  // HBONE
  HBONE_PEER_IDENTITY: 'AMB_HBONE_PEER_IDENTITY',
  HBONE_DENIED: 'AMB_HBONE_DENIED',
  HBONE_BAD_REQUEST: 'AMB_HBONE_BAD_REQUEST',
  HBONE_UPSTREAM_UNAVAILABLE: 'AMB_HBONE_UPSTREAM_UNAVAILABLE',
  HBONE_CONNECT_TIMEOUT: 'AMB_HBONE_CONNECT_TIMEOUT',
  HBONE_CONNECT_FAILED: 'AMB_HBONE_CONNECT_FAILED',
  HBONE_PROTOCOL: 'AMB_HBONE_PROTOCOL',
  HBONE_POOL_CLOSED: 'AMB_HBONE_POOL_CLOSED',
  // the native syscall seam
  NATIVE_MISSING: 'AMB_NATIVE_MISSING',
  SYSCALL_FAILED: 'AMB_SYSCALL_FAILED',
  NETNS_NOT_FOUND: 'AMB_NETNS_NOT_FOUND',
  // the local cluster's network
  NETWORK_INVALID: 'AMB_NETWORK_INVALID',
  NETWORK_COMMAND_FAILED: 'AMB_NETWORK_COMMAND_FAILED',
  NETWORK_CNI_FAILED: 'AMB_NETWORK_CNI_FAILED',
  NETWORK_POD_EXISTS: 'AMB_NETWORK_POD_EXISTS',
  NETWORK_PRIVATE_MOUNTS: 'AMB_NETWORK_PRIVATE_MOUNTS',
  NETWORK_SERVICE_INVALID: 'AMB_NETWORK_SERVICE_INVALID',
  // the local cluster's lifecycle (cluster up/down)
  CLUSTER_NEEDS_ROOT: 'AMB_CLUSTER_NEEDS_ROOT',
  CLUSTER_START_TIMEOUT: 'AMB_CLUSTER_START_TIMEOUT',
  CLUSTER_START_FAILED: 'AMB_CLUSTER_START_FAILED',
  // controller protocol (15012): authentication, certificate signing, the config stream
  CTRL_UNAUTHENTICATED: 'AMB_CTRL_UNAUTHENTICATED',
  CTRL_FORBIDDEN: 'AMB_CTRL_FORBIDDEN',
  CTRL_NODE_MISMATCH: 'AMB_CTRL_NODE_MISMATCH',
  CTRL_CSR_DENIED: 'AMB_CTRL_CSR_DENIED',
  CTRL_BAD_REQUEST: 'AMB_CTRL_BAD_REQUEST',
  CTRL_AUTH_UNAVAILABLE: 'AMB_CTRL_AUTH_UNAVAILABLE',
  CTRL_PEER_IDENTITY: 'AMB_CTRL_PEER_IDENTITY',
  CTRL_UNAVAILABLE: 'AMB_CTRL_UNAVAILABLE',
  CTRL_RATE_LIMITED: 'AMB_CTRL_RATE_LIMITED',
  CSR_KEY_UNSUPPORTED: 'AMB_CSR_KEY_UNSUPPORTED',
  XDS_CLIENT_TOO_SLOW: 'AMB_XDS_CLIENT_TOO_SLOW',
  XDS_MALFORMED: 'AMB_XDS_MALFORMED',
  XDS_MESSAGE_TOO_LARGE: 'AMB_XDS_MESSAGE_TOO_LARGE',
  XDS_HELLO_TIMEOUT: 'AMB_XDS_HELLO_TIMEOUT',
  XDS_INVALID_RESOURCE: 'AMB_XDS_INVALID_RESOURCE',
  // the CNI plugin and its hand-off to the node agent
  CNI_HANDOFF_INVALID: 'AMB_CNI_HANDOFF_INVALID',
  CNI_INSTALL_FAILED: 'AMB_CNI_INSTALL_FAILED',
  CNI_SOCKET_UNSAFE: 'AMB_CNI_SOCKET_UNSAFE',
  CNI_PEER_REFUSED: 'AMB_CNI_PEER_REFUSED',
  CNI_HANDOFF_BUSY: 'AMB_CNI_HANDOFF_BUSY',
  CNI_NETNS_MISMATCH: 'AMB_CNI_NETNS_MISMATCH',
  CNI_UNDECIDED: 'AMB_CNI_UNDECIDED',
  // the node agent's admin, metrics and readiness servers
  AGENT_LISTEN_FAILED: 'AMB_AGENT_LISTEN_FAILED',
  AGENT_ADMIN_TOKEN_FAILED: 'AMB_AGENT_ADMIN_TOKEN_FAILED',
  // the node agent's data-path workers
  AGENT_WORKER_FAILED: 'AMB_AGENT_WORKER_FAILED',
  AGENT_WORKERS_INVALID: 'AMB_AGENT_WORKERS_INVALID',
  // the node agent's enrolment of pods
  ENROL_FAILED: 'AMB_ENROL_FAILED',
  CNI_HANDOFF_FAILED: 'AMB_CNI_HANDOFF_FAILED',
  // the controller's waypoint deployer
  WAYPOINT_TEMPLATE_INVALID: 'AMB_WAYPOINT_TEMPLATE_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class MeshError extends Error {
  readonly code: ErrorCode;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'MeshError';
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export function isMeshError(err: unknown, code?: ErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}
