// The local cluster's control plane process: the API server (on loopback for ambientctl
// and kubectl, and on the cluster network for nodes and in-cluster programs) and the
// controller manager.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { CoreV1Api } from '@kubernetes/client-node';
import { createLogger } from '../core/log.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { listenInNetns, netnsPath } from '../core/syscalls.js';
import { parseAdminToken } from './apiserver/admin-token.js';
import { startApiServer } from './apiserver/server.js';
import { startControllers } from './controllers/manager.js';
import { buildTopology, podNetnsOf } from './network/topology.js';
import { apiServerIps, ensureClusterPki } from './pki.js';

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public'];

async function main(): Promise<void> {
  const o = new Command('control-plane')
    .requiredOption('--cluster <name>')
    .requiredOption('--nodes <n>', 'node count', Number)
    .requiredOption('--state-dir <dir>')
    .requiredOption('--redis-port <port>', 'Redis on 127.0.0.1', Number)
    .requiredOption('--port <port>', 'API server port on 127.0.0.1', Number)
    .requiredOption('--in-cluster-port <port>', 'API server port on the cluster network', Number)
    .requiredOption('--admin-token-file <file>', "the cluster admin's bearer token (the admin kubeconfig's)")
    .parse(process.argv)
    .opts<{ cluster: string; nodes: number; stateDir: string; redisPort: number; port: number; inClusterPort: number; adminTokenFile: string }>();
  const log = createLogger('control-plane');
  const topology = buildTopology({ cluster: o.cluster, nodes: o.nodes });

  // With the admin's token, the API server trusts no caller for its address: ambientctl,
  // kubectl and the controllers below present that token, the nodes their ServiceAccount's.
  const adminToken = parseAdminToken(readFileSync(o.adminTokenFile, 'utf8'), o.adminTokenFile);
  // HTTPS on the loopback too, with the cluster CA's certificate: kubectl sends a token over TLS only.
  const pki = await ensureClusterPki(o.stateDir, apiServerIps(topology.controlPlaneAddress));
  const api = await startApiServer({
    redis: { host: '127.0.0.1', port: o.redisPort },
    host: '127.0.0.1',
    port: o.port,
    adminToken,
    tls: pki,
    logger: log.child({ component: 'apiserver' }),
    // pods/portforward connects inside the pod's namespace, as a kubelet would inside its sandbox.
    podNetns: (pod) => netnsPath(podNetnsOf(topology, pod as Parameters<typeof podNetnsOf>[1])),
  });
  // The same API server, reachable from the nodes: a second listener opened inside the
  // cluster's namespace, so that no route joins the cluster to the machine.
  // It speaks HTTPS there, with the cluster CA's certificate, as a real API server does.
  const inCluster = await listenInNetns(netnsPath(topology.clusterNetns), { host: topology.controlPlaneAddress, port: o.inClusterPort });
  const secure = tls.createServer({ key: pki.key, cert: pki.cert, minVersion: 'TLSv1.2' });
  secure.on('tlsClientError', (err) => log.debug({ err: err.message }, 'in-cluster TLS handshake failed'));
  inCluster.on('connection', (socket) => secure.emit('connection', socket));
  api.attach(secure, { event: 'secureConnection' });
  log.info({ url: api.url, inCluster: `https://${topology.controlPlaneAddress}:${o.inClusterPort}` }, 'api server listening');

  const kc = kubeConfigForServer(api.url, adminToken, pki.caFile);
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of BUILTIN_NAMESPACES) {
    await core.createNamespace({ body: { metadata: { name } } }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  }
  const controllers = startControllers(kc, log.child({ component: 'controllers' }));

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await controllers.stop();
    inCluster.close();
    await api.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((err) => {
  process.stderr.write(`control-plane: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
