// Logging setup shared by every program: pino, JSON lines on stdout, level from the
// environment (LOG_LEVEL) unless the program sets one. Libraries take a logger as an
// option and default to a silent one, so tests and embedders stay quiet.
//
// Lines are written asynchronously (pino's asynchronous destination): a log call
// serialises the line and queues it; the write(2) happens off the caller's path, and lines
// queued meanwhile leave together. Nothing waits for a fill level, so a line is out within
// the event-loop turn or the write in flight. Whatever is still queued is written
// synchronously when the process exits (process.exit, the end of the event loop, an
// uncaught exception, or a SIGTERM handler that exits), so no line is lost on a clean stop.
import { pino, type Logger } from 'pino';

export type { Logger };

let stdoutDestination: ReturnType<typeof pino.destination> | undefined;

/** The one asynchronous stdout destination of this process, flushed on exit. */
function stdout(): ReturnType<typeof pino.destination> {
  if (stdoutDestination === undefined) {
    const dest = pino.destination({ dest: 1, sync: false });
    stdoutDestination = dest;
    process.once('exit', () => flushLogs());
  }
  return stdoutDestination;
}

/** Writes out every queued log line now (synchronously); a no-op when nothing is queued. */
export function flushLogs(): void {
  try {
    stdoutDestination?.flushSync();
  } catch {
    // stdout gone (closed pipe) or not ready: nothing more can be written.
  }
}

export function createLogger(name: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { component: name } }, stdout());
}

export const silentLogger: Logger = pino({ level: 'silent' });
