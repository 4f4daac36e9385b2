// The route table's types: a route is a method, a path pattern, what the caller must be
// allowed (a SubjectAccessReview, or just authenticated), its OpenAPI description, and
// the handler that answers it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessAttributes, AccessRule } from './access.js';
import type { ApiContext } from './context.js';

/** A JSON Schema (OpenAPI 3.1 dialect), kept loose. */
export type JsonSchema = Record<string, unknown>;

export interface ApiUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface ApiRequest {
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The parsed JSON body (writes), undefined for reads. */
  body: unknown;
  user: ApiUser;
  /** Asks one more SubjectAccessReview (e.g. create when the write turns out to be one); throws 403 when denied. */
  authorize(a: AccessAttributes): Promise<void>;
  /** Records a write done for the user (logged with user, verb, object). */
  audit(what: { verb: string; object: string; detail?: Record<string, unknown> }): void;
}

export interface ApiAnswer {
  status?: number;
  body: unknown;
  /** Extra response headers (PUT .../split: ambient-split-outcome). */
  headers?: Record<string, string>;
  /** Instead of a JSON body: the handler writes the response itself (GET /flows/stream). */
  stream?: (req: IncomingMessage, res: ServerResponse) => void;
}

export type Handler = (req: ApiRequest, ctx: ApiContext) => Promise<ApiAnswer> | ApiAnswer;

export interface QueryParam {
  name: string;
  description: string;
  schema?: JsonSchema;
}

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT';
  /** Under /api/v1, `{param}` for a path segment. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  query?: QueryParam[];
  /** The request body's schema (writes). */
  body?: JsonSchema;
  /** The 200 answer's schema. */
  response: JsonSchema;
  /** The 200 answer's media type; default application/json. */
  contentType?: string;
  /** 'authenticated': any user TokenReview accepts; 'controller': the controller's own
   * ServiceAccount only (the replicas asking each other; not in the OpenAPI document). */
  access: AccessRule | 'authenticated' | 'controller';
  /** Changes the cluster: leader only, logged with the user, CSRF rules apply. */
  write?: boolean;
  handler: Handler;
}
