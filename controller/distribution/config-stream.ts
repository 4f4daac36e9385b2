// POST /v1/config: a long-lived stream of newline-delimited JSON (docs/protocol.md): the
// client's hello, then versioned incremental updates, each ACKed or NACKed.
//
// One writer: setResources() is the only way config changes; it validates the whole set,
// bumps the global version once, and pushes to every client the difference between what
// that client holds and what it should hold now. A client that cannot keep up (its stream
// stops accepting writes) is not written to until it drains; by then its difference covers
// every change it missed, so a slow client costs one pending update, never a queue.
//
// A change costs what changed, not the table: applyChanges() takes the resources that
// changed (from the incremental translation), and each client is sent the difference over
// those ids only (plus the policies whose scope for its node changed, PolicyScopeIndex).
// The whole table is compared with what a client holds only on its first update, after
// setResources() (a whole new set) and with a ScopeFunction (which reads the whole set).
//
// What one caller can cost is bounded: streams per caller (a ServiceAccount on a node),
// bytes buffered per stream (a client that does not read is dropped), and the hello:
// ids the table does not have are answered with removals only up to maxUnknownHeldIds.
//
// Route resources (compiled HTTPRoutes/GRPCRoutes) go to waypoints only: a node agent is
// never sent one, whatever the ScopeFunction returns (model.ts isNodeAgentKind).
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { ErrorCodes, MeshError, isMeshError } from '../../core/errors.js';
import { compareResources, isNodeAgentKind, type Resource, type ResourceKind } from '../../core/config/model.js';
import { formatSpiffeId } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/log.js';
import {
  LineDecoder,
  NDJSON,
  NODE_HEADER,
  encodeMessage,
  encodeUpdate,
  parseClientMessage,
  parseResourceId,
  parseVersion,
  resourceId,
  type ClientMessage,
  type ResourceRef,
  type VersionedResource,
} from '../../core/config/wire.js';
import type { Caller } from './authorize.js';
import type { Authenticator } from './authenticate.js';
import { callerKey } from './certificates.js';
import { Refused, respondError } from './http.js';
import { ResourceTable, applyDelta, computeDelta, sameContent, type Delta, type TableEntry } from './resync.js';
import { waypointOf, waypointResources, type PolicyScopeIndex, type WaypointScope } from './scope.js';

const { constants: C } = http2;

/**
 * Which resources a client gets. Must return a subset of `resources` (the same objects).
 * Default: all of them -- the L4 agent routes to any Service and Workload in the mesh, and
 * enforces any policy that selects one of its pods, so it needs the whole set.
 */
export type ScopeFunction = (node: string, resources: readonly VersionedResource[], caller: Caller) => readonly VersionedResource[];

export interface RejectedResource {
  kind: string;
  key: string;
  /** The version the client refused (the one it was sent). */
  version: string;
  error: string;
}

/** One connected config stream, as `ambientctl status` shows it. */
export interface ConfigClientStatus {
  id: number;
  node: string;
  identity: string;
  role: Caller['role'];
  remote: string;
  connectedAt: string;
  /** The last update sent, ACKed, NACKed (absent: none yet). */
  lastSentVersion?: string;
  lastAckedVersion?: string;
  lastNackedVersion?: string;
  /** Resources the client refused and still holds at another version (or not at all). */
  rejected: RejectedResource[];
  /** Resources the client holds (or has been sent). */
  resources: number;
  /** True when changes wait for the client to drain its stream (a slow client). */
  pending: boolean;
  /** Global versions folded into a later update because the client was slow. */
  coalesced: number;
  /** Bytes written to the stream and not yet taken by the peer's flow control. */
  bufferedBytes: number;
  updatesSent: number;
  /** The client sent its hello and is served; false while the controller has no config yet. */
  synced: boolean;
}

export interface ConfigStatus {
  /** The global config version. */
  version: string;
  /** False until setResources() was called once: streams wait for it. */
  ready: boolean;
  resources: number;
  clients: ConfigClientStatus[];
}

export interface ConfigStreamLimits {
  maxStreamsPerCaller: number;
  maxBufferedBytesPerClient: number;
  slowClientTimeoutMs: number;
  maxUnknownHeldIds: number;
  helloTimeoutMs: number;
  maxClientMessageBytes: number;
  maxRejectedPerClient: number;
  maxErrorMessageChars: number;
  maxUnackedUpdates: number;
  maxStreamAgeMs: number;
  drainTimeoutMs: number;
}

interface ConfigClient {
  id: number;
  caller: Caller;
  remote: string;
  connectedAt: Date;
  stream: ServerHttp2Stream;
  helloDone: boolean;
  /** The hello's ids are still to be checked against the table (done at the first update, once the table is ready). */
  helloUnscreened: boolean;
  /** `<kind>/<key>` -> version: what the client holds once it applied everything it was sent. */
  held: Map<string, string>;
  lastSentVersion?: number;
  lastAckedVersion?: number;
  lastNackedVersion?: number;
  /** Update version -> ids it upserted, until ACKed or NACKed (bounded). */
  inflight: Map<number, string[]>;
  rejected: Map<string, RejectedResource>;
  blocked: boolean;
  /** Set while blocked: the client is dropped when it has read nothing by then. */
  stallTimer?: NodeJS.Timeout;
  dirty: boolean;
  /** Ids changed since the client was last sent an update ('all': compare the whole table). */
  pending: Set<string> | 'all';
  /** The policy ids of its node it was last computed with (PolicyScopeIndex). */
  policies?: ReadonlySet<string>;
  coalesced: number;
  updatesSent: number;
  closed: boolean;
  timers: NodeJS.Timeout[];
}

export interface ConfigStreamsOptions {
  auth: Authenticator;
  limits: ConfigStreamLimits;
  logger: Logger;
  scope?: ScopeFunction;
  /** Node agents get the policies this index gives their node (incremental; instead of `scope`). */
  policyScope?: PolicyScopeIndex;
  /** True once the server is shutting down: new streams are refused. */
  draining: () => boolean;
}

export class ConfigStreams {
  readonly #o: ConfigStreamsOptions;
  readonly #log: Logger;
  readonly #table = new ResourceTable();
  readonly #clients = new Set<ConfigClient>();
  /** Open streams per caller (callerKey). */
  readonly #perCaller = new Map<string, number>();
  #current?: { version: number; entries: TableEntry[]; resources: VersionedResource[] };
  #nextId = 1;
  /** First updates already encoded at one version, by scope (see #encode). */
  #fullLines?: { version: number; lines: Map<ReadonlySet<string> | string, WeakRef<Buffer>> };
  /** Each waypoint's scoped set at one table version. */
  #waypointCache?: { version: number; byWaypoint: Map<string, TableEntry[]> };
  /** The work done for clients: resources compared with what a client holds, and whole-table comparisons. */
  readonly work = { compared: 0, fullComparisons: 0 };

  constructor(o: ConfigStreamsOptions) {
    this.#o = o;
    this.#log = o.logger;
  }

  get version(): number {
    return this.#table.version;
  }

  /** See ControllerServer.setResources. */
  setResources(resources: readonly Resource[]): number {
    const r = this.#table.replace(resources);
    // A whole new set: every node's policy scope is recomputed (its pods may have moved too).
    this.#o.policyScope?.invalidate();
    this.#o.policyScope?.observe(r.changes);
    if (!r.changed) return r.version;
    this.#log.debug({ version: r.version, upserted: r.upserted.length, removed: r.removed.length }, 'controller: config changed');
    for (const c of this.#clients) {
      if (c.blocked) c.coalesced++;
      this.#flush(c, 'all');
    }
    return r.version;
  }

  /** See ControllerServer.applyChanges. */
  applyChanges(upserts: readonly Resource[], removes: readonly ResourceRef[], placed?: Iterable<string>): number {
    const r = this.#table.apply(upserts, removes);
    const nodes = placed ? [...placed] : [];
    this.#o.policyScope?.invalidate(nodes);
    this.#o.policyScope?.observe(r.changes);
    if (!r.changed) return nodes.length > 0 ? this.rescope(nodes) : r.version;
    this.#log.debug({ version: r.version, upserted: r.upserted.length, removed: r.removed.length }, 'controller: config changed');
    const ids = r.changes.map((c) => c.id);
    for (const c of this.#clients) {
      if (c.blocked) c.coalesced++;
      this.#flush(c, ids);
    }
    return r.version;
  }

  /** See ControllerServer.rescope. */
  rescope(nodes?: Iterable<string>): number {
    this.#table.bump();
    const index = this.#o.policyScope;
    if (index && !this.#o.scope) {
      const only = nodes === undefined ? undefined : new Set(nodes);
      index.invalidate(only);
      for (const c of this.#clients) if (!only || only.has(c.caller.node)) this.#flush(c, []);
    } else for (const c of this.#clients) this.#flush(c, 'all');
    return this.#table.version;
  }

  status(): ConfigStatus {
    return {
      version: String(this.#table.version),
      ready: this.#table.ready,
      resources: this.#table.size,
      clients: [...this.#clients].map((c) => {
        const s: ConfigClientStatus = {
          id: c.id,
          node: c.caller.node,
          identity: formatSpiffeId(c.caller.identity),
          role: c.caller.role,
          remote: c.remote,
          connectedAt: c.connectedAt.toISOString(),
          rejected: [...c.rejected.values()],
          resources: c.held.size,
          pending: c.dirty,
          coalesced: c.coalesced,
          bufferedBytes: c.stream.writableLength,
          updatesSent: c.updatesSent,
          synced: c.helloDone && c.lastSentVersion !== undefined,
        };
        if (c.lastSentVersion !== undefined) s.lastSentVersion = String(c.lastSentVersion);
        if (c.lastAckedVersion !== undefined) s.lastAckedVersion = String(c.lastAckedVersion);
        if (c.lastNackedVersion !== undefined) s.lastNackedVersion = String(c.lastNackedVersion);
        return s;
      }),
    };
  }

  /** Ends every stream (clients reconnect, to another replica or to our successor). */
  endAll(): void {
    for (const c of this.#clients) this.#endStream(c);
  }

  async serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    let caller: Caller;
    try {
      caller = (await this.#o.auth.authenticate(headers, stream.session?.socket?.remoteAddress ?? '')).caller;
    } catch (err) {
      respondError(stream, err);
      return;
    }
    if (stream.destroyed || stream.closed) return;
    if (this.#o.draining()) return respondError(stream, new Refused(503, ErrorCodes.CTRL_UNAVAILABLE, 'the controller is shutting down; retry'));
    const l = this.#o.limits;
    const key = callerKey(caller);
    const open = this.#perCaller.get(key) ?? 0;
    if (open >= l.maxStreamsPerCaller) {
      this.#log.warn({ caller: formatSpiffeId(caller.identity), node: caller.node, open }, 'controller: config stream refused: too many from one caller');
      return respondError(
        stream,
        new Refused(429, ErrorCodes.CTRL_RATE_LIMITED, `${formatSpiffeId(caller.identity)} on node ${caller.node} already has ${open} config streams open (limit maxStreamsPerCaller)`),
      );
    }
    this.#perCaller.set(key, open + 1);
    stream.respond({ ':status': 200, 'content-type': NDJSON });
    const socket = stream.session?.socket;
    const c: ConfigClient = {
      id: this.#nextId++,
      caller,
      remote: `${socket?.remoteAddress ?? ''}:${socket?.remotePort ?? ''}`,
      connectedAt: new Date(),
      stream,
      helloDone: false,
      helloUnscreened: false,
      held: new Map(),
      inflight: new Map(),
      rejected: new Map(),
      blocked: false,
      dirty: false,
      pending: 'all',
      coalesced: 0,
      updatesSent: 0,
      closed: false,
      timers: [],
    };
    this.#clients.add(c);
    const who = { client: c.id, node: caller.node, identity: formatSpiffeId(caller.identity) };
    this.#log.info(who, 'controller: config stream opened');
    stream.once('close', () => {
      c.closed = true;
      for (const t of c.timers) clearTimeout(t);
      clearTimeout(c.stallTimer);
      this.#clients.delete(c);
      const n = (this.#perCaller.get(key) ?? 1) - 1;
      if (n > 0) this.#perCaller.set(key, n);
      else this.#perCaller.delete(key);
      this.#log.info({ ...who, lastAcked: c.lastAckedVersion }, 'controller: config stream closed');
    });
    const hello = setTimeout(() => this.#abort(c, new MeshError(ErrorCodes.XDS_HELLO_TIMEOUT, `no hello within ${l.helloTimeoutMs} ms`)), l.helloTimeoutMs);
    // Ended gracefully at a jittered age, so that streams re-authenticate and rebalance
    // across replicas without all reconnecting at once.
    const age = setTimeout(() => this.#endStream(c), l.maxStreamAgeMs * (0.9 + Math.random() * 0.2));
    age.unref();
    c.timers.push(hello, age);

    const decoder = new LineDecoder(l.maxClientMessageBytes);
    // Errors are handled inside the loop: leaving a for-await early destroys the stream,
    // and the client should first read why it is being disconnected.
    try {
      for await (const chunk of stream) {
        if (c.closed) continue; // ended by us: what the client still sends is discarded
        try {
          for (const line of decoder.push(chunk as Buffer)) {
            this.#onMessage(c, parseClientMessage(line));
            if (c.closed) break;
          }
        } catch (err) {
          if (!isMeshError(err)) throw err;
          this.#abort(c, err);
        }
      }
      this.#endStream(c); // the client ended its side: end ours
    } catch (err) {
      this.#log.debug({ ...who, err: (err as Error).message }, 'controller: config stream broke');
      if (!stream.destroyed) stream.destroy();
    }
  }

  #onMessage(c: ConfigClient, m: ClientMessage): void {
    if (m.type === 'hello') {
      if (c.helloDone) throw new MeshError(ErrorCodes.XDS_MALFORMED, 'a second hello on the same stream');
      if (m.node !== c.caller.node) throw new MeshError(ErrorCodes.XDS_MALFORMED, `hello names node ${m.node} but the request's ${NODE_HEADER} is ${c.caller.node}`);
      clearTimeout(c.timers[0]);
      c.held = new Map(Object.entries(m.versions));
      c.helloDone = true;
      c.helloUnscreened = true;
      this.#flush(c, 'all');
      return;
    }
    if (!c.helloDone) throw new MeshError(ErrorCodes.XDS_MALFORMED, `${m.type} before hello`);
    const v = parseVersion(m.version)!;
    if (c.lastSentVersion === undefined || v > c.lastSentVersion) {
      throw new MeshError(ErrorCodes.XDS_MALFORMED, `${m.type} for version ${v}, which was never sent (last sent: ${c.lastSentVersion ?? 'none'})`);
    }
    const ids = c.inflight.get(v);
    c.inflight.delete(v);
    if (m.type === 'ack') {
      c.lastAckedVersion = Math.max(c.lastAckedVersion ?? 0, v);
      for (const id of ids ?? []) c.rejected.delete(id);
      return;
    }
    const l = this.#o.limits;
    c.lastNackedVersion = Math.max(c.lastNackedVersion ?? 0, v);
    const refused = new Set<string>();
    for (const e of m.errors) {
      const id = resourceId(e.kind as ResourceKind, e.key);
      refused.add(id);
      if (!c.rejected.has(id) && c.rejected.size >= l.maxRejectedPerClient) continue;
      c.rejected.set(id, { kind: e.kind, key: e.key, version: c.held.get(id) ?? '', error: e.error.slice(0, l.maxErrorMessageChars) });
    }
    for (const id of ids ?? []) if (!refused.has(id)) c.rejected.delete(id);
    this.#log.warn(
      { client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), version: v, errors: m.errors.slice(0, 10) },
      'controller: client rejected resources (NACK)',
    );
  }

  /** The table as arrays, made once per version and shared by every client's flush. */
  #snapshot(): { version: number; entries: TableEntry[]; resources: VersionedResource[] } {
    if (this.#current?.version !== this.#table.version) {
      const entries = [...this.#table.entries()];
      this.#current = { version: this.#table.version, entries, resources: entries.map((e) => e.resource) };
    }
    return this.#current;
  }

  /** The whole table now, with its version (read-only: the same array until the next change). */
  resourceSnapshot(): { version: number; resources: readonly VersionedResource[] } {
    const snap = this.#snapshot();
    return { version: snap.version, resources: snap.resources };
  }

  /** The resources a client should hold now (the whole table, scoped). */
  #desired(c: ConfigClient): TableEntry[] {
    const snap = this.#snapshot();
    const scope = this.#o.scope;
    if (!scope) {
      if (c.caller.role === 'waypoint') return this.#waypointEntries(snap, waypointOf(c.caller));
      if (!this.#o.policyScope) return snap.entries.filter((e) => isNodeAgentKind(e.resource.kind));
      const policies = (c.policies = this.#o.policyScope.policiesFor(c.caller.node));
      return snap.entries.filter((e) => isNodeAgentKind(e.resource.kind) && (e.resource.kind !== 'Policy' || policies.has(e.id)));
    }
    const out: TableEntry[] = [];
    for (const r of scope(c.caller.node, snap.resources, c.caller)) {
      if (c.caller.role === 'node-agent' && !isNodeAgentKind(r.kind)) continue; // whatever the scope says
      const e = this.#table.get(resourceId(r.kind, r.key));
      if (e) out.push(e);
    }
    return out;
  }

  /** What a waypoint gets (scope.ts waypointResources), once per table version and waypoint. */
  #waypointEntries(snap: { version: number; entries: TableEntry[] }, w: WaypointScope): TableEntry[] {
    if (this.#waypointCache?.version !== snap.version) this.#waypointCache = { version: snap.version, byWaypoint: new Map() };
    const key = `${w.namespace}/${w.gateway}`;
    let out = this.#waypointCache.byWaypoint.get(key);
    if (!out) {
      const picked = new Set(waypointResources(w, snap.entries.map((e) => e.resource)));
      out = snap.entries.filter((e) => picked.has(e.resource));
      this.#waypointCache.byWaypoint.set(key, out);
    }
    return out;
  }

  /**
   * What the client must be sent for the ids in `pending` (changed since its last update)
   * and for the policies whose scope for its node changed since: the same answer
   * computeDelta gives over the whole table, computed over those ids only.
   */
  #changedDelta(c: ConfigClient, pending: Set<string>): Delta {
    const index = this.#o.policyScope;
    const candidates = pending;
    if (index && c.caller.role === 'node-agent') {
      const now = index.policiesFor(c.caller.node);
      const before = c.policies;
      if (now !== before) {
        for (const id of now) if (!before?.has(id)) candidates.add(id);
        for (const id of before ?? []) if (!now.has(id)) candidates.add(id);
        c.policies = now;
      }
    }
    const upserts: TableEntry[] = [];
    const removes: ResourceRef[] = [];
    for (const id of candidates) {
      this.work.compared++;
      const e = this.#table.get(id);
      const agent = c.caller.role === 'node-agent';
      const wanted = e !== undefined && (!agent || isNodeAgentKind(e.resource.kind)) && (e.resource.kind !== 'Policy' || !index || !agent || c.policies!.has(id));
      if (wanted) {
        if (!sameContent(c.held.get(id), e.resource.version)) upserts.push(e);
      } else if (c.held.has(id)) {
        const ref = parseResourceId(id);
        if (ref) removes.push(ref);
      }
    }
    upserts.sort((a, b) => compareResources(a.resource, b.resource));
    removes.sort(compareResources);
    return { upserts, removes };
  }

  /**
   * Sends the client what it lacks, unless it is still draining the last update (then later,
   * coalesced). `changed`: the ids changed since the last call ('all': compare everything).
   */
  #flush(c: ConfigClient, changed: Iterable<string> | 'all' = []): void {
    if (c.closed || !c.helloDone || !this.#table.ready) return;
    if (changed === 'all') c.pending = 'all';
    else if (c.pending !== 'all') for (const id of changed) c.pending.add(id);
    if (c.blocked) {
      c.dirty = true;
      return;
    }
    c.dirty = false;
    if (c.helloUnscreened) this.#screenHello(c);
    const full = c.lastSentVersion === undefined;
    const pending = c.pending;
    c.pending = new Set();
    let delta: Delta;
    // A waypoint's set depends on other resources (a Route on its parent Service's binding),
    // so its updates are computed against its whole scoped set, not per changed id.
    if (full || pending === 'all' || this.#o.scope || c.caller.role === 'waypoint') {
      const desired = this.#desired(c);
      this.work.fullComparisons++;
      this.work.compared += desired.length + c.held.size;
      delta = computeDelta(c.held, desired);
    } else delta = this.#changedDelta(c, pending);
    if (!full && delta.upserts.length === 0 && delta.removes.length === 0) return;
    // Each update on a stream has a new version, so that an ACK names exactly one update.
    if (c.lastSentVersion !== undefined && this.#table.version <= c.lastSentVersion) this.#table.bump();
    const version = this.#table.version;
    const line = this.#encode(c, version, full, delta);
    applyDelta(c.held, delta);
    for (const r of delta.removes) c.rejected.delete(resourceId(r.kind, r.key));
    c.inflight.set(version, delta.upserts.map((e) => e.id));
    while (c.inflight.size > this.#o.limits.maxUnackedUpdates) c.inflight.delete(c.inflight.keys().next().value!);
    c.lastSentVersion = version;
    c.updatesSent++;
    const l = this.#o.limits;
    const accepted = c.stream.write(line);
    if (c.stream.writableLength > l.maxBufferedBytesPerClient) {
      this.#drop(c, `${c.stream.writableLength} bytes wait unread on the stream (limit maxBufferedBytesPerClient ${l.maxBufferedBytesPerClient})`);
      return;
    }
    if (!accepted) {
      c.blocked = true;
      c.stallTimer = setTimeout(() => this.#drop(c, `it read nothing for ${l.slowClientTimeoutMs} ms while an update waited (limit slowClientTimeoutMs)`), l.slowClientTimeoutMs);
      c.stallTimer.unref();
      c.stream.once('drain', () => {
        clearTimeout(c.stallTimer);
        c.blocked = false;
        if (c.dirty) this.#flush(c);
      });
    }
  }

  /**
   * The update line. A first update to a client that held nothing is the same bytes for
   * every client of the same scope at the same version (node agents of nodes with the same
   * policy set, or waypoints): made once as a Buffer and written to each of those streams,
   * which share it instead of each holding its own copy of the whole table while it drains.
   * Held weakly: kept while a stream still has it queued, collectable once all have sent it.
   */
  #encode(c: ConfigClient, version: number, full: boolean, delta: Delta): string | Buffer {
    const shareable = full && c.held.size === 0 && delta.removes.length === 0 && !this.#o.scope;
    if (!shareable) return encodeUpdate(version, full, delta.upserts.map((e) => e.wire), delta.removes);
    // Each waypoint has its own set; node agents never share a first update with one.
    const key: ReadonlySet<string> | string = c.caller.role === 'waypoint' ? `waypoint:${c.caller.identity.namespace}/${c.caller.identity.serviceAccount}` : this.#o.policyScope ? c.policies! : 'node-agent';
    if (this.#fullLines?.version !== version) this.#fullLines = { version, lines: new Map() };
    let buf = this.#fullLines.lines.get(key)?.deref();
    if (!buf) {
      buf = Buffer.from(encodeUpdate(version, full, delta.upserts.map((e) => e.wire), delta.removes));
      this.#fullLines.lines.set(key, new WeakRef(buf));
    }
    return buf;
  }

  /**
   * The hello's ids checked against the table, once it is ready: ids it has are compared
   * by content as usual. Ids it does not have are resources deleted while the client was
   * away (it must be told to remove them) or made up (a removal each would cost the
   * controller memory for nothing): a hello naming more than maxUnknownHeldIds of them
   * gets no removal for any, and the stream goes on with what the table knows.
   */
  #screenHello(c: ConfigClient): void {
    c.helloUnscreened = false;
    const unknown: string[] = [];
    for (const id of c.held.keys()) if (!this.#table.get(id)) unknown.push(id);
    const max = this.#o.limits.maxUnknownHeldIds;
    if (unknown.length <= max) return;
    for (const id of unknown) c.held.delete(id);
    this.#log.warn(
      { client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), unknown: unknown.length, limit: max, sample: unknown.slice(0, 5) },
      'controller: the hello names more resources the controller does not have than maxUnknownHeldIds; they are ignored',
    );
  }

  /** Ends a stream at once, its unread data discarded (the client cannot read a message anyway). */
  #drop(c: ConfigClient, why: string): void {
    if (c.closed) return;
    c.closed = true;
    clearTimeout(c.stallTimer);
    this.#log.warn({ client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), code: ErrorCodes.XDS_CLIENT_TOO_SLOW, reason: why }, 'controller: config stream dropped: the client does not read');
    if (!c.stream.destroyed && !c.stream.closed) c.stream.close(C.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /** Ends a config stream with an error message (the client reads why), then closes it. */
  #abort(c: ConfigClient, err: MeshError): void {
    if (c.closed) return;
    this.#log.warn({ client: c.id, node: c.caller.node, identity: formatSpiffeId(c.caller.identity), code: err.code, err: err.message }, 'controller: config stream closed on a protocol error');
    if (!c.stream.destroyed && c.stream.writable) c.stream.write(encodeMessage({ type: 'error', code: err.code, message: err.message }));
    this.#endStream(c);
  }

  #endStream(c: ConfigClient): void {
    c.closed = true;
    const s = c.stream;
    if (s.destroyed || s.closed) return;
    if (!s.writableEnded) s.end();
    // The client ends its side on seeing ours end; one that does not is cut off.
    const t = setTimeout(() => {
      if (!s.closed && !s.destroyed) s.close(C.NGHTTP2_CANCEL);
    }, this.#o.limits.drainTimeoutMs);
    t.unref();
    c.timers.push(t);
  }
}
