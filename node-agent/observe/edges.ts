// The observed-edges table behind `ambientctl authz suggest` (GET /authz/edges on the
// admin port): every inbound connection the agent decided, folded into (source principal,
// destination workload, port) edges with counts and first/last-seen times. Bounded
// (AGENT_DEFAULTS.maxObservedEdges): when full, the edge seen least recently is evicted.
// Plaintext connections have no principal; their edges are keyed by the client's address
// instead, so that a suggestion can name it (ipBlocks).
import type { Workload } from '../../core/config/model.js';
import { AGENT_DEFAULTS } from '../../core/limits.js';
import type { ObservedEdge } from '../dump.js';

export interface EdgeObservation {
  /** The verified SPIFFE ID; undefined for plaintext. */
  sourcePrincipal?: string;
  sourceIp?: string;
  sourceWorkload?: Pick<Workload, 'name' | 'namespace'>;
  destination: Pick<Workload, 'uid' | 'name' | 'namespace' | 'canonicalName' | 'labels'>;
  port: number;
  denied: boolean;
  at: Date;
}

interface Edge {
  sourcePrincipal: string | null;
  sourceWorkload?: { name: string; namespace: string };
  sourceIp?: string;
  destination: ObservedEdge['destination'];
  port: number;
  connections: number;
  denied: number;
  firstSeen: number;
  lastSeen: number;
}

const sourceOf = (e: Pick<Edge, 'sourcePrincipal' | 'sourceIp'>): string => e.sourcePrincipal ?? `ip:${e.sourceIp ?? ''}`;

export class ObservedEdges {
  readonly max: number;
  readonly maxPerSource: number;
  /** Insertion order is recency: an edge seen again is moved to the end. */
  readonly #edges = new Map<string, Edge>();
  /** Edges held per source (principal, or `ip:<address>` for plaintext). */
  readonly #perSource = new Map<string, number>();

  constructor(max: number = AGENT_DEFAULTS.maxObservedEdges, maxPerSource: number = AGENT_DEFAULTS.maxObservedEdgesPerSource) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxObservedEdges must be a positive integer, got ${max}`);
    if (!Number.isInteger(maxPerSource) || maxPerSource < 1) throw new RangeError(`maxObservedEdgesPerSource must be a positive integer, got ${maxPerSource}`);
    this.max = max;
    this.maxPerSource = maxPerSource;
  }

  #evict(key: string): void {
    const e = this.#edges.get(key);
    if (e === undefined) return;
    this.#edges.delete(key);
    const source = sourceOf(e);
    const n = (this.#perSource.get(source) ?? 1) - 1;
    if (n > 0) this.#perSource.set(source, n);
    else this.#perSource.delete(source);
  }

  get size(): number {
    return this.#edges.size;
  }

  observe(o: EdgeObservation): void {
    const principal = o.sourcePrincipal ?? null;
    const key = JSON.stringify([principal, principal === null ? (o.sourceIp ?? '') : '', o.destination.uid, o.port]);
    const at = o.at.getTime();
    let edge = this.#edges.get(key);
    if (edge === undefined) {
      edge = {
        sourcePrincipal: principal,
        destination: {
          uid: o.destination.uid,
          name: o.destination.name,
          namespace: o.destination.namespace,
          canonicalName: o.destination.canonicalName,
          labels: { ...o.destination.labels },
        },
        port: o.port,
        connections: 0,
        denied: 0,
        firstSeen: at,
        lastSeen: at,
      };
      if (principal === null && o.sourceIp !== undefined) edge.sourceIp = o.sourceIp;
      const source = sourceOf(edge);
      if ((this.#perSource.get(source) ?? 0) >= this.maxPerSource) {
        for (const [k, e] of this.#edges) {
          if (sourceOf(e) === source) {
            this.#evict(k);
            break;
          }
        }
      }
      while (this.#edges.size >= this.max) this.#evict(this.#edges.keys().next().value as string);
      this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    } else {
      this.#edges.delete(key);
    }
    this.#edges.set(key, edge);
    edge.connections++;
    if (o.denied) edge.denied++;
    edge.lastSeen = Math.max(edge.lastSeen, at);
    if (o.sourceIp !== undefined) edge.sourceIp = o.sourceIp;
    if (o.sourceWorkload !== undefined) edge.sourceWorkload = { name: o.sourceWorkload.name, namespace: o.sourceWorkload.namespace };
  }

  /** The edges, most recently seen first. */
  list(): ObservedEdge[] {
    const out: ObservedEdge[] = [];
    for (const e of [...this.#edges.values()].reverse()) {
      const edge: ObservedEdge = {
        sourcePrincipal: e.sourcePrincipal,
        destination: { ...e.destination, labels: { ...e.destination.labels } },
        port: e.port,
        connections: e.connections,
        denied: e.denied,
        firstSeen: new Date(e.firstSeen).toISOString(),
        lastSeen: new Date(e.lastSeen).toISOString(),
      };
      if (e.sourceWorkload !== undefined) edge.sourceWorkload = { ...e.sourceWorkload };
      if (e.sourceIp !== undefined) edge.sourceIp = e.sourceIp;
      out.push(edge);
    }
    return out;
  }
}
