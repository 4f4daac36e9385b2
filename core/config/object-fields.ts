// Reading a hand-written cluster object field by field, for the compilers of the mesh's own
// kinds (core/config/request-authn.ts, core/config/traffic-policy-compile.ts). Pure. Each
// reader throws a FieldFault whose message names the field path and the value
// (`spec.jwtRules[0].issuer: 42 is not a string`); a compiler catches it at its top and
// returns the message, so a malformed object is rejected alone.
//
// The bounds (how long a quoted value may be, how many entries a list, how many
// characters a string) are the calling compiler's own limits, given once to fieldReader.
import { ISTIO_DURATION, parseDuration } from '../duration.js';
import { quoteValue } from '../quote-value.js';

/** A fault in one field: the message names the path and the value. */
export class FieldFault extends Error {}

export type Obj = Record<string, unknown>;

export interface FieldReaderLimits {
  /** Characters of a value quoted in a message. */
  maxShownChars: number;
  /** Entries of a list when the caller names no other bound. */
  maxListItems: number;
  /** Characters of one string value. */
  maxValueChars: number;
}

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A Kubernetes object name (RFC 1123 subdomain). */
export const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

export function fault(path: string, why: string): FieldFault {
  return new FieldFault(`${path}: ${why}`);
}

export interface FieldReader {
  /** A value as a message quotes it: JSON, cut at maxShownChars. */
  show(v: unknown): string;
  obj(path: string, v: unknown): Obj;
  /** Refuses a field `o` holds that is not one of `known`. */
  unknownFields(path: string, o: Obj, known: readonly string[]): void;
  /** A list (absent: empty) of at most `max` entries. */
  list(path: string, v: unknown, max?: number): unknown[];
  /** A non-empty string of at most maxValueChars. */
  str(path: string, v: unknown): string;
  /** An HTTP header name, lower-cased. */
  headerName(path: string, v: unknown): string;
  /** true or false. */
  bool(path: string, v: unknown): boolean;
  /** A duration as Istio writes one ("250ms", "30s", "1m", "1h", "1.5s", "1m30s"), in whole
   * ms between `min` and `max`. */
  durationMs(path: string, v: unknown, min: number, max: number): number;
}

export function fieldReader(limits: FieldReaderLimits): FieldReader {
  const show = (v: unknown): string => quoteValue(v, limits.maxShownChars);
  const str = (path: string, v: unknown): string => {
    if (typeof v !== 'string') throw fault(path, `${show(v)} is not a string`);
    if (v === '') throw fault(path, 'is empty');
    if (v.length > limits.maxValueChars) throw fault(path, `is longer than ${limits.maxValueChars} characters`);
    return v;
  };
  return {
    show,
    obj(path, v) {
      if (!isObj(v)) throw fault(path, `${show(v)} is not an object`);
      return v;
    },
    unknownFields(path, o, known) {
      for (const k of Object.keys(o)) if (!known.includes(k)) throw fault(`${path}.${k}`, `is not a field of ${path.split('.').pop()?.replace(/\[\d+\]$/, '') ?? 'this object'} (known: ${known.join(', ')})`);
    },
    list(path, v, max = limits.maxListItems) {
      if (absent(v)) return [];
      if (!Array.isArray(v)) throw fault(path, `${show(v)} is not a list`);
      if (v.length > max) throw fault(path, `has ${v.length} entries, more than ${max}`);
      return v;
    },
    str,
    headerName(path, v) {
      const s = str(path, v);
      if (!HEADER_NAME.test(s)) throw fault(path, `${show(s)} is not a valid HTTP header name`);
      return s.toLowerCase();
    },
    bool(path, v) {
      if (typeof v !== 'boolean') throw fault(path, `${show(v)} is not true or false`);
      return v;
    },
    durationMs(path, v, min, max) {
      return parseDuration(path, v, { ...ISTIO_DURATION, min, max, show, error: fault });
    },
  };
}
