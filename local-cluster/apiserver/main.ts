// The local API server as a process of its own:
//   node dist/local-cluster/apiserver/main.js --redis-port 6379 --port 6443
// Logs JSON lines (pino) on stdout; the line with msg "ready" carries the URL. SIGTERM or
// SIGINT ends open watches, drains requests and exits 0.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseAdminToken } from './admin-token.js';
import { createLogger } from '../../core/log.js';
import { APISERVER_DEFAULTS } from './limits.js';
import { startApiServer } from './server.js';

const int = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
  return n;
};

const o = new Command('apiserver')
  .description('the local cluster API server: the Kubernetes REST API over objects kept in Redis')
  .option('--redis-host <host>', 'Redis host', '127.0.0.1')
  .requiredOption('--redis-port <port>', 'Redis port', int(1, 65535))
  .option('--redis-prefix <prefix>', 'key prefix in Redis', 'k8s:')
  .option('--host <address>', 'listen address', '127.0.0.1')
  .option('--port <port>', 'listen port (0: any free port)', int(0, 65535), 6443)
  .option('--history-size <n>', 'watch events kept in Redis for resuming watches', int(1, 10_000_000), APISERVER_DEFAULTS.historySize)
  .option('--bookmark-interval-ms <ms>', 'interval between watch bookmarks', int(10, 3_600_000), APISERVER_DEFAULTS.bookmarkIntervalMs)
  .option('--admin-token-file <file>', "the cluster admin's bearer token (then loopback peers are not trusted without one)")
  .option('--watch-timeout-seconds <s>', 'server-side end of a watch that set no timeoutSeconds', int(1, 86_400), APISERVER_DEFAULTS.watchTimeoutSeconds)
  .parse(process.argv)
  .opts<{ redisHost: string; redisPort: number; redisPrefix: string; host: string; port: number; historySize: number; bookmarkIntervalMs: number; watchTimeoutSeconds: number; adminTokenFile?: string }>();

const logger = createLogger('apiserver');

try {
  const api = await startApiServer({
    redis: { host: o.redisHost, port: o.redisPort },
    prefix: o.redisPrefix,
    host: o.host,
    port: o.port,
    historySize: o.historySize,
    bookmarkIntervalMs: o.bookmarkIntervalMs,
    watchTimeoutSeconds: o.watchTimeoutSeconds,
    ...(o.adminTokenFile !== undefined ? { adminToken: parseAdminToken(readFileSync(o.adminTokenFile, 'utf8'), o.adminTokenFile) } : {}),
    logger,
  });
  logger.info({ url: api.url, port: api.port }, 'ready');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  logger.fatal({ err: (err as Error).message }, 'api server failed to start');
  process.exitCode = 1;
}
