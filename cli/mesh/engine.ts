// The authorization engine as `ambientctl authz check` and `policies` use it: the same
// functions the node agents run (core/policy), so the CLI never explains a decision the
// data plane would not make.
import type { PolicyEngine } from './authz-check.js';

export async function loadEngine(): Promise<PolicyEngine> {
  // Loaded at run time until core/policy's evaluator is on this branch.
  const evaluatePath = '../../core/policy/evaluate.js';
  const selectPath = '../../core/policy/select.js';
  const [e, s] = (await Promise.all([import(evaluatePath), import(selectPath)])) as [Pick<PolicyEngine, 'evaluate'>, Pick<PolicyEngine, 'policiesFor'>];
  return { evaluate: e.evaluate, policiesFor: s.policiesFor };
}
