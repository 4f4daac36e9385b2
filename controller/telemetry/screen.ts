// Whether a caller may report what its telemetry report says (docs/telemetry.md, "who may
// report what"). Pure: the authenticated caller, the report and an index of the mesh (the
// config table's Workloads and Services) in, a decision out.
//
// - A node agent reports as source or destination only, and only for connections whose
//   reporting side (the source of what it reports as source, the destination of what it
//   reports as destination) is a Workload on its own node, with that Workload's namespace,
//   canonical name and identity (and, for flows, pod name). So a compromised node can lie
//   about its own pods' traffic, never about another node's workloads.
// - A waypoint reports as waypoint only, and only traffic to a Service bound to it (or, for
//   a workload called directly, a Workload bound to it).
// - `other` edges (the aggregate beyond a summary's bound) carry no names: any caller's.
// One edge or flow that fails refuses the whole report: a caller that lies about one thing
// is not believed about the rest.
//
// Certificates (screenCertificates) are screened entry by entry instead: a node agent lists
// only certificates of identities that a Workload on its own node has, a waypoint only its
// own identity's. An entry that fails is dropped (and logged by the caller), the rest kept:
// which pods run on a node changes while a list is in flight (the last pod of an identity
// leaves), and that race must not cost the node its traffic telemetry; what a caller could
// lie about is confined to its own node either way.
import type { MeshService, Workload } from '../../core/config/model.js';
import type { DestinationRef, FlowPeer, PeerRef, ReportedCertificate, Reporter, TelemetryReport } from '../../core/observe/telemetry-wire.js';

export interface ReportingCaller {
  role: 'node-agent' | 'waypoint';
  node: string;
  /** A waypoint's Gateway (`waypointOf(caller)`). */
  waypoint?: { namespace: string; gateway: string };
  /** The caller's own SPIFFE ID (its authenticated ServiceAccount's): a waypoint's certificate is issued for it. */
  identity?: string;
}

export type Screened = { ok: true } | { ok: false; reason: string };

const k = (...parts: string[]) => parts.join('\u0000');

/** The config table's Workloads and Services, indexed for screenReport. */
export class MeshIndex {
  readonly #workloads = new Set<string>();
  readonly #pods = new Set<string>();
  /** `<node>\0<identity>` of every Workload. */
  readonly #identities = new Set<string>();
  /** `<ns>\0<workload>` -> waypoint Service keys of its pods. */
  readonly #workloadWaypoints = new Map<string, Set<string>>();
  readonly #serviceWaypoint = new Map<string, string | undefined>();

  static of(resources: Iterable<{ kind: string; body: unknown }>): MeshIndex {
    const ix = new MeshIndex();
    for (const r of resources) {
      if (r.kind === 'Workload') {
        const w = r.body as Workload;
        const name = w.canonicalName || w.name;
        ix.#workloads.add(k(w.node, w.namespace, name, w.identity));
        ix.#pods.add(k(w.node, w.namespace, w.name, name));
        ix.#identities.add(k(w.node, w.identity));
        if (w.waypoint !== undefined) {
          const wk = k(w.namespace, name);
          let set = ix.#workloadWaypoints.get(wk);
          if (!set) ix.#workloadWaypoints.set(wk, (set = new Set()));
          set.add(w.waypoint.service);
        }
      } else if (r.kind === 'Service') {
        const s = r.body as MeshService;
        ix.#serviceWaypoint.set(s.key, s.waypoint?.service);
      }
    }
    return ix;
  }

  workloadOn(node: string, namespace: string, workload: string, identity: string): boolean {
    return this.#workloads.has(k(node, namespace, workload, identity));
  }

  /** Whether some Workload on `node` has `identity`. */
  identityOn(node: string, identity: string): boolean {
    return this.#identities.has(k(node, identity));
  }

  podOn(node: string, namespace: string, pod: string, workload: string): boolean {
    return this.#pods.has(k(node, namespace, pod, workload));
  }

  serviceBoundTo(serviceKey: string, w: { namespace: string; gateway: string }): boolean {
    return boundTo(this.#serviceWaypoint.get(serviceKey), w);
  }

  workloadBoundTo(namespace: string, workload: string, w: { namespace: string; gateway: string }): boolean {
    for (const s of this.#workloadWaypoints.get(k(namespace, workload)) ?? []) if (boundTo(s, w)) return true;
    return false;
  }
}

/** A waypoint Service key `<ns>/<gateway>.<ns>.svc.<domain>` names this waypoint (scope.ts boundTo). */
function boundTo(waypointService: string | undefined, w: { namespace: string; gateway: string }): boolean {
  return waypointService?.startsWith(`${w.namespace}/${w.gateway}.${w.namespace}.svc.`) === true;
}

const show = (p: PeerRef) => `${p.namespace ?? '?'}/${p.workload ?? '?'} (${p.identity ?? 'no identity'})`;

function screenOne(
  caller: ReportingCaller,
  ix: MeshIndex,
  what: string,
  e: { reporter: Reporter; source: FlowPeer; destination: DestinationRef & { pod?: string }; other?: true },
): string | undefined {
  if (e.other === true) return undefined;
  if (caller.role === 'node-agent') {
    if (e.reporter === 'waypoint') return `${what}: a node agent reports as source or destination, not as waypoint`;
    const side = e.reporter === 'source' ? e.source : e.destination;
    if (side.workload === undefined || side.namespace === undefined || side.identity === undefined) {
      return `${what}: the ${e.reporter} (the reporting side) must name its workload, namespace and identity`;
    }
    if (!ix.workloadOn(caller.node, side.namespace, side.workload, side.identity)) {
      return `${what}: the ${e.reporter} ${show(side)} is not a workload on node ${caller.node}; a node agent reports only its own node's workloads`;
    }
    if (side.pod !== undefined && !ix.podOn(caller.node, side.namespace, side.pod, side.workload)) {
      return `${what}: pod ${side.namespace}/${side.pod} of ${side.workload} is not on node ${caller.node}`;
    }
    return undefined;
  }
  const w = caller.waypoint!;
  if (e.reporter !== 'waypoint') return `${what}: a waypoint reports as waypoint, not as ${e.reporter}`;
  const d = e.destination;
  if (d.service !== undefined) {
    return ix.serviceBoundTo(d.service, w) ? undefined : `${what}: Service ${d.service} is not bound to waypoint ${w.namespace}/${w.gateway}`;
  }
  if (d.workload !== undefined && d.namespace !== undefined) {
    return ix.workloadBoundTo(d.namespace, d.workload, w) ? undefined : `${what}: workload ${d.namespace}/${d.workload} is not bound to waypoint ${w.namespace}/${w.gateway}`;
  }
  return `${what}: a waypoint's report must name the destination Service or workload`;
}

/** May `caller` report all of `report`? The first edge or flow it may not report is named. */
export function screenReport(caller: ReportingCaller, report: TelemetryReport, ix: MeshIndex): Screened {
  if (caller.role === 'waypoint' && caller.waypoint === undefined) return { ok: false, reason: 'the waypoint is not known' };
  for (let i = 0; i < report.edges.length; i++) {
    const why = screenOne(caller, ix, `edges[${i}]`, report.edges[i]!);
    if (why !== undefined) return { ok: false, reason: why };
  }
  for (let i = 0; i < report.flows.length; i++) {
    const why = screenOne(caller, ix, `flows[${i}]`, report.flows[i]!);
    if (why !== undefined) return { ok: false, reason: why };
  }
  return { ok: true };
}

export interface ScreenedCertificates {
  kept: ReportedCertificate[];
  /** Why each dropped entry was dropped (`certificates[i]: ...`). */
  refused: string[];
}

/** The certificates of a report `caller` may list: a node agent its own node's workloads'
 * identities, a waypoint its own identity. The others are named in `refused`. */
export function screenCertificates(caller: ReportingCaller, certificates: readonly ReportedCertificate[], ix: MeshIndex): ScreenedCertificates {
  const kept: ReportedCertificate[] = [];
  const refused: string[] = [];
  certificates.forEach((c, i) => {
    const what = `certificates[${i}]`;
    if (caller.role === 'node-agent') {
      if (ix.identityOn(caller.node, c.identity)) kept.push(c);
      else refused.push(`${what}: no workload on node ${caller.node} has identity ${c.identity}; a node agent lists only its own node's workloads' certificates`);
    } else if (caller.waypoint === undefined || caller.identity === undefined) {
      refused.push(`${what}: the waypoint is not known`);
    } else if (c.identity === caller.identity) {
      kept.push(c);
    } else {
      refused.push(`${what}: a waypoint lists only its own certificate (${caller.identity}), not ${c.identity}`);
    }
  });
  return { kept, refused };
}
