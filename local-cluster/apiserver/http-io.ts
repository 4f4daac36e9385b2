// Request bodies in (bounded, parsed by content type, errors that say where) and JSON out.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, tooLarge, unsupportedMediaType } from './api-errors.js';
import { parseJsonOrExplain } from './json-errors.js';

/** Reads the whole body, refusing (413) more than `limit` bytes. Empty body: ''. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const mediaOf = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** An object body (create, update, review): JSON, or YAML as kube-apiserver also accepts. */
export function parseObjectBody(text: string, contentType: string | undefined): unknown {
  const media = mediaOf(contentType);
  if (text.trim() === '') throw badRequest('the request body is empty; expected a JSON object');
  if (media === 'application/yaml' || media === 'application/x-yaml' || media === 'text/yaml') {
    try {
      return parseYaml(text);
    } catch (err) {
      throw badRequest(`request body is not valid YAML: ${(err as Error).message}`);
    }
  }
  if (media !== '' && media !== 'application/json' && media !== '*/*') {
    throw unsupportedMediaType(media, ['application/json', 'application/yaml']);
  }
  return parseJson(text);
}

/** A JSON body (patches, delete options); 400 naming the line and column when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return parseJsonOrExplain(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-cache, private' });
  res.end(data);
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body we refused unread: close the connection rather than read the rest.
  if (err.code === 413) res.setHeader('connection', 'close');
  sendJson(res, err.code, err.toStatus());
}
