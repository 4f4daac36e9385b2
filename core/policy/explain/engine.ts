// The authorization engine as `ambientctl authz check` and `policies` use it: the same
// functions the node agents run (core/policy), so the CLI never explains a decision the
// data plane would not make.
import { evaluate } from '../evaluate.js';
import { policiesFor, policiesForTargets } from '../select.js';
import type { PolicyEngine } from './check.js';

export const ENGINE: PolicyEngine = { evaluate, policiesFor, policiesForTargets };
