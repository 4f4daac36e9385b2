#!/usr/bin/env node
// The node agent process (the DaemonSet's container): flags and environment, the mesh's
// roots and the controller's address from the API server, startNodeAgent(), and a
// graceful stop on SIGTERM/SIGINT.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { MAX_TIMER_MS, parseDuration } from '../core/duration.js';
import { loadKubeAccess } from '../core/kube/access.js';
import { controllerAddress, parseHostPort, readRoots, ROOT_CONFIGMAP, untilDone } from '../core/kube/controller-discovery.js';
import { AGENT_DEFAULTS, HANDOVER_DEFAULTS } from '../core/limits.js';
import { createLogger } from '../core/log.js';
import { defaultAdminTokenPath } from './admin-token.js';
import { startNodeAgent } from './agent.js';
import { OwnDaemonSet } from './uninstall/daemonset.js';
import { tracingConfigFromEnv } from '../core/trace/config.js';
import { createTracer } from '../core/trace/tracer.js';
import { DEFAULT_CNI_SOCKET, LOCAL_CLUSTER_SOCKET_ROOT, defaultCniSocket } from './cni/socket-path.js';

// The projected token for the controller's audience (manifests/node-agent.yaml, volume
// controller-token); the local cluster names the volume's directory in AMBIENT_VOLUME_CONTROLLER_TOKEN.
const CONTROLLER_TOKEN = join(process.env['AMBIENT_VOLUME_CONTROLLER_TOKEN'] ?? '/var/run/secrets/ambient.dev/controller', 'token');
// The node's CNI directories (hostPath volumes cni-bin-dir and cni-net-dir); the local
// cluster gives each node its own and names them the same way.
const CNI_BIN_DIR = process.env['AMBIENT_VOLUME_CNI_BIN_DIR'] ?? '/opt/cni/bin';
const CNI_CONF_DIR = process.env['AMBIENT_VOLUME_CNI_NET_DIR'] ?? '/etc/cni/net.d';
// The plugin as built (npm run build:cni), at the same place relative to this file in the
// repository and in the image: dist/node-agent/main.js -> node-agent/cni/build/ambient-cni.
const CNI_PLUGIN = fileURLToPath(new URL('../../node-agent/cni/build/ambient-cni', import.meta.url));

function hostPort(v: string): { host: string; port: number } {
  const hp = parseHostPort(v);
  if (!hp) throw new InvalidArgumentError(`${JSON.stringify(v)} is not host:port`);
  return hp;
}

interface Flags {
  node?: string;
  trustDomain: string;
  controllerNamespace: string;
  controllerService: string;
  controllerAddress?: { host: string; port: number };
  controllerName?: string;
  rootsFile?: string;
  tokenFile: string;
  cniSocket?: string;
  cniBinDir: string;
  cniConfDir: string;
  cniPlugin: string;
  adminTokenFile?: string;
  dnsCapture: boolean;
  clusterDomain: string;
  workers?: number;
  handoverSocket?: string;
  drainDeadline?: number;
}

/** `--drain-deadline` / AMBIENT_DRAIN_DEADLINE (`where`): `30m`, `90s`, `1h30m`, `500ms`, 0 to
 * 596h, the whole hours a timer can wait (a longer one would fire at once and cut every
 * connection). */
function drainDeadline(where: string, v: string): number {
  return parseDuration(where, v, { trim: true, max: Math.floor(MAX_TIMER_MS / 3_600_000) * 3_600_000, error: (w, why) => new InvalidArgumentError(`${w}: ${why}`) });
}

function workerCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number of at least 1`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const o = new Command('ambient-node-agent')
    .description('the ambient mesh node agent: enrols the pods of its node and carries their traffic over HBONE')
    .option('--node <name>', 'the node this agent serves (default: $NODE_NAME)')
    .option('--trust-domain <domain>', 'the mesh trust domain', 'cluster.local')
    .option('--controller-namespace <ns>', "the controller's namespace (its Service, its roots ConfigMap)", 'ambient-system')
    .option('--controller-service <name>', "the controller's Service, port 15012", 'ambient-controller')
    .option('--controller-address <host:port>', "the controller's 15012 address (default: its Service's cluster IP)", hostPort)
    .option('--controller-name <name>', "the DNS name on the controller's serving certificate (or its spiffe:// ID); default <controller-service>.<controller-namespace>.svc")
    .option('--roots-file <path>', `the mesh roots (default: ConfigMap ${ROOT_CONFIGMAP} in the controller's namespace)`)
    .option('--token-file <path>', 'the projected ServiceAccount token (audience ambient.dev/controller) presented to the controller', CONTROLLER_TOKEN)
    .option('--cni-socket <path>', `the CNI hand-off socket, in a root-only directory (default: ${DEFAULT_CNI_SOCKET}; on the local cluster ${LOCAL_CLUSTER_SOCKET_ROOT}/<cluster>/<node>/cni.sock)`)
    .option('--cni-bin-dir <dir>', "the node's CNI bin directory, where the plugin binary is installed (hostPath volume cni-bin-dir)", CNI_BIN_DIR)
    .option('--cni-conf-dir <dir>', "the node's CNI configuration directory, whose first conflist the plugin is chained into and kept in (hostPath volume cni-net-dir)", CNI_CONF_DIR)
    .option('--cni-plugin <path>', 'the plugin binary to install', CNI_PLUGIN)
    .option('--admin-token-file <path>', 'where the admin token (needed to change the agent through 15000) is written, mode 0600 (default: /var/run/ambient-node-agent/<node>/admin-token; on the local cluster /var/run/ambient/<cluster>/<node>/admin-token)')
    .option('--no-dns-capture', "leave pods' DNS alone (no 15053 proxy)")
    .option('--cluster-domain <domain>', 'the cluster DNS domain', 'cluster.local')
    .option('--handover-socket <path>', 'where this agent hands its listeners to the next agent on the node and takes them from the previous one (default: handover.sock beside the CNI socket)')
    .option('--drain-deadline <duration>', `after handing over, how long open connections are served before the rest is reset (default: $AMBIENT_DRAIN_DEADLINE, else ${HANDOVER_DEFAULTS.drainDeadlineMs / 60_000}m; terminationGracePeriodSeconds must cover it)`, (v) => drainDeadline('--drain-deadline', v))
    .option('--workers <n>', "data-path worker threads carrying the pods' connections (default: $AMBIENT_WORKERS, else one per core)", workerCount)
    .parse(argv)
    .opts<Flags>();
  const log = createLogger('node-agent');
  const node = o.node ?? process.env['NODE_NAME'];
  if (!node) {
    process.stderr.write('ambient-node-agent: the node name is unknown: set NODE_NAME (downward API spec.nodeName) or --node\n');
    process.exitCode = 2;
    return;
  }
  let workers: number;
  try {
    workers = o.workers ?? (process.env['AMBIENT_WORKERS'] ? workerCount(process.env['AMBIENT_WORKERS']) : availableParallelism());
  } catch (err) {
    process.stderr.write(`ambient-node-agent: AMBIENT_WORKERS: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  let drainDeadlineMs: number;
  try {
    drainDeadlineMs = o.drainDeadline ?? (process.env['AMBIENT_DRAIN_DEADLINE'] ? drainDeadline('AMBIENT_DRAIN_DEADLINE', process.env['AMBIENT_DRAIN_DEADLINE']) : HANDOVER_DEFAULTS.drainDeadlineMs);
  } catch (err) {
    process.stderr.write(`ambient-node-agent: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  // Not client-node: three REST reads do not need its 75 MiB (core/kube/access.ts).
  const api = await loadKubeAccess();

  let stopping = false;
  const abort = new AbortController();
  let agent: Awaited<ReturnType<typeof startNodeAgent>> | undefined;
  // Uninstalled (its DaemonSet gone or being deleted) or restarted: node-agent/uninstall/.
  const own = new OwnDaemonSet({ api, pod: { namespace: process.env['POD_NAMESPACE'], name: process.env['POD_NAME'] }, logger: log });
  own.start();
  const stopAgent = async (a: NonNullable<typeof agent>) => {
    const d = await own.decide();
    await own.close();
    log.info({ mode: d.mode, reason: d.reason }, d.mode === 'uninstall' ? 'node-agent: uninstalling: taking the mesh off the node' : 'node-agent: restarting: every rule stays');
    await (d.mode === 'uninstall' ? a.uninstall() : a.close());
  };
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    // Handed over to a newer agent: close() waits for the open connections (or the drain
    // deadline); the node is the new agent's, so nothing is uninstalled either
    // (docs/operations.md "Upgrading the node agent").
    log.info({ signal, handedOver: agent?.handedOver === true }, agent?.handedOver ? 'node-agent: stopping after the open connections drain' : 'node-agent: stopping');
    (agent ? (agent.handedOver ? own.close().then(() => agent!.close()) : stopAgent(agent)) : own.close()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    const roots = o.rootsFile ? [await readFile(o.rootsFile, 'utf8')] : [await untilDone(() => readRoots(api, o.controllerNamespace), 'the mesh roots', log, abort.signal, AGENT_DEFAULTS.rootsRetryMs)];
    const address = o.controllerAddress ?? (await untilDone(() => controllerAddress(api, o.controllerNamespace, o.controllerService), 'the controller Service', log, abort.signal, AGENT_DEFAULTS.rootsRetryMs));
    if (stopping) return;
    // Connection spans when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (docs/observability.md);
    // the SDK is loaded only then.
    const tracer = await createTracer(tracingConfigFromEnv(process.env), { serviceName: 'ambient-node-agent', resource: { 'k8s.node.name': node }, logger: log });
    agent = await startNodeAgent({
      node,
      trustDomain: o.trustDomain,
      controller: {
        address,
        // A DNS name the mesh CA never issues to workloads: no workload certificate passes for the controller.
        identity: o.controllerName ?? `${o.controllerService}.${o.controllerNamespace}.svc`,
        roots,
        token: async () => (await readFile(o.tokenFile, 'utf8')).trim(),
      },
      kubeConfig: api,
      rootNamespace: o.controllerNamespace,
      cniSocket: o.cniSocket ?? defaultCniSocket(process.env, node),
      cniInstall: { binDir: o.cniBinDir, confDir: o.cniConfDir, binary: o.cniPlugin },
      adminTokenFile: o.adminTokenFile ?? defaultAdminTokenPath(process.env, node),
      captureDns: o.dnsCapture,
      clusterDomain: o.clusterDomain,
      workers,
      ...(o.handoverSocket !== undefined && { handoverSocket: o.handoverSocket }),
      drainDeadlineMs,
      logger: log,
      tracer,
    });
    log.info({ node, controller: address, workers }, 'node-agent: started');
  } catch (err) {
    if (stopping) return;
    log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, 'node-agent: failed to start');
    process.stderr.write(`ambient-node-agent: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv);
