// JSON Patch, RFC 6902, with JSON Pointers, RFC 6901. Pure: the document is copied, and
// a patch applies entirely or not at all. @kubernetes/client-node sends this content type
// by default for every patchX() call.
import { cloneJson, isPlainObject, jsonEqual, setOwn } from './json-values.js';

export class JsonPatchError extends Error {
  /** `malformed`: the patch itself is wrong (400); `failed`: it does not apply to this document (422). */
  constructor(
    readonly kind: 'malformed' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'JsonPatchError';
  }
}

interface Operation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError('malformed', `invalid JSON pointer "${pointer}": must start with '/'`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function checkOps(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) throw new JsonPatchError('malformed', 'a JSON patch must be an array of operations');
  return patch.map((o, i) => {
    if (!isPlainObject(o)) throw new JsonPatchError('malformed', `operation ${i} is not an object`);
    const op = o['op'];
    if (typeof op !== 'string' || !['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op)) {
      throw new JsonPatchError('malformed', `operation ${i}: unknown op ${JSON.stringify(op)}`);
    }
    if (typeof o['path'] !== 'string') throw new JsonPatchError('malformed', `operation ${i} (${op}): missing "path"`);
    if ((op === 'move' || op === 'copy') && typeof o['from'] !== 'string') throw new JsonPatchError('malformed', `operation ${i} (${op}): missing "from"`);
    if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in o)) throw new JsonPatchError('malformed', `operation ${i} (${op}): missing "value"`);
    return o as unknown as Operation;
  });
}

function arrayIndex(token: string, arr: unknown[], forAdd: boolean, path: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError('failed', `path "${path}": "${token}" is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new JsonPatchError('failed', `path "${path}": index ${i} is out of bounds`);
  return i;
}

/** The container of the last token, and that token. */
function parentOf(doc: unknown, tokens: string[], path: string): [unknown, string] {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur, false, path)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new JsonPatchError('failed', `path "${path}" does not exist`);
  }
  return [cur, tokens[tokens.length - 1]!];
}

function get(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const [parent, last] = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent, false, path)];
  if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw new JsonPatchError('failed', `path "${path}" does not exist`);
}

function remove(doc: unknown, path: string): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw new JsonPatchError('failed', 'cannot remove the whole document');
  const [parent, last] = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent, false, path), 1)[0];
  if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw new JsonPatchError('failed', `path "${path}" does not exist`);
}

/** Adds `value` at `path`; returns the new document (which changes only when path is ""). */
function add(doc: unknown, path: string, value: unknown): unknown {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const [parent, last] = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent, true, path), 0, value);
  else if (isPlainObject(parent)) setOwn(parent, last, value);
  else throw new JsonPatchError('failed', `path "${path}": parent is not an object or array`);
  return doc;
}

export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  let doc = cloneJson(document);
  for (const o of checkOps(patch)) {
    switch (o.op) {
      case 'add':
        doc = add(doc, o.path, cloneJson(o.value));
        break;
      case 'remove':
        remove(doc, o.path);
        break;
      case 'replace':
        get(doc, o.path);
        if (o.path === '') doc = cloneJson(o.value);
        else {
          remove(doc, o.path);
          doc = add(doc, o.path, cloneJson(o.value));
        }
        break;
      case 'move': {
        if (o.path.startsWith(`${o.from!}/`)) throw new JsonPatchError('failed', `cannot move "${o.from}" into its own child "${o.path}"`);
        const v = remove(doc, o.from!);
        doc = add(doc, o.path, v);
        break;
      }
      case 'copy':
        doc = add(doc, o.path, cloneJson(get(doc, o.from!)));
        break;
      case 'test':
        if (!jsonEqual(get(doc, o.path), o.value)) throw new JsonPatchError('failed', `test operation failed: "${o.path}" is not ${JSON.stringify(o.value)}`);
        break;
    }
  }
  return doc;
}
