// The policy engine the node agent enforces with: core/policy's own functions, evaluated at
// the 'node-agent' enforcement point (authorize.ts takes the engine as a parameter so that
// its decisions stay pure and testable, including an engine that fails).
import { evaluate } from '../../core/policy/evaluate.js';
import { policiesFor } from '../../core/policy/select.js';
import type { AuthzEngine } from './authorize.js';

export const policyEngine: AuthzEngine = { evaluate, policiesFor };
