// The parts of one controller replica's state that every replica merges so that each answers
// for the whole mesh (docs/telemetry.md, "Several controller replicas"): each node agent and
// waypoint holds one config stream, to one replica, and reports there, so the telemetry
// window's edges and flows and the connected agents are split among the replicas. Pure: how
// a peer's part is checked (it crossed the network, bounded and authenticated, but still
// input) and how the replicas' parts become one.
//
// Adding a part (e.g. the workload certificates agents report):
//  1. an entry here: `parse` (check a peer's value, throw naming the path) and `merge`
//     (own part first, then the peers'), with small tests in replica-parts.test.ts;
//  2. its reader in OWN_PARTS (handlers/internal.ts): what this replica holds for a query;
//  3. in the handler answering it: `const m = await meshWide(ctx, 'name', own, query)`
//     (mesh-wide.ts), then answer `m.value` with `...partialFields(m)`.
import type { ConfigStream, MeshStatus, RejectedResource } from '../../console/api-types.js';
import { parseCertificate, parseEdge, parseFlow, ReportShapeError, TELEMETRY_LIMITS, type ReportLimits } from '../../core/observe/telemetry-wire.js';
import { mergeHeldSnapshots, type HeldCertificatesSnapshot, type HeldSet } from '../telemetry/certificates.js';
import type { StoredEdge } from '../telemetry/graph.js';
import type { MeshFlow, WindowEdges } from '../telemetry/mesh-telemetry.js';
import { mergeWindowEdges } from '../telemetry/window.js';

export type AgentRow = MeshStatus['agents'][number];

/** One replica's recent flows: `lastSeq` is its own numbering (a live view's cursor). */
export interface ReplicaFlows {
  replica: string;
  lastSeq: number;
  flows: MeshFlow[];
}

/** A flow with the replica that holds it (its `seq` is that replica's). */
export interface ReplicaFlow {
  replica: string;
  flow: MeshFlow;
}

export interface ReplicaPart<T, M = T> {
  /** A peer's value checked; throws ReportShapeError naming the path. */
  parse(v: unknown, path: string): T;
  /** The replicas' values as one (this replica's first); `query` as the caller asked. */
  merge(parts: readonly T[], query: URLSearchParams): M;
}

// Peers' windows are already bounded by their own limits; names as long as a report's.
const PEER_LIMITS: ReportLimits = { ...TELEMETRY_LIMITS, maxEdges: Number.MAX_SAFE_INTEGER, maxFlows: Number.MAX_SAFE_INTEGER };

type Obj = Record<string, unknown>;
function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ReportShapeError(`${path} must be an object`);
  return v as Obj;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new ReportShapeError(`${path} must be an array`);
  return v;
}
function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ReportShapeError(`${path} must be a non-negative integer`);
  return v;
}
function str(v: unknown, path: string, max: number = TELEMETRY_LIMITS.maxNameChars): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new ReportShapeError(`${path} must be a string of 1 to ${max} characters`);
  return v;
}
const optStr = (v: unknown, path: string): string | undefined => (v === undefined ? undefined : str(v, path));

export function parseWindowEdges(v: unknown, path: string): WindowEdges {
  const o = obj(v, path);
  const edges = arr(o['edges'], `${path}.edges`).map((e, i): StoredEdge => {
    const edge: StoredEdge = parseEdge(e, `${path}.edges[${i}]`, PEER_LIMITS);
    // Set by the peer from its authenticated caller (window.ts), kept.
    const waypoint = optStr((e as Obj)['waypoint'], `${path}.edges[${i}].waypoint`);
    if (waypoint !== undefined) edge.waypoint = waypoint;
    return edge;
  });
  return { windowMs: int(o['windowMs'], `${path}.windowMs`), at: int(o['at'], `${path}.at`), edges, overflowEdges: int(o['overflowEdges'], `${path}.overflowEdges`) };
}

export function parseReplicaFlows(v: unknown, path: string): ReplicaFlows {
  const o = obj(v, path);
  const flows = arr(o['flows'], `${path}.flows`).map((f, i): MeshFlow => {
    const p = `${path}.flows[${i}]`;
    const raw = obj(f, p);
    const waypoint = optStr(raw['waypoint'], `${p}.waypoint`);
    return { ...parseFlow(raw, p, PEER_LIMITS), seq: int(raw['seq'], `${p}.seq`), node: str(raw['node'], `${p}.node`), ...(waypoint !== undefined && { waypoint }) };
  });
  return { replica: str(o['replica'], `${path}.replica`), lastSeq: int(o['lastSeq'], `${path}.lastSeq`), flows };
}

export function parseAgentRows(v: unknown, path: string): AgentRow[] {
  return arr(v, path).map((a, i): AgentRow => {
    const p = `${path}[${i}]`;
    const o = obj(a, p);
    if (typeof o['connected'] !== 'boolean') throw new ReportShapeError(`${p}.connected must be true or false`);
    const acked = o['ackedVersion'];
    return {
      node: str(o['node'], `${p}.node`),
      connected: o['connected'],
      ackedVersion: acked === null ? null : str(acked, `${p}.ackedVersion`),
      nacks: arr(o['nacks'], `${p}.nacks`).map((n, j) => {
        const no = obj(n, `${p}.nacks[${j}]`);
        return { version: str(no['version'], `${p}.nacks[${j}].version`), message: str(no['message'], `${p}.nacks[${j}].message`, 64 * 1024) };
      }),
      problems: arr(o['problems'], `${p}.problems`).map((s, j) => str(s, `${p}.problems[${j}]`, 64 * 1024)),
      ...(o['controllerVersion'] !== undefined && { controllerVersion: str(o['controllerVersion'], `${p}.controllerVersion`) }),
      ...(o['identity'] !== undefined && { identity: str(o['identity'], `${p}.identity`) }),
      ...(o['synced'] !== undefined && { synced: bool(o['synced'], `${p}.synced`) }),
      ...(o['rejected'] !== undefined && { rejected: parseRejected(o['rejected'], `${p}.rejected`) }),
      ...(o['enrolled'] !== undefined && { enrolled: int(o['enrolled'], `${p}.enrolled`) }),
    };
  });
}

export function parseHeldSnapshot(v: unknown, path: string): HeldCertificatesSnapshot {
  const o = obj(v, path);
  const sets = arr(o['sets'], `${path}.sets`).map((s, i): HeldSet => {
    const p = `${path}.sets[${i}]`;
    const so = obj(s, p);
    const role = so['role'];
    if (role !== 'node-agent' && role !== 'waypoint') throw new ReportShapeError(`${p}.role must be node-agent or waypoint`);
    const waypoint = optStr(so['waypoint'], `${p}.waypoint`);
    return {
      role,
      node: str(so['node'], `${p}.node`),
      ...(waypoint !== undefined && { waypoint }),
      reportedAt: int(so['reportedAt'], `${p}.reportedAt`),
      certificates: arr(so['certificates'], `${p}.certificates`).map((c, j) => parseCertificate(c, `${p}.certificates[${j}]`, PEER_LIMITS)),
    };
  });
  return { at: int(o['at'], `${path}.at`), sets };
}

function parseRejected(v: unknown, path: string): RejectedResource[] {
  return arr(v, path).map((x, i) => {
    const p = `${path}[${i}]`;
    const o = obj(x, p);
    return { kind: str(o['kind'], `${p}.kind`), key: str(o['key'], `${p}.key`), version: str(o['version'], `${p}.version`), error: str(o['error'], `${p}.error`, 64 * 1024) };
  });
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ReportShapeError(`${path} must be true or false`);
  return v;
}

/** The waypoint pods' config streams to a peer. */
export function parseConfigStreams(v: unknown, path: string): ConfigStream[] {
  return arr(v, path).map((x, i): ConfigStream => {
    const p = `${path}[${i}]`;
    const o = obj(x, p);
    const acked = o['ackedVersion'];
    return { identity: str(o['identity'], `${p}.identity`), node: str(o['node'], `${p}.node`), ackedVersion: acked === null ? null : str(acked, `${p}.ackedVersion`), synced: bool(o['synced'], `${p}.synced`), rejected: parseRejected(o['rejected'], `${p}.rejected`) };
  });
}

/** Every replica's waypoint streams in one list, by identity then node. */
export function mergeConfigStreams(parts: readonly (readonly ConfigStream[])[]): ConfigStream[] {
  return parts.flat().sort((a, b) => a.identity.localeCompare(b.identity) || a.node.localeCompare(b.node));
}

/** Every replica's recent flows as one list, oldest first: a flow is one replica's (replica,
 * seq), so a replica answering twice adds nothing; the newest `limit` are kept. */
export function mergeFlows(parts: readonly ReplicaFlows[], limit: number): ReplicaFlow[] {
  const seen = new Set<string>();
  const all: ReplicaFlow[] = [];
  for (const p of parts) {
    for (const flow of p.flows) {
      const k = `${p.replica}\u0000${flow.seq}`;
      if (seen.has(k)) continue;
      seen.add(k);
      all.push({ replica: p.replica, flow });
    }
  }
  all.sort((a, b) => a.flow.time - b.flow.time || a.replica.localeCompare(b.replica) || a.flow.seq - b.flow.seq);
  return all.slice(Math.max(0, all.length - Math.max(0, limit)));
}

/** One row per node: an agent holds one stream, so at most one replica sees it connected;
 * a connected row wins over a disconnected one, else the first (this replica's). */
export function mergeAgents(parts: readonly (readonly AgentRow[])[]): AgentRow[] {
  const byNode = new Map<string, AgentRow>();
  for (const rows of parts) {
    for (const r of rows) {
      const held = byNode.get(r.node);
      if (held === undefined || (!held.connected && r.connected)) byNode.set(r.node, r);
    }
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
}

/** The query's flows limit, as the internal route and the merge read it. */
export function flowsLimit(query: URLSearchParams, max: number): number {
  const n = Number(query.get('limit'));
  return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : max;
}

export const REPLICA_PARTS = {
  /** The telemetry window's edges over `window`: everything in them adds up. */
  edges: { parse: parseWindowEdges, merge: (parts: readonly WindowEdges[]) => mergeWindowEdges(parts) } satisfies ReplicaPart<WindowEdges>,
  /** Recent flows (`namespace`, `limit`, `sinceSeq`): merged by time. */
  flows: { parse: parseReplicaFlows, merge: (parts: readonly ReplicaFlows[], q: URLSearchParams) => mergeFlows(parts, flowsLimit(q, Number.MAX_SAFE_INTEGER)) } satisfies ReplicaPart<ReplicaFlows, ReplicaFlow[]>,
  /** The node agents with a config stream to the replica, as GET /status lists them. */
  agents: { parse: parseAgentRows, merge: mergeAgents } satisfies ReplicaPart<AgentRow[]>,
  /** The identities of the waypoint pods with a config stream to the replica (one per stream). */
  /** The workload certificates the replica's clients last listed: per reporter the latest list. */
  certificates: { parse: parseHeldSnapshot, merge: mergeHeldSnapshots } satisfies ReplicaPart<HeldCertificatesSnapshot>,
  /** The waypoint pods' config streams: each pod holds one, to one replica. */
  waypointStreams: { parse: parseConfigStreams, merge: mergeConfigStreams } satisfies ReplicaPart<ConfigStream[]>,
};

export type PartName = keyof typeof REPLICA_PARTS;
export type PartValue<N extends PartName> = ReturnType<(typeof REPLICA_PARTS)[N]['parse']>;
export type MergedValue<N extends PartName> = ReturnType<(typeof REPLICA_PARTS)[N]['merge']>;
export const PART_NAMES = Object.keys(REPLICA_PARTS) as PartName[];

/** A replica that did not answer (in time, or with what it should). */
export interface Unanswered {
  replica: string;
  reason: string;
}

/** What an answer made of one or more merged parts carries when a replica is missing from it (each replica named once). */
export function partialFields(...ms: ReadonlyArray<{ unanswered: readonly Unanswered[] }>): { partial?: true; unanswered?: Unanswered[] } {
  const byReplica = new Map<string, Unanswered>();
  for (const m of ms) for (const u of m.unanswered) if (!byReplica.has(u.replica)) byReplica.set(u.replica, u);
  return byReplica.size === 0 ? {} : { partial: true, unanswered: [...byReplica.values()] };
}

/** A live view's next step on one peer's flows, pure: the first answer only sets the cursor
 * (the view starts now); later ones give the flows after it. A peer whose numbering went
 * back (it restarted) starts over from its new numbering. */
export function newPeerFlows(cursor: number | undefined, answer: ReplicaFlows): { flows: MeshFlow[]; cursor: number } {
  if (cursor === undefined || answer.lastSeq < cursor) return { flows: [], cursor: answer.lastSeq };
  return { flows: answer.flows.filter((f) => f.seq > cursor), cursor: answer.lastSeq };
}
