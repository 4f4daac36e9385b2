// The OpenAPI 3.1 document of the API, generated from the route table (routes.ts): every
// route's path, method, parameters, body, answers and the authorization it needs. Pure.
import { describeAccess } from './access.js';
import { parsePattern } from './match.js';
import type { RouteDef } from './types.js';

export const API_TITLE = 'ambient mesh controller API';
export const API_VERSION = 'v1';
const PREFIX = '/api/v1';

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

function accessText(r: RouteDef): string {
  if (r.access === 'authenticated') return 'Any authenticated user.';
  if (r.access === 'controller') return "The controller's own ServiceAccount only.";
  const a = r.access;
  const ns = a.namespace === 'path' ? '{namespace}' : a.namespace === 'query' ? '?namespace (absent: cluster-wide)' : 'the controller namespace';
  return `Needs: ${describeAccess({ verb: a.verb, group: a.group, resource: a.resource })
    .replace(/ cluster-wide \(all namespaces\)$/, '')}${a.name ? ' {name}' : ''} in ${ns}.`;
}

export function openApiDocument(routes: readonly RouteDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  // Routes for the controller's own ServiceAccount (the replicas asking each other) are not part of the public API.
  for (const r of routes.filter((x) => x.access !== 'controller')) {
    const params = parsePattern(r.path).flatMap((s) => ('param' in s ? [{ name: s.param, in: 'path', required: true, schema: { type: 'string' } }] : []));
    const query = (r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema ?? { type: 'string' } }));
    const op: Record<string, unknown> = {
      operationId: r.operationId,
      summary: r.summary,
      description: `${accessText(r)}${r.write ? ' A write: needs Content-Type: application/json and X-Ambient-Request: 1; served by the leader; logged with the user.' : ''}`,
      tags: [r.tag],
      'x-ambient-access': r.access,
      ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
      responses: {
        '200': { description: 'OK', content: { [r.contentType ?? 'application/json']: { schema: r.response } } },
        ...(r.write ? { '201': { description: 'Created (the object did not exist)', content: { 'application/json': { schema: r.response } } } } : {}),
        '400': errorResponse('Bad request: the message names the field and value'),
        '401': errorResponse('No bearer token, or TokenReview did not authenticate it'),
        '403': errorResponse('SubjectAccessReview denied the verb (named in the message), or a write lacks its headers'),
        '404': errorResponse('No such object'),
        ...(r.write ? { '503': errorResponse('This replica is not the leader (AMB_API_NOT_LEADER names it)') } : {}),
      },
    };
    (paths[`${PREFIX}${r.path}`] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: API_TITLE, version: API_VERSION, description: 'Served by every controller replica on port 15014. Authorization: Bearer <Kubernetes token>. See docs/api.md.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a Kubernetes bearer token (TokenReview), authorized per route with SubjectAccessReview' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', pattern: '^AMB_' }, message: { type: 'string' } } } },
        },
      },
    },
  };
}
