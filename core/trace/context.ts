// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and
// `tracestate` headers, parsed and formatted. Pure: strings in, data out.
//
// traceparent (section 3.2): `version-traceid-parentid-flags`, lower-case hex only.
// - version `ff` is invalid; version `00` must be exactly 55 characters; a higher version
//   is parsed as 00 from its first four fields, and may carry more after a `-` (3.2.4,
//   "Versioning of traceparent").
// - an all-zero trace id or parent id is invalid (3.2.2.3, 3.2.2.4).
// - flags: only `sampled` (bit 0) is defined for 00 here; other bits are not propagated,
//   as the spec asks of a version-00 implementation (3.2.2.5).
// tracestate (section 3.3): comma-separated list-members `key=value`, at most 32, keys
// unique, keys and values in the spec's grammar (3.3.1.3); a header that breaks any of
// these is discarded whole (3.3.1.1: "the vendor MUST discard the tracestate" when it
// cannot be parsed), while the traceparent stays valid.

export interface TraceParent {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero: the caller's span (our parent). */
  spanId: string;
  /** The sampled flag (trace-flags bit 0). */
  sampled: boolean;
}

/** The most list-members a tracestate may carry (W3C Trace Context 3.3.1.1). */
export const TRACESTATE_MAX_MEMBERS = 32;
/** tracestate length a vendor must propagate at least, and the most we propagate (3.3.1.5). */
export const TRACESTATE_MAX_LENGTH = 512;

const HEX2 = /^[0-9a-f]{2}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE = /^0{32}$/;
const ZERO_SPAN = /^0{16}$/;

/** A traceparent header's value, or undefined when it is missing or invalid. */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v.length < 55) return undefined;
  const version = v.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff' || v[2] !== '-') return undefined;
  if (version === '00' ? v.length !== 55 : v.length > 55 && v[55] !== '-') return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (v[35] !== '-' || v[52] !== '-') return undefined;
  if (!TRACE_ID.test(traceId) || ZERO_TRACE.test(traceId)) return undefined;
  if (!SPAN_ID.test(spanId) || ZERO_SPAN.test(spanId)) return undefined;
  if (!HEX2.test(flags)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${p.sampled ? '01' : '00'}`;
}

// 3.3.1.3.1 key: simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" );
// multi-tenant-key = tenant-id "@" system-id, tenant-id = ( lcalpha / DIGIT ) 0*240( ... ),
// system-id = lcalpha 0*13( ... ).
const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// 3.3.1.3.2 value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

export interface TraceStateMember {
  key: string;
  value: string;
}

/** A tracestate header's members in order, or undefined when it is absent or invalid (discard it). */
export function parseTracestate(value: string | undefined): TraceStateMember[] | undefined {
  if (value === undefined) return undefined;
  const out: TraceStateMember[] = [];
  const seen = new Set<string>();
  for (const raw of value.split(',')) {
    // Optional whitespace around members; empty members are allowed and ignored (3.3.1.1).
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!(SIMPLE_KEY.test(key) || TENANT_KEY.test(key)) || !VALUE.test(val)) return undefined;
    if (seen.has(key)) return undefined;
    seen.add(key);
    out.push({ key, value: val });
    if (out.length > TRACESTATE_MAX_MEMBERS) return undefined;
  }
  return out.length === 0 ? undefined : out;
}

/**
 * The members as a header value, at most TRACESTATE_MAX_LENGTH characters: when longer,
 * members longer than 128 characters are dropped first, then members from the end, as
 * the spec's truncation rule says (3.3.1.5).
 */
export function formatTracestate(members: readonly TraceStateMember[]): string | undefined {
  let list = members.map((m) => `${m.key}=${m.value}`);
  const size = (l: string[]) => l.reduce((n, s) => n + s.length, 0) + Math.max(0, l.length - 1);
  if (size(list) > TRACESTATE_MAX_LENGTH) list = list.filter((s) => s.length <= 128);
  while (list.length > 0 && size(list) > TRACESTATE_MAX_LENGTH) list.pop();
  return list.length === 0 ? undefined : list.join(',');
}

/** A tracestate header cleaned for forwarding: valid and within the length limit, else undefined. */
export function normalizeTracestate(value: string | undefined): string | undefined {
  const members = parseTracestate(value);
  return members === undefined ? undefined : formatTracestate(members);
}
