// What every sample program needs and nothing more: its identity from the downward API,
// a port from the environment, a dual-stack listener, durations, one-line logs and a
// graceful exit on SIGTERM/SIGINT. Node's standard library only, so images stay tiny.
import net from 'node:net';
import os from 'node:os';

/** The pod name: POD_NAME (downward API), else HOSTNAME (a pod's hostname is its name), else the host name. */
export function podName(): string {
  return process.env.POD_NAME || process.env.HOSTNAME || os.hostname();
}

/** One line on stdout. A closed stdout (EPIPE) never takes the program down. */
export function log(line: string): void {
  try {
    process.stdout.write(line + '\n');
  } catch {
    // nothing sensible to do
  }
}
process.stdout.on('error', () => {});

/** PORT from the environment (0 asks the kernel for a free port); exits 2 when invalid. */
export function portFromEnv(fallback: number): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    log(`invalid PORT ${JSON.stringify(raw)}: want an integer 0..65535`);
    process.exit(2);
  }
  return Number(raw);
}

/** "::ffff:10.0.0.1" -> "10.0.0.1"; other addresses unchanged; undefined -> "". */
export function normaliseAddress(address: string | undefined): string {
  if (!address) return '';
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

function listenOnce(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Listens on every address: `::` (dual-stack, IPv4 arrives IPv4-mapped) or, where the
 * kernel has no IPv6, 0.0.0.0. Logs `listening on :PORT` (the bound port, also for PORT=0)
 * as the program's first line and returns the port.
 */
export async function listenAll(server: net.Server, port: number, what: string): Promise<number> {
  let host = '::';
  try {
    await listenOnce(server, port, host);
  } catch (err) {
    if (!NO_IPV6.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    host = '0.0.0.0';
    await listenOnce(server, port, host);
  }
  const bound = (server.address() as net.AddressInfo).port;
  log(`listening on :${bound} (${host === '::' ? '[::]' : host}, ${what})`);
  return bound;
}

/**
 * Parses "200ms", "1.5s", "2m" or a bare number (in `bareUnit`) into milliseconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string, bareUnit: 'ms' | 's'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? bareUnit;
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/**
 * Runs `drain` on the first SIGTERM or SIGINT and exits 0 when it settles or after
 * `graceMs`, whichever comes first. A second signal exits at once (also 0).
 */
export function onShutdown(drain: () => Promise<void>, graceMs = 5000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again, exiting now`);
      process.exit(0);
    }
    stopping = true;
    log(`${signal}: shutting down (grace ${graceMs} ms)`);
    const timer = setTimeout(() => {
      log(`grace period over, closing what is left`);
      process.exit(0);
    }, graceMs);
    timer.unref();
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown: ${(err as Error)?.message ?? String(err)}`);
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
