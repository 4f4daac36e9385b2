// Where the enforcer's decisions go (proxy/enforcer.ts onDecision): the decision counter,
// and for each new connection one observation in the observed-edges table.
import type { DecisionEvent } from '../proxy/enforcer.js';
import { decisionMetricInput } from '../proxy/enforcer.js';
import type { ObservedEdges } from './edges.js';
import type { AgentMetrics } from './metrics.js';

export function authzDecisionSink(metrics: AgentMetrics | undefined, edges: ObservedEdges | undefined): (e: DecisionEvent) => void {
  return (e) => {
    metrics?.authzDecision(decisionMetricInput(e));
    if (e.kind !== 'connect' || edges === undefined) return;
    edges.observe({
      ...(e.request.sourceIdentity !== undefined && { sourcePrincipal: e.request.sourceIdentity }),
      ...(e.request.sourceIp !== undefined && { sourceIp: e.request.sourceIp }),
      ...(e.sourceWorkload && { sourceWorkload: e.sourceWorkload }),
      destination: e.destination,
      port: e.request.destinationPort,
      denied: !e.verdict.allow,
      at: e.at,
    });
  };
}
