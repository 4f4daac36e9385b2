// Direct tier: leader election (controller/leader.ts) against the local API server on a
// real Redis, over loopback. Short timings (2 s lease - the field is whole seconds -, 1 s
// renew deadline, 0.2 s retry) keep the hand-overs quick; every wait is bounded.
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import type { Logger } from '../core/log.js';
import { startController, type Controller } from '../controller/controller.js';
import { LeaderElector } from '../controller/leader.js';
import { waitFor } from './support/net.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { installMeshCrds } from './support/control-plane.js';

const NS = 'ambient-system';
const LIMITS = { leaseDurationSeconds: 2, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

let redis: TestRedis;
let api: ApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let coordination: CoordinationV1Api;
const electors: LeaderElector[] = [];
const controllers: Controller[] = [];

before(async () => {
  redis = await startRedis();
  api = await startApiServer({ redisUrl: redis.url, prefix: 'leader:' });
  kc = kubeConfigForServer(api.url);
  await installMeshCrds(kc);
  core = kc.makeApiClient(CoreV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
});

after(async () => {
  for (const c of controllers) await c.close();
  for (const e of electors) await e.stop({ release: false });
  await api?.close();
  await redis?.stop();
});

function elector(lease: string, identity: string): LeaderElector {
  const e = new LeaderElector({ kubeConfig: kc, namespace: NS, name: lease, identity, limits: LIMITS });
  electors.push(e);
  return e;
}

const leaders = (...es: LeaderElector[]) => es.filter((e) => e.isLeader());

async function holderOf(lease: string): Promise<string | undefined> {
  const l = await coordination.readNamespacedLease({ namespace: NS, name: lease });
  return l.spec?.holderIdentity;
}

describe('lease elector', () => {
  test('two_electors_exactly_one_leads_and_the_lease_shows_it', async () => {
    const a = elector('one-leads', 'a');
    const b = elector('one-leads', 'b');
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => leaders(a, b).length === 1, 3_000, 'a leader');
    // Stable over several renew rounds: no flapping, no second leader.
    for (let i = 0; i < 10; i++) {
      assert.equal(leaders(a, b).length, 1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const leader = leaders(a, b)[0]!;
    assert.equal(await holderOf('one-leads'), leader.identity);
    const l = await coordination.readNamespacedLease({ namespace: NS, name: 'one-leads' });
    assert.equal(l.spec?.leaseDurationSeconds, 2);
    await a.stop();
    await b.stop();
  });

  test('closing_the_leader_releases_the_lease_and_the_other_takes_over_at_once', async () => {
    const a = elector('handover', 'a');
    await a.start();
    assert.ok(a.isLeader());
    const b = elector('handover', 'b');
    await b.start();
    assert.ok(!b.isLeader());
    const t0 = Date.now();
    await a.stop();
    assert.ok(!a.isLeader());
    await waitFor(() => b.isLeader(), 3_000, 'b to lead');
    const took = Date.now() - t0;
    // Retry period with client-go's jitter (<= 2.2 x 200 ms) plus a margin, well under the 2 s lease.
    assert.ok(took < 1_200, `took ${took} ms: the release should spare waiting for the lease to expire`);
    assert.equal(await holderOf('handover'), 'b');
    await b.stop();
    const released = await coordination.readNamespacedLease({ namespace: NS, name: 'handover' });
    assert.equal(released.spec?.holderIdentity ?? '', '');
    assert.equal(released.spec?.leaseDurationSeconds, 1);
  });

  test('a_leader_that_vanishes_without_release_is_replaced_after_the_lease_duration', async () => {
    const a = elector('crash', 'a');
    await a.start();
    const b = elector('crash', 'b');
    await b.start();
    assert.ok(a.isLeader() && !b.isLeader());
    const t0 = Date.now();
    await a.stop({ release: false }); // as if the pod were killed
    assert.equal(await holderOf('crash'), 'a');
    await waitFor(() => b.isLeader(), 6_000, 'b to lead after the lease expired');
    const took = Date.now() - t0;
    // b counts 2 s from when it last saw a's renewal (at most one retry period before the stop).
    assert.ok(took >= 2_000 - 2 * LIMITS.retryPeriodMs, `took ${took} ms: b must not take over before the lease expired`);
    assert.ok(took < 2_000 + 1_500, `took ${took} ms`);
    assert.equal(await holderOf('crash'), 'b');
    const l = await coordination.readNamespacedLease({ namespace: NS, name: 'crash' });
    assert.equal(l.spec?.leaseTransitions, 1);
    await b.stop();
  });

  test('racing_to_create_an_absent_lease_exactly_one_wins_the_409', async () => {
    for (let round = 0; round < 5; round++) {
      const lease = `race-${round}`;
      const es = ['a', 'b', 'c'].map((id) => elector(lease, `${id}-${round}`));
      await Promise.all(es.map((e) => e.start()));
      assert.equal(leaders(...es).length, 1, `round ${round}: exactly one winner of the create race`);
      assert.equal(await holderOf(lease), leaders(...es)[0]!.identity);
      for (const e of es) await e.stop();
    }
  });
});

/** A logger whose lines the test can read. */
function capture(): { logger: Logger; messages: () => string[] } {
  const lines: string[] = [];
  const logger: Logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
  return { logger, messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

async function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function status(c: Controller): Promise<{ leader: boolean }> {
  const res = await fetch(`http://127.0.0.1:${c.metricsPort}/debug/status`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as { leader: boolean };
}

async function leaderGauge(c: Controller): Promise<number> {
  const body = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = body.split('\n').find((l) => l.startsWith('ambient_controller_leader '));
  return Number(line?.split(' ')[1]);
}

async function configMapExists(): Promise<boolean> {
  try {
    await core.readNamespacedConfigMap({ namespace: NS, name: 'ambient-ca-root' });
    return true;
  } catch {
    return false;
  }
}

describe('two controllers', () => {
  test('only_the_leader_publishes_ambient_ca_root_and_both_serve', async () => {
    const opts = {
      kubeConfig: kc,
      listen: { host: '127.0.0.1', port: 0 },
      metrics: { host: '127.0.0.1', port: 0 },
      limits: { drainTimeoutMs: 500 },
      leaderElection: { limits: { ...LIMITS, rootsResyncMs: 200 } },
    };
    const logA = capture();
    const logB = capture();
    const a = await startController({ ...opts, logger: logA.logger });
    controllers.push(a);
    const b = await startController({ ...opts, logger: logB.logger });
    controllers.push(b);
    assert.ok(a.isLeader(), 'the first to start leads');
    assert.ok(!b.isLeader());
    assert.deepEqual(b.ca.trustBundle.fingerprints(), a.ca.trustBundle.fingerprints(), 'one CA for both');
    assert.ok(await configMapExists());
    // Both serve: 15012 open, ready, and they say who leads.
    assert.ok(await tcpOpen(a.address.port));
    assert.ok(await tcpOpen(b.address.port));
    await waitFor(() => a.ready() && b.ready(), 8_000, 'both ready');
    assert.equal((await status(a)).leader, true);
    assert.equal((await status(b)).leader, false);
    assert.equal(await leaderGauge(a), 1);
    assert.equal(await leaderGauge(b), 0);

    // Deleted: the leader puts it back; the follower never writes it.
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'ambient-ca-root' });
    const deadline = Date.now() + 5_000;
    while (!(await configMapExists())) {
      assert.ok(Date.now() < deadline, 'the leader did not recreate ambient-ca-root');
      await new Promise((r) => setTimeout(r, 50));
    }
    const published = 'controller: published the roots (leader)';
    // The ConfigMap can be visible before the leader has read the create's answer and logged it.
    await waitFor(() => logA.messages().filter((m) => m === published).length >= 2, 5_000, 'the leader to log both publishes (at start and after the delete)');
    assert.equal(logB.messages().filter((m) => m === published).length, 0, 'the follower published nothing');

    // The leader goes away: the follower takes over (release) and republishes.
    await a.close();
    await waitFor(() => b.isLeader(), 3_000, 'b to lead');
    assert.equal(await leaderGauge(b), 1);
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'ambient-ca-root' }).catch(() => {});
    await waitFor(() => logB.messages().includes(published), 5_000, 'b to publish the roots');
    assert.ok(await configMapExists());
  });
});
