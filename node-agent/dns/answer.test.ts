import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildState } from '../state/snapshot.js';
import { endpoint, resources, service, workload } from '../proxy/fixtures.js';
import { answer } from './answer.js';
import { QTYPE } from './codec.js';

const db1 = workload('db-1', { namespace: 'data', ips: ['10.244.1.5', 'fd00::5'] });
const db2 = workload('db-2', { namespace: 'data', ips: ['10.244.1.6'] });
const db3 = workload('db-3', { namespace: 'data', ips: ['10.244.1.7'] });
const state = buildState(resources([
  db1, db2, db3,
  service('reviews', { vips: ['10.96.0.20', 'fd00:96::14'] }),
  service('ratings', { namespace: 'other', vips: ['10.96.0.30'] }),
  service('db', { namespace: 'data', endpoints: [endpoint(db1), endpoint(db2), endpoint(db3, {}, false)] }),
  { ...service('ext', { vips: ['240.240.0.1'] }), hostname: 'api.example.com', key: 'default/api.example.com' },
]));
const client = { namespace: 'default' };
const a = (name: string, type: number = QTYPE.A, ns = client) => answer(state, { name, type }, ns);
const ips = (r: ReturnType<typeof answer>) => (r.kind === 'answer' ? r.records.map((x) => x.address) : r.kind);

test('every Kubernetes name form of a Service resolves to its VIP', () => {
  for (const n of ['reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local.', 'reviews.default.svc', 'reviews.default', 'reviews']) {
    assert.deepEqual(ips(a(n)), ['10.96.0.20'], n);
  }
  const r = a('reviews');
  assert.ok(r.kind === 'answer' && r.records[0]!.type === QTYPE.A && r.records[0]!.ttl === 30);
});

test('names are case-insensitive', () => {
  assert.deepEqual(ips(a('REVIEWS.Default.SVC.Cluster.Local.')), ['10.96.0.20']);
  assert.deepEqual(ips(a('Reviews')), ['10.96.0.20']);
});

test('AAAA gives the IPv6 VIPs; a family with no address is NOERROR with no records', () => {
  assert.deepEqual(ips(a('reviews', QTYPE.AAAA)), ['fd00:96::14']);
  assert.deepEqual(ips(a('ratings.other', QTYPE.AAAA)), []);
});

test('short name: own namespace answered, another namespace\'s service forwarded', () => {
  assert.deepEqual(ips(a('ratings')), 'forward');
  assert.deepEqual(ips(a('ratings', QTYPE.A, { namespace: 'other' })), ['10.96.0.30']);
  assert.deepEqual(ips(a('ratings.other')), ['10.96.0.30']);
});

test('headless Service resolves to its healthy endpoints\' pod IPs', () => {
  assert.deepEqual(ips(a('db.data.svc.cluster.local')), ['10.244.1.5', '10.244.1.6']);
  assert.deepEqual(ips(a('db.data', QTYPE.AAAA)), ['fd00::5']);
});

test('unknown names under .svc.<domain> are forwarded: ExternalName and not yet pushed Services', () => {
  assert.equal(a('nope.default.svc.cluster.local').kind, 'forward');
  assert.equal(a('NOPE.default.svc.cluster.local', QTYPE.AAAA).kind, 'forward');
  assert.equal(a('_http._tcp.nope.default.svc.cluster.local', QTYPE.SRV).kind, 'forward');
});

test('search-path products no Kubernetes name can be are NXDOMAIN', () => {
  assert.equal(a('reviews.default.svc.cluster.local.default.svc.cluster.local').kind, 'nxdomain');
  assert.equal(a('google.com.default.svc.cluster.local').kind, 'nxdomain');
  assert.equal(a('ratings.other.default.svc.cluster.local').kind, 'nxdomain');
  assert.equal(a('a.b.c.d.svc.cluster.local').kind, 'nxdomain');
  assert.equal(a('default.svc.cluster.local').kind, 'nxdomain');
});

test('everything else is forwarded', () => {
  for (const n of ['google.com', 'nope', 'nope.default', 'nope.default.svc', '10-244-1-5.data.pod.cluster.local', 'cluster.local', '', '.']) {
    assert.equal(a(n).kind, 'forward', n);
  }
  // a StatefulSet pod's name under its headless Service: the cluster DNS knows it
  assert.equal(a('db-0.db.data.svc.cluster.local').kind, 'forward');
  // another class, another type for a Kubernetes Service
  assert.equal(answer(state, { name: 'reviews', type: QTYPE.A, class: 3 }, client).kind, 'forward');
  assert.equal(a('reviews.default.svc.cluster.local', QTYPE.SRV).kind, 'forward');
});

test('non-Kubernetes service hostnames resolve too; their other types are empty, not forwarded', () => {
  assert.deepEqual(ips(a('API.example.com')), ['240.240.0.1']);
  assert.deepEqual(ips(a('api.example.com', QTYPE.TXT)), []);
});

test('another cluster domain', () => {
  const st = buildState(resources([{ ...service('x', { vips: ['10.96.0.9'] }), hostname: 'x.default.svc.corp.internal' }]));
  assert.deepEqual(ips(answer(st, { name: 'x', type: QTYPE.A }, client, { clusterDomain: 'corp.internal' })), ['10.96.0.9']);
  assert.equal(answer(st, { name: 'y.default.svc.corp.internal', type: QTYPE.A }, client, { clusterDomain: 'corp.internal' }).kind, 'forward');
  assert.equal(answer(st, { name: 'y.z.default.svc.corp.internal', type: QTYPE.A }, client, { clusterDomain: 'corp.internal' }).kind, 'nxdomain');
});
