// Unit tests of CertificateManager: fetching, sharing in-flight signings, renewal at
// half-life, retry with backoff while the CA is down, forget and close. The CA runs in
// process (inProcessSigner); lifetimes are seconds so that renewals happen during the test.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { after, before, test, type TestContext } from 'node:test';
import { ErrorCodes, isMeshError } from '../errors.js';
import { CertificateAuthority, inProcessSigner } from './ca.js';
import { CertificateManager, type CertificateSigner, type WorkloadCertificate } from './cert-manager.js';
import { formatSpiffeId, spiffeId, type SpiffeId } from './spiffe.js';

const app = spiffeId('default', 'app');
const db = spiffeId('default', 'db');
const WAIT_MS = 5_000;
// With a 2 s lifetime a renewal starts within 1 s; key generation can take most of another
// second on a loaded machine before the signer is called.
const AFTER_RENEWAL_MS = 2_500;

let ca: CertificateAuthority;

before(async () => {
  ca = await CertificateAuthority.createSelfSigned();
});

// The managers' timers are unref'd, so a ref'd timer is what keeps the test process alive
// while it waits for them; every wait is bounded.
function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function nextEvent<T extends unknown[]>(emitter: EventEmitter, name: string, ms = WAIT_MS): Promise<T> {
  return within(new Promise<T>((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args as T))), `'${name}'`, ms);
}

async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A signer that counts calls and can be made to fail. */
class CountingSigner implements CertificateSigner {
  calls = 0;
  failures = 0;
  failing = false;
  /** How long a failing call takes before it throws (a CA timing out). */
  failAfterMs = 0;
  callTimes: number[] = [];
  readonly #inner: CertificateSigner;

  constructor(ttlMs: number) {
    this.#inner = inProcessSigner(ca, { ttlMs });
  }

  async sign(csrPem: string, identity: SpiffeId) {
    this.calls++;
    this.callTimes.push(Date.now());
    if (this.failing) {
      this.failures++;
      if (this.failAfterMs > 0) await sleep(this.failAfterMs);
      throw new Error('CA unreachable (test)');
    }
    return this.#inner.sign(csrPem, identity);
  }
}

function manager(t: TestContext, signer: CertificateSigner, opts: Partial<ConstructorParameters<typeof CertificateManager>[0]> = {}) {
  const m = new CertificateManager({ signer, ...opts });
  t.after(() => m.close());
  return m;
}

/**
 * Records the delays of the timers CertificateManager itself sets (by call site), so that
 * renewal and backoff timing is asserted exactly rather than through wall-clock gaps that
 * include key generation.
 */
function managerTimerDelays(t: TestContext): () => number[] {
  const spy = t.mock.method(globalThis, 'setTimeout' as never) as unknown as {
    mock: { calls: Array<{ arguments: unknown[]; stack: Error }> };
  };
  return () => spy.mock.calls.filter((c) => /[\\/]cert-manager\.js:/.test(c.stack.stack ?? '')).map((c) => c.arguments[1] as number);
}

const managersToClose: CertificateManager[] = [];
after(() => {
  for (const m of managersToClose) m.close();
});

test('first_get_fetches_a_certificate_for_the_identity', async (t) => {
  const signer = new CountingSigner(60_000);
  const m = manager(t, signer);
  assert.equal(m.current(app), undefined);
  const cert = await within(m.get(app), 'get');
  assert.equal(signer.calls, 1);
  assert.equal(formatSpiffeId(cert.identity), formatSpiffeId(app));
  const [leafPem] = cert.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
  const leaf = new X509Certificate(leafPem!);
  assert.equal(leaf.subjectAltName, `URI:${formatSpiffeId(app)}`);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(cert.key)), 'the key is the leaf\'s');
  assert.equal(cert.serial, leaf.serialNumber.toLowerCase());
  assert.equal(cert.notAfter.getTime(), new Date(leaf.validTo).getTime());
  // the roots that came with it are trusted now
  assert.deepEqual(m.trustBundle.fingerprints(), ca.trustBundle.fingerprints());
  assert.ok(m.trustBundle.verifies([leafPem!]));
  // held, listed, and served again without signing
  assert.equal(m.current(app), cert);
  assert.deepEqual(m.list(), [cert]);
  assert.equal(await m.get(app), cert);
  assert.equal(signer.calls, 1);
});

test('concurrent_gets_share_one_signing', async (t) => {
  const signer = new CountingSigner(60_000);
  const m = manager(t, signer);
  const certs = await within(Promise.all([m.get(app), m.get(app), m.get(app), m.get(app), m.get(app)]), 'gets');
  assert.equal(signer.calls, 1);
  for (const c of certs) assert.equal(c, certs[0]);
});

test('each_identity_gets_its_own_certificate', async (t) => {
  const signer = new CountingSigner(60_000);
  const m = manager(t, signer);
  const [a, b] = await within(Promise.all([m.get(app), m.get(db)]), 'gets');
  assert.equal(signer.calls, 2);
  assert.notEqual(a.serial, b.serial);
  assert.notEqual(a.key, b.key);
  assert.equal(formatSpiffeId(b.identity), formatSpiffeId(db));
  assert.equal(m.list().length, 2);
});

test('renews_at_half_life_and_emits_rotated_with_a_new_serial', async (t) => {
  // CA.sign backdates notBefore by min(60 s, ttl), so the lifetime that matters is
  // notAfter - receivedAt (about 1-2 s here: X.509 times have whole seconds).
  const delays = managerTimerDelays(t);
  const signer = new CountingSigner(2_000);
  const m = manager(t, signer);
  const rotations: WorkloadCertificate[] = [];
  m.on('rotated', (c) => rotations.push(c));
  const first = await within(m.get(app), 'get');
  assert.equal(rotations.length, 0, 'the first certificate is not a rotation');
  const lifetime = first.notAfter.getTime() - first.receivedAt.getTime();
  assert.ok(lifetime > 0 && lifetime <= 2_000, `lifetime ${lifetime} ms`);
  assert.deepEqual(delays(), [lifetime / 2], 'renewal is timed at half of the remaining lifetime');

  const [rotated] = await nextEvent<[WorkloadCertificate]>(m, 'rotated');
  const renewedAfter = rotated.receivedAt.getTime() - first.receivedAt.getTime();
  // (key generation happens after the timer fires, so only the lower bound is exact)
  assert.ok(renewedAfter >= lifetime / 2, `renewed after ${renewedAfter} ms of ${lifetime} ms`);
  assert.notEqual(rotated.serial, first.serial);
  assert.notEqual(rotated.key, first.key, 'a new key for each certificate');
  assert.ok(rotated.notAfter.getTime() >= first.notAfter.getTime());
  assert.equal(m.current(app), rotated);
  assert.equal(await m.get(app), rotated);
  assert.equal(signer.calls, 2);
  // and the next renewal is timed from the new certificate
  const newLifetime = rotated.notAfter.getTime() - rotated.receivedAt.getTime();
  assert.equal(delays()[1], newLifetime / 2);
});

// Node runs a timer whose delay exceeds 2^31-1 ms (about 24.8 days) after 1 ms instead
// (TimeoutOverflowWarning), so a long-lived certificate must not turn into a renewal loop.
test('long_lived_certificate_does_not_renew_immediately', async (t) => {
  const DAY = 24 * 3_600_000;
  const longCa = await CertificateAuthority.createSelfSigned({ maxTtlMs: 90 * DAY });
  let calls = 0;
  const inner = inProcessSigner(longCa, { ttlMs: 60 * DAY });
  const delays = managerTimerDelays(t);
  const m = manager(t, { sign: (csr, id) => (calls++, inner.sign(csr, id)) });
  const cert = await within(m.get(app), 'get');
  assert.ok(cert.notAfter.getTime() - Date.now() > 59 * DAY);
  for (const d of delays()) assert.ok(d <= 2 ** 31 - 1, `timer of ${d} ms would overflow`);
  await sleep(1_000);
  assert.equal(calls, 1, 'no renewal right after the first fetch');
});

test('failed_renewal_keeps_serving_the_old_certificate_and_retries_with_backoff', async (t) => {
  // Renew at 10% of a 10 s lifetime (about 1 s in), so the old certificate stays valid
  // for the whole test; retries start at 100 ms, double, and are capped at 300 ms.
  const delays = managerTimerDelays(t);
  const signer = new CountingSigner(10_000);
  const m = manager(t, signer, { renewAtFraction: 0.1, retryMinMs: 100, retryMaxMs: 300 });
  const errors: Array<{ err: Error; identity: SpiffeId }> = [];
  m.on('error', (err, identity) => errors.push({ err, identity }));
  const first = await within(m.get(app), 'get');
  const lifetime = first.notAfter.getTime() - first.receivedAt.getTime();
  signer.failing = true;

  await waitFor(() => errors.length >= 4, 'four failed renewals', 10_000);
  // still served, and get() does not wait on the CA while the old certificate is valid
  assert.equal(m.current(app), first);
  assert.equal(await within(m.get(app), 'get during outage', 100), first);
  for (const e of errors) {
    assert.ok(isMeshError(e.err, ErrorCodes.CERT_UNAVAILABLE), String(e.err));
    assert.match(e.err.message, /spiffe:\/\/cluster\.local\/ns\/default\/sa\/app/);
    assert.match(e.err.message, /CA unreachable/);
    assert.equal(formatSpiffeId(e.identity), formatSpiffeId(app));
  }
  // renewal at 10%, then exponential backoff up to the cap
  assert.deepEqual(delays().slice(0, 5), [lifetime * 0.1, 100, 200, 300, 300]);

  // the CA comes back: the next retry succeeds and the new certificate replaces the old one
  signer.failing = false;
  const [rotated] = await nextEvent<[WorkloadCertificate]>(m, 'rotated');
  assert.notEqual(rotated.serial, first.serial);
  assert.equal(m.current(app), rotated);
  assert.equal(signer.failures, errors.length);
  // with the failures reset, the next timer is the renewal at 10% of the new lifetime
  const all = delays();
  assert.equal(all[all.length - 1], (rotated.notAfter.getTime() - rotated.receivedAt.getTime()) * 0.1);
  // and a later outage starts the backoff again from the minimum
  signer.failing = true;
  const failedBefore = errors.length;
  await waitFor(() => errors.length > failedBefore, 'a failed renewal after recovery');
  assert.equal(delays()[all.length], 100);
});

test('failed_first_fetch_rejects_and_the_next_get_retries', async (t) => {
  const signer = new CountingSigner(60_000);
  signer.failing = true;
  // no 'error' listener: a failure must reject get(), not crash the process
  const m = manager(t, signer, { retryMinMs: 50 });
  await assert.rejects(within(m.get(app), 'get'), (e) => isMeshError(e, ErrorCodes.CERT_UNAVAILABLE));
  assert.equal(m.current(app), undefined);
  // with no certificate held there is no background retry: get() is the retry
  await sleep(300);
  assert.equal(signer.calls, 1);
  signer.failing = false;
  const cert = await within(m.get(app), 'get after recovery');
  assert.equal(signer.calls, 2);
  assert.equal(m.current(app), cert);
});

test('forget_stops_renewals_and_drops_the_certificate', async (t) => {
  const signer = new CountingSigner(2_000);
  const m = manager(t, signer);
  let rotated = 0;
  m.on('rotated', () => rotated++);
  await within(m.get(app), 'get');
  m.forget(app);
  assert.equal(m.current(app), undefined);
  assert.deepEqual(m.list(), []);
  // past the point where the renewal would have happened (at most 1 s, plus key generation)
  await sleep(AFTER_RENEWAL_MS);
  assert.equal(signer.calls, 1);
  assert.equal(rotated, 0);
});

test('forget_during_an_outage_stops_the_retries', async (t) => {
  const signer = new CountingSigner(10_000);
  const m = manager(t, signer, { renewAtFraction: 0.1, retryMinMs: 100, retryMaxMs: 100 });
  let errors = 0;
  m.on('error', () => errors++);
  await within(m.get(app), 'get');
  signer.failing = true;
  signer.failAfterMs = 400;
  await waitFor(() => errors >= 1, 'a failed renewal');
  // forget while a retry is in flight (inside the signer), so that its failure must not
  // schedule yet another retry for an identity nobody holds
  const callsBefore = signer.calls;
  await waitFor(() => signer.calls > callsBefore, 'a retry to reach the signer');
  m.forget(app);
  const callsAtForget = signer.calls;
  const errorsAtForget = errors;
  await waitFor(() => errors > errorsAtForget, 'the in-flight retry to fail');
  // retrying every 100 ms (plus key generation and 400 ms in the signer) would have
  // called the signer again by now
  await sleep(AFTER_RENEWAL_MS);
  assert.equal(signer.calls, callsAtForget, `${signer.calls - callsAtForget} attempts after forget`);
});

test('forget_during_a_fetch_does_not_keep_the_result', async (t) => {
  const signer = new CountingSigner(2_000);
  const m = manager(t, signer);
  const pending = m.get(app);
  m.forget(app);
  const cert = await within(pending, 'get');
  assert.equal(formatSpiffeId(cert.identity), formatSpiffeId(app), 'the caller still gets its certificate');
  assert.equal(m.current(app), undefined);
  await sleep(AFTER_RENEWAL_MS);
  assert.equal(signer.calls, 1, 'no renewal was scheduled for a forgotten identity');
});

test('close_stops_all_renewals_and_refuses_new_gets', async () => {
  const signer = new CountingSigner(2_000);
  const m = new CertificateManager({ signer });
  managersToClose.push(m);
  let rotated = 0;
  m.on('rotated', () => rotated++);
  await within(Promise.all([m.get(app), m.get(db)]), 'gets');
  assert.equal(signer.calls, 2);
  m.close();
  assert.deepEqual(m.list(), []);
  await assert.rejects(m.get(app), (e) => isMeshError(e, ErrorCodes.CERT_UNAVAILABLE) && /closed/.test(e.message));
  await sleep(AFTER_RENEWAL_MS);
  assert.equal(signer.calls, 2, 'no timer fired after close');
  assert.equal(rotated, 0);
});

test('close_during_a_fetch_never_reaches_the_ca_and_schedules_nothing', async () => {
  // The same path as a renewal whose timer fired just before close(): the fetch is between
  // its key generation and its signing request when the manager closes.
  const signer = new CountingSigner(2_000);
  const m = new CertificateManager({ signer });
  managersToClose.push(m);
  const pending = m.get(app);
  m.close();
  await assert.rejects(within(pending, 'get'), (e) => isMeshError(e, ErrorCodes.CERT_UNAVAILABLE) && /no longer wanted/.test(e.message));
  assert.deepEqual(m.list(), []);
  await sleep(AFTER_RENEWAL_MS);
  assert.equal(signer.calls, 0, 'a closed manager never asks the CA');
});
