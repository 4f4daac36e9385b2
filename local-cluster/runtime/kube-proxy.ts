// The local cluster's kube-proxy for one node: Services and their EndpointSlices in,
// iptables rules for the Service VIPs out (local-cluster/network/service-rules.ts), applied
// with one iptables-restore inside the node's namespace on every change.
import type { KubeConfig, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { watchResource } from '../../core/kube/informer.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { installServiceJumps, syncServices } from '../network/service-proxy.js';
import type { Service } from '../network/service-rules.js';
import { SERVICE_NAME_LABEL } from '../controllers/endpointslices.js';

/** What the rules need from the API objects (pure): ready endpoints per Service port. */
export function servicesForRules(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): Service[] {
  return services
    .filter((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None')
    .map((s) => {
      const ns = s.metadata!.namespace!;
      const mine = slices.filter((sl) => sl.metadata?.namespace === ns && sl.metadata?.labels?.[SERVICE_NAME_LABEL] === s.metadata!.name);
      return {
        namespace: ns,
        name: s.metadata!.name!,
        clusterIP: s.spec!.clusterIP!,
        ports: (s.spec!.ports ?? []).map((p) => {
          const protocol = (p.protocol ?? 'TCP') as 'TCP' | 'UDP';
          const endpoints = mine.flatMap((sl) => {
            const sp = (sl.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP') === protocol);
            if (!sp?.port) return [];
            return (sl.endpoints ?? [])
              .filter((e) => e.conditions?.ready !== false)
              .flatMap((e) => e.addresses.map((ip) => ({ ip, port: sp.port! })));
          });
          return { ...(p.name ? { name: p.name } : {}), port: p.port, protocol, endpoints };
        }),
      };
    });
}

export interface KubeProxy {
  synced: Promise<void>;
  stop(): Promise<void>;
}

export async function startKubeProxy(o: { kc: KubeConfig; netns: string; logger?: Logger }): Promise<KubeProxy> {
  const log = o.logger ?? silentLogger;
  await installServiceJumps(o.netns);
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let busy: Promise<void> = Promise.resolve();
  const sync = () => {
    busy = busy.then(async () => {
      const input = servicesForRules(services.list(), slices.list());
      const key = JSON.stringify(input);
      if (key === last) return;
      try {
        const rules = await syncServices(o.netns, input);
        last = key;
        for (const r of rules.rejected) log.warn({ service: r.service, reason: r.reason }, 'service skipped');
        log.debug({ services: input.length }, 'service rules applied');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'applying service rules failed; retrying');
        setTimeout(schedule, 1000).unref();
      }
    });
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(sync, 20);
  };
  const services = watchResource<V1Service>(o.kc, { apiVersion: 'v1', kind: 'Service', plural: 'services' }, { onChange: schedule, logger: log });
  const slices = watchResource<V1EndpointSlice>(o.kc, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' }, { onChange: schedule, logger: log });
  return {
    synced: Promise.all([services.synced, slices.synced]).then(() => undefined),
    stop: async () => {
      if (timer) clearTimeout(timer);
      await Promise.all([services.stop(), slices.stop()]);
      await busy;
    },
  };
}
