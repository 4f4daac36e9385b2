// The schemas of the mesh's own kinds (ambient.dev/v1), as their CRDs would declare them:
// AuthorizationPolicy, PeerAuthentication and RequestAuthentication are Istio's
// security.istio.io/v1 shapes;
// TrafficPolicy and Rollout are the mesh's own (docs/traffic-management.md), field for field
// as the user contract names them. The API server checks every object of these kinds
// against them at admission (structural-schema.ts); what a schema cannot say (a duration's
// format, cross-field rules) is the compiler's (core/config/traffic-policy-compile.ts), whose
// fault becomes the object's status condition.
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

/** A duration as Istio writes one ("250ms", "30s", "1m"): a string here, its format the compiler's. */
const duration: Schema = { type: 'string', maxLength: 64 };
const count: Schema = { type: 'integer', minimum: 0, maximum: 4294967295 };
const percent: Schema = { type: 'integer', minimum: 0, maximum: 100 };

/** Gateway API's LocalPolicyTargetReferenceWithSectionName (a Service, optionally one port by name). */
const policyTargetRef = object({ group: string, kind: string, name: string, namespace: string, sectionName: string }, { required: ['kind', 'name'] });

export const TRAFFIC_POLICY_SPEC: Schema = object(
  {
    targetRefs: { type: 'array', items: policyTargetRef, maxItems: 16 },
    loadBalancer: object({
      algorithm: { type: 'string', enum: ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'] },
      consistentHash: object({ header: string, cookie: object({ name: string, ttl: duration, path: string }, { required: ['name'] }), sourceIP: { type: 'boolean' }, queryParameter: string }),
      warmupDuration: duration,
      localityPreference: { type: 'boolean' },
    }),
    connectionPool: object({
      maxConnections: count,
      maxPendingRequests: count,
      maxRequestsPerConnection: count,
      maxConcurrentRequests: count,
      idleTimeout: duration,
      connectTimeout: duration,
    }),
    outlierDetection: object({
      consecutive5xxErrors: count,
      consecutiveGatewayErrors: count,
      successRate: object({ minimumHosts: count, requestVolume: count, stdevFactor: { type: 'number', minimum: 0 } }),
      interval: duration,
      baseEjectionTime: duration,
      maxEjectionTime: duration,
      maxEjectionPercent: percent,
      minHealthPercent: percent,
    }),
    retries: object({
      attempts: { type: 'integer', minimum: 0 },
      perTryTimeout: duration,
      retryOn: { type: 'array', items: string, maxItems: 16 },
      retriableStatusCodes: { type: 'array', items: { type: 'integer', minimum: 400, maximum: 599 }, maxItems: 32 },
      backoff: object({ base: duration, max: duration }),
      budget: object({ percent: { type: 'number', minimum: 0, maximum: 100 }, minRetriesPerSecond: count }),
      retryNonIdempotent: { type: 'boolean' },
    }),
    timeouts: object({ idle: duration }),
    rateLimits: object({
      local: object({ requests: count, per: duration, burst: count }, { required: ['requests', 'per'] }),
      global: object(
        {
          requests: count,
          per: duration,
          key: { type: 'array', items: string, maxItems: 8 },
          window: { type: 'string', enum: ['fixed', 'sliding'] },
          failureMode: { type: 'string', enum: ['allow', 'deny'] },
        },
        { required: ['requests', 'per'] },
      ),
    }),
  },
  { required: ['targetRefs'] },
);

/** Rollout.ambient.dev/v1: a canary moved step by step through a Service's HTTPRoute weights
 * (controller/rollout-spec.ts reads it and checks the rest: steps increasing, durations). */
export const ROLLOUT_SPEC: Schema = object(
  {
    service: string,
    stable: string,
    canary: string,
    steps: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 100 }, maxItems: 100 },
    interval: duration,
    gates: object({ minSuccessRate: { type: 'number', minimum: 0, maximum: 1 }, maxP99Latency: duration, minRequests: count }),
    paused: { type: 'boolean' },
    abort: { type: 'boolean' },
  },
  { required: ['service', 'stable', 'canary'] },
);
