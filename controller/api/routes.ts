// The API's route table (docs/api.md): every route the server has, in one list, from which
// the matcher dispatches, the SubjectAccessReview attributes are taken and the OpenAPI
// document is generated, so the three cannot disagree. Pure data and handler references.
import { openApiDocument } from './openapi.js';
import type { AccessRule } from './access.js';
import type { JsonSchema, RouteDef } from './types.js';
import { certificatesHandler } from './handlers/certificates.js';
import { statusHandler } from './handlers/mesh.js';
import { getWorkload, listWorkloads } from './handlers/workloads.js';
import { getService, listServices } from './handlers/services.js';
import { listWaypoints } from './handlers/waypoints.js';
import { listRoutes } from './handlers/routes.js';
import { listPolicies } from './handlers/policies.js';
import { listRollouts, rolloutAction } from './handlers/rollouts.js';
import { putSplit } from './handlers/split.js';
import { authzCheck } from './handlers/authz-check.js';
import { flowStream, flows, graph } from './handlers/telemetry.js';
import { internalReplica } from './handlers/internal.js';
import { INTERNAL_REPLICA_PATH } from './peers.js';

export const API_PREFIX = '/api/v1';

const GW = 'gateway.networking.k8s.io';
const AMB = 'ambient.dev';
const rule = (verb: AccessRule['verb'], group: string, resource: string, namespace: AccessRule['namespace'], name = false): AccessRule => ({ verb, group, resource, namespace, ...(name ? { name: true } : {}) });

const NAMESPACE_QUERY = { name: 'namespace', description: 'only this namespace (absent: all, which needs the verb cluster-wide)', schema: { type: 'string' } };
const NODE_QUERY = { name: 'node', description: 'only what is on this node (absent: every node)', schema: { type: 'string' } };
const WINDOW_QUERY = (what: string) => ({ name: 'window', description: `the part of the telemetry window ${what}, e.g. 1m (default 5m)`, schema: { type: 'string' } });
const obj = (description: string, properties: Record<string, JsonSchema> = {}): JsonSchema => ({ type: 'object', description, properties });
const list = (description: string): JsonSchema => ({ ...obj(description, { items: { type: 'array', items: { type: 'object' } } }), required: ['items'] });
/** The answers' shapes are console/api-types.d.ts (one definition, shared with the console). */
const shape = (description: string, properties: Record<string, JsonSchema>): JsonSchema => ({ ...obj(description, properties), required: Object.keys(properties) });
const ARR = { type: 'array' };
const OBJ = { type: 'object' };
const STR = { type: 'string' };

export const API_ROUTES: readonly RouteDef[] = [
  {
    method: 'GET', path: '/openapi.json', operationId: 'getOpenApi', tag: 'meta', summary: 'This document, generated from the route table',
    access: 'authenticated', response: obj('an OpenAPI 3.1 document'),
    handler: () => ({ body: openApiDocument(API_ROUTES) }),
  },
  {
    method: 'GET', path: '/status', operationId: 'getStatus', tag: 'mesh', summary: 'Controller replicas and leader, config version, agents and waypoints with their acked versions, NACKs and problems',
    access: rule('list', '', 'pods', 'controller'),
    response: shape('mesh status (MeshStatus)', { controller: OBJ, configVersion: STR, agents: ARR, waypoints: ARR, problems: ARR }),
    handler: statusHandler,
  },
  {
    method: 'GET', path: '/workloads', operationId: 'listWorkloads', tag: 'mesh', summary: 'Workloads as the data plane holds them',
    access: rule('list', '', 'pods', 'query'), query: [NAMESPACE_QUERY, { ...NODE_QUERY, description: 'only the workloads on this node' }], response: list('workloads'), handler: listWorkloads,
  },
  {
    method: 'GET', path: '/workloads/{namespace}/{name}', operationId: 'getWorkload', tag: 'mesh', summary: 'One workload: identity, node, enrolment, the certificate its node agent holds for it, the policies selecting it with their status, its edges',
    access: rule('get', '', 'pods', 'path', true), response: shape('a workload (WorkloadDetail)', { namespace: STR, name: STR, identity: STR, node: STR, ips: ARR, enrolled: { type: 'boolean' }, policies: ARR, inbound: ARR, outbound: ARR }), handler: getWorkload,
  },
  {
    method: 'GET', path: '/services', operationId: 'listServices', tag: 'mesh', summary: "Services: VIPs, ports, endpoints, waypoint; with health=true, their endpoints' health as their waypoints' pods see it",
    access: rule('list', '', 'services', 'query'),
    query: [
      NAMESPACE_QUERY,
      { ...NODE_QUERY, description: 'only the Services with an endpoint on this node' },
      { name: 'health', description: "true: ask each waypoint's pods (GET /debug/endpoints) and add each Service's health (ServiceHealth)", schema: { type: 'boolean' } },
    ],
    response: list('services'), handler: listServices,
  },
  {
    method: 'GET', path: '/services/{namespace}/{name}', operationId: 'getService', tag: 'mesh', summary: "One service: endpoints with health and ejection (from its waypoint's /debug/endpoints), waypoint, routes with weights, rollouts",
    access: rule('get', '', 'services', 'path', true), query: [WINDOW_QUERY('the live shares of its routes\' backends are counted over')], response: shape('a service (ServiceDetail)', { namespace: STR, name: STR, vips: ARR, ports: ARR, endpoints: ARR, routes: ARR, rollouts: ARR }), handler: getService,
  },
  {
    method: 'PUT', path: '/services/{namespace}/{name}/split', operationId: 'putServiceSplit', tag: 'traffic', summary: "Sets the Service's traffic split (its HTTPRoute's backend weights), as `ambientctl traffic split`; header ambient-split-outcome: created, configured or unchanged",
    access: rule('patch', GW, 'httproutes', 'path'), write: true,
    body: {
      type: 'object',
      properties: { weights: { type: 'object', additionalProperties: { type: 'integer' }, description: 'backend Service name to weight' }, to: { type: 'string', description: 'every request to this backend' }, route: { type: 'string', description: 'which HTTPRoute when several attach' } },
      description: 'exactly one of weights or to',
    },
    response: shape('the HTTPRoute as the API server holds it after the write (201: created)', { apiVersion: STR, kind: STR, metadata: OBJ, spec: OBJ }),
    handler: putSplit,
  },
  {
    method: 'GET', path: '/waypoints', operationId: 'listWaypoints', tag: 'mesh', summary: "Waypoints: their Gateways' status, bound services and workloads, config streams",
    access: rule('list', GW, 'gateways', 'query'), query: [NAMESPACE_QUERY], response: list('waypoints'), handler: listWaypoints,
  },
  {
    method: 'GET', path: '/routes', operationId: 'listRoutes', tag: 'traffic', summary: 'Compiled HTTPRoutes and GRPCRoutes with their status',
    access: rule('list', GW, 'httproutes', 'query'), query: [NAMESPACE_QUERY], response: list('routes'), handler: listRoutes,
  },
  {
    method: 'GET', path: '/policies', operationId: 'listPolicies', tag: 'policy', summary: 'Every policy with its status conditions and dry-run flag',
    access: rule('list', AMB, 'authorizationpolicies', 'query'), query: [NAMESPACE_QUERY],
    response: list('policies (Policy): AuthorizationPolicies, TrafficPolicies, RequestAuthentications, with status and dry-run findings'), handler: listPolicies,
  },
  {
    method: 'GET', path: '/certificates', operationId: 'getCertificates', tag: 'mesh', summary: "The mesh's CA roots, signing certificate and the controller's serving certificate, and the workload certificates node agents and waypoints hold, with expiry",
    access: rule('list', '', 'pods', 'controller'), query: [{ ...NODE_QUERY, description: 'only the workload certificates held on this node' }], response: shape('certificates (Certificates): CA roots, signing and serving certificates, workloads (HeldCertificate: identity, namespace, workload, pod, node, serial, notBefore, notAfter, issuer) as their holders last reported them', { roots: ARR, workloads: ARR }), handler: certificatesHandler,
  },
  {
    method: 'GET', path: '/graph', operationId: 'getGraph', tag: 'telemetry',
    summary: "The traffic graph of the controller's telemetry window, or of Prometheus (--prometheus-url) for a longer window (`source`); `windows` lists the windows offered; 400 AMB_API_WINDOW_UNAVAILABLE for a longer window without Prometheus",
    access: rule('list', '', 'pods', 'query'),
    query: [NAMESPACE_QUERY, { name: 'window', description: 'the window, e.g. 5m (default 5m); longer than the telemetry window (15m) only with a Prometheus configured, at most 720h', schema: { type: 'string' } }],
    response: shape('graph (Graph)', { window: STR, generatedAt: STR, nodes: ARR, edges: ARR, source: { type: 'string', enum: ['window', 'prometheus'] }, windows: ARR }), handler: graph,
  },
  {
    method: 'GET', path: '/flows', operationId: 'listFlows', tag: 'telemetry', summary: "Recent flows of the controller's telemetry window, oldest first",
    access: rule('list', '', 'pods', 'query'),
    query: [NAMESPACE_QUERY, { name: 'limit', description: 'at most this many (default 100, at most 1000)', schema: { type: 'integer' } }],
    response: list('flows (Flow)'), handler: flows,
  },
  {
    method: 'GET', path: '/flows/stream', operationId: 'streamFlows', tag: 'telemetry',
    summary: 'New flows as server-sent events (text/event-stream): `event: flow` with one Flow as JSON per event, comment lines as heartbeat; 503 AMB_API_BUSY when the window has its most subscribers',
    access: rule('list', '', 'pods', 'query'), query: [NAMESPACE_QUERY],
    contentType: 'text/event-stream', response: { type: 'string', description: 'server-sent events' }, handler: flowStream,
  },
  {
    method: 'POST', path: '/authz/check', operationId: 'authzCheck', tag: 'policy', summary: 'The decision for one connection or request, as `ambientctl authz check -o json`',
    access: rule('list', AMB, 'authorizationpolicies', 'query'), write: false,
    body: {
      type: 'object', required: ['from', 'to'],
      properties: { from: { type: 'string' }, to: { type: 'string' }, port: { type: 'integer' }, method: { type: 'string' }, path: { type: 'string' }, headers: { type: 'object', additionalProperties: { type: 'string' } }, sourceIp: { type: 'string' }, requestPrincipal: { type: 'string' } },
    },
    response: obj('the decision', { headline: { type: 'string' }, decision: { type: 'string' }, reason: { type: 'string' } }), handler: authzCheck,
  },
  {
    method: 'GET', path: '/rollouts', operationId: 'listRollouts', tag: 'traffic', summary: 'Rollouts with their status',
    access: rule('list', AMB, 'rollouts', 'query'), query: [NAMESPACE_QUERY], response: list('rollouts'), handler: listRollouts,
  },
  ...(['pause', 'resume', 'abort'] as const).map(
    (action): RouteDef => ({
      method: 'POST', path: `/rollouts/{namespace}/{name}/${action}`, operationId: `${action}Rollout`, tag: 'traffic',
      summary: action === 'pause' ? 'Holds the rollout at its weight (spec.paused)' : action === 'resume' ? 'Continues it (clears spec.paused and spec.abort)' : 'Rolls back at once (spec.abort)',
      access: rule('patch', AMB, 'rollouts', 'path', true), write: true, body: { type: 'object', description: 'empty: {}' },
      response: shape('the Rollout after the change (Rollout)', { metadata: OBJ, spec: OBJ }), handler: rolloutAction(action),
    }),
  ),
  {
    method: 'GET', path: INTERNAL_REPLICA_PATH, operationId: 'getReplicaParts', tag: 'internal',
    summary: "This replica's own parts (parts=edges,flows,agents; window, namespace, limit, sinceSeq), for the other replicas to merge; not in the OpenAPI document",
    access: 'controller', response: obj('{replica, edges?, flows?, agents?}'), handler: internalReplica,
  },
];

/** The full path of a route (the prefix and its pattern). */
export const fullPath = (r: Pick<RouteDef, 'path'>): string => `${API_PREFIX}${r.path}`;
