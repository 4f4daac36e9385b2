// The 64-bit hash of consistent hashing: XXH64 (xxHash, the hash Envoy's RING_HASH and
// MAGLEV use by default), computed on two 32-bit halves with Math.imul and 16-bit limbs:
// BigInt cost ~2 µs a key and node:crypto's md5 as much (measured); this, 0.14-0.5 µs
// for a 10-character key on our loaded 2-core machine (bench:balance, docs/performance.md).
//
// Ring positions and table slots are taken from the top 53 bits (a JavaScript number holds
// them exactly), so a ring is a Float64Array and a lookup a binary search over numbers.
// The hash is the same in every waypoint replica (no random seed): every replica sends a
// key to the same endpoint.
//
// Pure; the only state is a scratch buffer for the UTF-8 bytes and the two result halves.

const TWO32 = 4294967296;

// Primes, as [hi, lo].
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// The result of the helpers below: [hi, lo]. A typed array, because a module variable
// holding a uint32 above 2^30 is a heap number, allocated on every write (profiled: GC
// took a third of the time).
const R = new Uint32Array(2);

/** R = (ah:al * bh:bl) mod 2^64. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  // The low word's full 64-bit product from 16-bit limbs (every partial sum < 2^32).
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const m1 = a1 * b0 + ((a0 * b0) >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  R[1] = Math.imul(al, bl) >>> 0;
  R[0] = (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** R = a + b mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  R[1] = lo >>> 0;
  R[0] = (ah + bh + (lo >= TWO32 ? 1 : 0)) >>> 0;
}

/** R = rotate-left(a, r), 0 < r < 64. */
function rotl(ah: number, al: number, r: number): void {
  if (r >= 32) {
    const t = ah;
    ah = al;
    al = t;
    r -= 32;
  }
  if (r === 0) {
    R[0] = ah;
    R[1] = al;
    return;
  }
  R[0] = ((ah << r) | (al >>> (32 - r))) >>> 0;
  R[1] = ((al << r) | (ah >>> (32 - r))) >>> 0;
}

/** R = round(acc, input) = rotl(acc + input * P2, 31) * P1. */
function round(ah: number, al: number, ih: number, il: number): void {
  mul(ih, il, P2H, P2L);
  add(ah, al, R[0], R[1]);
  rotl(R[0], R[1], 31);
  mul(R[0], R[1], P1H, P1L);
}

function read32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** XXH64 of `bytes[0, len)` with a 32-bit seed; leaves the result in R[0]:R[1]. */
function xxh64(b: Uint8Array, len: number, seed: number): void {
  let i = 0;
  let hh: number, hl: number;
  if (len >= 32) {
    add(0, seed, P1H, P1L);
    add(R[0], R[1], P2H, P2L);
    let v1h = R[0], v1l = R[1];
    add(0, seed, P2H, P2L);
    let v2h = R[0], v2l = R[1];
    let v3h = 0, v3l = seed >>> 0;
    add(0, seed, ~P1H >>> 0, ~P1L >>> 0); // seed - P1 = seed + ~P1 + 1
    add(R[0], R[1], 0, 1);
    let v4h = R[0], v4l = R[1];
    while (i + 32 <= len) {
      round(v1h, v1l, read32(b, i + 4), read32(b, i)); v1h = R[0]; v1l = R[1];
      round(v2h, v2l, read32(b, i + 12), read32(b, i + 8)); v2h = R[0]; v2l = R[1];
      round(v3h, v3l, read32(b, i + 20), read32(b, i + 16)); v3h = R[0]; v3l = R[1];
      round(v4h, v4l, read32(b, i + 28), read32(b, i + 24)); v4h = R[0]; v4l = R[1];
      i += 32;
    }
    rotl(v1h, v1l, 1); hh = R[0]; hl = R[1];
    rotl(v2h, v2l, 7); add(hh, hl, R[0], R[1]); hh = R[0]; hl = R[1];
    rotl(v3h, v3l, 12); add(hh, hl, R[0], R[1]); hh = R[0]; hl = R[1];
    rotl(v4h, v4l, 18); add(hh, hl, R[0], R[1]); hh = R[0]; hl = R[1];
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]] as const) {
      round(0, 0, vh, vl);
      hh = (hh ^ R[0]) >>> 0;
      hl = (hl ^ R[1]) >>> 0;
      mul(hh, hl, P1H, P1L);
      add(R[0], R[1], P4H, P4L);
      hh = R[0]; hl = R[1];
    }
  } else {
    add(0, seed, P5H, P5L);
    hh = R[0]; hl = R[1];
  }
  add(hh, hl, Math.floor(len / TWO32), len >>> 0);
  hh = R[0]; hl = R[1];
  while (i + 8 <= len) {
    round(0, 0, read32(b, i + 4), read32(b, i));
    rotl((hh ^ R[0]) >>> 0, (hl ^ R[1]) >>> 0, 27);
    mul(R[0], R[1], P1H, P1L);
    add(R[0], R[1], P4H, P4L);
    hh = R[0]; hl = R[1];
    i += 8;
  }
  if (i + 4 <= len) {
    mul(0, read32(b, i), P1H, P1L);
    rotl((hh ^ R[0]) >>> 0, (hl ^ R[1]) >>> 0, 23);
    mul(R[0], R[1], P2H, P2L);
    add(R[0], R[1], P3H, P3L);
    hh = R[0]; hl = R[1];
    i += 4;
  }
  while (i < len) {
    mul(0, b[i]!, P5H, P5L);
    rotl((hh ^ R[0]) >>> 0, (hl ^ R[1]) >>> 0, 11);
    mul(R[0], R[1], P1H, P1L);
    hh = R[0]; hl = R[1];
    i++;
  }
  // Avalanche.
  avalanche(hh, (hl ^ (hh >>> 1)) >>> 0); // h ^= h >> 33: only the low word changes
}

// The rest of the avalanche, entered after h ^= h >> 33: h *= P2; h ^= h >> 29; h *= P3;
// h ^= h >> 32.
function avalanche(hh: number, hl: number): void {
  mul(hh, hl, P2H, P2L);
  let h = R[0], l = R[1];
  l = (l ^ ((l >>> 29) | (h << 3))) >>> 0;
  h = (h ^ (h >>> 29)) >>> 0;
  mul(h, l, P3H, P3L);
  h = R[0];
  l = R[1];
  R[1] = (l ^ h) >>> 0;
  R[0] = h;
}

const encoder = new TextEncoder();
const scratch = new Uint8Array(16 * 1024);
let bytes: Uint8Array = scratch;

/** Puts the key's UTF-8 bytes in `bytes` and returns their count (ASCII copied directly). */
function utf8(key: string): number {
  const n = key.length;
  if (n <= scratch.length) {
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) break;
      scratch[i] = c;
    }
    if (i === n) {
      bytes = scratch;
      return n;
    }
    if (n * 3 <= scratch.length) {
      bytes = scratch;
      return encoder.encodeInto(key, scratch).written;
    }
  }
  bytes = encoder.encode(key);
  return bytes.length;
}

/** XXH64 of the key's UTF-8 bytes, as 16 hex digits (for tests against the reference). */
export function xxhash64Hex(key: string | Uint8Array, seed = 0): string {
  if (typeof key === 'string') {
    const len = utf8(key);
    xxh64(bytes, len, seed >>> 0);
  } else xxh64(key, key.length, seed >>> 0);
  return R[0].toString(16).padStart(8, '0') + R[1].toString(16).padStart(8, '0');
}

/** The top 53 bits of XXH64(key, seed) as a whole number in [0, 2^53): a ring position. */
export function hash53(key: string, seed = 0): number {
  const len = utf8(key);
  xxh64(bytes, len, seed >>> 0);
  return R[0] * 2097152 + (R[1] >>> 11);
}
