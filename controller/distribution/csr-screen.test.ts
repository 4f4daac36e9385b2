import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spiffeId } from '../../core/identity/spiffe.js';
import { createCsr, generateKeyPem } from '../../core/identity/x509.js';
import { forgedCsr } from '../../test/controller-csr-forge.js';
import { readTlv, screenCsr } from './csr-screen.js';

const ID = spiffeId('apps', 'reviews');

test('csr_screen_accepts_a_2048_bit_csr_signed_by_its_key', async () => {
  const csr = createCsr(await generateKeyPem(), ID);
  assert.deepEqual(screenCsr(csr, 4096), { ok: true, keyBits: 2048 });
});

test('csr_screen_refuses_a_key_above_the_limit_before_the_signature', () => {
  const r = screenCsr(forgedCsr(ID, { modulusBits: 8192 }), 4096);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'key');
  assert.match(!r.ok ? r.message : '', /8192 bits; at most 4096/);
});

test('csr_screen_refuses_an_exponent_other_than_65537_before_the_signature', () => {
  const started = performance.now();
  const r = screenCsr(forgedCsr(ID, { modulusBits: 4096, exponentBits: 4096 }), 4096);
  assert.equal(!r.ok && r.reason, 'key');
  assert.match(!r.ok ? r.message : '', /exponent must be 65537/);
  assert.ok(performance.now() - started < 1_000, 'refused without an exponentiation');
});

test('csr_screen_refuses_a_signature_that_does_not_match_the_key', () => {
  const r = screenCsr(forgedCsr(ID, { modulusBits: 2048 }), 4096);
  assert.equal(!r.ok && r.reason, 'signature');
});

test('csr_screen_refuses_a_csr_altered_after_signing', async () => {
  const csr = createCsr(await generateKeyPem(), ID);
  const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 300] = der[der.length - 300]! ^ 1; // inside the key or the attributes
  const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(screenCsr(pem, 4096).ok, false);
});

test('csr_screen_refuses_what_is_not_a_csr', () => {
  for (const bad of ['', 'hello', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n']) {
    const r = screenCsr(bad, 4096);
    assert.equal(!r.ok && r.reason, 'malformed', JSON.stringify(bad));
  }
});

test('der_tlv_reader_refuses_lengths_past_the_end_and_indefinite_lengths', () => {
  assert.equal(readTlv(Buffer.from([0x30, 0x05, 0x01]), 0), undefined);
  assert.equal(readTlv(Buffer.from([0x30, 0x80, 0x00, 0x00]), 0), undefined);
  assert.equal(readTlv(Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]), 0), undefined);
  assert.deepEqual(readTlv(Buffer.from([0x30, 0x81, 0x01, 0xaa]), 0), { tag: 0x30, start: 0, body: 3, end: 4 });
});
