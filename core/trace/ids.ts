// Random trace and span ids for W3C Trace Context, drawn from one pooled buffer of
// CSPRNG bytes instead of a `randomBytes` call (and its Buffers) per id: one draw serves
// 256 traces (DESIGN.md section 10; docs/performance.md "Every core, less per connection").
// Shared by core/hbone (the CONNECT's traceparent) and core/trace (spans).
import { randomBytes } from 'node:crypto';

/** Random bytes drawn at once for ids (24 per trace: a 16-byte trace id and an 8-byte span id). */
export const TRACE_ID_POOL_BYTES = 24 * 256;

let idPool = Buffer.alloc(0);
let idPoolAt = 0;

/** `bytes` random bytes as lower-case hex. */
export function randomHex(bytes: number): string {
  if (idPoolAt + bytes > idPool.length) {
    idPool = randomBytes(TRACE_ID_POOL_BYTES);
    idPoolAt = 0;
  }
  const hex = idPool.toString('hex', idPoolAt, idPoolAt + bytes);
  idPoolAt += bytes;
  return hex;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** A new 16-byte trace id (never all zeros, which W3C Trace Context reserves as invalid). */
export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE_ID) id = randomHex(16);
  return id;
}

/** A new 8-byte span id (never all zeros). */
export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN_ID) id = randomHex(8);
  return id;
}
