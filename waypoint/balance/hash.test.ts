import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash53, xxhash64Hex } from './hash.js';

// XXH64 with BigInt, straight from the specification: the reference the fast version must match.
const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n, P2 = 14029467366897019727n, P3 = 1609587929392839161n, P4 = 9650029242287828579n, P5 = 2870177450012600261n;
const rotl = (x: bigint, r: number) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M;
function reference(b: Uint8Array, seed: bigint): string {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const r64 = (o: number) => dv.getBigUint64(o, true);
  const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31) * P1) & M;
  const merge = (acc: bigint, v: bigint) => ((acc ^ round(0n, v)) * P1 + P4) & M;
  let i = 0;
  let h: bigint;
  if (b.length >= 32) {
    let v1 = (seed + P1 + P2) & M, v2 = (seed + P2) & M, v3 = seed, v4 = (seed - P1) & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, r64(i)); v2 = round(v2, r64(i + 8)); v3 = round(v3, r64(i + 16)); v4 = round(v4, r64(i + 24));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else h = (seed + P5) & M;
  h = (h + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) h = (rotl(h ^ round(0n, r64(i)), 27) * P1 + P4) & M;
  if (i + 4 <= b.length) { h = (rotl(h ^ ((BigInt(dv.getUint32(i, true)) * P1) & M), 23) * P2 + P3) & M; i += 4; }
  for (; i < b.length; i++) h = (rotl(h ^ ((BigInt(b[i]!) * P5) & M), 11) * P1) & M;
  h ^= h >> 33n; h = (h * P2) & M; h ^= h >> 29n; h = (h * P3) & M; h ^= h >> 32n;
  return h.toString(16).padStart(16, '0');
}

test('xxhash64_matches_the_published_test_vectors', () => {
  assert.equal(xxhash64Hex(''), 'ef46db3751d8e999');
  assert.equal(xxhash64Hex('abc'), '44bc2cf5ad770999');
});

test('xxhash64_matches_the_bigint_reference_for_every_length_and_seed', () => {
  for (let n = 0; n <= 100; n++) {
    for (const seed of [0, 1, 0x9e3779b1, 0xffffffff]) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 131 + n * 7 + seed) & 255;
      assert.equal(xxhash64Hex(b, seed), reference(b, BigInt(seed)), `length ${n} seed ${seed}`);
    }
  }
});

test('hash53_is_the_top_53_bits_of_xxhash64', () => {
  for (const k of ['', 'a', '10.0.0.1:8080_0', 'user-12345', 'x'.repeat(70)]) {
    const full = BigInt(`0x${xxhash64Hex(k)}`);
    assert.equal(hash53(k), Number(full >> 11n), k);
    assert.ok(Number.isSafeInteger(hash53(k)));
  }
});

test('hash53_hashes_the_utf8_bytes_of_non_ascii_keys', () => {
  const k = 'héllo wörld ✓ 𝄞';
  assert.equal(hash53(k), Number(BigInt(`0x${xxhash64Hex(new TextEncoder().encode(k))}`) >> 11n));
  const long = 'é'.repeat(20_000); // beyond the scratch buffer
  assert.equal(hash53(long), Number(BigInt(`0x${xxhash64Hex(new TextEncoder().encode(long))}`) >> 11n));
});

test('hash53_with_a_seed_differs_from_seed_zero', () => assert.notEqual(hash53('10.0.0.1:8080', 0), hash53('10.0.0.1:8080', 1)));

test('hash53_spreads_similar_keys_evenly_over_buckets', () => {
  const buckets = new Array(16).fill(0);
  for (let i = 0; i < 16_000; i++) buckets[Math.floor(hash53(`user-${i}`) / 2 ** 49)]++;
  for (const b of buckets) assert.ok(b > 1000 * 0.9 && b < 1000 * 1.1, `bucket count ${b} not within 10% of 1000`);
});
