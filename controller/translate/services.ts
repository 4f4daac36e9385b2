// Service (+ its EndpointSlices) -> MeshService.
//   - hostname `<name>.<namespace>.svc.<cluster domain>`, key `<namespace>/<hostname>`;
//   - VIPs: spec.clusterIPs (clusterIP when absent); a headless Service (`None`) has none
//     but is still listed (DNS and waypoints need its name and ports). ExternalName
//     Services and Services whose address is not allocated yet are not translated.
//   - ports: a numeric targetPort as is (absent: the port itself); a named one is 0 and
//     resolved on each endpoint's pod (Endpoint.ports), by name and protocol, as
//     Kubernetes' FindPort does, so pods of one Service may use different numbers.
//     SCTP ports are left out (no mesh component carries SCTP) and reported.
//   - endpoints: EndpointSlices labelled kubernetes.io/service-name=<name> in the same
//     namespace, each endpoint matched to a Workload by its targetRef's pod uid; one whose
//     pod is not a Workload (unknown, finished, or in another namespace) is skipped.
//     `healthy` is conditions.ready, absent counting as ready (discovery.k8s.io/v1:
//     "a nil value should be interpreted as ready"). A pod listed by two slices (dual
//     stack: one slice per address family) is one endpoint, healthy if either says so.
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Endpoint, MeshService, ServicePort, Workload } from '../../core/config/model.js';
import { compareStrings, isolated, objectKey, readMeta, Rejected, SERVICE_NAME_LABEL, type Labels, type Problems } from './objects.js';
import { bindWaypoint, isWaypointMember, type WaypointIndex } from './waypoints.js';

/** IANA_SVC_NAME: what a named port may be called (Kubernetes validation). */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;

export interface ServiceContext {
  clusterDomain: string;
  namespaceLabels(namespace: string): Labels;
  waypoints: WaypointIndex;
  /** Workloads by pod uid, with the pod they came from (for named container ports). */
  workloads: ReadonlyMap<string, { workload: Workload; pod: V1Pod }>;
  /** EndpointSlices by `<namespace>/<service name>`, already checked. */
  slices: ReadonlyMap<string, readonly V1EndpointSlice[]>;
  remark(message: string): void;
}

interface PortPlan {
  port: ServicePort;
  /** The container port name to resolve per endpoint, for a named TCP targetPort. */
  targetName?: string;
}

/** Whether the Service gets a MeshService at all (not ExternalName, address allocated). */
export function isServiceTranslated(svc: V1Service): boolean {
  const spec = svc?.spec;
  if (!spec || spec.type === 'ExternalName') return false;
  return typeof spec.clusterIP === 'string' && spec.clusterIP !== '';
}

function readVips(svc: V1Service): string[] {
  const spec = svc.spec!;
  if (spec.clusterIP === 'None') return [];
  const many = Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0;
  const raw: unknown[] = many ? spec.clusterIPs! : [spec.clusterIP];
  return [
    ...new Set(
      raw.map((ip, i) => {
        if (typeof ip !== 'string' || isIP(ip) === 0 || ip.includes('%')) {
          throw new Rejected(`${many ? `spec.clusterIPs[${i}]` : 'spec.clusterIP'}: ${JSON.stringify(ip)} is not an IP address`);
        }
        return ip;
      }),
    ),
  ];
}

function readPorts(svc: V1Service, remark: (m: string) => void): PortPlan[] {
  const raw: unknown = svc.spec!.ports ?? [];
  if (!Array.isArray(raw)) throw new Rejected('spec.ports is not a list');
  const plans: PortPlan[] = [];
  raw.forEach((p: unknown, i) => {
    const at = `spec.ports[${i}]`;
    if (!p || typeof p !== 'object') throw new Rejected(`${at} is not an object`);
    const sp = p as Record<string, unknown>;
    const port = sp.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Rejected(`${at}.port: ${JSON.stringify(port)} is not a port number (1..65535)`);
    }
    const protocol = sp.protocol ?? 'TCP';
    if (protocol === 'SCTP') {
      remark(`${at}: port ${port}/SCTP is left out: the mesh carries TCP (and lists UDP), not SCTP`);
      return;
    }
    if (protocol !== 'TCP' && protocol !== 'UDP') throw new Rejected(`${at}.protocol: ${JSON.stringify(protocol)} is not TCP, UDP or SCTP`);
    let target: unknown = sp.targetPort ?? port;
    if (typeof target === 'string' && /^\d+$/.test(target)) target = Number(target);
    let targetPort: number;
    let targetName: string | undefined;
    if (typeof target === 'number') {
      if (!Number.isInteger(target) || target < 1 || target > 65535) throw new Rejected(`${at}.targetPort: ${target} is not a port number (1..65535)`);
      targetPort = target;
    } else if (typeof target === 'string' && PORT_NAME.test(target)) {
      targetPort = 0;
      if (protocol === 'TCP') targetName = target;
    } else {
      throw new Rejected(`${at}.targetPort: ${JSON.stringify(target)} is neither a port number nor a port name`);
    }
    const out: ServicePort = { port, targetPort, protocol };
    if (typeof sp.name === 'string' && sp.name !== '') out.name = sp.name;
    if (typeof sp.appProtocol === 'string' && sp.appProtocol !== '') out.appProtocol = sp.appProtocol;
    plans.push(targetName === undefined ? { port: out } : { port: out, targetName });
  });
  return plans;
}

/** The container port named `name` for `protocol` (containers, then restartable init
 * "sidecar" containers, as Kubernetes' FindPort searches them). */
export function findContainerPort(pod: V1Pod, name: string, protocol: string): number | undefined {
  const spec = pod.spec;
  const sidecars = (Array.isArray(spec?.initContainers) ? spec!.initContainers : []).filter((c) => c?.restartPolicy === 'Always');
  for (const c of [...(Array.isArray(spec?.containers) ? spec!.containers : []), ...sidecars]) {
    if (!Array.isArray(c?.ports)) continue;
    for (const cp of c.ports) {
      if (cp?.name === name && (cp.protocol ?? 'TCP') === protocol && typeof cp.containerPort === 'number') return cp.containerPort;
    }
  }
  return undefined;
}

function readEndpoints(namespace: string, name: string, plans: readonly PortPlan[], ctx: ServiceContext): Endpoint[] {
  const byUid = new Map<string, Endpoint>();
  for (const slice of ctx.slices.get(`${namespace}/${name}`) ?? []) {
    for (const ep of slice.endpoints) {
      const uid = ep?.targetRef?.uid;
      const known = typeof uid === 'string' ? ctx.workloads.get(uid) : undefined;
      if (!known || known.workload.namespace !== namespace) continue;
      const healthy = ep.conditions?.ready !== false;
      const seen = byUid.get(uid!);
      if (seen) {
        seen.healthy ||= healthy;
        continue;
      }
      const ports: Record<string, number> = {};
      for (const plan of plans) {
        if (plan.targetName === undefined) continue;
        const target = findContainerPort(known.pod, plan.targetName, plan.port.protocol);
        if (target !== undefined) ports[String(plan.port.port)] = target;
      }
      byUid.set(uid!, { workloadUid: uid!, ports, healthy });
    }
  }
  return [...byUid.values()].sort((a, b) => compareStrings(a.workloadUid, b.workloadUid));
}

/** Translates a Service for which isServiceTranslated holds; throws Rejected on a bad one. */
export function translateService(svc: V1Service, ctx: ServiceContext): MeshService {
  const { name, namespace, labels } = readMeta(svc.metadata);
  const hostname = `${name}.${namespace}.svc.${ctx.clusterDomain}`;
  const plans = readPorts(svc, ctx.remark);
  const s: MeshService = {
    key: `${namespace}/${hostname}`,
    name,
    namespace,
    hostname,
    vips: readVips(svc),
    ports: plans.map((p) => p.port),
    endpoints: readEndpoints(namespace, name, plans, ctx),
  };
  if (!isWaypointMember(ctx.waypoints, namespace, labels, name)) {
    const binding = bindWaypoint(ctx.waypoints, 'service', namespace, labels, ctx.namespaceLabels(namespace));
    if (binding.problem) ctx.remark(binding.problem);
    if (binding.ref) s.waypoint = binding.ref;
  }
  return s;
}

/** Groups EndpointSlices by the Service they belong to; a malformed slice is reported and left out. */
export function indexSlices(slices: readonly V1EndpointSlice[], problems: Problems): Map<string, V1EndpointSlice[]> {
  const out = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const found = isolated(problems, 'EndpointSlice', objectKey(slice?.metadata), () => {
      const { namespace, labels } = readMeta(slice?.metadata);
      const service = labels[SERVICE_NAME_LABEL];
      if (service === undefined) return undefined; // not a Service's slice
      if (slice.addressType === 'FQDN') return undefined; // names, not pods
      if (!Array.isArray(slice.endpoints)) throw new Rejected('endpoints is not a list');
      return `${namespace}/${service}`;
    });
    if (found === undefined) continue;
    const list = out.get(found);
    if (list) list.push(slice);
    else out.set(found, [slice]);
  }
  return out;
}
