// The engine `authz check` uses: shared with the controller's API, in core/policy/explain/engine.ts.
export { ENGINE } from '../../core/policy/explain/engine.js';
