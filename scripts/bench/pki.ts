// Certificates for the benchmarks' TLS paths (stunnel, and HBONE in hbone.ts): a mesh CA and
// a server and a client workload certificate, written as PEM files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../core/identity/ca.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { createCsr, generateKeyPem } from '../../core/identity/x509.js';
import { TRUST_DOMAIN, type PkiFiles } from './common.js';

/** A workload identity: namespace and service account. */
export interface Workload {
  ns: string;
  sa: string;
}

/** Creates the CA and the two leaves, writes ca.pem, server.{key,pem}, client.{key,pem} to `dir`. */
export async function writePki(dir: string, server: Workload, client: Workload): Promise<PkiFiles> {
  const ca = await CertificateAuthority.createSelfSigned({ trustDomain: TRUST_DOMAIN });
  // As test/support/pki.ts `issue`: a workload key and a leaf signed by the mesh CA.
  const issue = async ({ ns, sa }: Workload) => {
    const identity = spiffeId(ns, sa, ca.trustDomain);
    const key = await generateKeyPem();
    const signed = ca.sign(createCsr(key, identity), { identity });
    return { key, cert: signed.chain.join('') };
  };
  const [srv, cli] = await Promise.all([issue(server), issue(client)]);
  const files: PkiFiles = {
    caPem: join(dir, 'ca.pem'),
    serverKey: join(dir, 'server.key'),
    serverCert: join(dir, 'server.pem'),
    clientKey: join(dir, 'client.key'),
    clientCert: join(dir, 'client.pem'),
  };
  writeFileSync(files.caPem, ca.trustBundle.pems().join(''));
  writeFileSync(files.serverKey, srv.key, { mode: 0o600 });
  writeFileSync(files.serverCert, srv.cert);
  writeFileSync(files.clientKey, cli.key, { mode: 0o600 });
  writeFileSync(files.clientCert, cli.cert);
  return files;
}
