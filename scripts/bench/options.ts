// Command-line flags shared by the benchmarks (hbone.ts, mesh.ts): the ones both take, and
// the bounded-number check every numeric flag goes through.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The flags both benchmarks take; each adds its own (and its own defaults and bounds). */
export const COMMON_FLAGS = {
  quick: { type: 'boolean', default: false },
  mb: { type: 'string' },
  'par-mb': { type: 'string' },
  streams: { type: 'string' },
  iters: { type: 'string' },
  seconds: { type: 'string' },
  'setup-iters': { type: 'string' },
  repeat: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Flags = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` against COMMON_FLAGS and `extra`; on --help prints `help` and exits. */
export function parseFlags<E extends Flags>(argv: string[], extra: E, help: string) {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_FLAGS, ...extra } });
  if ((values as { help?: boolean }).help) {
    console.log(help);
    process.exit(0);
  }
  return values;
}

/** The number given for --`name` (`v`), `dflt` when not given; throws unless within [min, max]. */
export function numberFlag(name: string, v: string | undefined, dflt: number, min = 1, max = 1e6): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in [${min}, ${max}], got ${v}`);
  return n;
}

/** What the COMMON_FLAGS set (the benchmarks differ in their defaults and bounds). */
export interface CommonOptions {
  /** MiB sent on the single stream. */
  mb: number;
  /** MiB sent by each parallel stream. */
  parMb: number;
  streams: number;
  /** Ping-pong round-trips ... */
  iters: number;
  /** ... or at most this many seconds. */
  seconds: number;
  /** New-connection samples. */
  setupIters: number;
  repeat: number;
  /** Seconds allowed for one throughput transfer. */
  timeoutS: number;
}

/** The COMMON_FLAGS as parseFlags returns them. */
type CommonValues = { quick: boolean } & { [K in Exclude<keyof typeof COMMON_FLAGS, 'quick' | 'help'>]?: string };

/** Where the benchmarks' defaults and bounds of the common numbers differ. */
export interface CommonBounds {
  /** Upper bound of --mb and --par-mb. */
  mbMax: number;
  /** Default and upper bound of --streams. */
  streams: number;
  streamsMax: number;
  /** Default (without --quick) and upper bound of --iters. */
  iters: number;
  itersMax: number;
  secondsMax: number;
  setupItersMin: number;
  repeatMax: number;
}

/**
 * The common numbers from parsed flags. Without --quick: 200 MiB single, 32 MiB per parallel
 * stream, `bounds.iters` round-trips or 10 s, 200 new connections, 3 repetitions; with
 * --quick: 32 MiB, 4 MiB, 1000 round-trips or 3 s, 50 new connections, 1 repetition.
 */
export function commonOptions(values: CommonValues, bounds: CommonBounds): CommonOptions {
  const q = values.quick;
  return {
    mb: numberFlag('mb', values.mb, q ? 32 : 200, 1, bounds.mbMax),
    parMb: numberFlag('par-mb', values['par-mb'], q ? 4 : 32, 1, bounds.mbMax),
    streams: numberFlag('streams', values.streams, bounds.streams, 1, bounds.streamsMax),
    iters: numberFlag('iters', values.iters, q ? 1000 : bounds.iters, 1, bounds.itersMax),
    seconds: numberFlag('seconds', values.seconds, q ? 3 : 10, 0.1, bounds.secondsMax),
    setupIters: numberFlag('setup-iters', values['setup-iters'], q ? 50 : 200, bounds.setupItersMin, 100_000),
    repeat: numberFlag('repeat', values.repeat, q ? 1 : 3, 1, bounds.repeatMax),
    timeoutS: numberFlag('timeout', values.timeout, 120, 1, 3600),
  };
}
