// The parts of a server-side apply request (apply-patch.ts): its query (fieldManager,
// required; force) and its body, YAML or JSON (JSON is YAML), one object.
import { parseAllDocuments } from 'yaml';
import { badRequest } from './api-errors.js';

export interface ApplyParams {
  manager: string;
  force: boolean;
}

export function applyParams(q: URLSearchParams): ApplyParams {
  const manager = q.get('fieldManager') ?? '';
  if (manager === '') throw badRequest('fieldManager: Required value: is required for apply patch');
  if (manager.length > 128) throw badRequest(`fieldManager: Too long: may not be more than 128 bytes`);
  const force = q.get('force');
  if (force !== null && force !== 'true' && force !== 'false') throw badRequest(`force: Invalid value: ${JSON.stringify(force)}: must be true or false`);
  return { manager, force: force === 'true' };
}

export function parseApplyBody(text: string): unknown {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs) || docs.length !== 1) throw badRequest('the apply patch must be exactly one YAML or JSON document');
  const doc = docs[0]!;
  if (doc.errors.length) throw badRequest(`error decoding YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc.toJS({ maxAliasCount: 0 });
}
