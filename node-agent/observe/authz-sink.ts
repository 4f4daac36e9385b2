// Where the enforcer's decisions go (proxy/enforcer.ts onDecision): the decision counter,
// and for each new connection one observation in the observed-edges table. A data-path
// worker reduces each decision to these two inputs (decisionReport) and the main thread
// applies them (applyDecision), so both paths count exactly the same.
import type { DecisionEvent } from '../proxy/enforcer.js';
import { decisionMetricInput } from '../proxy/enforcer.js';
import type { DecisionReport } from '../workers/protocol.js';
import type { ObservedEdges } from './edges.js';
import type { AgentMetrics } from './metrics.js';

export function authzDecisionSink(metrics: AgentMetrics | undefined, edges: ObservedEdges | undefined): (e: DecisionEvent) => void {
  return (e) => applyDecision(decisionReport(e), metrics, edges);
}

/** A decision as plain data: its metric labels and, for a new connection, its edge. */
export function decisionReport(e: DecisionEvent): DecisionReport {
  const report: DecisionReport = { metric: decisionMetricInput(e) };
  if (e.kind !== 'connect') return report;
  const d = e.destination;
  report.edge = {
    ...(e.request.sourceIdentity !== undefined && { sourcePrincipal: e.request.sourceIdentity }),
    ...(e.request.sourceIp !== undefined && { sourceIp: e.request.sourceIp }),
    ...(e.sourceWorkload && { sourceWorkload: { name: e.sourceWorkload.name, namespace: e.sourceWorkload.namespace } }),
    destination: { uid: d.uid, name: d.name, namespace: d.namespace, canonicalName: d.canonicalName, labels: d.labels },
    port: e.request.destinationPort,
    denied: !e.verdict.allow,
    at: e.at,
  };
  return report;
}

export function applyDecision(r: DecisionReport, metrics: AgentMetrics | undefined, edges: ObservedEdges | undefined): void {
  metrics?.authzDecision(r.metric);
  if (r.edge !== undefined) edges?.observe(r.edge);
}
