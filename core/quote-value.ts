// A value as an error message quotes it ("10x" in quotes, 42, {"a":1}, nothing), so that
// every refusal of a field, flag or variable shows the value it refused the same way. Pure.

/** JSON (a string in quotes), `nothing` for undefined, cut at `maxChars` with "...". */
export function quoteValue(v: unknown, maxChars: number): string {
  let s: string;
  try {
    s = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > maxChars ? `${s.slice(0, maxChars)}...` : s;
}
