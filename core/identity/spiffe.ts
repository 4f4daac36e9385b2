// SPIFFE identities in the Kubernetes form the mesh uses:
//   spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>
// Validation follows the SPIFFE ID specification (trust domain: lowercase letters,
// digits, '.', '-', '_'; path segments: letters, digits, '.', '-', '_', never empty,
// '.' or '..'; at most 2048 bytes) narrowed to Kubernetes names (DNS-1123 labels for
// namespaces, DNS-1123 subdomains for service accounts), so that an identity that
// parses is one a pod can actually have.
import { ErrorCodes, MeshError } from '../errors.js';

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
const SCHEME = 'spiffe://';
const MAX_ID_LENGTH = 2048;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function invalid(input: string, why: string): MeshError {
  const shown = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  return new MeshError(ErrorCodes.SPIFFE_INVALID, `invalid SPIFFE ID ${JSON.stringify(shown)}: ${why}`);
}

export function validateTrustDomain(td: string): string {
  if (!TRUST_DOMAIN.test(td)) {
    throw new MeshError(
      ErrorCodes.SPIFFE_INVALID,
      `invalid trust domain ${JSON.stringify(td)}: use 1-255 of lowercase letters, digits, '.', '-', '_'`,
    );
  }
  return td;
}

function checkNamespace(ns: string): string | undefined {
  if (ns.length > 63 || !DNS1123_LABEL.test(ns)) return `namespace ${JSON.stringify(ns)} is not a DNS-1123 label`;
  return undefined;
}

function checkServiceAccount(sa: string): string | undefined {
  if (sa.length > 253 || !DNS1123_SUBDOMAIN.test(sa)) {
    return `service account ${JSON.stringify(sa)} is not a DNS-1123 subdomain`;
  }
  return undefined;
}

/** Parses and strictly validates a SPIFFE ID; throws MeshError(AMB_SPIFFE_INVALID). */
export function parseSpiffeId(input: string): SpiffeId {
  if (typeof input !== 'string') throw invalid(String(input), 'not a string');
  if (Buffer.byteLength(input) > MAX_ID_LENGTH) throw invalid(input, `longer than ${MAX_ID_LENGTH} bytes`);
  if (!input.startsWith(SCHEME)) throw invalid(input, `must start with ${SCHEME} (scheme is case-sensitive)`);
  if (/[?#%]/.test(input)) throw invalid(input, 'query, fragment and percent-encoding are not allowed');
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw invalid(input, 'missing path /ns/<namespace>/sa/<service-account>');
  const td = rest.slice(0, slash);
  if (td.includes(':') || td.includes('@')) throw invalid(input, 'trust domain must not hold a port or user info');
  if (!TRUST_DOMAIN.test(td)) throw invalid(input, `trust domain ${JSON.stringify(td)} has characters outside [a-z0-9._-]`);
  const segments = rest.slice(slash + 1).split('/');
  if (segments.some((s) => s === '')) throw invalid(input, 'empty path segment (double or trailing slash)');
  if (segments.some((s) => s === '.' || s === '..')) throw invalid(input, "path segments '.' and '..' are not allowed");
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    throw invalid(input, 'path must be /ns/<namespace>/sa/<service-account>');
  }
  const [, namespace, , serviceAccount] = segments as [string, string, string, string];
  const why = checkNamespace(namespace) ?? checkServiceAccount(serviceAccount);
  if (why) throw invalid(input, why);
  return Object.freeze({ trustDomain: td, namespace, serviceAccount });
}

/** Builds a validated identity from its parts. */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain = DEFAULT_TRUST_DOMAIN): SpiffeId {
  return parseSpiffeId(formatSpiffeId({ trustDomain, namespace, serviceAccount }));
}

export function formatSpiffeId(id: SpiffeId): string {
  return `${SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function sameSpiffeId(a: SpiffeId, b: SpiffeId): boolean {
  return a.trustDomain === b.trustDomain && a.namespace === b.namespace && a.serviceAccount === b.serviceAccount;
}
