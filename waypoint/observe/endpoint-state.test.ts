// The endpoint-state document from real balancer and outlier-detector state on a fake
// clock: healthy, ejected (multiplier, remaining time, reason), warming (share, both
// before and after the balancer saw the return), panic, locality, and the bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutlierDetection, TrafficPolicy } from '../../core/config/traffic-policy.js';
import { Balancer } from '../balance/balancer.js';
import { seededRandom } from '../balance/random.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import { OutlierDetector, type EndpointOutcome } from '../resilience/outlier.js';
import { buildEndpointState, endpointTargetState, ENDPOINT_STATE_LIMITS, localityOf, type EndpointTargetInput, type EndpointWorkload } from './endpoint-state.js';

const ep = (i: number): UpstreamEndpoint => ({ ip: `10.0.0.${i}`, port: 8080, mesh: true, identity: 'spiffe://cluster.local/ns/shop/sa/echo', workloadUid: `uid-${i}` });
const EPS = [ep(1), ep(2), ep(3)];
const KEY = (i: number) => `10.0.0.${i}:8080`;
const WORKLOADS: Record<string, EndpointWorkload> = {
  'uid-1': { name: 'echo-a', namespace: 'shop', node: 'node-1' },
  'uid-2': { name: 'echo-b', namespace: 'shop', node: 'node-2' },
  'uid-3': { name: 'echo-c', namespace: 'shop', node: 'node-2' },
};
const workload = (uid: string) => WORKLOADS[uid];
const r500: EndpointOutcome = { kind: 'response', status: 500 };

const od = (o: Partial<OutlierDetection> = {}): OutlierDetection => ({ consecutive5xxErrors: 2, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0, ...o });

function policy(o: { warmupMs?: number; outlier?: OutlierDetection; algorithm?: TrafficPolicy['loadBalancer']['algorithm']; localityPreference?: boolean } = {}): TrafficPolicy {
  return {
    key: 'shop/echo',
    name: 'echo',
    namespace: 'shop',
    created: '2026-01-01T00:00:00Z',
    targets: [{ service: 'shop/echo.shop.svc.cluster.local' }],
    loadBalancer: { algorithm: o.algorithm ?? 'ROUND_ROBIN', warmupMs: o.warmupMs ?? 0, localityPreference: o.localityPreference ?? false, ringSize: 1024, maglevTableSize: 65537 },
    ...(o.outlier && { outlierDetection: o.outlier }),
  };
}

/** A balancer and a detector fed as the picker feeds them, on a fake clock. */
function live(p: TrafficPolicy) {
  const clock = { now: 0 };
  const b = new Balancer({ policy: p.loadBalancer, minHealthPercent: p.outlierDetection?.minHealthPercent ?? 0, now: () => clock.now, random: seededRandom(7), local: { node: 'node-1' } });
  const d = p.outlierDetection ? new OutlierDetector(p.outlierDetection, 0) : undefined;
  b.update(EPS.map((endpoint) => ({ endpoint, node: WORKLOADS[endpoint.workloadUid!]!.node })));
  d?.setEndpoints(EPS.map((e) => `${e.ip}:${e.port}`), 0);
  /** What the picker does before each pick: tell the balancer the detector's flags. */
  const sync = () => {
    if (!d) return;
    for (const h of d.snapshot().endpoints) b.setEjected(h.key, h.ejected);
  };
  const input = (): EndpointTargetInput => ({ service: 'shop/echo.shop.svc.cluster.local', name: 'echo', namespace: 'shop', port: 80, endpoints: EPS, workload, policy: p, balancer: b.view(), ...(d && { outliers: d.snapshot() }) });
  const state = () => endpointTargetState(input(), { local: { node: 'node-1' }, now: clock.now, slowStartMinPercent: 10 });
  return { clock, b, d: d!, sync, input, state };
}

test('all_endpoints_healthy_with_workload_node_and_locality', () => {
  const t = live(policy({ outlier: od() })).state();
  assert.deepEqual(t.counts, { total: 3, healthy: 3, ejected: 0, warming: 0, unready: 0 });
  assert.equal(t.trafficPolicy, 'shop/echo');
  assert.equal(t.algorithm, 'ROUND_ROBIN');
  assert.equal(t.panic, false);
  assert.deepEqual(t.endpoints[0], { address: KEY(1), workload: 'echo-a', namespace: 'shop', node: 'node-1', locality: 'node', health: 'healthy', inRotation: true, activeRequests: 0, weight: 1 });
  assert.deepEqual(t.endpoints.map((e) => e.locality), ['node', 'any', 'any']);
});

test('an_ejected_endpoint_shows_its_multiplier_remaining_time_and_reason', () => {
  const l = live(policy({ outlier: od() }));
  l.clock.now = 1_000;
  l.d.record(KEY(2), r500, 1_000);
  l.d.record(KEY(2), r500, 1_000);
  l.clock.now = 11_000;
  const t = l.state();
  const e = t.endpoints.find((x) => x.address === KEY(2))!;
  assert.equal(e.health, 'ejected');
  assert.deepEqual(e.ejection, { count: 1, remainingMs: 20_000, reason: 'consecutive-5xx' });
  assert.equal(e.inRotation, false);
  assert.deepEqual(t.counts, { total: 3, healthy: 2, ejected: 1, warming: 0, unready: 0 });
  assert.equal(t.tier, 'any');
});

test('ejection_is_shown_before_the_balancer_learns_of_it', () => {
  // The detector ejects at the failing try; the balancer hears of it at its next pick.
  const l = live(policy({ outlier: od() }));
  l.d.record(KEY(1), r500, 0);
  l.d.record(KEY(1), r500, 0);
  assert.equal(l.b.view()[0]!.ejected, false, 'the balancer has not been told yet');
  assert.equal(l.state().endpoints[0]!.health, 'ejected');
});

test('a_returned_endpoint_is_warming_with_its_slow_start_share', () => {
  const l = live(policy({ warmupMs: 10_000, outlier: od({ baseEjectionMs: 1_000, maxEjectionMs: 1_000 }) }));
  l.d.record(KEY(3), r500, 0);
  l.d.record(KEY(3), r500, 0);
  l.sync();
  l.clock.now = 1_000;
  l.d.tick(1_000);
  // Returned, the balancer not told yet: its ramp starts with the next pick, at 10 %.
  let e = l.state().endpoints[2]!;
  assert.equal(e.health, 'warming');
  assert.deepEqual(e.warming, { sharePercent: 10, remainingMs: 10_000 });
  assert.equal(e.inRotation, true);
  // The balancer sees the return at 1 s; halfway through the ramp its share is 50 %.
  l.sync();
  l.clock.now = 6_000;
  e = l.state().endpoints[2]!;
  assert.equal(e.health, 'warming');
  assert.deepEqual(e.warming, { sharePercent: 50, remainingMs: 5_000 });
  assert.equal(l.state().counts.warming, 1);
  // Ramp done: healthy.
  l.clock.now = 11_000;
  assert.equal(l.state().endpoints[2]!.health, 'healthy');
});

test('without_warmup_a_returned_endpoint_is_healthy_at_once', () => {
  const l = live(policy({ outlier: od({ baseEjectionMs: 1_000, maxEjectionMs: 1_000 }) }));
  l.d.record(KEY(3), r500, 0);
  l.d.record(KEY(3), r500, 0);
  l.sync();
  l.clock.now = 1_000;
  l.d.tick(1_000);
  assert.equal(l.state().endpoints[2]!.health, 'healthy');
  assert.equal(l.state().warmupMs, 0);
});

test('ring_hash_never_warms_so_warmup_is_reported_off', () => {
  const l = live(policy({ algorithm: 'RING_HASH', warmupMs: 10_000 }));
  const t = l.state();
  assert.equal(t.warmupMs, 0);
  assert.ok(t.endpoints.every((e) => e.health === 'healthy'));
});

test('panic_below_min_health_percent_puts_every_endpoint_in_rotation', () => {
  const l = live(policy({ outlier: od({ minHealthPercent: 50 }) }));
  for (const i of [1, 2]) {
    l.d.record(KEY(i), r500, 0);
    l.d.record(KEY(i), r500, 0);
  }
  const t = l.state();
  assert.equal(t.panic, true);
  assert.equal(t.tier, 'panic');
  assert.deepEqual(t.counts, { total: 3, healthy: 1, ejected: 2, warming: 0, unready: 0 });
  assert.ok(t.endpoints.every((e) => e.inRotation), 'panic: ejected ones get requests too');
});

test('all_ejected_without_panic_is_no_healthy', () => {
  const l = live(policy({ outlier: od() }));
  for (const i of [1, 2, 3]) {
    l.d.record(KEY(i), r500, 0);
    l.d.record(KEY(i), r500, 0);
  }
  const t = l.state();
  assert.equal(t.tier, 'no_healthy');
  assert.equal(t.panic, false);
  assert.ok(t.endpoints.every((e) => !e.inRotation));
});

test('locality_preference_keeps_only_the_waypoints_node_in_rotation', () => {
  const t = live(policy({ localityPreference: true })).state();
  assert.equal(t.tier, 'node');
  assert.deepEqual(t.endpoints.map((e) => e.inRotation), [true, false, false]);
});

test('active_requests_are_the_balancers_in_flight_counts', () => {
  const l = live(policy({ algorithm: 'LEAST_REQUEST' }));
  const release = l.b.track(KEY(2));
  l.b.track(KEY(2));
  assert.equal(l.state().endpoints[1]!.activeRequests, 2);
  release();
  assert.equal(l.state().endpoints[1]!.activeRequests, 1);
});

test('a_port_without_policy_or_balancer_is_round_robin_and_healthy', () => {
  const t = endpointTargetState({ service: 'shop/web.shop.svc.cluster.local', port: 80, endpoints: EPS, unready: 2 }, { local: {}, now: 0, slowStartMinPercent: 10 });
  assert.equal(t.trafficPolicy, null);
  assert.equal(t.algorithm, 'ROUND_ROBIN');
  assert.equal(t.outlierDetection, false);
  assert.deepEqual(t.counts, { total: 3, healthy: 3, ejected: 0, warming: 0, unready: 2 });
  assert.ok(t.endpoints.every((e) => e.health === 'healthy' && e.activeRequests === 0 && e.locality === 'any' && e.workload === undefined));
});

test('outlier_state_is_ignored_once_the_policy_has_no_outlier_detection', () => {
  const l = live(policy({ outlier: od() }));
  l.d.record(KEY(1), r500, 0);
  l.d.record(KEY(1), r500, 0);
  const t = endpointTargetState({ ...l.input(), policy: policy() }, { local: {}, now: 0, slowStartMinPercent: 10 });
  assert.equal(t.endpoints[0]!.health, 'healthy');
});

test('ipv6_addresses_are_bracketed_and_duplicates_listed_once', () => {
  const v6: UpstreamEndpoint = { ip: 'fd00::5', port: 80, mesh: false, identity: '' };
  const t = endpointTargetState({ service: 's', port: 80, endpoints: [v6, v6] }, { local: {}, now: 0, slowStartMinPercent: 10 });
  assert.deepEqual(t.endpoints.map((e) => e.address), ['[fd00::5]:80']);
});

test('locality_of_an_endpoint_relative_to_the_waypoint', () => {
  assert.equal(localityOf({ node: 'n1', zone: 'z1' }, 'n1', 'z1'), 'node');
  assert.equal(localityOf({ node: 'n1', zone: 'z1' }, 'n2', 'z1'), 'zone');
  assert.equal(localityOf({ node: 'n1', zone: 'z1' }, 'n2', 'z2'), 'any');
  assert.equal(localityOf({}, undefined, undefined), 'any', 'nothing known matches nothing');
});

test('document_sorts_targets_and_bounds_what_it_lists', () => {
  const t = (service: string, port: number): EndpointTargetInput => ({ service, port, endpoints: EPS });
  const doc = buildEndpointState({
    waypoint: 'shop/waypoint.shop.svc.cluster.local',
    local: { node: 'node-1' },
    now: 0,
    generatedAt: '2026-12-04T00:00:00.000Z',
    targets: [t('shop/b', 80), t('shop/a', 8080), t('shop/a', 80), t('shop/c', 80)],
    slowStartMinPercent: 10,
    limits: { maxTargets: 3, maxEndpoints: 7 },
  });
  assert.deepEqual(doc.targets.map((x) => `${x.service}:${x.port}`), ['shop/a:80', 'shop/a:8080', 'shop/b:80']);
  assert.equal(doc.targetsLeftOut, 1);
  assert.deepEqual(doc.targets.map((x) => x.endpoints.length), [3, 3, 1]);
  assert.equal(doc.targets[2]!.endpointsLeftOut, 2);
  assert.equal(doc.targets[2]!.counts.total, 3, 'counts cover what was left out');
  assert.equal(doc.node, 'node-1');
});

test('endpoint_state_limits_are_documented_in_configuration_md', async () => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(doc.includes('`ENDPOINT_STATE_LIMITS`'));
  assert.deepEqual(Object.keys(ENDPOINT_STATE_LIMITS).filter((k) => !doc.includes(`\`${k}\``)), []);
});
