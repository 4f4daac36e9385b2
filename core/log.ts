// Logging setup shared by every program: pino, JSON lines on stdout, level from the
// environment (LOG_LEVEL) unless the program sets one. Libraries take a logger as an
// option and default to a silent one, so tests and embedders stay quiet.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { component: name } });
}

export const silentLogger: Logger = pino({ level: 'silent' });
