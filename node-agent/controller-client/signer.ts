// A CertificateSigner (core/identity/cert-manager.ts) that has CSRs signed by the
// controller over 15012, so that a node agent's or waypoint's certificate manager gets
// its certificates the same way whether the CA is in process (tests, the controller
// itself) or remote. What comes back is checked before it is used: the leaf must carry
// exactly the identity asked for, and the chain must lead to one of the roots.
import { ErrorCodes, MeshError } from '../../core/errors.js';
import type { CertificateSigner } from '../../core/identity/cert-manager.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { certificateInfo } from '../../core/identity/x509.js';
import type { ControllerClient } from './client.js';

export function controllerSigner(client: Pick<ControllerClient, 'requestCertificate'>, opts: { ttlSeconds?: number } = {}): CertificateSigner {
  return {
    async sign(csrPem, identity) {
      const issued = await client.requestCertificate(csrPem, opts);
      const want = formatSpiffeId(identity);
      const uris = certificateInfo(issued.chain[0]!).uris;
      if (uris.length !== 1 || uris[0] !== want) {
        throw new MeshError(ErrorCodes.CERT_INVALID, `the controller returned a certificate for ${uris.join(', ') || 'no URI SAN'}, not ${want}`);
      }
      if (!new TrustBundle(issued.roots).verifies(issued.chain)) {
        throw new MeshError(ErrorCodes.CERT_INVALID, `the certificate the controller returned for ${want} does not chain to the roots it sent`);
      }
      return issued;
    },
  };
}
