// A waypoint on loopback, without a cluster, for the bench drivers (waypoint-profile.ts,
// waypoint-layers.ts): a child process running the program's data path as startWaypoint
// builds it (waypointDataPath: telemetry, metrics, access log to stdout, authn, authz,
// routes, TrafficPolicy layers, pools) on a config held in-process, as the controller
// would push it: the bench's Service `bench` (bw-b) with one mesh endpoint on 127.0.0.1,
// and, when given, one TrafficPolicy object compiled by the controller's own compiler
// (core/config/traffic-policy-compile.ts) and targeted at that Service.
//   node waypoint-child.js '<ChildConfig as JSON>'   (with an IPC channel)
// Messages: sends 'ready' once it listens; 'start' / 'stop' bracket a measurement of the
// JS heap bytes allocated (answered with { allocated, gcs, gcMs }, then it exits);
// 'start' / 'measure' the same without exiting (one per job). It exits when the driver's
// IPC channel closes.
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Resource } from '../../core/config/model.js';
import { compileTrafficPolicy, resolveTrafficPolicyTargets } from '../../core/config/traffic-policy-compile.js';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { waypointServiceKey } from '../../core/config/waypoint.js';
import type { CertificateManager } from '../../core/identity/cert-manager.js';
import { spiffeId, type SpiffeId } from '../../core/identity/spiffe.js';
import { TrustBundle } from '../../core/identity/trust-bundle.js';
import { createLogger } from '../../core/log.js';
import { endpoint, resources, service, workload } from '../../node-agent/proxy/fixtures.js';
import { waypointDataPath } from '../../waypoint/start.js';
import { WaypointState } from '../../waypoint/state/store.js';

export const TD = 'cluster.local';
export const VIP = '10.96.0.10';
export const SVC_H1 = 80;
export const SVC_H2 = 81;
export const NAMESPACE = 'bw-b';
export const SERVICE = 'bench';
export const AUTHORITY = `${SERVICE}.${NAMESPACE}.svc.cluster.local`;

export interface ChildConfig {
  key: string;
  cert: string;
  roots: string[];
  hbonePort: number;
  endpointHbonePort: number;
  h1Port: number;
  h2Port: number;
  /** A TrafficPolicy object (apiVersion, kind, metadata, spec) targeting Service `bench`. */
  trafficPolicy?: unknown;
  /** Redis for global rate limits (the waypoint's --redis-address). */
  redis?: { host: string; port: number };
}

/** The compiled TrafficPolicy resource of `object` for the bench Service, as the controller
 * would push it; throws with the compiler's message when the object is bad. */
export function compiledPolicy(object: unknown, serviceKey: string, ports: ReadonlyArray<{ name?: string; port: number }>): TrafficPolicy {
  const r = compileTrafficPolicy(object);
  if (!r.ok) throw new Error(`TrafficPolicy: ${r.message}`);
  const t = resolveTrafficPolicyTargets(r.policy.namespace, r.refs, (ns, name) => (ns === NAMESPACE && name === SERVICE ? { key: serviceKey, ports } : undefined));
  if (!t.ok) throw new Error(`TrafficPolicy: ${t.message}`);
  if (t.targets.length === 0) throw new Error('TrafficPolicy: targets no Service of the bench');
  return { ...r.policy, targets: t.targets };
}

async function main(cfg: ChildConfig): Promise<void> {
  const identity: SpiffeId = spiffeId(NAMESPACE, 'waypoint', TD);
  const self = waypointServiceKey(NAMESPACE, 'waypoint', TD);
  const state = new WaypointState();
  const server = workload('server', { namespace: NAMESPACE, ips: ['127.0.0.1'], node: 'node2' });
  const clientW = workload('client', { namespace: 'bw-a', ips: ['10.244.1.5'], node: 'node1' });
  const ports = [
    { name: 'http', port: SVC_H1, targetPort: cfg.h1Port, protocol: 'TCP' as const, appProtocol: 'http' },
    { name: 'h2c', port: SVC_H2, targetPort: cfg.h2Port, protocol: 'TCP' as const, appProtocol: 'kubernetes.io/h2c' },
  ];
  const bench = service(SERVICE, { namespace: NAMESPACE, vips: [VIP], ports, endpoints: [endpoint(server)], waypoint: { service: self, port: 15008 } });
  const upserts = resources([server, clientW, bench]) as Resource[];
  if (cfg.trafficPolicy !== undefined) {
    const p = compiledPolicy(cfg.trafficPolicy, bench.key, ports);
    upserts.push({ kind: 'TrafficPolicy', key: p.key, body: p });
  }
  state.apply({ version: '1', upserts, removes: [] });
  const log = createLogger('waypoint');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The certificate is given, not signed over 15012: the data path reads only these two.
  const certificates = { current: () => ({ key: cfg.key, cert: cfg.cert }), on: () => certificates } as unknown as CertificateManager;
  const dataPath = await waypointDataPath({
    namespace: NAMESPACE,
    serviceAccount: 'waypoint',
    gateway: 'waypoint',
    node: 'node2',
    controller: { address: { host: '127.0.0.1', port: 1 }, identity: 'x', roots: cfg.roots, token: () => '' },
    servers: { hbone: { host: '127.0.0.1', port: cfg.hbonePort } },
    endpointHbonePort: cfg.endpointHbonePort,
    ...(cfg.redis && { redisAddress: cfg.redis }),
  })({ identity, self, state, certificates, trustBundle: new TrustBundle(cfg.roots), trustDomain: TD, registry, logger: log });
  process.on('disconnect', () => void dataPath.close(200).finally(() => process.exit(0)));
  process.send!('ready');
  // Bytes allocated on the JS heap over the run (freed by each GC, plus what is still in
  // use at the end): a count of work, steadier than CPU time on a shared machine.
  let gc: v8.GCProfiler | undefined;
  // WAYPOINT_PROFILE_ALLOC=FILE: a sampling profile of every allocation (also those the
  // GC collected) over the run, written to FILE (.heapprofile: Chrome DevTools reads it).
  const session = new inspector.Session();
  let used0 = 0;
  process.on('message', (m) => {
    if (m === 'start') {
      if (process.env['WAYPOINT_PROFILE_ALLOC']) {
        session.connect();
        session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as object);
      }
      used0 = v8.getHeapStatistics().used_heap_size;
      gc = new v8.GCProfiler();
      gc.start();
      return;
    }
    if (m !== 'stop' && m !== 'measure') return;
    const stats = (gc?.stop() as unknown as { statistics: Array<{ cost: number; beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }> } | undefined)?.statistics ?? [];
    let freed = 0;
    let cost = 0;
    for (const g of stats) {
      freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
      cost += g.cost;
    }
    const allocated = freed + v8.getHeapStatistics().used_heap_size - used0;
    if (process.env['WAYPOINT_PROFILE_ALLOC']) {
      session.post('HeapProfiler.stopSampling', (err, r) => {
        if (!err) writeFileSync(process.env['WAYPOINT_PROFILE_ALLOC']!, JSON.stringify(r.profile));
      });
    }
    if (m === 'measure') {
      gc = undefined;
      process.send!({ allocated, gcs: stats.length, gcMs: cost / 1000 });
      return;
    }
    process.send!({ allocated, gcs: stats.length, gcMs: cost / 1000 }, () => void dataPath.close(1000).finally(() => process.exit(0)));
  });
}

if (process.argv[2] && process.send) {
  main(JSON.parse(process.argv[2]) as ChildConfig).catch((err: Error) => {
    process.stderr.write(`waypoint-child: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
