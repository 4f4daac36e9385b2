// Who is on the other end of an HBONE connection: the SPIFFE ID in the peer's verified
// certificate. TLS has already checked the chain against the trust bundle and the
// validity dates; this checks what TLS cannot: exactly one URI SAN, a SPIFFE ID of the
// mesh's trust domain, and (client side) the identity the caller expected.
import type { PeerCertificate } from 'node:tls';
import { ErrorCodes, MeshError } from '../errors.js';
import { formatSpiffeId, sameSpiffeId, type SpiffeId } from '../identity/spiffe.js';
import { identityOfCertificate } from '../identity/x509.js';

export function peerIdentity(cert: PeerCertificate | undefined, trustDomain: string, expected?: readonly SpiffeId[]): SpiffeId {
  if (!cert || Object.keys(cert).length === 0) {
    throw new MeshError(ErrorCodes.HBONE_PEER_IDENTITY, 'peer presented no certificate');
  }
  let id: SpiffeId;
  try {
    id = identityOfCertificate(cert.subjectaltname);
  } catch (err) {
    throw new MeshError(ErrorCodes.HBONE_PEER_IDENTITY, `peer certificate has no usable SPIFFE ID: ${(err as Error).message}`);
  }
  if (id.trustDomain !== trustDomain) {
    throw new MeshError(
      ErrorCodes.HBONE_PEER_IDENTITY,
      `peer ${formatSpiffeId(id)} is outside trust domain ${trustDomain}`,
    );
  }
  if (expected && expected.length > 0 && !expected.some((e) => sameSpiffeId(e, id))) {
    throw new MeshError(
      ErrorCodes.HBONE_PEER_IDENTITY,
      `peer is ${formatSpiffeId(id)}, expected ${expected.map(formatSpiffeId).join(' or ')}`,
    );
  }
  return id;
}
