// The node agent's Prometheus metrics, served on 15020 (DESIGN.md "Ports"; node-agent/admin.ts):
// Istio's standard TCP metrics per proxied connection, the agent's own health, and Node's
// process metrics (RSS, CPU, event-loop lag). Each AgentMetrics has its own Registry, so
// that tests (and several agents in one process) never share counters.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ConnectionRecord } from '../proxy/record.js';
import type { ProxyState } from '../state/snapshot.js';
import { AUTHZ_LABELS, authzDecisionLabels, type AuthzDecisionInput, type AuthzLabel, type TcpLabel } from './labels.js';
import { LabelCache } from './label-cache.js';
import { TcpMetrics } from './tcp-metrics.js';

export interface AgentMetricsSources {
  /** Pods whose traffic this agent captures now. */
  enrolledPods(): number;
  /** Whether the config stream to the controller (15012) is up. */
  controllerConnected(): boolean;
  /** The workload certificates the agent holds now. */
  certificates(): { identity: string; notAfter: Date }[];
  /** Proxied connections open now (all pods, all listeners). */
  activeConnections(): number;
}

/** The authorization counter's labels depend on the event alone: one key space for all. */
const AUTHZ_KEYSPACE = {};

export class AgentMetrics {
  readonly registry = new Registry();
  // Names and help texts are Istio's (https://istio.io/latest/docs/reference/config/metrics/).
  readonly tcpOpened: Counter<TcpLabel>;
  readonly tcpClosed: Counter<TcpLabel>;
  readonly tcpSentBytes: Counter<TcpLabel>;
  readonly tcpReceivedBytes: Counter<TcpLabel>;
  readonly configUpdates: Counter<'result'>;
  readonly configRejectedResources: Counter;
  readonly captureRepairs: Counter;
  readonly cniChainRepairs: Counter;
  readonly enrolmentFailures: Counter<'reason'>;
  readonly workerRestarts: Counter;
  /** Listener handovers between this agent and the one before or after it (handover/). */
  readonly handovers: Counter<'role' | 'result'>;
  readonly authzDecisions: Counter<AuthzLabel>;
  /** Istio's TCP metrics (tcp-metrics.ts, shared with the waypoint). */
  readonly tcp: TcpMetrics;
  readonly #authz = new LabelCache<AuthzLabel, 'n'>(AUTHZ_LABELS);

  constructor(sources: AgentMetricsSources) {
    const registers = [this.registry];
    this.tcp = new TcpMetrics(this.registry);
    this.tcpOpened = this.tcp.opened;
    this.tcpClosed = this.tcp.closed;
    this.tcpSentBytes = this.tcp.sentBytes;
    this.tcpReceivedBytes = this.tcp.receivedBytes;

    new Gauge({
      name: 'ambient_agent_enrolled_pods',
      help: 'Pods whose traffic this node agent captures now.',
      registers,
      collect() {
        this.set(sources.enrolledPods());
      },
    });
    new Gauge({
      name: 'ambient_agent_controller_connected',
      help: '1 while the config stream to the controller (15012) is up, else 0.',
      registers,
      collect() {
        this.set(sources.controllerConnected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ambient_agent_active_connections',
      help: 'Proxied connections open now, all pods and listeners.',
      registers,
      collect() {
        this.set(sources.activeConnections());
      },
    });
    new Gauge({
      name: 'ambient_agent_certificate_expiry_seconds',
      help: 'Seconds until each workload certificate the agent holds expires (negative once expired).',
      labelNames: ['identity'],
      registers,
      collect() {
        // Reset first: an identity whose certificate was dropped (its last pod left) must
        // disappear rather than count down forever.
        this.reset();
        const now = Date.now();
        for (const c of sources.certificates()) this.set({ identity: c.identity }, Math.round((c.notAfter.getTime() - now) / 1000));
      },
    });

    this.configUpdates = new Counter({
      name: 'ambient_agent_config_updates_total',
      help: 'Config updates received from the controller: applied (every resource accepted) or rejected (at least one resource rejected and reported; the others applied).',
      labelNames: ['result'],
      registers,
    });
    this.configRejectedResources = new Counter({
      name: 'ambient_agent_config_rejected_resources_total',
      help: 'Resources in config updates that failed validation and were rejected (NACKed) alone.',
      registers,
    });
    this.captureRepairs = new Counter({
      name: 'ambient_agent_capture_repairs_total',
      help: "Times an enrolled pod's capture rules were found missing or changed and were restored.",
      registers,
    });
    this.cniChainRepairs = new Counter({
      name: 'ambient_agent_cni_chain_repairs_total',
      help: "Times the node's CNI conflist (or the plugin binary) was found without the ambient-cni plugin, after it had been chained, and was chained again.",
      registers,
    });
    this.enrolmentFailures = new Counter({
      name: 'ambient_agent_enrolment_failures_total',
      help: 'Pods the agent failed to enrol (capture, listeners or certificate), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.workerRestarts = new Counter({
      name: 'ambient_agent_worker_restarts_total',
      help: 'Data-path workers that died and were started again (their connections were reset; the other workers carried on).',
      registers,
    });
    this.handovers = new Counter({
      name: 'ambient_agent_handovers_total',
      help: 'Listener handovers at an agent upgrade. role: old (handing over) or new (taking over); result: done, none (no agent to take over from), failed (listeners created afresh / kept), refused (a peer that is not root).',
      labelNames: ['role', 'result'] as const,
      registers,
    });
    this.authzDecisions = new Counter({
      name: 'ambient_authorization_decisions_total',
      help: 'Authorization decisions on inbound connections: the enforced one, the dry-run one (dry_run="true") and matched AUDIT policies (action="AUDIT"); a connection closed after a policy change counts its new decision.',
      labelNames: [...AUTHZ_LABELS],
      registers,
      collect: () => this.#authz.fill(this.authzDecisions, 'n'),
    });
    // Zeros visible before the first event, so rate() and alerts work from the start.
    for (const result of ['applied', 'rejected']) this.configUpdates.inc({ result }, 0);

    // Node's process metrics (process_resident_memory_bytes, process_cpu_seconds_total,
    // nodejs_eventloop_lag_seconds ...), unprefixed as prom-client names them.
    collectDefaultMetrics({ register: this.registry });
  }

  /** A proxied connection was accepted (before its record is written). */
  connectionOpened(r: ConnectionRecord, state: ProxyState): void {
    this.tcp.connectionOpened(r, state);
  }

  /** A connection's record was written: closed, and its bytes (tcp-metrics.ts). */
  connectionClosed(r: ConnectionRecord, state: ProxyState): void {
    this.tcp.connectionClosed(r, state);
  }

  /** The enforcer decided (or closed) an inbound connection. */
  authzDecision(e: AuthzDecisionInput): void {
    for (const labels of authzDecisionLabels(e)) {
      // The labels are already all there is; their values joined are the key (no snapshot involved).
      const key = AUTHZ_LABELS.map((n) => labels[n]).join('\u0000');
      LabelCache.add(this.#authz.entry(AUTHZ_KEYSPACE, key, () => labels), 'n');
    }
  }

  /** A config update was handled; `rejectedCount` resources in it failed validation. */
  configUpdate(rejectedCount = 0): void {
    this.configUpdates.inc({ result: rejectedCount > 0 ? 'rejected' : 'applied' });
    if (rejectedCount > 0) this.configRejectedResources.inc(rejectedCount);
  }

  /** A pod's capture rules were restored after drifting. */
  captureRepair(): void {
    this.captureRepairs.inc();
  }

  /** A pod could not be enrolled; `reason` is a short fixed word (capture, netns, certificate ...), never a message. */
  enrolmentFailure(reason: string): void {
    this.enrolmentFailures.inc({ reason });
  }
}
