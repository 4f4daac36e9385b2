import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CertificateAuthority, inProcessSigner } from '../../core/identity/ca.js';
import { CertificateManager, type WorkloadCertificate } from '../../core/identity/cert-manager.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import { parseTelemetryReport } from '../../core/observe/telemetry-wire.js';
import { CertificateLister, certificateList, issuerFingerprint, withCertificates } from './certificate-list.js';

let ca: CertificateAuthority;
let other: CertificateAuthority;
let manager: CertificateManager;
let reviews: WorkloadCertificate;
let ratings: WorkloadCertificate;
const REVIEWS = 'spiffe://cluster.local/ns/shop/sa/reviews';
const RATINGS = 'spiffe://cluster.local/ns/shop/sa/ratings';

before(async () => {
  ca = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  other = await CertificateAuthority.createSelfSigned({ trustDomain: 'cluster.local' });
  manager = new CertificateManager({ signer: inProcessSigner(ca) });
  reviews = await manager.get(spiffeId('shop', 'reviews'));
  ratings = await manager.get(spiffeId('shop', 'ratings'));
});

after(() => manager.close());

const signer = () => new X509Certificate(ca.signingCertificate).fingerprint256;

test('the_issuer_is_the_ca_certificate_that_signed_the_leaf', () => {
  assert.equal(issuerFingerprint(reviews.cert, ca.trustBundle.pems()), signer());
  assert.notEqual(new X509Certificate(other.signingCertificate).fingerprint256, signer());
});

test('no_issuer_when_no_known_ca_signed_it', () => {
  const leafOnly = reviews.cert.split(/(?<=-----END CERTIFICATE-----\n?)/)[0]!;
  assert.equal(issuerFingerprint(leafOnly, other.trustBundle.pems()), undefined);
  assert.equal(issuerFingerprint('not a certificate', ca.trustBundle.pems()), undefined);
});

test('the_list_names_identity_serial_validity_and_issuer_never_a_key', () => {
  const list = certificateList([reviews], () => true, () => signer(), 10);
  assert.deepEqual(list, [{ identity: REVIEWS, serial: reviews.serial.toLowerCase(), notBefore: reviews.notBefore.getTime(), notAfter: reviews.notAfter.getTime(), issuer: signer() }]);
  assert.equal(JSON.stringify(list).includes('PRIVATE KEY'), false);
  assert.equal(JSON.stringify(list).includes('BEGIN CERTIFICATE'), false);
});

test('the_list_holds_only_wanted_identities_soonest_to_expire_first_and_bounded', () => {
  const later = { ...ratings, notAfter: new Date(reviews.notAfter.getTime() + 1_000) };
  const sooner = { ...reviews, notAfter: new Date(reviews.notAfter.getTime() - 1_000) };
  assert.deepEqual(certificateList([later, sooner], () => true, () => undefined, 10).map((c) => c.identity), [REVIEWS, RATINGS]);
  assert.deepEqual(certificateList([later, sooner], () => true, () => undefined, 1).map((c) => c.identity), [REVIEWS]);
  assert.deepEqual(certificateList([later, sooner], (id) => id === RATINGS, () => undefined, 10).map((c) => c.identity), [RATINGS]);
});

test('the_lister_lists_on_change_and_every_interval_not_on_every_report', () => {
  let now = 0;
  let held: WorkloadCertificate[] = [reviews];
  const l = new CertificateLister({ held: () => held, roots: () => ca.trustBundle.pems(), wanted: () => new Set([REVIEWS, RATINGS]), intervalMs: 1_000, now: () => now });
  assert.deepEqual(l.take()?.map((c) => c.identity), [REVIEWS], 'the first report lists them');
  now = 500;
  assert.equal(l.take(), undefined, 'unchanged within the interval: not listed');
  held = [reviews, ratings];
  assert.equal(l.take()?.length, 2, 'a new certificate: listed at once');
  now = 1_000;
  assert.equal(l.take(), undefined);
  now = 1_500;
  assert.equal(l.take()?.length, 2, 'the interval passed: listed again');
  held = [];
  assert.deepEqual(l.take(), [], 'none held any more: an empty list says so');
});

test('a_lost_list_is_sent_again_with_the_next_report', () => {
  const l = new CertificateLister({ held: () => [reviews], roots: () => ca.trustBundle.pems(), wanted: () => new Set([REVIEWS]), now: () => 0 });
  assert.equal(l.take()?.length, 1);
  assert.equal(l.take(), undefined);
  l.unsent();
  assert.equal(l.take()?.[0]?.issuer, signer());
});

test('a_list_without_traffic_travels_in_an_empty_report_that_the_controller_reads', () => {
  const certs = certificateList([reviews], () => true, (c) => issuerFingerprint(c.cert, ca.trustBundle.pems()), 10);
  const r = withCertificates(undefined, certs)!;
  assert.deepEqual(parseTelemetryReport(JSON.stringify(r)), { edges: [], overflowEdges: 0, flows: [], droppedFlows: 0, certificates: certs });
  assert.equal(withCertificates(undefined, undefined), undefined, 'nothing to say: no report');
});
