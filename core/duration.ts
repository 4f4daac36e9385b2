// Duration text ("30s", "500ms", "1h30m", "1.5s", "1d") to milliseconds: the one parser of
// every flag, environment variable and resource field that holds a duration. Pure.
//
// What differs between callers is an option, never a copy: the units a caller accepts,
// decimals (Istio's protobuf Duration has them, GEP-2257 does not), a bare number's unit,
// the bounds, and GEP-2257's strictness for Gateway API fields. Every error names where the
// value came from (a flag, a variable, a field path: the caller's `where`) and what is
// accepted, and is built by the caller's `error` so that it surfaces as that caller's own
// kind of error (a route's condition, a policy's status, a command-line error).
import { quoteValue } from './quote-value.js';

export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd';

export const UNIT_MS: Readonly<Record<DurationUnit, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest delay a Node timer keeps; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DurationOptions {
  /** The units accepted (default ms, s, m, h). */
  units?: readonly DurationUnit[];
  /** Decimal amounts ("1.5s", "0.25h"); the total is rounded up to whole ms. */
  fractions?: boolean;
  /** The Gateway API's Duration (GEP-2257): `^([0-9]{1,5}(h|m|s|ms)){1,4}$`, exactly;
   * `units`, `fractions`, `bareUnit` and `trim` are then not read. */
  gatewayApi?: boolean;
  /** A number alone ("90") is taken in this unit. */
  bareUnit?: DurationUnit;
  /** White space around the text is dropped (a flag or a variable, not a field). */
  trim?: boolean;
  /** The shortest accepted, ms (default 0). */
  min?: number;
  /** The longest accepted, ms (default Number.MAX_SAFE_INTEGER). */
  max?: number;
  /** What a message says is accepted after "is not a duration" (default: examples in the
   * accepted units, or GEP-2257's rule). */
  accepted?: string;
  /** How a message quotes the value (default: JSON, cut at 64 characters). */
  show?: (v: unknown) => string;
  /** The error thrown (default DurationError); `why` is the message without `where`. */
  error?: (where: string, why: string) => Error;
}

/** A value that is not an accepted duration; the message is `<where>: <why>`. */
export class DurationError extends Error {
  constructor(
    readonly where: string,
    readonly why: string,
  ) {
    super(`${where}: ${why}`);
    this.name = 'DurationError';
  }
}

/** Istio's protobuf Duration as the mesh's own kinds write it ("250ms", "1.5s", "1m30s"). */
export const ISTIO_DURATION: DurationOptions = { fractions: true, accepted: 'such as "250ms" or "30s"' };

const DEFAULT_UNITS: readonly DurationUnit[] = ['ms', 's', 'm', 'h'];
const GATEWAY_UNITS: readonly DurationUnit[] = ['h', 'm', 's', 'ms'];
const GATEWAY_RULE = '(GEP-2257: 1 to 4 of <1-5 digits><h|m|s|ms>, e.g. "10s", "1h2m3s", "500ms")';
/** One part: digits, optional decimals, a unit ("ms" tried before "m"). */
const PART = /(\d+)(?:\.(\d+))?(ms|s|m|h|d)/y;
const BARE = /^\d+(?:\.\d+)?$/;
const UNIT_NAMES: Record<DurationUnit, string> = { ms: 'milliseconds', s: 'seconds', m: 'minutes', h: 'hours', d: 'days' };

/** Examples in the accepted units ("30s, 10m, 2h" first, as the command line always said). */
function examples(units: readonly DurationUnit[], fractions: boolean, bareUnit: DurationUnit | undefined): string {
  const has = (...u: DurationUnit[]) => u.every((x) => units.includes(x));
  const list = [has('s') && '30s', has('m') && '10m', has('h') && '2h', has('h', 'm') && '1h30m', has('ms') && '500ms', has('d') && '1d', fractions && has('s') && '1.5s'].filter(Boolean);
  const bare = bareUnit ? `; a number alone is ${UNIT_NAMES[bareUnit]}` : '';
  return `(e.g. ${list.join(', ')}${bare})`;
}

/** `ms` in the largest accepted unit that holds it whole ("30d", "1h", "50ms"). */
function formatBound(ms: number, units: readonly DurationUnit[]): string {
  const unit = [...units].sort((a, b) => UNIT_MS[b] - UNIT_MS[a]).find((u) => ms % UNIT_MS[u] === 0);
  return unit ? `${ms / UNIT_MS[unit]}${unit}` : `${ms}ms`;
}

/** Milliseconds in parts "<digits>[.<digits>]<unit>" that cover all of `text`, or undefined. */
function sum(text: string, units: readonly DurationUnit[], fractions: boolean, strict: boolean): number | undefined {
  if (text === '') return undefined;
  let whole = 0;
  let fraction = 0;
  let parts = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    const [, digits, decimals, unit] = m as unknown as [string, string, string | undefined, DurationUnit];
    if (!units.includes(unit) || (decimals !== undefined && !fractions)) return undefined;
    if (strict && (++parts > 4 || digits.length > 5)) return undefined;
    whole += Number(digits) * UNIT_MS[unit];
    // The decimals as a whole number over a power of ten: "0.27m" is 16200ms, not 16200.000000000002.
    if (decimals !== undefined) fraction += (Number(decimals) * UNIT_MS[unit]) / 10 ** decimals.length;
  }
  return whole + Math.ceil(fraction);
}

/** `v` (a string) in milliseconds; throws `o.error` (else DurationError) naming `where`. */
export function parseDuration(where: string, v: unknown, o: DurationOptions = {}): number {
  const strict = o.gatewayApi === true;
  const units = strict ? GATEWAY_UNITS : (o.units ?? DEFAULT_UNITS);
  const fractions = !strict && o.fractions === true;
  const bareUnit = strict ? undefined : o.bareUnit;
  const show = o.show ?? ((x: unknown) => quoteValue(x, 64));
  const fail = (why: string): never => {
    throw o.error ? o.error(where, why) : new DurationError(where, why);
  };
  let ms: number | undefined;
  if (typeof v === 'string') {
    let text = o.trim && !strict ? v.trim() : v;
    if (bareUnit && BARE.test(text)) text += bareUnit;
    ms = sum(text, units, fractions, strict);
  }
  if (ms === undefined) return fail(`${show(v)} is not a duration ${o.accepted ?? (strict ? GATEWAY_RULE : examples(units, fractions, bareUnit))}`);
  const min = o.min ?? 0;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  if (ms < min) fail(min <= 1 ? `${show(v)} must be longer than zero` : `${show(v)} is shorter than ${formatBound(min, units)}`);
  if (!(ms <= max)) fail(`${show(v)} is longer than ${formatBound(max, units)}`);
  return ms;
}
