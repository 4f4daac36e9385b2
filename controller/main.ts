#!/usr/bin/env node
// The controller process: flags, the kubeconfig (in-cluster, or KUBECONFIG / ~/.kube/config
// for the local cluster), startController(), and a graceful stop on SIGTERM/SIGINT.
import { MESH_PORTS } from '../core/ports.js';
import { KubeConfig } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../core/log.js';
import { isMeshError } from '../core/errors.js';
import { startController } from './controller.js';
import { checkRedisAddress } from './waypoint-plan.js';
import { parsePrometheusUrl } from './api/prometheus-source.js';

/** Where `npm run build:console` puts the console beside this file (dist/console; /app/dist/console in the image). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));

function hostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  const host = i > 0 ? v.slice(0, i).replace(/^\[|\]$/g, '') : '';
  const port = Number(v.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`${JSON.stringify(v)} is not host:port`);
  return { host, port };
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a port`);
  return n;
}

/** host:port as the waypoint reads it (its REDIS_ADDRESS), kept as written (a DNS name stays a name). */
function redisAddress(v: string): string {
  if (v === '') return v; // an empty WAYPOINT_REDIS_ADDRESS: not set
  try {
    return checkRedisAddress(v);
  } catch (err) {
    throw isMeshError(err) ? new InvalidArgumentError(`${JSON.stringify(v)} is not host:port (a port from 1 to 65535)`) : err;
  }
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** --prometheus-url, checked at start (a wrong one stops the controller, not a graph later). */
function prometheusUrl(v: string): string {
  if (v === '') return v; // an empty PROMETHEUS_URL: not set
  try {
    return parsePrometheusUrl(v).href;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function namespaceName(v: string): string {
  if (!/^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a namespace name`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('ambient-controller')
    .description('the ambient mesh controller: watches the cluster, pushes config and signs certificates on 15012, serves its API and console on 15014')
    .option('--trust-domain <domain>', 'the mesh trust domain', 'cluster.local')
    .option('--namespace <ns>', "the controller's own namespace (identity, CA Secret)", 'ambient-system')
    .addOption(
      new Option('--root-namespace <ns>', 'where mesh-wide policy lives (PeerAuthentication, AuthorizationPolicy); default: --namespace')
        .env('ROOT_NAMESPACE')
        .argParser(namespaceName),
    )
    .option('--listen <host:port>', 'the controller protocol listener', hostPort, { host: '0.0.0.0', port: MESH_PORTS.controller })
    .option('--metrics-port <port>', '/metrics and /healthz/ready', portNumber, MESH_PORTS.metrics)
    .option('--metrics-host <host>', 'the address /metrics and /healthz/ready listen on', '0.0.0.0')
    .option('--identity-sa <name>', "the controller's ServiceAccount (the SPIFFE ID its serving certificate also carries)", 'ambient-controller')
    .option('--server-name <dns>', 'the DNS name on the serving certificate, which agents check (default: ambient-controller.<namespace>.svc)')
    .option('--ca-secret <name>', 'the Secret holding the CA', 'ambient-ca')
    .option('--plugin-ca-secret <name>', 'an operator-provided CA Secret in --namespace, used instead of --ca-secret when it exists', 'cacerts')
    .option('--token-audience <aud>', 'an audience callers\' projected tokens must carry (repeatable; default ambient.dev/controller)', collect, [] as string[])
    .option('--node-agent-sa <ns/name>', "the node agents' ServiceAccount (default: <namespace>/ambient-node-agent)")
    .option('--waypoint-template <file>', 'the template of a waypoint\'s ServiceAccount, Deployment and Service (default: manifests/waypoint.yaml shipped with the controller)')
    .option('--waypoint-controller-address <host:port>', 'the controller address given to waypoints (default: <server name>:15012)')
    .addOption(
      new Option('--waypoint-redis-address <host:port>', 'Redis for TrafficPolicy global rate limits, given to every waypoint as REDIS_ADDRESS (e.g. redis.ambient-system.svc:6379, manifests/redis.yaml); default: not set')
        .env('WAYPOINT_REDIS_ADDRESS')
        .argParser(redisAddress),
    )
    .option('--no-waypoint-deployer', 'do not deploy waypoints for Gateways of class ambient-waypoint (nor write their status)')
    .option('--api-listen <host:port>', 'the HTTPS API and console listener (docs/api.md)', hostPort, { host: '0.0.0.0', port: MESH_PORTS.api })
    .option('--no-api', 'serve neither the API nor the console')
    .addOption(
      new Option('--prometheus-url <url>', 'a Prometheus scraping the mesh (e.g. http://prometheus.monitoring.svc:9090): the graph reads windows longer than the controller\'s own from it; default: not set (those windows are refused)')
        .env('PROMETHEUS_URL')
        .argParser(prometheusUrl),
    )
    .option('--console-dir <dir>', "the console's built files (index.html, assets/); while the directory holds none, / answers a page saying the console is not built", DEFAULT_CONSOLE_DIR)
    .option('--waypoint-sa <ns/name>', 'a ServiceAccount served as a waypoint besides those a waypoint Gateway names (repeatable)', collect, [] as string[])
    .parse(argv);
  const o = program.opts<{
    trustDomain: string;
    namespace: string;
    rootNamespace?: string;
    listen: { host: string; port: number };
    metricsPort: number;
    metricsHost: string;
    identitySa: string;
    serverName?: string;
    caSecret: string;
    pluginCaSecret: string;
    tokenAudience: string[];
    nodeAgentSa?: string;
    waypointSa: string[];
    waypointTemplate?: string;
    waypointControllerAddress?: string;
    waypointRedisAddress?: string;
    waypointDeployer: boolean;
    apiListen: { host: string; port: number };
    api: boolean;
    consoleDir?: string;
    prometheusUrl?: string;
  }>();
  const log = createLogger('controller');
  const kc = new KubeConfig();
  kc.loadFromDefault();
  let controller;
  try {
    controller = await startController({
      kubeConfig: kc,
      trustDomain: o.trustDomain,
      namespace: o.namespace,
      ...(o.rootNamespace ? { rootNamespace: o.rootNamespace } : {}),
      identityServiceAccount: o.identitySa,
      ...(o.serverName ? { serverName: o.serverName } : {}),
      listen: o.listen,
      metrics: { host: o.metricsHost, port: o.metricsPort },
      caSecretName: o.caSecret,
      pluginCaSecretName: o.pluginCaSecret,
      audiences: o.tokenAudience,
      ...(o.nodeAgentSa ? { nodeAgentServiceAccount: o.nodeAgentSa } : {}),
      waypointServiceAccounts: o.waypointSa,
      waypoints: {
        enabled: o.waypointDeployer,
        ...(o.waypointTemplate ? { template: o.waypointTemplate } : {}),
        ...(o.waypointControllerAddress ? { controllerAddress: o.waypointControllerAddress } : {}),
        ...(o.waypointRedisAddress ? { redisAddress: o.waypointRedisAddress } : {}),
      },
      api: { enabled: o.api, host: o.apiListen.host, port: o.apiListen.port, ...(o.consoleDir ? { consoleDir: o.consoleDir } : {}), ...(o.prometheusUrl ? { prometheusUrl: o.prometheusUrl } : {}) },
      logger: log,
    });
  } catch (err) {
    log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, 'controller: failed to start');
    process.stderr.write(`ambient-controller: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'controller: draining');
    controller.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main(process.argv);
