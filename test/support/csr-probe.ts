// A helper program (not a test) that test/e2e/mesh.test.ts runs inside a node's network namespace: asks the controller, as
// that node's agent (its ServiceAccount token and node name), to sign a CSR for one
// identity, and prints the outcome as one JSON line: {"ok":true,"uri":...} or
// {"ok":false,"status":403,"code":"AMB_CTRL_CSR_DENIED","message":...}.
// Usage: node csr-probe.js <controller host:port> <roots.pem> <token file> <node> <namespace> <serviceaccount>
import { readFileSync } from 'node:fs';
import { ControllerClient, ControllerError } from '../../node-agent/controller-client/client.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { certificateInfo, createCsr, generateKeyPem } from '../../core/identity/x509.js';

const [address, rootsFile, tokenFile, node, namespace, sa] = process.argv.slice(2);
const [host, port] = address!.split(':');
const client = new ControllerClient({
  address: { host: host!, port: Number(port) },
  roots: [readFileSync(rootsFile!, 'utf8')],
  controllerIdentity: 'spiffe://cluster.local/ns/ambient-system/sa/ambient-controller',
  token: () => readFileSync(tokenFile!, 'utf8').trim(),
  node: node!,
});
try {
  const issued = await client.requestCertificate(createCsr(await generateKeyPem(), spiffeId(namespace!, sa!)));
  console.log(JSON.stringify({ ok: true, uri: certificateInfo(issued.chain[0]!).uris[0] }));
} catch (err) {
  const e = err as ControllerError;
  console.log(JSON.stringify({ ok: false, status: e instanceof ControllerError ? e.status : undefined, code: e.code, message: e.message }));
} finally {
  await client.close();
}
