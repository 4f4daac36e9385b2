// `authz check`'s --from/--to parsing and resolution: shared with the controller's API
// (POST /api/v1/authz/check), so it lives in core/policy/explain/resolve.ts.
export * from '../../core/policy/explain/resolve.js';
