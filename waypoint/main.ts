#!/usr/bin/env node
// The waypoint process (the container of a waypoint's Deployment, manifests/waypoint.yaml):
// flags and environment, the mesh's roots and the controller's address from the API
// server, startWaypoint(), and a drain on SIGTERM/SIGINT (stop accepting, finish what is in
// flight, GOAWAY on HTTP/2, then close).
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadKubeAccess, type KubeAccess } from '../core/kube/access.js';
import { tracingConfigFromEnv } from '../core/trace/config.js';
import { createTracer } from '../core/trace/tracer.js';
import { controllerAddress, parseHostPort, readRoots, ROOT_CONFIGMAP, untilDone } from '../core/kube/controller-discovery.js';
import { createLogger } from '../core/log.js';
import { startWaypoint } from './start.js';
import type { Waypoint } from './waypoint.js';

const CONTROLLER_TOKEN = join(process.env['AMBIENT_VOLUME_CONTROLLER_TOKEN'] ?? '/var/run/secrets/ambient.dev/controller', 'token');
const RETRY_MS = 2_000;

function hostPort(v: string): { host: string; port: number } {
  const hp = parseHostPort(v);
  if (!hp) throw new InvalidArgumentError(`${JSON.stringify(v)} is not host:port`);
  return hp;
}

function millis(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number of milliseconds`);
  return n;
}

interface Flags {
  gateway?: string;
  namespace?: string;
  serviceAccount?: string;
  node?: string;
  trustDomain: string;
  clusterDomain: string;
  controllerNamespace: string;
  controllerService: string;
  controllerAddress?: { host: string; port: number };
  controllerName?: string;
  rootsFile?: string;
  tokenFile: string;
  drainMs: number;
  redisAddress?: { host: string; port: number };
}

async function main(argv: string[]): Promise<void> {
  const o = new Command('ambient-waypoint')
    .description('the ambient mesh waypoint: the L7 proxy of the Services and workloads that use it')
    .option('--gateway <name>', 'its Gateway (default: $GATEWAY_NAME)')
    .option('--namespace <ns>', 'its namespace (default: $POD_NAMESPACE)')
    .option('--service-account <name>', 'its ServiceAccount: its identity (default: $SERVICE_ACCOUNT, else the Gateway name)')
    .option('--node <name>', 'the node its pod runs on (default: $NODE_NAME)')
    .option('--trust-domain <domain>', 'the mesh trust domain', process.env['TRUST_DOMAIN'] ?? 'cluster.local')
    .option('--cluster-domain <domain>', 'the cluster DNS domain (default: $CLUSTER_DOMAIN, else cluster.local)', process.env['CLUSTER_DOMAIN'] || 'cluster.local')
    .option('--controller-namespace <ns>', "the controller's namespace (its Service, its roots ConfigMap)", process.env['CONTROLLER_NAMESPACE'] ?? 'ambient-system')
    .option('--controller-service <name>', "the controller's Service, port 15012", 'ambient-controller')
    .option('--controller-address <host:port>', "the controller's 15012 address (default: its Service's cluster IP)", hostPort)
    .option('--controller-name <name>', "the DNS name on the controller's serving certificate (or its spiffe:// ID); default <controller-service>.<controller-namespace>.svc")
    .option('--roots-file <path>', `the mesh roots (default: ConfigMap ${ROOT_CONFIGMAP} in the controller's namespace)`)
    .option('--token-file <path>', 'the projected ServiceAccount token (audience ambient.dev/controller) presented to the controller', CONTROLLER_TOKEN)
    .option('--drain-ms <ms>', 'how long in-flight requests may finish on shutdown', millis, 5_000)
    .option('--redis-address <host:port>', 'Redis for TrafficPolicy global rate limits (default: $REDIS_ADDRESS; unset: a global limit is decided by its failureMode)', hostPort)
    .parse(argv)
    .opts<Flags>();
  const log = createLogger('waypoint');
  const gateway = o.gateway ?? process.env['GATEWAY_NAME'];
  const namespace = o.namespace ?? process.env['POD_NAMESPACE'];
  const node = o.node ?? process.env['NODE_NAME'];
  const missing = [!gateway && 'the Gateway name (--gateway or GATEWAY_NAME)', !namespace && 'the namespace (--namespace or POD_NAMESPACE)', !node && 'the node (--node or NODE_NAME)'].filter(Boolean);
  if (missing.length > 0) {
    process.stderr.write(`ambient-waypoint: unknown: ${missing.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  let redisAddress = o.redisAddress;
  if (!redisAddress && process.env['REDIS_ADDRESS']) {
    const env = parseHostPort(process.env['REDIS_ADDRESS']);
    if (!env) {
      process.stderr.write(`ambient-waypoint: REDIS_ADDRESS ${JSON.stringify(process.env['REDIS_ADDRESS'])} is not host:port\n`);
      process.exit(2);
    }
    redisAddress = env;
  }
  const serviceAccount = o.serviceAccount ?? process.env['SERVICE_ACCOUNT'] ?? gateway!;

  let stopping = false;
  const abort = new AbortController();
  let waypoint: Waypoint | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    log.info({ signal }, 'waypoint: draining');
    (waypoint?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    const api = o.rootsFile && o.controllerAddress ? undefined : await loadKubeAccess();
    const roots = o.rootsFile ? [await readFile(o.rootsFile, 'utf8')] : [await untilDone(() => readRoots(api!, o.controllerNamespace), 'the mesh roots', log, abort.signal, RETRY_MS)];
    const address = o.controllerAddress ?? (await untilDone(() => resolveController(api!, o), 'the controller Service', log, abort.signal, RETRY_MS));
    const tracer = await createTracer(tracingConfigFromEnv(process.env), { serviceName: 'ambient-waypoint', resource: { 'k8s.namespace.name': namespace!, 'k8s.pod.name': process.env['POD_NAME'] ?? '' }, logger: log });
    if (stopping) return;
    waypoint = await startWaypoint({
      namespace: namespace!,
      serviceAccount,
      gateway: gateway!,
      node: node!,
      trustDomain: o.trustDomain,
      clusterDomain: o.clusterDomain,
      controller: {
        address,
        identity: o.controllerName ?? `${o.controllerService}.${o.controllerNamespace}.svc`,
        roots,
        token: async () => (await readFile(o.tokenFile, 'utf8')).trim(),
      },
      drainTimeoutMs: o.drainMs,
      ...(redisAddress && { redisAddress }),
      tracer,
      logger: log,
    });
    log.info({ waypoint: waypoint.self, controller: address }, 'waypoint: started');
  } catch (err) {
    if (stopping) return;
    log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, 'waypoint: failed to start');
    process.stderr.write(`ambient-waypoint: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * The controller's 15012 address: CONTROLLER_ADDRESS (the template sets it) when it is an
 * IP, or the cluster IP of the Service it names (`<service>.<namespace>.svc[...]:port`:
 * a waypoint pod is outside the mesh, so no mesh DNS proxy answers for it), else the
 * controller Service named by the flags.
 */
async function resolveController(api: KubeAccess, o: Flags): Promise<{ host: string; port: number }> {
  const env = process.env['CONTROLLER_ADDRESS'] ? parseHostPort(process.env['CONTROLLER_ADDRESS']) : undefined;
  if (env && isIP(env.host) !== 0) return env;
  const svc = env && /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\..*)?$/.exec(env.host);
  if (svc) return { ...(await controllerAddress(api, svc[2]!, svc[1]!)), port: env.port };
  if (env) return env;
  return controllerAddress(api, o.controllerNamespace, o.controllerService);
}

await main(process.argv);
