// W3C Baggage (https://www.w3.org/TR/baggage/): the `baggage` header, parsed and formatted.
// Pure. Grammar (section 3.2.1): list-member = key OWS "=" OWS value *( OWS ";" OWS
// property ); key = token (RFC 7230); value = *baggage-octet, percent-encoded as UTF-8.
// Limits (3.3): at most 64 list-members and 8192 bytes; a platform that exceeds them must
// drop whole list-members, never truncate one. A header that does not parse is discarded
// whole.

export interface BaggageMember {
  key: string;
  /** The decoded value. */
  value: string;
  /** Properties as they came (`;k=v` or `;k`), kept for propagation. */
  properties: string[];
}

/** List-members a baggage header may carry (W3C Baggage 3.3.1). */
export const BAGGAGE_MAX_MEMBERS = 64;
/** Bytes a baggage header may be (W3C Baggage 3.3.2). */
export const BAGGAGE_MAX_BYTES = 8192;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E (no space, '"', ',', ';', '\\').
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const PROPERTY = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)?$/;

const trim = (s: string) => s.replace(/^[ \t]+|[ \t]+$/g, '');

/** The header's members, or undefined when absent or malformed; members beyond the limits are dropped from the end. */
export function parseBaggage(header: string | undefined): BaggageMember[] | undefined {
  if (header === undefined) return undefined;
  const out: BaggageMember[] = [];
  for (const raw of header.split(',')) {
    const member = trim(raw);
    if (member === '') continue;
    const [kv, ...props] = member.split(';');
    const eq = kv!.indexOf('=');
    if (eq <= 0) return undefined;
    const key = trim(kv!.slice(0, eq));
    const encoded = trim(kv!.slice(eq + 1));
    if (!TOKEN.test(key) || !VALUE.test(encoded)) return undefined;
    let value: string;
    try {
      value = decodeURIComponent(encoded);
    } catch {
      return undefined;
    }
    const properties = props.map(trim);
    if (properties.some((p) => !PROPERTY.test(p))) return undefined;
    out.push({ key, value, properties });
  }
  return limitBaggage(out);
}

function encodeMember(m: BaggageMember): string {
  return [`${m.key}=${encodeURIComponent(m.value)}`, ...m.properties].join(';');
}

function limitBaggage(members: BaggageMember[]): BaggageMember[] | undefined {
  const kept = members.slice(0, BAGGAGE_MAX_MEMBERS);
  let bytes = kept.reduce((n, m) => n + Buffer.byteLength(encodeMember(m)), 0) + Math.max(0, kept.length - 1);
  while (kept.length > 0 && bytes > BAGGAGE_MAX_BYTES) {
    bytes -= Buffer.byteLength(encodeMember(kept.pop()!)) + (kept.length > 0 ? 1 : 0);
  }
  return kept.length === 0 ? undefined : kept;
}

/** The members as a header value (values percent-encoded), within the limits; undefined when empty. */
export function formatBaggage(members: readonly BaggageMember[]): string | undefined {
  const kept = limitBaggage([...members]);
  return kept === undefined ? undefined : kept.map(encodeMember).join(',');
}
