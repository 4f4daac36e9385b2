// The schemas of the mesh's own kinds (ambient.dev/v1), as their CRDs would declare them:
// AuthorizationPolicy, PeerAuthentication and RequestAuthentication are Istio's
// security.istio.io/v1 shapes;
// TrafficPolicy is the mesh's own and declares only its target references so far
// (the rest of its spec is kept as written). The API server checks every object of
// these kinds against them at admission (structural-schema.ts).
import type { Schema } from './structural-schema.js';

const string: Schema = { type: 'string' };
const strings: Schema = { type: 'array', items: string };
const object = (properties: Record<string, Schema>, more: Partial<Extract<Schema, { type: 'object' }>> = {}): Schema => ({ type: 'object', properties, ...more });

/** A label selector on workloads: matchLabels only, string values (Istio's WorkloadSelector). */
const workloadSelector = object({
  matchLabels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 }, maxProperties: 4096 },
});

/** Istio's PolicyTargetReference. */
const targetRef = object({ group: string, kind: string, name: string, namespace: string }, { required: ['kind', 'name'] });

const source = object({
  principals: strings,
  notPrincipals: strings,
  requestPrincipals: strings,
  notRequestPrincipals: strings,
  namespaces: strings,
  notNamespaces: strings,
  serviceAccounts: strings,
  notServiceAccounts: strings,
  ipBlocks: strings,
  notIpBlocks: strings,
  remoteIpBlocks: strings,
  notRemoteIpBlocks: strings,
});

const operation = object({
  hosts: strings,
  notHosts: strings,
  ports: strings,
  notPorts: strings,
  methods: strings,
  notMethods: strings,
  paths: strings,
  notPaths: strings,
});

const condition = object({ key: string, values: strings, notValues: strings }, { required: ['key'] });

const rule = object({
  from: { type: 'array', items: object({ source }) },
  to: { type: 'array', items: object({ operation }) },
  when: { type: 'array', items: condition },
});

export const AUTHORIZATION_POLICY_SPEC: Schema = object({
  selector: workloadSelector,
  targetRef,
  targetRefs: { type: 'array', items: targetRef, maxItems: 16 },
  rules: { type: 'array', items: rule, maxItems: 512 },
  action: { type: 'string', enum: ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] },
  provider: object({ name: string }),
});

export const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;

const mtls = object({ mode: { type: 'string', enum: MTLS_MODES } });

export const PEER_AUTHENTICATION_SPEC: Schema = object({
  selector: workloadSelector,
  mtls,
  portLevelMtls: { type: 'object', additionalProperties: mtls },
});

/** Istio's JWTRule (RequestAuthentication `jwtRules[]`). */
const jwtRule = object(
  {
    issuer: string,
    audiences: strings,
    jwksUri: string,
    jwks_uri: string,
    jwks: string,
    fromHeaders: { type: 'array', items: object({ name: string, prefix: string }, { required: ['name'] }) },
    fromParams: strings,
    fromCookies: strings,
    outputPayloadToHeader: string,
    forwardOriginalToken: { type: 'boolean' },
    outputClaimToHeaders: { type: 'array', items: object({ header: string, claim: string }, { required: ['header', 'claim'] }) },
    timeout: string,
  },
  { required: ['issuer'] },
);

export const REQUEST_AUTHENTICATION_SPEC: Schema = object({
  selector: workloadSelector,
  targetRef,
  targetRefs: { type: 'array', items: targetRef, maxItems: 16 },
  jwtRules: { type: 'array', items: jwtRule, maxItems: 64 },
});

export const TRAFFIC_POLICY_SPEC: Schema = object({ targetRefs: { type: 'array', items: targetRef } }, { preserveUnknownFields: true });

/** Rollout.ambient.dev/v1 (controller/rollout-spec.ts reads it and checks the rest: steps increasing, durations). */
export const ROLLOUT_SPEC: Schema = object(
  {
    service: string,
    stable: string,
    canary: string,
    steps: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 100 }, maxItems: 100 },
    interval: string,
    gates: object({ minSuccessRate: { type: 'number', minimum: 0, maximum: 1 }, maxP99Latency: string, minRequests: { type: 'integer', minimum: 0 } }),
    paused: { type: 'boolean' },
    abort: { type: 'boolean' },
  },
  { required: ['service', 'stable', 'canary'] },
);
