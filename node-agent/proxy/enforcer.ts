// The node agent's authorization enforcer: the one stateful piece around authorize.ts.
// It decides each inbound connection (and tells the sinks: metrics, observed edges), keeps
// the connections it allowed while they are open, and when the config changes closes those
// the new snapshot denies (ztunnel does the same: a policy change applies to open
// connections too). Shared by every pod's inbound listeners; the executors (inbound.ts)
// register each open connection with a closer of their own.
import type { Workload } from '../../core/config/model.js';
import { silentLogger, type Logger } from '../../core/log.js';
import type { AuthzRequest } from '../../core/policy/types.js';
import type { ProxyState } from '../state/snapshot.js';
import { authorizeInbound, connectionsToClose, revokedMessage, type AuthzEngine, type InboundVerdict, type OpenInbound } from './authorize.js';
import type { AuthzRecord } from './record.js';
import type { AuthzDecisionInput } from '../observe/labels.js';

/** One decision, for the metrics and the observed-edges table. */
export interface DecisionEvent {
  /** 'connect': a new connection was decided; 'revoke': an open one is closed because a
   * config change denies it. */
  kind: 'connect' | 'revoke';
  at: Date;
  destination: Workload;
  request: AuthzRequest;
  verdict: InboundVerdict;
  /** The source pod, when the agent knows it (its IP and, over HBONE, its identity). */
  sourceWorkload?: Workload;
}

/** An open connection, registered by its executor. */
export interface TrackedInbound extends OpenInbound {
  /** The snapshot it was decided with: when a newer one arrived before it was registered,
   * it is decided again at once (a change between decision and open is not missed). */
  decidedWith: ProxyState;
  /** Closes it (both sides) and makes its record say `message`; `verdict` is the new decision. */
  close(message: string, verdict: InboundVerdict): void;
  /** For the log line. */
  describe?: () => Record<string, unknown>;
}

export interface InboundEnforcerOptions {
  engine: AuthzEngine;
  /** The newest snapshot. */
  getState: () => ProxyState;
  /** Each decision (metrics, observed edges); an exception here is logged, never fatal. */
  onDecision?: (event: DecisionEvent) => void;
  logger?: Logger;
}

export class InboundEnforcer {
  readonly #opts: InboundEnforcerOptions;
  readonly #log: Logger;
  readonly #open = new Set<TrackedInbound>();

  constructor(opts: InboundEnforcerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  /** Connections open and tracked now. */
  get open(): number {
    return this.#open.size;
  }

  /** Decides a new inbound connection; never throws (an engine failure denies). */
  decide(state: ProxyState, destination: Workload, request: AuthzRequest, sourceWorkload?: Workload): InboundVerdict {
    const verdict = authorizeInbound(this.#opts.engine, state, destination, request);
    if (verdict.failed !== undefined) {
      this.#log.error({ destination: `${destination.namespace}/${destination.name}`, err: verdict.failed }, 'authz: no decision could be made; denied (fail closed)');
    }
    this.#emit({ kind: 'connect', at: new Date(), destination, request, verdict, ...(sourceWorkload && { sourceWorkload }) });
    return verdict;
  }

  /** Registers an open connection; the returned function unregisters it (call it once the
   * connection is over). */
  track(conn: TrackedInbound): () => void {
    this.#open.add(conn);
    if (conn.decidedWith !== this.#opts.getState()) {
      // Decided on an older snapshot: check it against the newest on the next turn (once
      // the executor has finished wiring the connection up).
      setImmediate(() => {
        if (this.#open.has(conn)) this.#closeDenied(this.#opts.getState(), [conn]);
      });
    }
    return () => void this.#open.delete(conn);
  }

  /** The config changed: closes every open connection `state` no longer allows. Returns how many. */
  reevaluate(state: ProxyState = this.#opts.getState()): number {
    return this.#closeDenied(state, this.#open);
  }

  #closeDenied(state: ProxyState, conns: Iterable<TrackedInbound>): number {
    const denied = connectionsToClose(this.#opts.engine, state, conns);
    for (const { conn, verdict } of denied) {
      this.#open.delete(conn);
      conn.decidedWith = state;
      const message = revokedMessage(verdict);
      const destination = state.workloadByUid(conn.destinationUid) ?? conn.destination;
      this.#log.warn(
        {
          destination: `${destination.namespace}/${destination.name}`,
          source: conn.request.sourceIdentity ?? conn.request.sourceIp,
          policy: verdict.enforced.policy ?? 'none',
          rule: verdict.enforced.rule,
          ...conn.describe?.(),
        },
        message,
      );
      this.#emit({ kind: 'revoke', at: new Date(), destination, request: conn.request, verdict });
      try {
        conn.close(message, verdict);
      } catch (err) {
        this.#log.error({ err: (err as Error)?.message }, 'authz: closing a denied connection failed');
      }
    }
    return denied.length;
  }

  #emit(event: DecisionEvent): void {
    try {
      this.#opts.onDecision?.(event);
    } catch (err) {
      this.#log.error({ err: (err as Error)?.message }, 'authz: decision sink threw');
    }
  }
}

/** The decision as the connection record carries it. */
export function authzRecordOf(v: InboundVerdict): AuthzRecord {
  const r: AuthzRecord = { decision: v.enforced.decision };
  if (v.enforced.policy !== undefined) r.policy = v.enforced.policy;
  if (v.enforced.rule !== undefined) r.rule = v.enforced.rule;
  if (v.dryRun !== undefined) {
    r.dryRun = { decision: v.dryRun.decision };
    if (v.dryRun.policy !== undefined) r.dryRun.policy = v.dryRun.policy;
    if (v.dryRun.rule !== undefined) r.dryRun.rule = v.dryRun.rule;
  }
  return r;
}

/** A decision as the metrics count it (observe/labels.ts authzDecisionLabels). */
export function decisionMetricInput(e: DecisionEvent): AuthzDecisionInput {
  const input: AuthzDecisionInput = {
    kind: e.kind,
    destination: { canonicalName: e.destination.canonicalName, namespace: e.destination.namespace },
    enforced: e.verdict.enforced,
    audits: (e.verdict.result?.enforced.audits ?? []).map((a) => a.policy),
    dryRunAudits: (e.verdict.result?.dryRun?.audits ?? []).map((a) => a.policy),
  };
  if (e.verdict.dryRun !== undefined) input.dryRun = e.verdict.dryRun;
  return input;
}

/**
 * Wires `authz` to a config store: with each new snapshot the open connections are decided
 * again and those now denied are closed (one log line); a failure is logged, never thrown
 * into the store's single writer. The agent's main thread and every data-path worker use it.
 */
export function reevaluateOnChange(store: { onChange(listener: (applied: { state: ProxyState }) => void): void }, authz: InboundEnforcer, log: Logger): void {
  store.onChange((applied) => {
    try {
      const closed = authz.reevaluate(applied.state);
      if (closed > 0) log.info({ closed }, 'agent: open connections closed after a policy change');
    } catch (err) {
      log.error({ err: (err as Error)?.message ?? String(err) }, 'agent: re-evaluating open connections failed');
    }
  });
}
