// The HBONE server's memory of abusive peers across connections: the penalty box (pure
// accounting in penalty-box.ts), the counters of what was refused, and the one summary log
// line that replaces a line per refused stream. One guard may be shared by every HBONE
// listener of a process (the node agent serves one per pod), so that a peer penalised at
// one pod is refused at all of them.
import { HBONE_DEFAULTS, type HboneLimits } from '../limits.js';
import { silentLogger, type Logger } from '../log.js';
import type { ConnectionRefuseReason, StreamRejectReason } from './metrics.js';
import { PenaltyBox, type Penalty, type PeerEvent, type PeerKeys } from './penalty-box.js';
import { RejectSummary } from './reject-summary.js';

/** Where the guard counts refusals: HboneServerMetrics, or a data-path worker's
 * forwarder to the main thread's (node-agent/workers/worker.ts). */
export interface GuardCounters {
  rejectedStreams: { inc(labels: { reason: StreamRejectReason }): void };
  refusedConnections: { inc(labels: { reason: ConnectionRefuseReason }): void };
}

export interface PeerGuardOptions {
  limits?: Partial<HboneLimits>;
  logger?: Logger;
  metrics?: GuardCounters;
  /** Each penalty this guard imposes (the node agent's workers share them through it). */
  onPenalty?: (p: Penalty) => void;
  now?: () => number;
}

export class PeerGuard {
  readonly box: PenaltyBox;
  readonly #limits: HboneLimits;
  readonly #log: Logger;
  readonly #metrics: GuardCounters | undefined;
  readonly #onPenalty: ((p: Penalty) => void) | undefined;
  readonly #now: () => number;
  readonly #summary: RejectSummary;
  #flushTimer?: NodeJS.Timeout;

  constructor(opts: PeerGuardOptions = {}) {
    const l = (this.#limits = { ...HBONE_DEFAULTS, ...opts.limits });
    this.#log = opts.logger ?? silentLogger;
    this.#metrics = opts.metrics;
    this.#onPenalty = opts.onPenalty;
    this.#now = opts.now ?? Date.now;
    this.#summary = new RejectSummary(l.rejectLogIntervalMs);
    this.box = new PenaltyBox({
      budgets: { earlyReset: l.peerMaxEarlyResets, newStream: l.peerMaxNewStreams },
      identityFactor: l.peerIdentityFactor,
      halfLifeMs: l.peerScoreHalfLifeMs,
      penaltyMs: l.peerPenaltyMs,
      maxTracked: l.peerMaxTracked,
    });
  }

  /** The penalty in force against the peer, if any. */
  penalty(peer: PeerKeys): Penalty | undefined {
    return this.box.penalty(peer, this.#now());
  }

  /** Counts an event; returns the penalty it imposed (logged here, once per penalty). */
  record(peer: PeerKeys, event: PeerEvent): Penalty | undefined {
    const p = this.box.record(peer, event, this.#now());
    if (p) {
      this.#onPenalty?.(p);
      this.#log.warn(
        { [p.by]: p.key, cause: event === 'earlyReset' ? 'streams reset before their answer' : 'streams opened', refusedForMs: this.#limits.peerPenaltyMs },
        `hbone: peer ${p.by} penalised (too many ${event === 'earlyReset' ? 'streams reset before their answer (rapid reset)' : 'new streams'} across connections); refusing it`,
      );
    }
    return p;
  }

  /** A penalty imposed elsewhere (another worker's guard): in force here too, not logged again. */
  impose(p: Penalty): void {
    this.box.impose(p, this.#now());
  }

  /** Whether a stream the peer reset before its answer still deserves its own record (a client that gave up, not a flood). */
  recordsEarlyReset(peer: PeerKeys): boolean {
    return this.box.score(peer, 'earlyReset', this.#now()) < this.#limits.earlyResetsRecorded;
  }

  /** A stream not served: counted, and summarised in the rate-limited log line unless `quiet`. */
  rejectStream(reason: StreamRejectReason, peer: PeerKeys, quiet = false): void {
    this.#metrics?.rejectedStreams.inc({ reason });
    if (!quiet) this.#summarise(`stream:${reason}`, peer);
  }

  /** A connection refused or closed for abuse: counted and summarised. */
  refuseConnection(reason: ConnectionRefuseReason, peer: PeerKeys): void {
    this.#metrics?.refusedConnections.inc({ reason });
    this.#summarise(`connection:${reason}`, peer);
  }

  /** Writes what is left of the summary and stops its timer. */
  close(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#write(this.#summary.flush(this.#now(), true));
  }

  #summarise(reason: string, peer: PeerKeys): void {
    const line = this.#summary.add(reason, peer.identity ?? peer.address, this.#now());
    if (line) this.#write(line);
    else if (!this.#flushTimer) {
      // The tail of a burst is written when the interval ends, even if the burst stopped.
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#write(this.#summary.flush(this.#now()));
      }, Math.max(0, this.#summary.nextLineAt - this.#now()));
      this.#flushTimer.unref();
    }
  }

  #write(line: ReturnType<RejectSummary['flush']>): void {
    if (line) this.#log.warn({ refused: line.counts, peers: line.peers, otherPeers: line.otherPeers, sinceMs: line.sinceMs }, 'hbone: streams or connections refused (summary)');
  }
}
