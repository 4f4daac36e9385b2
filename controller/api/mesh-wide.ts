// THE LAYER THE HANDLERS CALL TO ANSWER FOR THE WHOLE MESH (docs/telemetry.md, "Several
// controller replicas"): this replica's part of the state, the same part asked of every peer
// replica (peers.ts: bounded, authenticated), checked and merged (replica-parts.ts: pure).
// A peer that does not answer in time is named in `unanswered` (the answer says `partial:
// true`), never an error. Handlers use `meshWide` (GET /status's agents); the telemetry
// source below does the same for the graph and flows, and feeds /flows/stream with the
// peers' new flows by polling them while anyone listens.
import type { Flow } from '../../console/api-types.js';
import type { MeshFlow, MeshTelemetry } from '../telemetry/mesh-telemetry.js';
import type { ApiContext } from './context.js';
import type { ApiLimits } from './limits.js';
import { NO_PEERS, type PeerClient } from './peers.js';
import { mergeFlows, newPeerFlows, partialFields, REPLICA_PARTS, type MergedValue, type PartName, type PartValue, type ReplicaFlow, type ReplicaPart, type Unanswered } from './replica-parts.js';
import { flowNamespaces, toApiFlow, toApiGraph, type TelemetrySource } from './telemetry-source.js';

/** This replica: its name (the pod's), its own telemetry window, its peers. */
export interface ReplicaContext {
  name: string;
  telemetry: Pick<MeshTelemetry, 'edges' | 'flows' | 'graph' | 'subscribe'>;
  peers: PeerClient;
}

export interface MeshWide<T> {
  value: T;
  unanswered: Unanswered[];
}

/** One part from every peer, each checked; a peer without it (or with a wrong one) is unanswered. */
export async function askPeers<N extends PartName>(peers: PeerClient, part: N, query: (peer: string) => URLSearchParams): Promise<{ values: Array<{ replica: string; value: PartValue<N> }>; unanswered: Unanswered[] }> {
  const { replies, failures } = await peers.ask((peer) => {
    const q = new URLSearchParams(query(peer));
    q.set('parts', part);
    return q;
  });
  const values: Array<{ replica: string; value: PartValue<N> }> = [];
  const unanswered: Unanswered[] = failures.map((f) => ({ replica: f.replica, reason: f.reason }));
  for (const r of replies) {
    try {
      const body = r.body as Record<string, unknown> | null;
      values.push({ replica: r.replica, value: REPLICA_PARTS[part].parse(body?.[part] as never, part) as PartValue<N> });
    } catch (err) {
      unanswered.push({ replica: r.replica, reason: `its answer is not what a replica sends: ${(err as Error).message}` });
    }
  }
  unanswered.sort((a, b) => a.replica.localeCompare(b.replica));
  return { values, unanswered };
}

/** `own` (this replica's part for `query`) merged with every peer's. */
export async function meshWide<N extends PartName>(ctx: Pick<ApiContext, 'replica'>, part: N, own: PartValue<N>, query: URLSearchParams): Promise<MeshWide<MergedValue<N>>> {
  const { values, unanswered } = await askPeers(ctx.replica?.peers ?? NO_PEERS, part, () => query);
  const p = REPLICA_PARTS[part] as unknown as ReplicaPart<PartValue<N>, MergedValue<N>>;
  return { value: p.merge([own, ...values.map((v) => v.value)], query), unanswered };
}

/** A flow in the API's shape with an id unique across replicas (`<replica>:<seq>`): the list and the stream give one flow the same id. */
export const replicaFlow = (r: ReplicaFlow): Flow => ({ ...toApiFlow(r.flow), id: `${r.replica}:${r.flow.seq}` });

type PeerFlowListener = (r: ReplicaFlow) => void;

/** While anyone listens, asks every peer for its flows after the last seen, every pollMs (one poll at a time). */
class PeerFlowPoller {
  readonly #listeners = new Set<PeerFlowListener>();
  readonly #cursors = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(
    private readonly peers: PeerClient,
    private readonly pollMs: number,
    private readonly maxFlows: number,
  ) {}

  add(l: PeerFlowListener): () => void {
    this.#listeners.add(l);
    this.#schedule();
    return () => {
      this.#listeners.delete(l);
      if (this.#listeners.size === 0) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#cursors.clear();
      }
    };
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#polling || this.#listeners.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#poll();
    }, this.pollMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      const { values, unanswered } = await askPeers(this.peers, 'flows', (peer) => {
        const c = this.#cursors.get(peer);
        return new URLSearchParams(c === undefined ? { limit: '1' } : { sinceSeq: String(c), limit: String(this.maxFlows) });
      });
      const known = new Set([...values.map((v) => v.replica), ...unanswered.map((u) => u.replica)]);
      for (const k of this.#cursors.keys()) if (!known.has(k)) this.#cursors.delete(k);
      for (const { replica, value } of values) {
        if (this.#listeners.size === 0) break;
        const next = newPeerFlows(this.#cursors.get(replica), value);
        this.#cursors.set(replica, next.cursor);
        for (const flow of next.flows) {
          for (const l of this.#listeners) {
            try {
              l({ replica, flow });
            } catch {
              // a listener's failure is its own
            }
          }
        }
      }
    } finally {
      this.#polling = false;
      this.#schedule();
    }
  }
}

/** The telemetry window of the whole mesh: this replica's merged with its peers'. */
export function meshWideTelemetrySource(r: ReplicaContext, limits: Pick<ApiLimits, 'maxFlowsLimit' | 'peerFlowPollMs'>): TelemetrySource {
  const poller = new PeerFlowPoller(r.peers, limits.peerFlowPollMs, limits.maxFlowsLimit);
  return {
    graph: async ({ window, ...q }) => {
      const { values, unanswered } = await askPeers(r.peers, 'edges', () => new URLSearchParams({ window }));
      return { ...toApiGraph(r.telemetry.graph(q, values.map((v) => v.value)), window), ...partialFields({ unanswered }) };
    },
    flows: async (q) => {
      const own = r.telemetry.flows(q);
      const query = new URLSearchParams({ limit: String(q.limit), ...(q.namespace !== undefined && { namespace: q.namespace }) });
      const { values, unanswered } = await askPeers(r.peers, 'flows', () => query);
      const merged = mergeFlows([{ replica: r.name, lastSeq: own.lastSeq, flows: own.flows }, ...values.map((v) => v.value)], q.limit);
      return { items: merged.map(replicaFlow), ...partialFields({ unanswered }) };
    },
    subscribe: (listener) => {
      const emit = (rf: ReplicaFlow, f: MeshFlow = rf.flow) => listener(replicaFlow(rf), flowNamespaces(f));
      const offLocal = r.telemetry.subscribe((flow) => emit({ replica: r.name, flow }));
      const offPeers = poller.add((rf) => emit(rf));
      return () => {
        offLocal();
        offPeers();
      };
    },
  };
}
